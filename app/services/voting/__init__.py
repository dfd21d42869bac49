"""The People's Choice public vote (issue 18)."""
