"""Input models: what a form may contain, separate from the tables it ends up in."""
