"""Domain logic: the only place that queries and changes tables. Services flush; callers commit."""
