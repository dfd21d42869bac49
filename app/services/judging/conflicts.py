"""Conflict-of-interest declarations: each judge's answer for each finalist of their themes, and
the conflicts staff record for a judge.

A conflict recorded by staff binds the judge: they see it and cannot change or remove it. A judge
only ever reaches their own declarations, for finalists of their own themes (else 404).
Recusal itself (what a conflict prevents) is the named rule of app/services/judging/recusal.py.
"""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_
from sqlmodel import Session, col, select

from app.errors import InvalidInput, NotFound, PermissionDenied
from app.forms.judging import MAX_DESCRIPTION
from app.i18n import N_
from app.models import (
    Account,
    Campaign,
    ConflictDeclaration,
    Finalist,
    JudgeAssignment,
    Role,
    Theme,
)
from app.services import audit

STAFF_RECORDED_MESSAGE = N_(
    "The campaign team recorded this conflict of interest; only they can change it. Write to"
    " them if it is wrong."
)


@dataclass(frozen=True)
class JudgeFinalist:
    finalist: Finalist
    theme: Theme
    declaration: ConflictDeclaration | None


def _finalists_of_judge_query(judge_id: int, campaign_id: int) -> Any:
    return (
        select(Finalist, Theme, ConflictDeclaration)
        .join(Theme, col(Theme.id) == Finalist.theme_id)
        .join(
            JudgeAssignment,
            and_(
                col(JudgeAssignment.theme_id) == Finalist.theme_id,
                col(JudgeAssignment.account_id) == judge_id,
            ),
        )
        .outerjoin(
            ConflictDeclaration,
            and_(
                col(ConflictDeclaration.finalist_id) == Finalist.id,
                col(ConflictDeclaration.judge_id) == judge_id,
            ),
        )
        .where(Theme.campaign_id == campaign_id)
    )


def _lock_judge(session: Session, judge_id: int) -> Account | None:
    """Locks the judge's account row until commit, so one judge's declarations (by them or by
    staff) are written one at a time and a double click cannot insert the same pair twice."""
    return session.exec(
        select(Account)
        .where(Account.id == judge_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()


def judge_finalists(session: Session, *, judge_id: int, campaign_id: int) -> list[JudgeFinalist]:
    """The finalists of the judge's themes, each with the judge's own declaration (or None)."""
    rows = session.exec(
        _finalists_of_judge_query(judge_id, campaign_id).order_by(
            col(Theme.position), col(Finalist.public_name), col(Finalist.id)
        )
    ).all()
    return [JudgeFinalist(finalist=f, theme=t, declaration=d) for f, t, d in rows]


def judge_finalist(
    session: Session, *, judge_id: int, campaign_id: int, finalist_id: int
) -> JudgeFinalist:
    """One finalist of the judge's themes; 404 for any other finalist."""
    row = session.exec(
        _finalists_of_judge_query(judge_id, campaign_id).where(Finalist.id == finalist_id)
    ).first()
    if row is None:
        raise NotFound(N_("This finalist is not among the finalists you judge."))
    finalist, theme, declaration = row
    return JudgeFinalist(finalist=finalist, theme=theme, declaration=declaration)


def finalist_to_declare(
    session: Session, *, judge: Account, campaign_id: int, finalist_id: int
) -> JudgeFinalist:
    """A finalist the judge may answer for: 404 outside their themes, 403 when staff recorded
    a conflict for this pair."""
    assert judge.id is not None
    _lock_judge(session, judge.id)
    entry = judge_finalist(
        session, judge_id=judge.id, campaign_id=campaign_id, finalist_id=finalist_id
    )
    if entry.declaration is not None and entry.declaration.recorded_by_staff:
        raise PermissionDenied(STAFF_RECORDED_MESSAGE)
    return entry


def count_missing(session: Session, *, judge_id: int, campaign_id: int) -> int:
    """How many finalists of the judge's themes still wait for the judge's declaration."""
    return sum(
        1
        for entry in judge_finalists(session, judge_id=judge_id, campaign_id=campaign_id)
        if entry.declaration is None
    )


def _snapshot(declaration: ConflictDeclaration | None) -> dict[str, Any] | None:
    if declaration is None:
        return None
    return {
        "judge_id": declaration.judge_id,
        "finalist_id": declaration.finalist_id,
        "has_conflict": declaration.has_conflict,
        "description": declaration.description,
        "recorded_by_staff": declaration.recorded_by_staff,
    }


def _clean_description(has_conflict: bool, description: str) -> str:
    description = description.strip()
    if has_conflict and not description:
        raise InvalidInput(N_("Describe the conflict of interest."))
    if len(description) > MAX_DESCRIPTION:
        raise InvalidInput(
            N_("Write at most %(max_length)s characters."), max_length=MAX_DESCRIPTION
        )
    return description


def declare(
    session: Session,
    *,
    judge: Account,
    campaign_id: int,
    finalist_id: int,
    has_conflict: bool,
    description: str,
    now: datetime,
) -> ConflictDeclaration:
    """The judge's own answer for one finalist of their themes: no conflict, or a conflict
    (described). Refused (403) when staff recorded a conflict for this pair."""
    entry = finalist_to_declare(
        session, judge=judge, campaign_id=campaign_id, finalist_id=finalist_id
    )
    existing = entry.declaration
    assert judge.id is not None
    # "No conflict" needs no description; a leftover one would only confuse the register.
    description = _clean_description(has_conflict, description) if has_conflict else ""
    before = _snapshot(existing)
    declaration = existing or ConflictDeclaration(
        judge_id=judge.id,
        finalist_id=finalist_id,
        has_conflict=has_conflict,
        recorded_by_id=judge.id,
    )
    declaration.has_conflict = has_conflict
    declaration.description = description
    declaration.recorded_by_id = judge.id
    declaration.updated_at = now
    after = _snapshot(declaration)
    if before == after:
        return declaration
    session.add(declaration)
    session.flush()
    audit.record(
        session,
        actor=judge,
        action="conflict.declared",
        object_type="finalist",
        object_id=finalist_id,
        before=before,
        after=after,
    )
    return declaration


def declare_no_conflict_for_remaining(
    session: Session, *, judge: Account, campaign_id: int, finalist_ids: list[int], now: datetime
) -> list[ConflictDeclaration]:
    """ "No conflict" for each of the listed finalists the judge has not answered yet: the ones
    the page showed unanswered, so a finalist added since is not declared unseen. Each answer
    is a declaration of its own, audited one by one; answered finalists, staff-recorded
    conflicts and finalists outside the judge's themes are left alone."""
    assert judge.id is not None
    _lock_judge(session, judge.id)
    wanted = set(finalist_ids)
    remaining = [
        entry.finalist.id
        for entry in judge_finalists(session, judge_id=judge.id, campaign_id=campaign_id)
        if entry.declaration is None and entry.finalist.id in wanted
    ]
    return [
        declare(
            session,
            judge=judge,
            campaign_id=campaign_id,
            finalist_id=finalist_id,
            has_conflict=False,
            description="",
            now=now,
        )
        for finalist_id in remaining
        if finalist_id is not None
    ]


def record_by_staff(
    session: Session,
    *,
    campaign: Campaign,
    judge_id: int,
    finalist_id: int,
    description: str,
    actor: Account,
    now: datetime,
) -> ConflictDeclaration:
    """A conflict staff learned of (from the judge or elsewhere): it recuses the judge from the
    finalist, replaces whatever the judge had declared, and only staff can withdraw it."""
    judge = _lock_judge(session, judge_id)
    if judge is None or judge.role != Role.judge:
        raise NotFound(N_("There is no judge account with this number."))
    finalist = _campaign_finalist(session, campaign=campaign, finalist_id=finalist_id)
    description = _clean_description(True, description)
    existing = session.exec(
        select(ConflictDeclaration).where(
            ConflictDeclaration.judge_id == judge_id,
            ConflictDeclaration.finalist_id == finalist.id,
        )
    ).first()
    before = _snapshot(existing)
    declaration = existing or ConflictDeclaration(
        judge_id=judge_id, finalist_id=finalist_id, has_conflict=True, recorded_by_id=judge_id
    )
    declaration.has_conflict = True
    declaration.description = description
    declaration.recorded_by_staff = True
    assert actor.id is not None
    declaration.recorded_by_id = actor.id
    declaration.updated_at = now
    session.add(declaration)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="conflict.recorded_by_staff",
        object_type="finalist",
        object_id=finalist_id,
        before=before,
        after=_snapshot(declaration),
    )
    return declaration


def withdraw_by_staff(
    session: Session, *, campaign: Campaign, declaration_id: int, actor: Account
) -> None:
    """Removes a conflict staff recorded by mistake; the judge must then answer again."""
    declaration = session.get(ConflictDeclaration, declaration_id)
    if declaration is None or not declaration.recorded_by_staff:
        raise NotFound(N_("There is no conflict recorded by staff with this number."))
    finalist_id = declaration.finalist_id
    _campaign_finalist(session, campaign=campaign, finalist_id=finalist_id)
    before = _snapshot(declaration)
    session.delete(declaration)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="conflict.withdrawn_by_staff",
        object_type="finalist",
        object_id=finalist_id,
        before=before,
    )


def _campaign_finalist(session: Session, *, campaign: Campaign, finalist_id: int) -> Finalist:
    row = session.exec(
        select(Finalist)
        .join(Theme, col(Theme.id) == Finalist.theme_id)
        .where(Finalist.id == finalist_id, Theme.campaign_id == campaign.id)
    ).first()
    if row is None:
        raise NotFound(N_("There is no finalist with this number in the current campaign."))
    return row


@dataclass(frozen=True)
class RegisterLine:
    judge: Account
    finalist: Finalist
    theme: Theme
    declaration: ConflictDeclaration | None
    # False for a declaration about a finalist outside the judge's current themes.
    assigned: bool

    @property
    def recused(self) -> bool:
        return self.declaration is not None and self.declaration.has_conflict


@dataclass
class FinalistGap:
    finalist: Finalist
    theme: Theme
    judges: list[Account] = field(default_factory=list)


@dataclass(frozen=True)
class Register:
    lines: list[RegisterLine]
    # Finalists still waiting for a declaration, with the judges who owe one.
    missing: list[FinalistGap]
    judges: list[Account]
    finalists: list[tuple[Finalist, Theme]]

    @property
    def recusals(self) -> list[RegisterLine]:
        return [line for line in self.lines if line.recused]

    @property
    def missing_count(self) -> int:
        return sum(len(gap.judges) for gap in self.missing)


def register(session: Session, *, campaign: Campaign) -> Register:
    """Every judge-finalist pair of the campaign's panel with its declaration (or its absence),
    plus declarations about finalists outside a judge's current themes."""
    assert campaign.id is not None
    assigned_rows = session.exec(
        select(Account, Finalist, Theme, ConflictDeclaration)
        .join(JudgeAssignment, col(JudgeAssignment.account_id) == Account.id)
        .join(Theme, col(Theme.id) == JudgeAssignment.theme_id)
        .join(Finalist, col(Finalist.theme_id) == Theme.id)
        .outerjoin(
            ConflictDeclaration,
            and_(
                col(ConflictDeclaration.judge_id) == Account.id,
                col(ConflictDeclaration.finalist_id) == Finalist.id,
            ),
        )
        .where(Theme.campaign_id == campaign.id, Account.role == Role.judge)
    ).all()
    lines = [
        RegisterLine(judge=a, finalist=f, theme=t, declaration=d, assigned=True)
        for a, f, t, d in assigned_rows
    ]
    seen = {line.declaration.id for line in lines if line.declaration is not None}
    other_rows = session.exec(
        select(Account, Finalist, Theme, ConflictDeclaration)
        .join(Account, col(Account.id) == ConflictDeclaration.judge_id)
        .join(Finalist, col(Finalist.id) == ConflictDeclaration.finalist_id)
        .join(Theme, col(Theme.id) == Finalist.theme_id)
        .where(Theme.campaign_id == campaign.id)
    ).all()
    lines += [
        RegisterLine(judge=a, finalist=f, theme=t, declaration=d, assigned=False)
        for a, f, t, d in other_rows
        if d.id not in seen
    ]
    lines.sort(key=lambda line: (line.theme.position, line.finalist.public_name, line.judge.name))
    gaps: dict[int, FinalistGap] = {}
    for line in lines:
        if line.declaration is None:
            assert line.finalist.id is not None
            gap = gaps.setdefault(line.finalist.id, FinalistGap(line.finalist, line.theme))
            gap.judges.append(line.judge)
    judges = session.exec(
        select(Account)
        .where(
            Account.role == Role.judge,
            col(Account.id).in_(
                select(JudgeAssignment.account_id)
                .join(Theme, col(Theme.id) == JudgeAssignment.theme_id)
                .where(Theme.campaign_id == campaign.id)
            ),
        )
        .order_by(col(Account.name), col(Account.id))
    ).all()
    finalists = session.exec(
        select(Finalist, Theme)
        .join(Theme, col(Theme.id) == Finalist.theme_id)
        .where(Theme.campaign_id == campaign.id)
        .order_by(col(Theme.position), col(Finalist.public_name))
    ).all()
    return Register(
        lines=lines,
        missing=list(gaps.values()),
        judges=list(judges),
        finalists=[(f, t) for f, t in finalists],
    )
