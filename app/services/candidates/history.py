"""Correcting candidates after the fact, with their history kept: renaming one (and screening
it again against the sanction lists) and splitting the nominations of another person out of
one. Merging is grouping.merge_candidates; every step is in the audit trail, and each moved
nomination's own history shows it."""

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from app.config import Settings
from app.i18n import N_
from app.models import Account, AuditEvent, Candidate, Nomination
from app.services import audit
from app.services.candidates.grouping import (
    Refused,
    lock_candidate,
    record_moves,
    snapshot,
)
from app.services.candidates.matching import match_key
from app.services.candidates.sanctions.screening import (
    ScreeningRun,
    candidate_subjects,
    screen_subjects,
)


def _screen(
    session: Session,
    *,
    actor: Account,
    candidate_id: int,
    reason: str,
    settings: Settings,
    now: datetime,
) -> ScreeningRun:
    run = screen_subjects(
        session, subjects=candidate_subjects(session, [candidate_id]), settings=settings, now=now
    )
    audit.record(
        session,
        actor=actor,
        action="sanctions.screen",
        object_type="candidate",
        object_id=candidate_id,
        after={"reason": reason, "names": run.names, "new_matches": run.found},
    )
    return run


def _nominations(session: Session, candidate_id: int) -> list[int]:
    ids = session.exec(
        select(Nomination.id)
        .where(Nomination.candidate_id == candidate_id)
        .order_by(col(Nomination.id))
    ).all()
    return [i for i in ids if i is not None]


def rename_candidate(
    session: Session,
    *,
    actor: Account,
    candidate_id: int,
    name: str,
    institution: str,
    state: str,
    settings: Settings,
    now: datetime,
) -> Candidate:
    """A new name (institution, state) for the candidate; the sanction screening runs again
    with it, since a match depends on the name. The nominations keep what nominators wrote."""
    candidate = lock_candidate(session, candidate_id)
    assert candidate.id is not None
    before = snapshot(candidate, _nominations(session, candidate.id))
    if (candidate.name, candidate.institution, candidate.state) == (name, institution, state):
        raise Refused(N_("Nothing changed: the candidate already has this name."), field="name")
    candidate.name = name
    candidate.institution = institution
    candidate.state = state
    candidate.match_key = match_key(name)
    candidate.updated_at = now
    session.add(candidate)
    session.flush()
    after = snapshot(candidate, before["nominations"])  # type: ignore[arg-type]
    audit.record(
        session,
        actor=actor,
        action="candidate.rename",
        object_type="candidate",
        object_id=candidate.id,
        before={k: before[k] for k in ("name", "institution", "state")},
        after={k: after[k] for k in ("name", "institution", "state")},
    )
    _screen(
        session, actor=actor, candidate_id=candidate.id, reason="rename", settings=settings, now=now
    )
    return candidate


def split_candidate(
    session: Session,
    *,
    actor: Account,
    candidate_id: int,
    nomination_ids: list[int],
    settings: Settings,
    now: datetime,
) -> Candidate:
    """Moves the chosen nominations, which name another person, to a new candidate named as
    the first of them; the vetting checks stay with the candidate they were made for."""
    candidate = lock_candidate(session, candidate_id)
    assert candidate.id is not None
    chosen = sorted(set(nomination_ids))
    if not chosen:
        raise Refused(N_("Tick the nominations that name another person."), field="nominations")
    before = _nominations(session, candidate.id)
    strangers = [i for i in chosen if i not in before]
    if strangers:
        raise Refused(
            N_("Nomination %(id)s is not grouped in this candidate."),
            id=strangers[0],
            field="nominations",
        )
    remaining = [i for i in before if i not in chosen]
    if not remaining:
        raise Refused(
            N_(
                "Leave at least one nomination with this candidate: to rename the candidate,"
                " use the name form instead."
            ),
            field="nominations",
        )
    moved = list(
        session.exec(
            select(Nomination)
            .where(col(Nomination.id).in_(chosen))
            .order_by(col(Nomination.submitted_at), col(Nomination.id))
            .with_for_update()
        ).all()
    )
    first = moved[0]
    new = Candidate(
        campaign_id=candidate.campaign_id,
        theme_id=candidate.theme_id,
        name=first.nominee_name,
        institution=first.nominee_institution,
        state=first.state,
        match_key=match_key(first.nominee_name),
        created_at=now,
        updated_at=now,
    )
    session.add(new)
    session.flush()
    assert new.id is not None
    for nomination in moved:
        nomination.candidate_id = new.id
        session.add(nomination)
    candidate.updated_at = now
    session.add(candidate)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="candidate.split",
        object_type="candidate",
        object_id=candidate.id,
        before={"nominations": before},
        after={"nominations": remaining, "split_into": new.id, "moved": chosen},
    )
    audit.record(
        session,
        actor=actor,
        action="candidate.create",
        object_type="candidate",
        object_id=new.id,
        after={**snapshot(new, chosen), "split_from": candidate.id},
    )
    record_moves(session, actor=actor, nominations=chosen, before=candidate.id, after=new.id)
    _screen(session, actor=actor, candidate_id=new.id, reason="split", settings=settings, now=now)
    return new


# What the candidate page calls each step of its history.
HISTORY_LABELS = {
    "candidate.create": N_("created"),
    "candidate.add_nomination": N_("nomination added"),
    "candidate.detach_nomination": N_("nomination detached"),
    "candidate.merge": N_("another candidate merged into it"),
    "candidate.rename": N_("renamed"),
    "candidate.split": N_("nominations split off to a new candidate"),
}


@dataclass(frozen=True)
class HistoryEntry:
    at: datetime
    action: str
    actor: str
    before: dict[str, Any]
    after: dict[str, Any]


def candidate_history(session: Session, *, candidate_id: int) -> list[HistoryEntry]:
    """The grouping steps of a candidate, oldest first, from the audit trail (one query)."""
    events = session.exec(
        select(AuditEvent)
        .where(
            AuditEvent.object_type == "candidate",
            AuditEvent.object_id == str(candidate_id),
            col(AuditEvent.action).in_(list(HISTORY_LABELS)),
        )
        .order_by(col(AuditEvent.created_at), col(AuditEvent.id))
    ).all()
    return [
        HistoryEntry(
            at=event.created_at,
            action=event.action,
            actor=event.actor_label,
            before=json.loads(event.before) if event.before else {},
            after=json.loads(event.after) if event.after else {},
        )
        for event in events
    ]
