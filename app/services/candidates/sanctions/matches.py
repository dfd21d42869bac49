"""Reading possible matches as staff adjudicate them: one per nominee and entry.

A nominee is a candidate, or a nomination not grouped in one yet. The rows of a candidate (its
own, and those of each of its nominations) with the same entry are one possible match: decided
once for all of them. A pair decided for a nominee stays decided when a new nomination of that
person joins, so it is not raised again unless the entry changes (a new entry row).
"""

import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session, col, select

from app.models import (
    Candidate,
    Finalist,
    MatchStatus,
    Nomination,
    SanctionEntry,
    SanctionMatch,
    SanctionSource,
    Theme,
)

PersonKey = tuple[str, int]  # ("candidate", id) or ("nomination", id)
CHUNK = 900


@dataclass
class MatchRow:
    match: SanctionMatch
    # The subject: a nomination (its reference, its candidate if grouped) or a candidate.
    nomination_id: int | None
    nomination_reference: str
    candidate_id: int | None
    nominee_name: str

    @property
    def reasons(self) -> list[dict[str, Any]]:
        return json.loads(self.match.reasons or "[]")


@dataclass
class MatchGroup:
    person: PersonKey
    person_name: str
    entry: SanctionEntry
    source: SanctionSource
    rows: list[MatchRow] = field(default_factory=list)
    is_finalist: bool = False

    @property
    def best(self) -> MatchRow:
        return max(self.rows, key=lambda r: (r.match.score, -(r.match.id or 0)))

    @property
    def decision(self) -> SanctionMatch | None:
        decided = [r.match for r in self.rows if r.match.status is not MatchStatus.open]
        if not decided:
            return None
        return max(decided, key=lambda m: (m.decided_at is not None, m.decided_at, m.id or 0))

    @property
    def status(self) -> MatchStatus:
        decision = self.decision
        return decision.status if decision is not None else MatchStatus.open

    @property
    def score(self) -> int:
        return self.best.match.score

    @property
    def id(self) -> int:
        """The group's handle in URLs: its best row."""
        assert self.best.match.id is not None
        return self.best.match.id

    @property
    def aliases(self) -> list[str]:
        return json.loads(self.entry.aliases or "[]")


def _rows(session: Session, campaign_id: int) -> list[MatchRow]:
    rows: list[MatchRow] = []
    by_nomination = session.exec(
        select(
            SanctionMatch, Nomination.reference, Nomination.candidate_id, Nomination.nominee_name
        )
        .join(Nomination, col(Nomination.id) == SanctionMatch.nomination_id)
        .join(Theme, col(Theme.id) == Nomination.theme_id)
        .where(Theme.campaign_id == campaign_id)
    ).all()
    for match, reference, candidate_id, name in by_nomination:
        rows.append(MatchRow(match, match.nomination_id, reference, candidate_id, name))
    by_candidate = session.exec(
        select(SanctionMatch, Candidate.name)
        .join(Candidate, col(Candidate.id) == SanctionMatch.candidate_id)
        .where(Candidate.campaign_id == campaign_id)
    ).all()
    for match, name in by_candidate:
        rows.append(MatchRow(match, None, "", match.candidate_id, name))
    return rows


def match_rows(session: Session, *, campaign_id: int) -> list[MatchRow]:
    """Every stored row of the edition (one per nomination or candidate and entry)."""
    return _rows(session, campaign_id)


def group_rows(session: Session, rows: Sequence[MatchRow]) -> list[MatchGroup]:
    entry_ids = sorted({r.match.entry_id for r in rows})
    entries: dict[int, SanctionEntry] = {}
    for start in range(0, len(entry_ids), CHUNK):
        chunk = entry_ids[start : start + CHUNK]
        for entry in session.exec(select(SanctionEntry).where(col(SanctionEntry.id).in_(chunk))):
            assert entry.id is not None
            entries[entry.id] = entry
    sources = {s.id: s for s in session.exec(select(SanctionSource)).all()}
    candidate_ids = sorted({r.candidate_id for r in rows if r.candidate_id is not None})
    names: dict[int, str] = {}
    finalists: set[int] = set()
    for start in range(0, len(candidate_ids), CHUNK):
        chunk = candidate_ids[start : start + CHUNK]
        names.update(
            session.execute(
                select(Candidate.id, Candidate.name).where(col(Candidate.id).in_(chunk))
            ).all()
        )
        finalists.update(
            session.exec(
                select(Finalist.candidate_id).where(col(Finalist.candidate_id).in_(chunk))
            ).all()
        )
    groups: dict[tuple[PersonKey, int], MatchGroup] = {}
    for row in rows:
        if row.candidate_id is not None:
            person: PersonKey = ("candidate", row.candidate_id)
            person_name = names.get(row.candidate_id, row.nominee_name)
        else:
            assert row.nomination_id is not None
            person = ("nomination", row.nomination_id)
            person_name = row.nominee_name
        key = (person, row.match.entry_id)
        group = groups.get(key)
        if group is None:
            entry = entries[row.match.entry_id]
            group = groups[key] = MatchGroup(
                person=person,
                person_name=person_name,
                entry=entry,
                source=sources[entry.source_id],
                is_finalist=person[0] == "candidate" and person[1] in finalists,
            )
        group.rows.append(row)
    return sorted(
        groups.values(), key=lambda g: (-g.score, g.person_name.casefold(), g.entry.id or 0)
    )


def match_groups(
    session: Session,
    *,
    campaign_id: int,
    status: MatchStatus | None = None,
    candidate_id: int | None = None,
) -> list[MatchGroup]:
    groups = group_rows(session, _rows(session, campaign_id))
    if candidate_id is not None:
        groups = [g for g in groups if g.person == ("candidate", candidate_id)]
    if status is not None:
        groups = [g for g in groups if g.status is status]
    return groups


def effective_status(groups: Sequence[MatchGroup]) -> dict[int, MatchStatus]:
    """Each row's status as staff see it: its group's."""
    statuses: dict[int, MatchStatus] = defaultdict(lambda: MatchStatus.open)
    for group in groups:
        for row in group.rows:
            assert row.match.id is not None
            statuses[row.match.id] = group.status
    return statuses


MATCHES_CSV_HEADER = (
    "nomination_reference",
    "candidate_id",
    "nominee_name",
    "source",
    "entry_id",
    "entry_name",
    "score",
    "status",
)


def matches_table(
    session: Session, *, campaign_id: int, status: MatchStatus | None
) -> list[tuple[str, str, str, str, str, str, int, str]]:
    """One row per nomination or candidate and entry, as `sanctions matches` writes them: the
    status is the nominee's (a pair decided for a candidate is decided for its nominations)."""
    groups = group_rows(session, _rows(session, campaign_id))
    table = []
    for group in groups:
        if status is not None and group.status is not status:
            continue
        for row in group.rows:
            table.append(
                (
                    row.nomination_reference,
                    "" if row.candidate_id is None else str(row.candidate_id),
                    row.nominee_name,
                    group.source.name,
                    group.entry.external_id,
                    group.entry.name,
                    row.match.score,
                    group.status.value,
                )
            )
    table.sort(key=lambda r: (r[2].casefold(), r[0], r[3], r[4]))
    return table
