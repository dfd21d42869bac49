"""Demo data: the current campaign and a past edition, fictional people only."""
