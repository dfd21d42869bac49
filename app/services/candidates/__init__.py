"""Candidates: nominations of one person grouped, name matching, vetting, finalists."""
