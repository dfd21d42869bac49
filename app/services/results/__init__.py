"""Results: winners confirmed, published revisions, the public pages and files built from them.

The rules, in one place:
- Winners are confirmed per theme from the ranking of that theme's final meeting (the latest
  closed meeting that discussed it: a run-off of one theme leaves the others alone); a choice
  that differs from it needs a written rationale (winners.py).
- Each stage waits for the ones before it: the finalists are announced after the call closed
  (or with a written, audited override, which ends the call), results after the announcement,
  with no meeting of a theme still open and each theme's winners confirmed from its final
  meeting (winners.py, revisions.py).
- Nothing reaches a public URL before its staff action: finalists before they are announced,
  results before a revision is published, a draft revision never. Photos follow their finalist
  (public.py).
- Published results never change: a correction is a new revision with its reason, and every
  published revision stays readable. A revision's `content` is a snapshot taken when it was
  prepared; it holds public profiles and aggregate figures only, never a judge's score, a
  judge's or nominator's name, or any contact detail (revisions.py).

Modules, in the order they build on each other (none imports one after it): shared.py (the
campaign, its lock and stage, profiles), winners.py (the winner board, announcing finalists),
revisions.py (the frozen results and their revisions), public.py (what public pages read,
photos), open_data.py (the results as JSON and CSV).
"""
