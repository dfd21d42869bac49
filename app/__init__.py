"""The Integrity Icon portal."""
