"""How far the judges are in a meeting, and reminding those with sheets left to submit.

Staff see, per judge of the meeting, the sheets submitted, in draft and missing (finalists of
the judge's themes in the meeting's scope, not recused from, with no sheet yet), and per
finalist how many sheets it has of how many expected. A reminder goes to every judge with sheets
left, in draft or missing: sent by staff in one click, or by the server itself a set number of
hours before the meeting's scoring closes (Meeting.closes_at and reminder_hours), once for each
deadline. Every reminder is in the audit trail, and its e-mails go through the outbox.
"""

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, Select, and_, case, func, update
from sqlalchemy import select as sa_select
from sqlalchemy.engine import CursorResult
from sqlmodel import Session, col, select

from app.db import WRITE
from app.errors import Conflict, InvalidInput
from app.forms.judging import REMINDER_HOURS
from app.i18n import N_
from app.models import (
    Account,
    Finalist,
    JudgeAssignment,
    Meeting,
    MeetingFinalist,
    MeetingStatus,
    Role,
    ScoreSheet,
    utcnow,
)
from app.services import audit
from app.services.judging.meetings import get_meeting
from app.services.judging.recusal import recused_clause
from app.services.mail.compose import render_mail
from app.services.mail.outbox import queue_mail

log = logging.getLogger("app.reminders")

NOT_OPEN = N_("Reminders go to the judges of an open meeting only.")


class DeadlineInvalid(InvalidInput):
    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class JudgeProgress:
    judge: Account
    submitted: int
    draft: int
    missing: int
    recused: int

    @property
    def left(self) -> int:
        """Sheets the judge still has to submit."""
        return self.draft + self.missing

    @property
    def total(self) -> int:
        return self.submitted + self.left


@dataclass(frozen=True)
class FinalistSheets:
    submitted: int
    draft: int
    # Judges of the finalist's theme who are not recused from them.
    expected: int


@dataclass(frozen=True)
class MeetingProgress:
    judges: list[JudgeProgress]
    finalists: dict[int, FinalistSheets]

    @property
    def submitted(self) -> int:
        return sum(j.submitted for j in self.judges)

    @property
    def expected(self) -> int:
        return sum(j.total for j in self.judges)

    @property
    def behind(self) -> list[JudgeProgress]:
        """The judges a reminder goes to."""
        return [j for j in self.judges if j.left]


def meeting_progress(session: Session, *, meeting: Meeting) -> MeetingProgress:
    """Two grouped queries over the meeting's (judge, finalist) pairs, by judge and by finalist,
    whatever the size of the panel and the scope."""
    assert meeting.id is not None
    recused = recused_clause(JudgeAssignment.account_id, MeetingFinalist.finalist_id)
    has_sheet = col(ScoreSheet.id).is_not(None)
    submitted = col(ScoreSheet.submitted_at).is_not(None)
    counted = {
        "submitted": func.count(case((and_(~recused, submitted), 1))),
        "draft": func.count(case((and_(~recused, has_sheet, ~submitted), 1))),
        "missing": func.count(case((and_(~recused, ~has_sheet), 1))),
        "recused": func.count(case((recused, 1))),
    }

    def pairs(*columns: Any) -> Select[Any]:
        return (
            sa_select(*columns)
            .select_from(MeetingFinalist)
            .join(Finalist, col(Finalist.id) == MeetingFinalist.finalist_id)
            .join(JudgeAssignment, col(JudgeAssignment.theme_id) == Finalist.theme_id)
            .join(Account, col(Account.id) == JudgeAssignment.account_id)
            .outerjoin(
                ScoreSheet,
                and_(
                    col(ScoreSheet.meeting_id) == MeetingFinalist.meeting_id,
                    col(ScoreSheet.finalist_id) == MeetingFinalist.finalist_id,
                    col(ScoreSheet.judge_id) == JudgeAssignment.account_id,
                ),
            )
            .where(
                col(MeetingFinalist.meeting_id) == meeting.id,
                col(Account.role) == Role.judge,
                col(Account.is_active).is_(True),
            )
        )

    by_judge = session.execute(
        pairs(Account, *counted.values())
        .group_by(col(Account.id))
        .order_by(col(Account.name), col(Account.id))
    ).all()
    by_finalist = session.execute(
        pairs(
            col(MeetingFinalist.finalist_id),
            counted["submitted"],
            counted["draft"],
            func.count(case((~recused, 1))),
        ).group_by(col(MeetingFinalist.finalist_id))
    ).all()
    return MeetingProgress(
        judges=[
            JudgeProgress(judge=j, submitted=int(s), draft=int(d), missing=int(m), recused=int(r))
            for j, s, d, m, r in by_judge
        ],
        finalists={
            int(f): FinalistSheets(submitted=int(s), draft=int(d), expected=int(e))
            for f, s, d, e in by_finalist
        },
    )


# -- reminders -------------------------------------------------------------------------------


def _remind(session: Session, meeting: Meeting, progress: MeetingProgress, base_url: str) -> None:
    base = base_url.rstrip("/")
    for line in progress.behind:
        subject, body = render_mail(
            "judge_reminder",
            line.judge.locale,
            recipient=line.judge.name,
            meeting=meeting,
            left=line.left,
            draft=line.draft,
            missing=line.missing,
            meeting_url=f"{base}/judges/meetings/{meeting.id}",
        )
        queue_mail(session, to=line.judge.email, subject=subject, body=body)


def _reminded(progress: MeetingProgress, *, automatic: bool) -> dict[str, object]:
    return {
        "automatic": automatic,
        "judges": [
            {"judge_id": line.judge.id, "draft": line.draft, "missing": line.missing}
            for line in progress.behind
        ],
    }


def send_reminder(session: Session, *, meeting_id: int, actor: Account, base_url: str) -> int:
    """Staff's one click: an e-mail to every judge of the open meeting with sheets left to
    submit; returns how many judges it went to (none: nothing is sent or recorded)."""
    meeting = get_meeting(session, meeting_id=meeting_id, for_update=True)
    if meeting.status is not MeetingStatus.open:
        raise Conflict(NOT_OPEN)
    progress = meeting_progress(session, meeting=meeting)
    if not progress.behind:
        return 0
    _remind(session, meeting, progress, base_url)
    audit.record(
        session,
        actor=actor,
        action="meeting.reminded",
        object_type="meeting",
        object_id=meeting.id,
        after=_reminded(progress, automatic=False),
    )
    session.flush()
    return len(progress.behind)


def set_deadline(
    session: Session,
    *,
    meeting_id: int,
    closes_at: datetime | None,
    reminder_hours: int | None,
    actor: Account,
) -> Meeting:
    """When the meeting's scoring is due to close, and how long before it the server reminds
    the judges with sheets left (None: it does not). A new deadline gets its own reminder."""
    if reminder_hours is not None and reminder_hours not in REMINDER_HOURS:
        raise DeadlineInvalid(N_("Choose one of the options."), field="reminder_hours")
    if reminder_hours is not None and closes_at is None:
        raise DeadlineInvalid(
            N_("Set when scoring closes: the automatic reminder is sent a set time before it."),
            field="reminder_hours",
        )
    meeting = get_meeting(session, meeting_id=meeting_id, for_update=True)
    if (meeting.closes_at, meeting.reminder_hours) == (closes_at, reminder_hours):
        return meeting
    before = {
        "closes_at": meeting.closes_at.isoformat() if meeting.closes_at else None,
        "reminder_hours": meeting.reminder_hours,
        "reminded_at": meeting.reminded_at.isoformat() if meeting.reminded_at else None,
    }
    meeting.closes_at = closes_at
    meeting.reminder_hours = reminder_hours
    meeting.reminded_at = None
    session.add(meeting)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="meeting.deadline_changed",
        object_type="meeting",
        object_id=meeting.id,
        before=before,
        after={
            "closes_at": closes_at.isoformat() if closes_at else None,
            "reminder_hours": reminder_hours,
        },
    )
    return meeting


def reminder_due_at(meeting: Meeting) -> datetime | None:
    """When the server sends the meeting's automatic reminder; None if it sends none."""
    if meeting.closes_at is None or meeting.reminder_hours is None:
        return None
    return meeting.closes_at - timedelta(hours=meeting.reminder_hours)


def send_due_reminders(session: Session, *, now: datetime, base_url: str) -> list[int]:
    """The server's own reminders: for each open meeting whose reminder time has come and whose
    scoring has not closed yet, once per deadline. Each meeting is claimed by one conditional
    UPDATE, so that of several processes and machines, one sends it. Returns the meetings."""
    candidates = session.exec(
        select(Meeting).where(
            col(Meeting.status) == MeetingStatus.open,
            col(Meeting.reminded_at).is_(None),
            col(Meeting.closes_at).is_not(None),
            col(Meeting.reminder_hours).is_not(None),
            col(Meeting.closes_at) > now,
        )
    ).all()
    sent = []
    for meeting in candidates:
        due = reminder_due_at(meeting)
        if due is None or due > now:
            continue
        claimed = session.execute(
            update(Meeting)
            .where(
                col(Meeting.id) == meeting.id,
                col(Meeting.reminded_at).is_(None),
                col(Meeting.status) == MeetingStatus.open,
            )
            .values(reminded_at=now)
            .execution_options(synchronize_session=False)
        )
        if not isinstance(claimed, CursorResult) or claimed.rowcount != 1:
            continue
        session.refresh(meeting)
        progress = meeting_progress(session, meeting=meeting)
        _remind(session, meeting, progress, base_url)
        audit.record(
            session,
            actor=None,
            actor_label="server",
            action="meeting.reminded",
            object_type="meeting",
            object_id=meeting.id,
            after=_reminded(progress, automatic=True),
        )
        assert meeting.id is not None
        sent.append(meeting.id)
    session.flush()
    return sent


class ReminderSender:
    """A thread per server process that looks for reminders due every `interval` seconds, in a
    short write transaction of its own; idle otherwise."""

    def __init__(
        self,
        engine: Engine,
        *,
        base_url: str,
        interval: float,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.engine = engine
        self.base_url = base_url
        self.interval = interval
        self.clock = clock
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="reminders", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(5.0)

    def run_once(self) -> list[int]:
        with Session(self.engine, expire_on_commit=False) as session:
            session.connection(execution_options=WRITE)
            sent = send_due_reminders(session, now=self.clock(), base_url=self.base_url)
            session.commit()
        return sent

    def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                sent = self.run_once()
            except Exception:
                # A database that does not answer, say: the next round tries again.
                log.exception("looking for reminders failed; trying again in %s s", self.interval)
            else:
                if sent:
                    log.info("reminded the judges of meeting(s) %s", sent)
            self._stopping.wait(self.interval)
