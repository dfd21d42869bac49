"""A judge's side of a deliberation meeting: the agenda, the dossier they may open, their sheet.

Who reaches what: a judge sees a meeting once it is open (and after it closes) if it has
finalists of their themes in scope; anything else is a 404, so a judge cannot learn that other
meetings or finalists exist. A recused judge (judging.recusal) gets a 403 on that finalist.
A judge sees only their own sheet; once the meeting is closed, the panel's aggregate too.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from app.errors import Conflict, InvalidInput, PermissionDenied
from app.forms.text import normalise
from app.i18n import N_
from app.models import (
    Account,
    Criterion,
    Finalist,
    Meeting,
    MeetingStatus,
    Score,
    ScoreSheet,
    Theme,
)
from app.services import audit
from app.services.campaigns import rubric
from app.services.judging import dossier, meetings, recusal
from app.services.judging.aggregation import PanelSummary, panel_summaries

COMMENT_MAX_CHARS = 5000
_INTEGER = re.compile(r"[+-]?[0-9]{1,9}")

RECUSED = N_(
    "You have a conflict of interest with this finalist, so you are recused: you do not see"
    " this dossier or its scores, and you do not score it."
)
CLOSED = N_("This meeting is closed: scores can no longer be changed.")
NOT_OPEN = N_("This meeting is not open for scoring.")
STALE = N_("This score sheet was changed in another window; reload the page to see it.")
NO_RUBRIC = N_("The rubric has no criteria yet, so there is nothing to score.")


class SheetStatus(StrEnum):
    not_started = "not_started"
    draft = "draft"
    submitted = "submitted"
    recused = "recused"


@dataclass(frozen=True)
class Problem:
    """A message id and its parameters, translated when the page is drawn."""

    message: str
    params: dict[str, object] = field(default_factory=dict)


class SheetInvalid(InvalidInput):
    """What was wrong with a sheet: per criterion id (or "comment"), and about the whole form."""

    def __init__(self, fields: dict[int | str, Problem], general: list[Problem]) -> None:
        super().__init__()
        self.fields = fields
        self.general = general


class StaleSheet(Conflict):
    default_message = STALE


# -- who may reach what ---------------------------------------------------------------------
# "May this judge reach this meeting / finalist?" is judging.meetings' rule, shared with the
# judges' home; recusal is judging.recusal's.


def judge_meeting(session: Session, *, meeting_id: int, judge: Account) -> Meeting:
    """The meeting, if it is open or closed and has finalists of the judge's themes in scope."""
    return meetings.get_meeting_for_judge(session, meeting_id=meeting_id, judge=judge)


def judge_finalist(
    session: Session, *, meeting: Meeting, finalist_id: int, judge: Account
) -> tuple[Finalist, Theme]:
    """A finalist of the meeting the judge may open: 404 outside scope, 403 when recused."""
    line = meetings.get_scope_line_for_judge(
        session, meeting=meeting, finalist_id=finalist_id, judge=judge
    )
    if line.recused:
        raise PermissionDenied(RECUSED)
    return line.finalist, line.theme


# -- the agenda -----------------------------------------------------------------------------


@dataclass(frozen=True)
class AgendaRow:
    finalist: Finalist
    theme: Theme
    status: SheetStatus
    # The panel's aggregate, once the meeting is closed and unless the judge is recused.
    panel: PanelSummary | None


@dataclass(frozen=True)
class Agenda:
    meeting: Meeting
    rows: list[AgendaRow]
    scored: int
    total: int


def agenda(session: Session, *, meeting_id: int, judge: Account) -> Agenda:
    meeting = judge_meeting(session, meeting_id=meeting_id, judge=judge)
    lines = meetings.judge_scope(session, meeting=meeting, judge=judge)
    panels = (
        panel_summaries(session, meeting=meeting) if recusal.may_see_others_scores(meeting) else {}
    )
    rows = []
    for line in lines:
        if line.recused:
            status = SheetStatus.recused
        elif line.sheet is None:
            status = SheetStatus.not_started
        elif line.sheet.submitted_at is None:
            status = SheetStatus.draft
        else:
            status = SheetStatus.submitted
        panel = None if line.recused else panels.get(line.finalist.id or 0)
        rows.append(AgendaRow(finalist=line.finalist, theme=line.theme, status=status, panel=panel))
    counted = [row for row in rows if row.status is not SheetStatus.recused]
    return Agenda(
        meeting=meeting,
        rows=rows,
        scored=sum(row.status is SheetStatus.submitted for row in counted),
        total=len(counted),
    )


# -- one dossier and the judge's own sheet ---------------------------------------------------


@dataclass(frozen=True)
class SheetView:
    criteria: list[Criterion]
    sheet: ScoreSheet | None
    values: dict[int, int]

    @property
    def version(self) -> int:
        return self.sheet.version if self.sheet else 0

    @property
    def submitted(self) -> bool:
        return bool(self.sheet and self.sheet.submitted_at)

    @property
    def comment(self) -> str:
        return self.sheet.comment if self.sheet else ""


@dataclass(frozen=True)
class DossierPage:
    meeting: Meeting
    theme: Theme
    dossier: dossier.Dossier
    sheet: SheetView
    panel: PanelSummary | None

    @property
    def can_score(self) -> bool:
        return self.meeting.status is MeetingStatus.open and bool(self.sheet.criteria)


def _find_sheet(
    session: Session, *, meeting: Meeting, judge: Account, finalist: Finalist
) -> ScoreSheet | None:
    return session.execute(
        select(ScoreSheet).where(
            col(ScoreSheet.meeting_id) == meeting.id,
            col(ScoreSheet.judge_id) == judge.id,
            col(ScoreSheet.finalist_id) == finalist.id,
        )
    ).scalar_one_or_none()


def own_sheet(
    session: Session, *, meeting: Meeting, judge: Account, finalist: Finalist
) -> SheetView:
    """Only ever the sheet of `judge`: no function here reads another judge's scores."""
    criteria = rubric.list_criteria(session, campaign_id=meeting.campaign_id)
    sheet = _find_sheet(session, meeting=meeting, judge=judge, finalist=finalist)
    values: dict[int, int] = {}
    if sheet is not None:
        for criterion_id, value in session.execute(
            select(col(Score.criterion_id), col(Score.value)).where(col(Score.sheet_id) == sheet.id)
        ):
            values[criterion_id] = value
    return SheetView(criteria=criteria, sheet=sheet, values=values)


def open_dossier(
    session: Session, *, meeting_id: int, finalist_id: int, judge: Account
) -> DossierPage:
    meeting = judge_meeting(session, meeting_id=meeting_id, judge=judge)
    finalist, theme = judge_finalist(session, meeting=meeting, finalist_id=finalist_id, judge=judge)
    panel = None
    if recusal.may_see_others_scores(meeting):
        panel = panel_summaries(session, meeting=meeting).get(finalist_id)
    return DossierPage(
        meeting=meeting,
        theme=theme,
        dossier=dossier.build_dossier(session, finalist=finalist, theme=theme),
        sheet=own_sheet(session, meeting=meeting, judge=judge, finalist=finalist),
        panel=panel,
    )


def open_dossier_file(
    session: Session, *, meeting_id: int, finalist_id: int, file_id: int, judge: Account
) -> dossier.StoredFile:
    """An evidence file of the dossier, for a judge who may open that dossier."""
    meeting = judge_meeting(session, meeting_id=meeting_id, judge=judge)
    finalist, _ = judge_finalist(session, meeting=meeting, finalist_id=finalist_id, judge=judge)
    return dossier.dossier_file(session, finalist=finalist, file_id=file_id)


# -- saving a sheet -------------------------------------------------------------------------


def _parse_values(
    criteria: list[Criterion],
    values: Mapping[int, int | str | None],
    *,
    complete: bool,
    submitting: bool,
) -> tuple[dict[int, int], dict[int | str, Problem], list[Problem]]:
    known = {criterion.id: criterion for criterion in criteria}
    fields: dict[int | str, Problem] = {}
    general: list[Problem] = []
    if any(criterion_id not in known for criterion_id in values):
        general.append(
            Problem(N_("The form contained a score for a criterion that is not in the rubric."))
        )
    parsed: dict[int, int] = {}
    for criterion in criteria:
        assert criterion.id is not None
        raw = values.get(criterion.id)
        if isinstance(raw, str):
            raw = raw.strip()
            if raw == "":
                raw = None
            elif _INTEGER.fullmatch(raw):
                raw = int(raw)
            else:
                fields[criterion.id] = Problem(N_("Enter a whole number."))
                continue
        if raw is None:
            if complete:
                message = (
                    N_("Score this criterion before you submit.")
                    if submitting
                    else N_("A submitted sheet needs a score for every criterion.")
                )
                fields[criterion.id] = Problem(message)
            continue
        if isinstance(raw, bool) or not criterion.scale_min <= raw <= criterion.scale_max:
            fields[criterion.id] = Problem(
                N_("Enter a whole number from %(min)s to %(max)s."),
                {"min": criterion.scale_min, "max": criterion.scale_max},
            )
            continue
        parsed[criterion.id] = raw
    return parsed, fields, general


def _clean_comment(comment: str, fields: dict[int | str, Problem]) -> str:
    try:
        cleaned = normalise(comment)
    except ValueError:  # pydantic's custom errors are ValueErrors: bad encoding, control chars
        fields["comment"] = Problem(N_("This field contains characters that are not allowed."))
        return comment
    assert isinstance(cleaned, str)
    if len(cleaned) > COMMENT_MAX_CHARS:
        fields["comment"] = Problem(
            N_("Write at most %(max_length)s characters."), {"max_length": COMMENT_MAX_CHARS}
        )
    return cleaned


def check_open(meeting: Meeting) -> None:
    """Refuses a save in a meeting that is not open (409), before reading the form."""
    if meeting.status is not MeetingStatus.open:
        raise Conflict(CLOSED if meeting.status is MeetingStatus.closed else NOT_OPEN)


def _meeting_status_for_update(session: Session, meeting_id: int) -> MeetingStatus | None:
    """The meeting's status, read with a share lock on PostgreSQL: staff closing the meeting
    wait for this save to commit, and this save waits for a close in progress and then sees it.
    (SQLite serialises writers already: the write transaction began with BEGIN IMMEDIATE.)"""
    status = session.execute(
        select(col(Meeting.status)).where(col(Meeting.id) == meeting_id).with_for_update(read=True)
    ).scalar_one_or_none()
    return MeetingStatus(status) if status is not None else None


def save_sheet(
    session: Session,
    *,
    meeting: Meeting,
    judge: Account,
    finalist: Finalist,
    values: Mapping[int, int | str | None],
    comment: str,
    version: int,
    submit: bool,
    now: datetime,
) -> ScoreSheet:
    """Stores the judge's sheet for one finalist: one ScoreSheet, one Score per criterion.

    `values` maps criterion ids to what was typed (an empty text or None: not scored yet).
    `version` is the sheet's version the form was drawn with (0 for no sheet yet): a save from
    an older page raises StaleSheet instead of overwriting. Refusals store nothing."""
    assert meeting.id is not None and judge.id is not None and finalist.id is not None
    criteria = _criteria_to_score(session, meeting=meeting, judge=judge, finalist=finalist)
    existing = _find_sheet(session, meeting=meeting, judge=judge, finalist=finalist)
    was_submitted = bool(existing and existing.submitted_at)
    # A submitted sheet stays submitted, so it must stay complete.
    parsed, fields, general = _parse_values(
        criteria, values, complete=submit or was_submitted, submitting=submit
    )
    cleaned_comment = _clean_comment(comment, fields)
    if fields or general:
        raise SheetInvalid(fields, general)

    if existing is None:
        if version != 0:
            raise StaleSheet()
        sheet = _first_sheet(
            session,
            meeting=meeting,
            judge=judge,
            finalist=finalist,
            comment=cleaned_comment,
            submit=submit,
            now=now,
        )
        stored: dict[int, Score] = {}
        before: dict[str, Any] = {"scores": {}, "comment": "", "submitted": False}
    else:
        sheet = existing
        if sheet.version != version:
            raise StaleSheet()
        stored = _stored_scores(session, sheet)
        before = {
            "scores": {str(k): s.value for k, s in sorted(stored.items())},
            "comment": sheet.comment,
            "submitted": was_submitted,
            "version": sheet.version,
        }
        _next_version(
            session, sheet, version=version, comment=cleaned_comment, submit=submit, now=now
        )

    _write_scores(session, sheet, criteria, parsed, stored)
    audit.record(
        session,
        actor=judge,
        action="score.submitted" if submit else "score.saved",
        object_type="score_sheet",
        object_id=sheet.id,
        before=before,
        after={
            "meeting_id": meeting.id,
            "finalist_id": finalist.id,
            "scores": {str(k): v for k, v in sorted(parsed.items())},
            "comment": cleaned_comment,
            "submitted": sheet.submitted_at is not None,
            "version": sheet.version,
        },
    )
    return sheet


def _criteria_to_score(
    session: Session, *, meeting: Meeting, judge: Account, finalist: Finalist
) -> list[Criterion]:
    """The rubric, once the same rules as the pages allow this save (so no caller can score
    past them): the finalist within the judge's reach and not recused from, the meeting open
    (read under the lock that makes a close wait), a rubric with criteria."""
    assert meeting.id is not None and finalist.id is not None
    judge_finalist(session, meeting=meeting, finalist_id=finalist.id, judge=judge)
    status = _meeting_status_for_update(session, meeting.id)
    if status is not MeetingStatus.open:
        raise Conflict(CLOSED if status is MeetingStatus.closed else NOT_OPEN)
    criteria = rubric.list_criteria(session, campaign_id=meeting.campaign_id)
    if not criteria:
        raise Conflict(NO_RUBRIC)
    return criteria


def _first_sheet(
    session: Session,
    *,
    meeting: Meeting,
    judge: Account,
    finalist: Finalist,
    comment: str,
    submit: bool,
    now: datetime,
) -> ScoreSheet:
    assert meeting.id is not None and judge.id is not None and finalist.id is not None
    sheet = ScoreSheet(
        meeting_id=meeting.id,
        judge_id=judge.id,
        finalist_id=finalist.id,
        comment=comment,
        version=1,
        submitted_at=now if submit else None,
        updated_at=now,
    )
    try:
        with session.begin_nested():
            session.add(sheet)
            session.flush()
    except IntegrityError as error:
        # Another window (or process) stored this judge's first save at the same moment.
        raise StaleSheet() from error
    return sheet


def _stored_scores(session: Session, sheet: ScoreSheet) -> dict[int, Score]:
    return {
        score.criterion_id: score
        for score in session.execute(select(Score).where(col(Score.sheet_id) == sheet.id)).scalars()
    }


def _next_version(
    session: Session, sheet: ScoreSheet, *, version: int, comment: str, submit: bool, now: datetime
) -> None:
    """The version check and the change in one statement: of two saves carrying the same
    version, in any number of processes, only the first changes a row."""
    result = session.execute(
        update(ScoreSheet)
        .where(col(ScoreSheet.id) == sheet.id, col(ScoreSheet.version) == version)
        .values(
            version=col(ScoreSheet.version) + 1,
            comment=comment,
            updated_at=now,
            submitted_at=sheet.submitted_at or (now if submit else None),
        )
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]  # a CursorResult for UPDATE
        raise StaleSheet()
    session.refresh(sheet)


def _write_scores(
    session: Session,
    sheet: ScoreSheet,
    criteria: list[Criterion],
    parsed: dict[int, int],
    stored: dict[int, Score],
) -> None:
    """One Score per criterion scored: new ones added, changed ones updated, cleared ones
    deleted."""
    assert sheet.id is not None
    for criterion in criteria:
        assert criterion.id is not None
        value = parsed.get(criterion.id)
        score = stored.get(criterion.id)
        if value is None:
            if score is not None:
                session.delete(score)
        elif score is None:
            session.add(Score(sheet_id=sheet.id, criterion_id=criterion.id, value=value))
        elif score.value != value:
            score.value = value
    session.flush()
