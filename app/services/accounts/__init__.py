"""Accounts, signed-in sessions and signing in."""
