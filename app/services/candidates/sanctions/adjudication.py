"""Staff decisions on possible matches, a candidate's identifiers, and the rule that keeps a
finalist with an open match from being announced.

Confirming records a vetting check of kind `sanctions` (disqualifying or a concern) with the
entry's details; dismissing says why the entry is another person. Both are audited, and apply
to every row of the nominee with that entry (matches.py).
"""

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from app.config import Settings
from app.errors import Conflict, NotFound
from app.forms.sanctions import ConfirmMatchForm, DismissMatchForm, IdentityForm
from app.i18n import N_, TIMEZONE
from app.models import (
    Account,
    Campaign,
    Candidate,
    CandidateIdentity,
    CheckKind,
    CheckResult,
    Finalist,
    MatchStatus,
    Nomination,
    NominationNote,
    SanctionMatch,
    Theme,
    VettingCheck,
)
from app.services import audit
from app.services.candidates.sanctions.matches import MatchGroup, match_groups
from app.services.candidates.sanctions.screening import (
    ScreeningRun,
    candidate_subjects,
    has_entries,
    screen_subjects,
    stale_subjects,
)
from app.services.text import fold


def _campaign_of(session: Session, match: SanctionMatch) -> int:
    if match.candidate_id is not None:
        candidate = session.get(Candidate, match.candidate_id)
        assert candidate is not None
        return candidate.campaign_id
    nomination = session.get(Nomination, match.nomination_id)
    assert nomination is not None
    theme = session.get(Theme, nomination.theme_id)
    assert theme is not None
    return theme.campaign_id


def get_group(session: Session, *, match_id: int) -> MatchGroup:
    """The possible match a row belongs to (404 for a number that is none)."""
    match = session.get(SanctionMatch, match_id) if 0 < match_id < 2**31 else None
    if match is None:
        raise NotFound(N_("There is no possible match with this number."))
    for group in match_groups(session, campaign_id=_campaign_of(session, match)):
        if any(row.match.id == match_id for row in group.rows):
            return group
    raise NotFound(N_("There is no possible match with this number."))


def _open_group(session: Session, match_id: int) -> MatchGroup:
    group = get_group(session, match_id=match_id)
    if group.status is not MatchStatus.open:
        raise Conflict(N_("This possible match was already decided."))
    return group


def entry_summary(group: MatchGroup) -> str:
    """What a vetting check keeps of the entry: enough to find the official record again."""
    entry = group.entry
    lines = [
        f"{group.source.name} · {entry.external_id} · {entry.name}",
        entry.position,
        entry.institution,
        entry.sanction_type,
        entry.dates,
        entry.program,
        entry.url,
    ]
    return "\n".join(line for line in lines if line)


def _decide(
    session: Session,
    *,
    actor: Account,
    group: MatchGroup,
    status: MatchStatus,
    result: CheckResult | None,
    note: str,
    now: datetime,
) -> None:
    check_id = None
    kind, person_id = group.person
    if status is MatchStatus.confirmed:
        text = "\n".join(part for part in (entry_summary(group), note) if part)
        assert actor.id is not None and result is not None
        if kind == "candidate":
            check = VettingCheck(
                candidate_id=person_id,
                kind=CheckKind.sanctions,
                result=result,
                note=text,
                checked_on=now.astimezone(TIMEZONE).date(),
                author_id=actor.id,
                created_at=now,
            )
            session.add(check)
            session.flush()
            check_id = check.id
            audit.record(
                session,
                actor=actor,
                action="vetting.check_add",
                object_type="candidate",
                object_id=person_id,
                after={
                    "check_id": check.id,
                    "kind": check.kind.value,
                    "result": check.result.value,
                    "checked_on": check.checked_on.isoformat(),
                    "note": check.note,
                },
            )
        else:
            # Not a candidate yet: the finding stays on the nomination for whoever screens it.
            session.add(
                NominationNote(
                    nomination_id=person_id, author_id=actor.id, body=text, created_at=now
                )
            )
    for row in group.rows:
        match = row.match
        if match.status is not MatchStatus.open:
            continue
        match.status = status
        match.result = result
        match.decision_note = note
        match.decided_by_id = actor.id
        match.decided_at = now
        match.vetting_check_id = check_id
        match.updated_at = now
        session.add(match)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action=f"sanctions.match_{'confirm' if status is MatchStatus.confirmed else 'dismiss'}",
        object_type=kind,
        object_id=person_id,
        before={"status": MatchStatus.open.value},
        after={
            "status": status.value,
            "result": result.value if result else None,
            "note": note,
            "list": group.source.name,
            "entry_id": group.entry.id,
            "registry_id": group.entry.external_id,
            "entry_name": group.entry.name,
            "score": group.score,
            "match_ids": [row.match.id for row in group.rows],
            "vetting_check_id": check_id,
        },
    )


def confirm_match(
    session: Session, *, actor: Account, match_id: int, form: ConfirmMatchForm, now: datetime
) -> MatchGroup:
    group = _open_group(session, match_id)
    _decide(
        session,
        actor=actor,
        group=group,
        status=MatchStatus.confirmed,
        result=CheckResult(form.result),
        note=form.note,
        now=now,
    )
    return group


def dismiss_match(
    session: Session, *, actor: Account, match_id: int, form: DismissMatchForm, now: datetime
) -> MatchGroup:
    group = _open_group(session, match_id)
    _decide(
        session,
        actor=actor,
        group=group,
        status=MatchStatus.dismissed,
        result=None,
        note=form.note,
        now=now,
    )
    return group


# --- identifiers --------------------------------------------------------------------------------


def identity_of(session: Session, *, candidate_id: int) -> CandidateIdentity | None:
    return session.get(CandidateIdentity, candidate_id)


def set_identity(
    session: Session,
    *,
    actor: Account,
    candidate_id: int,
    form: IdentityForm,
    settings: Settings,
    now: datetime,
) -> ScreeningRun:
    """Records the full name, RFC and CURP staff found while vetting, and screens the candidate
    again with them."""
    candidate = session.get(Candidate, candidate_id) if 0 < candidate_id < 2**31 else None
    if candidate is None:
        raise NotFound(N_("There is no candidate with this number."))
    identity = session.get(CandidateIdentity, candidate_id) or CandidateIdentity(
        candidate_id=candidate_id
    )
    before = {"full_name": identity.full_name, "rfc": identity.rfc, "curp": identity.curp}
    after = {"full_name": form.full_name, "rfc": form.rfc, "curp": form.curp}
    identity.full_name, identity.rfc, identity.curp = form.full_name, form.rfc, form.curp
    identity.updated_at = now
    session.add(identity)
    session.flush()
    # The trail cannot be edited: it says which identifiers changed, never their values.
    audit.record(
        session,
        actor=actor,
        action="vetting.identity",
        object_type="candidate",
        object_id=candidate_id,
        after={"changed": sorted(k for k in after if after[k] != before[k])},
    )
    subjects = candidate_subjects(session, [candidate_id])
    run = screen_subjects(session, subjects=subjects, settings=settings, now=now)
    audit.record(
        session,
        actor=actor,
        action="sanctions.screen",
        object_type="candidate",
        object_id=candidate_id,
        after={"reason": "identity", "names": run.names, "new_matches": run.found},
    )
    return run


# --- announcing finalists -----------------------------------------------------------------------


@dataclass(frozen=True)
class Blockers:
    # Finalists' public names: with an open possible match, and not screened against the lists.
    open: list[str]
    unscreened: list[str]

    def __bool__(self) -> bool:
        return bool(self.open or self.unscreened)


def announcement_blockers(session: Session, *, campaign: Campaign) -> Blockers:
    assert campaign.id is not None
    finalists = session.exec(
        select(Finalist)
        .join(Candidate, col(Candidate.id) == Finalist.candidate_id)
        .where(Candidate.campaign_id == campaign.id)
        .order_by(col(Finalist.public_name))
    ).all()
    if not finalists:
        return Blockers([], [])
    names = {f.candidate_id: f.public_name for f in finalists}
    open_people = {
        group.person[1]
        for group in match_groups(session, campaign_id=campaign.id, status=MatchStatus.open)
        if group.person[0] == "candidate"
    }
    unscreened: set[int] = set()
    if has_entries(session):
        nominations: dict[int, int] = {}
        written: dict[int, set[str]] = {}
        for nomination_id, candidate_id, nominee_name in session.execute(
            select(Nomination.id, Nomination.candidate_id, Nomination.nominee_name).where(
                col(Nomination.candidate_id).in_(list(names))
            )
        ).all():
            nominations[nomination_id] = candidate_id
            written.setdefault(candidate_id, set()).add(fold(nominee_name))
        for subject in stale_subjects(session, campaign_id=campaign.id):
            kind, subject_id = subject.key
            if kind == "nomination" and subject_id in nominations:
                unscreened.add(nominations[subject_id])
            # A candidate named as one of its nominations, with no identifiers recorded, is
            # screened through its nominations already.
            elif (
                kind == "candidate"
                and subject_id in names
                and (
                    len(subject.names) > 1
                    or subject.rfc
                    or subject.curp
                    or fold(subject.names[0]) not in written.get(subject_id, set())
                )
            ):
                unscreened.add(subject_id)
    return Blockers(
        open=[names[c] for c in names if c in open_people],
        unscreened=[names[c] for c in names if c in unscreened and c not in open_people],
    )


def check_announcement(session: Session, *, campaign: Campaign) -> None:
    """Refuses (409) to announce finalists with an open possible match, or not screened against
    the lists as they are now, naming them."""
    blockers = announcement_blockers(session, campaign=campaign)
    if blockers.open:
        raise Conflict(
            N_(
                "These finalists have possible matches on a sanctions list that nobody has"
                " decided yet: %(names)s. Confirm or dismiss them at /staff/sanctions first."
            ),
            names=", ".join(blockers.open),
        )
    if blockers.unscreened:
        raise Conflict(
            N_(
                "These finalists have not been screened against the current sanctions lists:"
                " %(names)s. Screen them at /staff/sanctions first."
            ),
            names=", ".join(blockers.unscreened),
        )
