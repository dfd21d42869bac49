"""Screening: every nominee of an edition compared with the current entries of every list.

Two kinds of nominee (a *subject* each):
- a nomination, by the name its nominator wrote (with the nominee's age and gender): every
  nomination of the edition, grouped in a candidate or not;
- a candidate, by the name staff gave it, the full name and the RFC or CURP recorded in vetting.

A whole edition is screened by streaming the entries past an index of its nominees
(`screen_edition`: after a list import, from the command line). One nominee (a new nomination,
a candidate whose identifiers changed) is looked up by its blocking keys and identifiers in
indexed tables (`screen_subjects`), which costs a few small queries.

A screening replaces a subject's *open* matches with what it finds now; confirmed and dismissed
ones are decisions and are never touched, and a pair already decided is not raised again unless
the entry changed (a changed entry is a new entry row).
"""

import hashlib
import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, insert, or_, update
from sqlmodel import Session, col, select

from app.config import Settings
from app.errors import NotFound
from app.i18n import N_
from app.models import (
    Account,
    Campaign,
    Candidate,
    CandidateIdentity,
    EntryType,
    Gender,
    MatchStatus,
    Nomination,
    SanctionEntry,
    SanctionListVersion,
    SanctionMatch,
    SanctionNameKey,
    SanctionScreening,
    Theme,
)
from app.services import audit
from app.services.candidates.sanctions import matcher
from app.services.candidates.sanctions.formats import listed
from app.services.candidates.sanctions.matches import match_groups

# Up to this many nominees, a screening looks entries up by key; beyond, it streams the lists.
LOOKUP_LIMIT = 200
# Ids per IN (...) list.
CHUNK = 900
STREAM_BATCH = 2000

SubjectKey = tuple[str, int]  # ("nomination", id) or ("candidate", id)


def matcher_settings(settings: Settings) -> matcher.Settings:
    return matcher.Settings(
        threshold=settings.sanctions_match_threshold,
        word_similarity=settings.sanctions_word_similarity / 100,
    )


def _chunks(values: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]


# --- who is screened --------------------------------------------------------------------------

_GENDERS = {Gender.woman: "F", Gender.man: "M"}


def _birth_years(age: int | None, when: datetime) -> tuple[int, int] | None:
    if age is None:
        return None
    return (when.year - age - 1, when.year - age)


def _union(ranges: Iterable[tuple[int, int] | None]) -> tuple[int, int] | None:
    known = [r for r in ranges if r]
    return (min(r[0] for r in known), max(r[1] for r in known)) if known else None


def _one(values: Iterable[str]) -> str:
    distinct = {v for v in values if v}
    return distinct.pop() if len(distinct) == 1 else ""


@dataclass(frozen=True)
class _NominationRow:
    id: int
    name: str
    age: int | None
    gender: Gender | None
    submitted_at: datetime
    candidate_id: int | None

    def subject(self) -> matcher.Subject:
        return matcher.Subject(
            key=("nomination", self.id),
            names=(self.name,),
            birth_years=_birth_years(self.age, self.submitted_at),
            gender=_GENDERS.get(self.gender, "") if self.gender else "",
        )


def _nomination_rows(session: Session, query: Any) -> list[_NominationRow]:
    return [
        _NominationRow(*row)
        for row in session.execute(
            query.with_only_columns(
                col(Nomination.id),
                col(Nomination.nominee_name),
                col(Nomination.nominee_age),
                col(Nomination.nominee_gender),
                col(Nomination.submitted_at),
                col(Nomination.candidate_id),
            )
        ).all()
    ]


def _candidate_subject(
    candidate: Candidate, identity: CandidateIdentity | None, nominations: list[_NominationRow]
) -> matcher.Subject:
    assert candidate.id is not None
    names = [candidate.name]
    rfc = curp = ""
    if identity is not None:
        if identity.full_name and identity.full_name != candidate.name:
            names.append(identity.full_name)
        rfc, curp = identity.rfc, identity.curp
    today = candidate.created_at.date()
    born = matcher.birth_date_from_curp(curp, today) or matcher.birth_date_from_rfc(rfc, today)
    years = (born.year, born.year) if born else _union(n.subject().birth_years for n in nominations)
    gender = matcher.gender_from_curp(curp) or _one(n.subject().gender for n in nominations)
    return matcher.Subject(
        key=("candidate", candidate.id),
        names=tuple(names),
        rfc=rfc,
        curp=curp,
        birth_years=years,
        gender=gender,
    )


def _candidate_subjects(
    session: Session, candidates: Sequence[Candidate], nominations: list[_NominationRow]
) -> list[matcher.Subject]:
    ids = [c.id for c in candidates if c.id is not None]
    identities: dict[int, CandidateIdentity] = {}
    for chunk in _chunks(ids):
        for identity in session.exec(
            select(CandidateIdentity).where(col(CandidateIdentity.candidate_id).in_(chunk))
        ).all():
            identities[identity.candidate_id] = identity
    by_candidate: dict[int, list[_NominationRow]] = defaultdict(list)
    for row in nominations:
        if row.candidate_id is not None:
            by_candidate[row.candidate_id].append(row)
    return [
        _candidate_subject(c, identities.get(c.id), by_candidate[c.id])
        for c in candidates
        if c.id is not None
    ]


def edition_subjects(session: Session, *, campaign_id: int) -> list[matcher.Subject]:
    """Every nomination of the edition and every candidate, as the matcher sees them."""
    nominations = _nomination_rows(
        session,
        select(Nomination.id)
        .join(Theme, col(Theme.id) == Nomination.theme_id)
        .where(Theme.campaign_id == campaign_id)
        .order_by(col(Nomination.id)),
    )
    candidates = session.exec(
        select(Candidate).where(Candidate.campaign_id == campaign_id).order_by(col(Candidate.id))
    ).all()
    return [n.subject() for n in nominations] + _candidate_subjects(
        session, candidates, nominations
    )


def nomination_subjects(session: Session, nomination_ids: Sequence[int]) -> list[matcher.Subject]:
    rows: list[_NominationRow] = []
    for chunk in _chunks(list(nomination_ids)):
        rows += _nomination_rows(
            session, select(Nomination.id).where(col(Nomination.id).in_(chunk))
        )
    return [row.subject() for row in rows]


def candidate_subjects(session: Session, candidate_ids: Sequence[int]) -> list[matcher.Subject]:
    candidates: list[Candidate] = []
    nominations: list[_NominationRow] = []
    for chunk in _chunks(list(candidate_ids)):
        candidates += session.exec(select(Candidate).where(col(Candidate.id).in_(chunk))).all()
        nominations += _nomination_rows(
            session, select(Nomination.id).where(col(Nomination.candidate_id).in_(chunk))
        )
    return _candidate_subjects(session, candidates, nominations)


def fingerprint(subject: matcher.Subject) -> str:
    """What a screening of this subject depended on, besides the lists (and the thresholds:
    after changing those, screen the edition again)."""
    data = [subject.names, subject.rfc, subject.curp, subject.birth_years, subject.gender]
    return hashlib.sha256(json.dumps(data, ensure_ascii=False).encode()).hexdigest()


# --- what it is compared with --------------------------------------------------------------------


def _current() -> Any:
    return select(SanctionEntry).where(
        col(SanctionEntry.removed_version_id).is_(None),
        SanctionEntry.entry_type != EntryType.other,
    )


def current_entries(session: Session) -> Iterator[matcher.Listed]:
    """Every current entry of every list, read in batches, only the columns compared (rows as
    plain tuples: building 50,000 ORM objects took longer than comparing them)."""
    columns = (
        col(SanctionEntry.id),
        col(SanctionEntry.name),
        col(SanctionEntry.aliases),
        col(SanctionEntry.entry_type),
        col(SanctionEntry.rfc),
        col(SanctionEntry.curp),
        col(SanctionEntry.birth_year_from),
        col(SanctionEntry.birth_year_to),
        col(SanctionEntry.gender),
    )
    result = session.execute(
        _current()
        .with_only_columns(*columns)
        .order_by(col(SanctionEntry.id))
        .execution_options(yield_per=STREAM_BATCH)
    )
    for entry_id, name, aliases, kind, rfc, curp, born_from, born_to, gender in result:
        yield matcher.Listed(
            key=entry_id,
            names=(name, *json.loads(aliases)) if aliases != "[]" else (name,),
            organisation=kind == EntryType.organisation,
            rfc=rfc,
            curp=curp,
            birth_years=(born_from, born_to)
            if born_from is not None and born_to is not None
            else None,
            gender=gender,
        )


def has_entries(session: Session) -> bool:
    return (
        session.exec(_current().with_only_columns(col(SanctionEntry.id)).limit(1)).first()
        is not None
    )


def _lookup(session: Session, subjects: Sequence[matcher.Subject]) -> list[matcher.Listed]:
    """The current entries sharing a blocking key or an identifier with one of the subjects."""
    keys = sorted({key for s in subjects for key in matcher.subject_blocking_keys(s)})
    ids: set[int] = set()
    for chunk in _chunks(keys):
        ids.update(
            session.exec(
                select(SanctionNameKey.entry_id).where(col(SanctionNameKey.key).in_(chunk))
            ).all()
        )
    conditions = []
    for subject in subjects:
        if subject.curp:
            conditions.append(col(SanctionEntry.curp) == subject.curp)
        if subject.rfc:
            conditions.append(col(SanctionEntry.rfc).startswith(subject.rfc[:10]))
    if conditions:
        ids.update(
            session.exec(
                _current().with_only_columns(col(SanctionEntry.id)).where(or_(*conditions))
            ).all()
        )
    entries: list[matcher.Listed] = []
    for chunk in _chunks(sorted(ids)):
        for entry in session.exec(_current().where(col(SanctionEntry.id).in_(chunk))).all():
            entries.append(listed(entry, entry.id))
    return entries


# --- storing what was found ---------------------------------------------------------------


@dataclass(frozen=True)
class ScreeningRun:
    names: int
    found: int
    # Open possible matches of the edition after the run (one per nominee and entry).
    open: int = 0


def _subject_column(kind: str) -> Any:
    return (
        col(SanctionMatch.nomination_id)
        if kind == "nomination"
        else col(SanctionMatch.candidate_id)
    )


def _store(
    session: Session,
    subjects: Sequence[matcher.Subject],
    hits: Iterable[matcher.Hit],
    now: datetime,
) -> int:
    """Replaces the subjects' open matches with the hits; returns how many matches are new."""
    by_pair: dict[tuple[SubjectKey, int], matcher.Hit] = {}
    for hit in hits:
        pair = (hit.subject, hit.entry)
        if pair not in by_pair or by_pair[pair].score < hit.score:
            by_pair[pair] = hit
    existing: dict[tuple[SubjectKey, int], SanctionMatch] = {}
    screened: dict[SubjectKey, int] = {}
    for kind in ("nomination", "candidate"):
        ids = [s.key[1] for s in subjects if s.key[0] == kind]
        column = _subject_column(kind)
        screening_column = (
            col(SanctionScreening.nomination_id)
            if kind == "nomination"
            else col(SanctionScreening.candidate_id)
        )
        for chunk in _chunks(ids):
            for match in session.exec(select(SanctionMatch).where(column.in_(chunk))).all():
                subject_id = match.nomination_id if kind == "nomination" else match.candidate_id
                assert subject_id is not None
                existing[((kind, subject_id), match.entry_id)] = match
            for row_id, subject_id in session.execute(
                select(col(SanctionScreening.id), screening_column).where(
                    screening_column.in_(chunk)
                )
            ).all():
                screened[(kind, subject_id)] = row_id
    # New rows go in as plain inserts: an edition's first screening writes thousands.
    new_matches = []
    for pair, hit in by_pair.items():
        found = existing.get(pair)
        reasons = json.dumps(hit.reasons, ensure_ascii=False)
        if found is None:
            kind, subject_id = pair[0]
            new_matches.append(
                {
                    "nomination_id": subject_id if kind == "nomination" else None,
                    "candidate_id": subject_id if kind == "candidate" else None,
                    "entry_id": hit.entry,
                    "score": hit.score,
                    "matched_name": hit.matched_name[:300],
                    "reasons": reasons,
                    "status": MatchStatus.open,
                    "decision_note": "",
                    "created_at": now,
                    "updated_at": now,
                }
            )
        elif found.status is MatchStatus.open and (
            found.score != hit.score or found.reasons != reasons
        ):
            found.score = hit.score
            found.reasons = reasons
            found.matched_name = hit.matched_name[:300]
            found.updated_at = now
            session.add(found)
    for pair, match in existing.items():
        if match.status is MatchStatus.open and pair not in by_pair:
            session.delete(match)
    session.flush()
    if new_matches:
        session.execute(insert(SanctionMatch), new_matches)
    updates, inserts = [], []
    for subject in subjects:
        kind, subject_id = subject.key
        values = {"fingerprint": fingerprint(subject), "screened_at": now}
        row_id = screened.get(subject.key)
        if row_id is not None:
            updates.append({"row_id": row_id, **values})
        else:
            inserts.append(
                {
                    "nomination_id": subject_id if kind == "nomination" else None,
                    "candidate_id": subject_id if kind == "candidate" else None,
                    **values,
                }
            )
    if updates:
        # On the table, not the model: an ORM bulk update wants primary keys by their name.
        table = SanctionScreening.__table__  # type: ignore[attr-defined]
        session.connection().execute(
            update(table)
            .where(table.c.id == bindparam("row_id"))
            .values(fingerprint=bindparam("fingerprint"), screened_at=bindparam("screened_at")),
            updates,
        )
    if inserts:
        session.execute(insert(SanctionScreening), inserts)
    return len(new_matches)


def drop_open_matches_of(session: Session, entry_ids: Sequence[int]) -> None:
    """Open matches with entries a newer file removed or changed: no longer possible matches."""
    for chunk in _chunks(list(entry_ids)):
        for match in session.exec(
            select(SanctionMatch).where(
                col(SanctionMatch.entry_id).in_(chunk), SanctionMatch.status == MatchStatus.open
            )
        ).all():
            session.delete(match)
    session.flush()


def screen_subjects(
    session: Session,
    *,
    subjects: Sequence[matcher.Subject],
    settings: Settings,
    now: datetime,
    progress: Callable[[int], None] | None = None,
) -> ScreeningRun:
    """Screens these subjects against every current entry: by look-up for a few, by streaming
    the lists for many."""
    rules = matcher_settings(settings)
    if not subjects:
        return ScreeningRun(names=0, found=0)
    if len(subjects) <= LOOKUP_LIMIT:
        hits = [
            hit
            for subject in subjects
            for hit in matcher.match_one(subject, _lookup(session, [subject]), rules)
        ]
    else:
        hits = list(matcher.screen(subjects, _progress(current_entries(session), progress), rules))
    new = _store(session, subjects, hits, now)
    return ScreeningRun(names=len(subjects), found=new)


def _progress(
    entries: Iterator[matcher.Listed], progress: Callable[[int], None] | None
) -> Iterator[matcher.Listed]:
    for count, entry in enumerate(entries, start=1):
        if progress is not None and count % 10_000 == 0:
            progress(count)
        yield entry


def open_count(session: Session, *, campaign_id: int) -> int:
    """Open possible matches of the edition, one per nominee (candidate, or nomination not yet
    grouped) and entry, leaving out pairs already decided for that nominee."""
    return sum(
        1
        for group in match_groups(session, campaign_id=campaign_id)
        if group.status is MatchStatus.open
    )


def screen_edition(
    session: Session,
    *,
    campaign: Campaign,
    settings: Settings,
    actor: Account | None,
    now: datetime,
    progress: Callable[[int], None] | None = None,
    reason: str = "run",
) -> ScreeningRun:
    """Every nominee of the edition against every current entry; audited."""
    assert campaign.id is not None
    subjects = edition_subjects(session, campaign_id=campaign.id)
    run = screen_subjects(
        session,
        subjects=subjects if has_entries(session) else [],
        settings=settings,
        now=now,
        progress=progress,
    )
    run = ScreeningRun(
        names=len(subjects), found=run.found, open=open_count(session, campaign_id=campaign.id)
    )
    audit.record(
        session,
        actor=actor,
        action="sanctions.screen",
        object_type="campaign",
        object_id=campaign.id,
        after={
            "reason": reason,
            "names": run.names,
            "new_matches": run.found,
            "open_matches": run.open,
            "threshold": settings.sanctions_match_threshold,
        },
    )
    return run


def latest_import(session: Session) -> datetime | None:
    value = session.exec(select(func.max(SanctionListVersion.imported_at))).one()
    return value


def stale_subjects(session: Session, *, campaign_id: int) -> list[matcher.Subject]:
    """Nominees never screened, or whose names or identifiers changed since, or screened
    before the latest list import."""
    subjects = edition_subjects(session, campaign_id=campaign_id)
    done = {
        (("nomination", n) if n is not None else ("candidate", c)): (fp, at)
        for n, c, fp, at in session.execute(
            select(
                SanctionScreening.nomination_id,
                SanctionScreening.candidate_id,
                SanctionScreening.fingerprint,
                SanctionScreening.screened_at,
            )
        ).all()
    }
    since = latest_import(session)
    stale = []
    for subject in subjects:
        known = done.get(subject.key)
        if (
            known is None
            or known[0] != fingerprint(subject)
            or (since is not None and known[1] < since)
        ):
            stale.append(subject)
    return stale


def screen_pending(
    session: Session,
    *,
    campaign: Campaign,
    settings: Settings,
    actor: Account | None,
    now: datetime,
) -> ScreeningRun:
    """The nominees not screened against the current lists yet (a nomination that arrived
    while its own screening could not run, a candidate whose name changed)."""
    assert campaign.id is not None
    if not has_entries(session):
        return ScreeningRun(names=0, found=0)
    stale = stale_subjects(session, campaign_id=campaign.id)
    run = screen_subjects(session, subjects=stale, settings=settings, now=now)
    audit.record(
        session,
        actor=actor,
        action="sanctions.screen",
        object_type="campaign",
        object_id=campaign.id,
        after={"reason": "pending", "names": run.names, "new_matches": run.found},
    )
    return run


def screen_nomination(
    session: Session, *, nomination_id: int, settings: Settings, now: datetime
) -> ScreeningRun:
    """A new nomination, right after it is stored: one indexed look-up; audited."""
    subjects = nomination_subjects(session, [nomination_id])
    run = screen_subjects(session, subjects=subjects, settings=settings, now=now)
    audit.record(
        session,
        actor=None,
        action="sanctions.screen",
        object_type="nomination",
        object_id=nomination_id,
        after={"reason": "new nomination", "names": run.names, "new_matches": run.found},
    )
    return run


def edition(session: Session, *, year: int | None) -> Campaign:
    """The edition of a year, or the current one."""
    query = select(Campaign)
    query = (
        query.where(Campaign.year == year)
        if year is not None
        else query.order_by(col(Campaign.year).desc())
    )
    campaign = session.exec(query.limit(1)).first()
    if campaign is None:
        raise NotFound(
            N_("There is no edition of %(year)s.")
            if year is not None
            else N_("There is no campaign yet."),
            year=year,
        )
    return campaign
