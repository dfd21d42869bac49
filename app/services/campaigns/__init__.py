"""The campaign and its rubric, and the staff dashboard that follows it."""
