"""Nominations: taking them in from every channel, the screening queue, exports."""
