"""Deliberation: the panel, conflicts and recusal, meetings, score sheets, dossiers, aggregation."""
