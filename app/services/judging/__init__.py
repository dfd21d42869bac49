"""Deliberation: the panel, conflicts and recusal, meetings, score sheets, dossiers, aggregation
and the words that explain it (method.py), and the raw sheets staff export for audit."""
