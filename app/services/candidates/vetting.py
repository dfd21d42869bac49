"""Vetting: dated checks on a candidate (references, press, public records, sanctions) and the
decision they support: pending, cleared or flagged.

Rules: a candidate is cleared only once the four standard checks are recorded and none of its
checks is disqualifying; a finalist stays cleared (remove the finalist first).
"""

from collections.abc import Iterable
from dataclasses import dataclass

from sqlmodel import Session, col, select

from app.forms.candidates import VettingCheckForm
from app.i18n import N_
from app.models import (
    Account,
    Candidate,
    CheckKind,
    CheckResult,
    Finalist,
    VettingCheck,
    VettingStatus,
    utcnow,
)
from app.services import audit
from app.services.candidates.grouping import (
    CandidateDetail,
    Refused,
    candidate_detail,
    lock_candidate,
)

CHECK_KIND_LABELS = {
    CheckKind.references: N_("References contacted"),
    CheckKind.press: N_("Press review"),
    CheckKind.public_records: N_("Public records"),
    CheckKind.sanctions: N_("Sanctions registries"),
    CheckKind.other: N_("Other check"),
}
CHECK_RESULT_LABELS = {
    CheckResult.clear: N_("Clear"),
    CheckResult.concern: N_("Concern"),
    CheckResult.disqualifying: N_("Disqualifying"),
    CheckResult.inconclusive: N_("Inconclusive"),
}
STATUS_LABELS = {
    VettingStatus.pending: N_("Vetting pending"),
    VettingStatus.cleared: N_("Cleared"),
    VettingStatus.flagged: N_("Flagged"),
}
STANDARD_CHECKS = (
    CheckKind.references,
    CheckKind.press,
    CheckKind.public_records,
    CheckKind.sanctions,
)


@dataclass(frozen=True)
class CheckRow:
    check: VettingCheck
    author_name: str


@dataclass(frozen=True)
class Vetting:
    checks: list[CheckRow]
    missing: list[CheckKind]
    disqualifying: int


def missing_checks(kinds: Iterable[CheckKind]) -> list[CheckKind]:
    done = set(kinds)
    return [kind for kind in STANDARD_CHECKS if kind not in done]


def vetting_of(session: Session, *, candidate_id: int) -> Vetting:
    rows = session.exec(
        select(VettingCheck, Account.name)
        .join(Account, col(Account.id) == VettingCheck.author_id)
        .where(VettingCheck.candidate_id == candidate_id)
        .order_by(col(VettingCheck.checked_on).desc(), col(VettingCheck.id).desc())
    ).all()
    checks = [CheckRow(check, name) for check, name in rows]
    return Vetting(
        checks=checks,
        missing=missing_checks(row.check.kind for row in checks),
        disqualifying=sum(1 for row in checks if row.check.result is CheckResult.disqualifying),
    )


@dataclass(frozen=True)
class CandidatePage:
    detail: CandidateDetail
    vetting: Vetting


def candidate_page(session: Session, *, candidate_id: int) -> CandidatePage:
    """Everything /staff/candidates/{id} shows: the candidate, its nominations and its vetting."""
    detail = candidate_detail(session, candidate_id=candidate_id)
    return CandidatePage(detail, vetting_of(session, candidate_id=candidate_id))


def add_check(
    session: Session, *, actor: Account, candidate_id: int, form: VettingCheckForm
) -> VettingCheck:
    candidate = lock_candidate(session, candidate_id)
    assert candidate.id is not None and actor.id is not None
    check = VettingCheck(
        candidate_id=candidate.id,
        kind=form.kind,
        result=form.result,
        note=form.note,
        checked_on=form.checked_on,
        author_id=actor.id,
        created_at=utcnow(),
    )
    session.add(check)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="vetting.check_add",
        object_type="candidate",
        object_id=candidate.id,
        after={
            "check_id": check.id,
            "kind": check.kind.value,
            "result": check.result.value,
            "checked_on": check.checked_on.isoformat(),
            "note": check.note,
        },
    )
    return check


def record_checklist(
    session: Session,
    *,
    actor: Account,
    candidate_id: int,
    checks: list[VettingCheckForm],
    status: VettingStatus | None,
    note: str,
) -> Candidate:
    """Several checks and then, if given, the vetting status, in one step: each check and the
    status change audited as if recorded on its own; a refused status refuses it all."""
    for check in checks:
        add_check(session, actor=actor, candidate_id=candidate_id, form=check)
    if status is not None:
        return set_status(session, actor=actor, candidate_id=candidate_id, status=status, note=note)
    return lock_candidate(session, candidate_id)


def set_status(
    session: Session, *, actor: Account, candidate_id: int, status: VettingStatus, note: str
) -> Candidate:
    candidate = lock_candidate(session, candidate_id)
    assert candidate.id is not None
    if status is not VettingStatus.cleared:
        is_finalist = session.exec(
            select(Finalist.id).where(Finalist.candidate_id == candidate.id)
        ).first()
        if is_finalist is not None:
            raise Refused(
                N_(
                    "This candidate is a finalist and must stay cleared: remove the finalist"
                    " first to change the vetting status."
                ),
                field="status",
            )
    else:
        vetting = vetting_of(session, candidate_id=candidate.id)
        if vetting.missing:
            raise Refused(
                N_(
                    "Record the four standard checks before clearing the candidate: the list"
                    " under Vetting shows which are missing."
                ),
                field="status",
            )
        if vetting.disqualifying:
            raise Refused(
                N_("A candidate with a disqualifying check cannot be cleared."), field="status"
            )
    if candidate.vetting_status is status and candidate.vetting_note == note:
        return candidate
    before = {
        "vetting_status": candidate.vetting_status.value,
        "vetting_note": candidate.vetting_note,
    }
    candidate.vetting_status = status
    candidate.vetting_note = note
    candidate.updated_at = utcnow()
    session.add(candidate)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="vetting.status",
        object_type="candidate",
        object_id=candidate.id,
        before=before,
        after={"vetting_status": status.value, "vetting_note": note},
    )
    return candidate
