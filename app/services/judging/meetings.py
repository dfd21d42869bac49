"""Deliberation meetings: their scope (which finalists they judge) and their life cycle.

    draft --open--> open --close--> closed --reopen (with a reason)--> open

A meeting's scope can change only while it is a draft. Judges score while it is open; once it
is closed, scores are locked. Reopening needs a written reason, kept in the audit trail.

For the judges' area, the functions at the end of this module answer "may this judge reach this
meeting / this finalist of it?" with the meeting (or a 404), so the scoring pages and the judges'
home share one rule.
"""

import json
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, case, exists, func
from sqlmodel import Session, col, select

from app.errors import Conflict, InvalidInput, NotFound
from app.i18n import N_
from app.models import (
    Account,
    AuditEvent,
    Campaign,
    CheckpointReason,
    Criterion,
    Finalist,
    JudgeAssignment,
    Meeting,
    MeetingFinalist,
    MeetingStatus,
    ScoreSheet,
    Theme,
)
from app.services import audit, audit_chain
from app.services.judging.recusal import recused_clause
from app.services.mail import notifications

MAX_REASON = 2000
# A judge sees a meeting once it is opened; a draft is still being prepared by staff.
VISIBLE_TO_JUDGES = (MeetingStatus.open, MeetingStatus.closed)


class MeetingInputError(InvalidInput):
    """Invalid input about one field of a meeting form (`field`), or about the whole form."""

    def __init__(self, message: str, *, field: str = "", **params: object) -> None:
        super().__init__(message, **params)
        self.field = field


# Staff: listing and creating -------------------------------------------------------------


@dataclass(frozen=True)
class MeetingRow:
    meeting: Meeting
    scope_size: int
    source_number: int | None


def list_meetings(session: Session, *, campaign_id: int) -> list[MeetingRow]:
    sizes = (
        select(MeetingFinalist.meeting_id, func.count().label("size"))
        .group_by(col(MeetingFinalist.meeting_id))
        .subquery()
    )
    rows = session.exec(
        select(Meeting, sizes.c.size)
        .outerjoin(sizes, sizes.c.meeting_id == Meeting.id)
        .where(Meeting.campaign_id == campaign_id)
        .order_by(col(Meeting.number))
    ).all()
    numbers = {meeting.id: meeting.number for meeting, _ in rows}
    return [
        MeetingRow(
            meeting=meeting,
            scope_size=int(size or 0),
            source_number=numbers.get(meeting.source_meeting_id),
        )
        for meeting, size in rows
    ]


def next_number(session: Session, *, campaign_id: int) -> int:
    last = session.exec(
        select(func.max(Meeting.number)).where(Meeting.campaign_id == campaign_id)
    ).one()
    return int(last or 0) + 1


def closed_meetings(session: Session, *, campaign_id: int) -> list[Meeting]:
    """The meetings a later one may take its scope from."""
    return list(
        session.exec(
            select(Meeting)
            .where(Meeting.campaign_id == campaign_id, Meeting.status == MeetingStatus.closed)
            .order_by(col(Meeting.number))
        ).all()
    )


def _scope_ids(session: Session, meeting_id: int) -> list[int]:
    return sorted(
        session.exec(
            select(MeetingFinalist.finalist_id).where(MeetingFinalist.meeting_id == meeting_id)
        ).all()
    )


def create_meeting(
    session: Session,
    *,
    campaign: Campaign,
    number: int,
    held_on: date,
    theme_ids: Collection[int],
    source_meeting_id: int | None,
    actor: Account,
) -> Meeting:
    """A draft meeting whose scope is the finalists of the chosen themes or, for a later meeting,
    the finalists an earlier closed meeting advanced (limited to the chosen themes, if any)."""
    assert campaign.id is not None
    # Meetings of one campaign are created one at a time, so a number is never taken twice.
    session.exec(select(Campaign.id).where(Campaign.id == campaign.id).with_for_update()).one()
    if number < 1:
        raise MeetingInputError(N_("Enter a number no smaller than %(ge)s."), field="number", ge=1)
    taken = session.exec(
        select(Meeting.id).where(Meeting.campaign_id == campaign.id, Meeting.number == number)
    ).first()
    if taken is not None:
        raise MeetingInputError(
            N_("Meeting %(number)s already exists; choose another number."),
            field="number",
            number=number,
        )
    wanted = set(theme_ids)
    themes = session.exec(
        select(Theme).where(Theme.campaign_id == campaign.id, col(Theme.id).in_(wanted))
    ).all()
    if len(themes) != len(wanted):
        raise MeetingInputError(N_("Choose themes of the current campaign."), field="themes")
    if source_meeting_id is None and not wanted:
        raise MeetingInputError(
            N_("Choose the themes of the meeting, or an earlier meeting to take its shortlist.")
        )
    scope = (
        select(Finalist.id)
        .join(Theme, col(Theme.id) == Finalist.theme_id)
        .where(Theme.campaign_id == campaign.id)
    )
    if wanted:
        scope = scope.where(col(Finalist.theme_id).in_(wanted))
    source: Meeting | None = None
    if source_meeting_id is not None:
        source = session.get(Meeting, source_meeting_id)
        if source is None or source.campaign_id != campaign.id:
            raise MeetingInputError(N_("Choose one of the options."), field="source_meeting_id")
        if source.status != MeetingStatus.closed:
            raise MeetingInputError(
                N_("A meeting can take its shortlist only from a closed meeting."),
                field="source_meeting_id",
            )
        scope = scope.join(MeetingFinalist, col(MeetingFinalist.finalist_id) == Finalist.id).where(
            MeetingFinalist.meeting_id == source.id, col(MeetingFinalist.advanced).is_(True)
        )
    finalist_ids: list[int] = sorted(i for i in session.exec(scope).all() if i is not None)
    if source is not None and not finalist_ids:
        raise MeetingInputError(
            N_("Meeting %(number)s advanced no finalist of these themes to a later meeting."),
            field="source_meeting_id",
            number=source.number,
        )
    meeting = Meeting(
        campaign_id=campaign.id,
        number=number,
        held_on=held_on,
        status=MeetingStatus.draft,
        source_meeting_id=source_meeting_id,
    )
    session.add(meeting)
    session.flush()
    assert meeting.id is not None
    session.add_all([MeetingFinalist(meeting_id=meeting.id, finalist_id=i) for i in finalist_ids])
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="meeting.created",
        object_type="meeting",
        object_id=meeting.id,
        after={
            "number": number,
            "held_on": held_on.isoformat(),
            "status": meeting.status.value,
            "source_meeting_id": source_meeting_id,
            "themes": sorted(theme.slug for theme in themes),
            "finalist_ids": finalist_ids,
        },
    )
    return meeting


# Staff: one meeting ----------------------------------------------------------------------


def get_meeting(session: Session, *, meeting_id: int, for_update: bool = False) -> Meeting:
    query = select(Meeting).where(Meeting.id == meeting_id)
    if for_update:
        # Serialises a status change with judges' saves, which lock the same row.
        query = query.with_for_update().execution_options(populate_existing=True)
    meeting = session.exec(query).first()
    if meeting is None:
        raise NotFound(N_("There is no meeting with this number."))
    return meeting


@dataclass(frozen=True)
class ScopeLine:
    link: MeetingFinalist
    finalist: Finalist
    theme: Theme


HISTORY_LABELS = {
    "meeting.created": N_("Created"),
    "meeting.scope_added": N_("Finalist added"),
    "meeting.scope_removed": N_("Finalist removed"),
    "meeting.date_changed": N_("Date changed"),
    "meeting.opened": N_("Opened for scoring"),
    "meeting.closed": N_("Closed; scores locked"),
    "meeting.reopened": N_("Reopened"),
    "meeting.sheets_exported": N_("Score sheets exported"),
}


@dataclass(frozen=True)
class HistoryLine:
    event: AuditEvent
    reason: str

    @property
    def label(self) -> str:
        """A message id to translate; other parts of the work may add their own actions."""
        return HISTORY_LABELS.get(self.event.action, self.event.action)


@dataclass(frozen=True)
class MeetingDetail:
    meeting: Meeting
    source: Meeting | None
    scope: list[ScopeLine]
    # Finalists of the campaign not in the scope, for adding while the meeting is a draft.
    addable: list[tuple[Finalist, Theme]]
    criteria_count: int
    submitted_sheets: int
    history: list[HistoryLine]

    @property
    def is_draft(self) -> bool:
        return self.meeting.status == MeetingStatus.draft


def meeting_detail(session: Session, *, meeting_id: int) -> MeetingDetail:
    meeting = get_meeting(session, meeting_id=meeting_id)
    scope_rows = session.exec(
        select(MeetingFinalist, Finalist, Theme)
        .join(Finalist, col(Finalist.id) == MeetingFinalist.finalist_id)
        .join(Theme, col(Theme.id) == Finalist.theme_id)
        .where(MeetingFinalist.meeting_id == meeting.id)
        .order_by(col(Theme.position), col(Finalist.public_name), col(Finalist.id))
    ).all()
    addable: list[tuple[Finalist, Theme]] = []
    if meeting.status == MeetingStatus.draft:
        rows = session.exec(
            select(Finalist, Theme)
            .join(Theme, col(Theme.id) == Finalist.theme_id)
            .where(
                Theme.campaign_id == meeting.campaign_id,
                col(Finalist.id).not_in(
                    select(MeetingFinalist.finalist_id).where(
                        MeetingFinalist.meeting_id == meeting.id
                    )
                ),
            )
            .order_by(col(Theme.position), col(Finalist.public_name))
        ).all()
        addable = [(f, t) for f, t in rows]
    criteria_count = session.exec(
        select(func.count())
        .select_from(Criterion)
        .where(Criterion.campaign_id == meeting.campaign_id)
    ).one()
    submitted = session.exec(
        select(func.count())
        .select_from(ScoreSheet)
        .where(ScoreSheet.meeting_id == meeting.id, col(ScoreSheet.submitted_at).is_not(None))
    ).one()
    events = session.exec(
        select(AuditEvent)
        .where(AuditEvent.object_type == "meeting", AuditEvent.object_id == str(meeting.id))
        .order_by(col(AuditEvent.created_at), col(AuditEvent.id))
    ).all()
    history = [HistoryLine(event=event, reason=_reason_of(event)) for event in events]
    return MeetingDetail(
        meeting=meeting,
        source=session.get(Meeting, meeting.source_meeting_id)
        if meeting.source_meeting_id
        else None,
        scope=[ScopeLine(link=m, finalist=f, theme=t) for m, f, t in scope_rows],
        addable=addable,
        criteria_count=int(criteria_count),
        submitted_sheets=int(submitted),
        history=history,
    )


@dataclass(frozen=True)
class MissingSheets:
    judge: Account
    # Finalists of the meeting in the judge's themes, not recused, with no submitted sheet.
    missing: int


def missing_sheets(session: Session, *, meeting_id: int) -> list[MissingSheets]:
    """The active judges who still owe sheets in this meeting, with how many (one grouped
    query): what closing the meeting would leave unscored."""
    judge_id = col(JudgeAssignment.account_id)
    rows = session.exec(
        select(Account, func.count(col(MeetingFinalist.finalist_id)))
        .select_from(MeetingFinalist)
        .join(Finalist, col(Finalist.id) == MeetingFinalist.finalist_id)
        .join(JudgeAssignment, col(JudgeAssignment.theme_id) == Finalist.theme_id)
        .join(Account, col(Account.id) == judge_id)
        .outerjoin(
            ScoreSheet,
            and_(
                col(ScoreSheet.meeting_id) == MeetingFinalist.meeting_id,
                col(ScoreSheet.finalist_id) == MeetingFinalist.finalist_id,
                col(ScoreSheet.judge_id) == judge_id,
            ),
        )
        .where(
            MeetingFinalist.meeting_id == meeting_id,
            col(Account.is_active).is_(True),
            ~recused_clause(judge_id, MeetingFinalist.finalist_id),
            col(ScoreSheet.submitted_at).is_(None),
        )
        .group_by(col(Account.id))
        .order_by(col(Account.name), col(Account.id))
    ).all()
    return [MissingSheets(judge=account, missing=int(count)) for account, count in rows]


def _reason_of(event: AuditEvent) -> str:
    if not event.after:
        return ""
    try:
        after = json.loads(event.after)
    except ValueError:
        return ""
    reason = after.get("reason", "") if isinstance(after, dict) else ""
    return reason if isinstance(reason, str) else ""


def _ensure_draft(meeting: Meeting) -> None:
    if meeting.status != MeetingStatus.draft:
        raise Conflict(
            N_("The finalists of a meeting can change only while it is a draft, before it opens.")
        )


def add_to_scope(session: Session, *, meeting_id: int, finalist_id: int, actor: Account) -> None:
    meeting = get_meeting(session, meeting_id=meeting_id, for_update=True)
    finalist = session.exec(
        select(Finalist)
        .join(Theme, col(Theme.id) == Finalist.theme_id)
        .where(Finalist.id == finalist_id, Theme.campaign_id == meeting.campaign_id)
    ).first()
    if finalist is None:
        raise NotFound(N_("There is no finalist with this number in the current campaign."))
    _ensure_draft(meeting)
    assert meeting.id is not None
    before = _scope_ids(session, meeting.id)
    if finalist_id in before:
        return
    session.add(MeetingFinalist(meeting_id=meeting.id, finalist_id=finalist_id))
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="meeting.scope_added",
        object_type="meeting",
        object_id=meeting.id,
        before={"finalist_ids": before},
        after={"finalist_ids": _scope_ids(session, meeting.id)},
    )


def remove_from_scope(
    session: Session, *, meeting_id: int, finalist_id: int, actor: Account
) -> None:
    meeting = get_meeting(session, meeting_id=meeting_id, for_update=True)
    link = session.exec(
        select(MeetingFinalist).where(
            MeetingFinalist.meeting_id == meeting_id, MeetingFinalist.finalist_id == finalist_id
        )
    ).first()
    if link is None:
        raise NotFound(N_("This finalist is not in the meeting."))
    _ensure_draft(meeting)
    before = _scope_ids(session, meeting_id)
    session.delete(link)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="meeting.scope_removed",
        object_type="meeting",
        object_id=meeting_id,
        before={"finalist_ids": before},
        after={"finalist_ids": _scope_ids(session, meeting_id)},
    )


def change_date(session: Session, *, meeting_id: int, held_on: date, actor: Account) -> None:
    meeting = get_meeting(session, meeting_id=meeting_id, for_update=True)
    if meeting.held_on == held_on:
        return
    before = meeting.held_on.isoformat()
    meeting.held_on = held_on
    session.add(meeting)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="meeting.date_changed",
        object_type="meeting",
        object_id=meeting_id,
        before={"held_on": before},
        after={"held_on": held_on.isoformat()},
    )


def delete_draft(session: Session, *, meeting_id: int, actor: Account) -> Meeting:
    meeting = get_meeting(session, meeting_id=meeting_id, for_update=True)
    if meeting.status != MeetingStatus.draft:
        raise Conflict(N_("Only a draft meeting can be deleted; this one was already opened."))
    before = {
        "number": meeting.number,
        "held_on": meeting.held_on.isoformat(),
        "finalist_ids": _scope_ids(session, meeting_id),
    }
    for link in session.exec(
        select(MeetingFinalist).where(MeetingFinalist.meeting_id == meeting_id)
    ).all():
        session.delete(link)
    session.flush()
    session.delete(meeting)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="meeting.deleted",
        object_type="meeting",
        object_id=meeting_id,
        before=before,
    )
    return meeting


def _status_snapshot(meeting: Meeting) -> dict[str, Any]:
    return {
        "status": meeting.status.value,
        "opened_at": meeting.opened_at.isoformat() if meeting.opened_at else None,
        "closed_at": meeting.closed_at.isoformat() if meeting.closed_at else None,
    }


def open_meeting(
    session: Session, *, meeting_id: int, actor: Account, now: datetime, base_url: str
) -> Meeting:
    """Draft to open: judges can now see the meeting and score its finalists; its judges are
    told by e-mail."""
    meeting = get_meeting(session, meeting_id=meeting_id, for_update=True)
    if meeting.status == MeetingStatus.open:
        raise Conflict(N_("This meeting is already open."))
    if meeting.status == MeetingStatus.closed:
        raise Conflict(N_("This meeting is closed; to score again in it, reopen it with a reason."))
    if not _scope_ids(session, meeting_id):
        raise Conflict(N_("Add at least one finalist to the meeting before opening it."))
    has_criteria = session.exec(
        select(exists().where(col(Criterion.campaign_id) == meeting.campaign_id))
    ).one()
    if not has_criteria:
        raise Conflict(
            N_("The campaign has no rubric yet: add its criteria before opening a meeting.")
        )
    before = _status_snapshot(meeting)
    meeting.status = MeetingStatus.open
    meeting.opened_at = now
    session.add(meeting)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="meeting.opened",
        object_type="meeting",
        object_id=meeting_id,
        before=before,
        after=_status_snapshot(meeting),
    )
    notifications.notify_meeting_opened(session, meeting, base_url=base_url)
    return meeting


def close_meeting(
    session: Session, *, meeting_id: int, actor: Account, now: datetime, base_url: str
) -> Meeting:
    """Open to closed: every score of the meeting is locked from now on; its judges are told."""
    meeting = get_meeting(session, meeting_id=meeting_id, for_update=True)
    if meeting.status == MeetingStatus.draft:
        raise Conflict(N_("This meeting has not been opened yet, so it cannot be closed."))
    if meeting.status == MeetingStatus.closed:
        raise Conflict(N_("This meeting is already closed."))
    before = _status_snapshot(meeting)
    meeting.status = MeetingStatus.closed
    meeting.closed_at = now
    session.add(meeting)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="meeting.closed",
        object_type="meeting",
        object_id=meeting_id,
        before=before,
        after=_status_snapshot(meeting),
    )
    notifications.notify_meeting_closed(session, meeting, base_url=base_url)
    campaign = session.get(Campaign, meeting.campaign_id)
    audit_chain.checkpoint_at_commit(
        session,
        reason=CheckpointReason.meeting_closed,
        edition=campaign.year if campaign else None,
        subject=f"meeting {meeting.number}",
    )
    return meeting


def reopen_meeting(
    session: Session, *, meeting_id: int, reason: str, actor: Account, now: datetime, base_url: str
) -> Meeting:
    """Closed to open again, for a written reason that the audit trail keeps; its judges are
    told they can score again."""
    meeting = get_meeting(session, meeting_id=meeting_id, for_update=True)
    if meeting.status != MeetingStatus.closed:
        raise Conflict(N_("Only a closed meeting can be reopened."))
    reason = reason.strip()
    if not reason:
        raise MeetingInputError(
            N_("Write why the meeting is reopened: the reason is kept in the audit trail."),
            field="reason",
        )
    if len(reason) > MAX_REASON:
        raise MeetingInputError(
            N_("Write at most %(max_length)s characters."), field="reason", max_length=MAX_REASON
        )
    before = _status_snapshot(meeting)
    meeting.status = MeetingStatus.open
    meeting.closed_at = None
    session.add(meeting)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="meeting.reopened",
        object_type="meeting",
        object_id=meeting_id,
        before=before,
        after={**_status_snapshot(meeting), "reopened_at": now.isoformat(), "reason": reason},
    )
    notifications.notify_meeting_opened(session, meeting, base_url=base_url)
    return meeting


# Judges ------------------------------------------------------------------------------------


def _in_judges_themes(judge_id: int) -> Any:
    """SQL true where the meeting in the outer query has a finalist of the judge's themes."""
    return exists().where(
        col(MeetingFinalist.meeting_id) == Meeting.id,
        col(Finalist.id) == MeetingFinalist.finalist_id,
        col(JudgeAssignment.theme_id) == Finalist.theme_id,
        col(JudgeAssignment.account_id) == judge_id,
    )


def get_meeting_for_judge(session: Session, *, meeting_id: int, judge: Account) -> Meeting:
    """The meeting, if the judge may see it: opened (open or closed) and with at least one
    finalist of the judge's themes in its scope. Anything else is a 404, whether or not it
    exists. (Saving a score locks the meeting's row itself: judging.scoring.save_sheet.)"""
    assert judge.id is not None
    query = select(Meeting).where(
        Meeting.id == meeting_id,
        col(Meeting.status).in_(VISIBLE_TO_JUDGES),
        _in_judges_themes(judge.id),
    )
    meeting = session.exec(query).first()
    if meeting is None:
        raise NotFound(N_("There is no meeting with this number among your meetings."))
    return meeting


@dataclass(frozen=True)
class JudgeScopeLine:
    finalist: Finalist
    theme: Theme
    recused: bool
    # The judge's own sheet for this finalist in this meeting, if started.
    sheet: ScoreSheet | None


def _judge_scope_query(meeting_id: int, judge_id: int) -> Any:
    return (
        select(
            Finalist,
            Theme,
            recused_clause(judge_id, Finalist.id).label("recused"),
            ScoreSheet,
        )
        .join(MeetingFinalist, col(MeetingFinalist.finalist_id) == Finalist.id)
        .join(Theme, col(Theme.id) == Finalist.theme_id)
        .join(
            JudgeAssignment,
            and_(
                col(JudgeAssignment.theme_id) == Finalist.theme_id,
                col(JudgeAssignment.account_id) == judge_id,
            ),
        )
        .outerjoin(
            ScoreSheet,
            and_(
                col(ScoreSheet.meeting_id) == meeting_id,
                col(ScoreSheet.finalist_id) == Finalist.id,
                col(ScoreSheet.judge_id) == judge_id,
            ),
        )
        .where(MeetingFinalist.meeting_id == meeting_id)
    )


def judge_scope(session: Session, *, meeting: Meeting, judge: Account) -> list[JudgeScopeLine]:
    """The meeting's finalists of the judge's themes (one query), each with whether the judge
    is recused and the judge's own sheet. Call get_meeting_for_judge first."""
    assert meeting.id is not None and judge.id is not None
    rows = session.exec(
        _judge_scope_query(meeting.id, judge.id).order_by(
            col(Theme.position), col(Finalist.public_name), col(Finalist.id)
        )
    ).all()
    return [JudgeScopeLine(finalist=f, theme=t, recused=bool(r), sheet=s) for f, t, r, s in rows]


def get_scope_line_for_judge(
    session: Session, *, meeting: Meeting, finalist_id: int, judge: Account
) -> JudgeScopeLine:
    """One finalist of the meeting's scope within the judge's themes; 404 for a finalist outside
    the scope or outside the judge's themes. Recusal is reported, not refused: the caller
    decides (a recused judge gets 403 when scoring)."""
    assert meeting.id is not None and judge.id is not None
    row = session.exec(
        _judge_scope_query(meeting.id, judge.id).where(Finalist.id == finalist_id)
    ).first()
    if row is None:
        raise NotFound(N_("This finalist is not among the finalists of this meeting you judge."))
    finalist, theme, recused, sheet = row
    return JudgeScopeLine(finalist=finalist, theme=theme, recused=bool(recused), sheet=sheet)


@dataclass(frozen=True)
class JudgeMeeting:
    meeting: Meeting
    # Finalists in scope of the judge's themes the judge is not recused from, and how many
    # of those the judge has submitted a sheet for.
    to_score: int
    scored: int
    recused: int


def judge_meetings(session: Session, *, judge: Account, campaign_id: int) -> list[JudgeMeeting]:
    """The judge's opened meetings of the campaign with their progress, in one grouped query."""
    assert judge.id is not None
    recused = recused_clause(judge.id, MeetingFinalist.finalist_id)
    submitted = col(ScoreSheet.submitted_at).is_not(None)
    stats = (
        select(
            col(MeetingFinalist.meeting_id).label("meeting_id"),
            func.count(case((~recused, MeetingFinalist.finalist_id))).label("to_score"),
            func.count(case((and_(~recused, submitted), ScoreSheet.id))).label("scored"),
            func.count(case((recused, MeetingFinalist.finalist_id))).label("recused"),
        )
        .join(Finalist, col(Finalist.id) == MeetingFinalist.finalist_id)
        .join(
            JudgeAssignment,
            and_(
                col(JudgeAssignment.theme_id) == Finalist.theme_id,
                col(JudgeAssignment.account_id) == judge.id,
            ),
        )
        .outerjoin(
            ScoreSheet,
            and_(
                col(ScoreSheet.meeting_id) == MeetingFinalist.meeting_id,
                col(ScoreSheet.finalist_id) == MeetingFinalist.finalist_id,
                col(ScoreSheet.judge_id) == judge.id,
            ),
        )
        .group_by(col(MeetingFinalist.meeting_id))
        .subquery()
    )
    rows = session.exec(
        select(Meeting, stats.c.to_score, stats.c.scored, stats.c.recused)
        .join(stats, stats.c.meeting_id == Meeting.id)
        .where(Meeting.campaign_id == campaign_id, col(Meeting.status).in_(VISIBLE_TO_JUDGES))
        .order_by(col(Meeting.number))
    ).all()
    return [
        JudgeMeeting(meeting=m, to_score=int(n), scored=int(s), recused=int(r))
        for m, n, s, r in rows
    ]
