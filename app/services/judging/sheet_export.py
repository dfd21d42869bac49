"""A closed meeting's raw score sheets, for staff to audit the results: one row per judge and
finalist, with each criterion's score, the judge's weighted and normalised scores, whether the
sheet counted, and the judge's comment.

Staff only (the route's router checks the role), and only once the meeting is closed, when no
score can change under the file. Judges never get it: they see their own sheets and, once a
meeting is closed, the panel's aggregate (app.services.judging.recusal). Every download is
written to the audit trail, and shown in the meeting's history.
"""

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import and_
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from app.errors import Conflict
from app.i18n import N_, TIMEZONE, Translator
from app.models import (
    Account,
    Criterion,
    Finalist,
    Meeting,
    MeetingFinalist,
    MeetingStatus,
    Score,
    ScoreSheet,
    Theme,
)
from app.services import audit
from app.services.judging import aggregation, meetings
from app.services.judging.recusal import recused_clause
from app.services.nominations.exports import (
    Cell,
    ExportFile,
    ExportFormat,
    write_csv,
    write_xlsx,
)

# The fixed columns around the criteria's, which come between "Counted" and "Weighted score".
LEADING_HEADERS = (
    N_("Theme"),
    N_("Finalist ID"),
    N_("Finalist"),
    N_("Judge ID"),
    N_("Judge"),
    N_("Sheet"),
    N_("Submitted at"),
    N_("Recused"),
    N_("Counted in the results"),
)
TRAILING_HEADERS = (N_("Weighted score"), N_("Normalised score (z-score)"), N_("Comment"))
NOT_CLOSED_MESSAGE = N_("A meeting's score sheets can be exported once the meeting is closed.")


@dataclass(frozen=True)
class _Sheet:
    sheet: ScoreSheet
    finalist: Finalist
    theme: Theme
    judge: Account
    recused: bool


def _when(value: datetime | None) -> str:
    return value.astimezone(TIMEZONE).isoformat(timespec="seconds") if value else ""


def _number(value: float | None) -> float | None:
    return None if value is None else round(value, 6)


def _criteria(session: Session, campaign_id: int) -> list[Criterion]:
    return list(
        session.exec(
            select(Criterion)
            .where(Criterion.campaign_id == campaign_id)
            .order_by(col(Criterion.position), col(Criterion.id))
        ).all()
    )


def _sheets(session: Session, meeting: Meeting) -> list[_Sheet]:
    rows = session.execute(
        sa_select(
            ScoreSheet,
            Finalist,
            Theme,
            Account,
            recused_clause(ScoreSheet.judge_id, ScoreSheet.finalist_id).label("recused"),
        )
        .join(Finalist, col(Finalist.id) == ScoreSheet.finalist_id)
        .join(Theme, col(Theme.id) == Finalist.theme_id)
        .join(Account, col(Account.id) == ScoreSheet.judge_id)
        .join(
            MeetingFinalist,
            and_(
                col(MeetingFinalist.meeting_id) == ScoreSheet.meeting_id,
                col(MeetingFinalist.finalist_id) == ScoreSheet.finalist_id,
            ),
        )
        .where(col(ScoreSheet.meeting_id) == meeting.id)
        .order_by(
            col(Theme.position),
            col(Theme.id),
            col(Finalist.public_name),
            col(Finalist.id),
            col(Account.name),
            col(Account.id),
        )
    ).all()
    return [
        _Sheet(sheet=sheet, finalist=finalist, theme=theme, judge=judge, recused=bool(recused))
        for sheet, finalist, theme, judge, recused in rows
    ]


def sheet_rows(
    session: Session, *, meeting: Meeting, t: Translator
) -> tuple[list[str], list[list[Cell]]]:
    """The headers (in the translator's language) and one row per sheet of the meeting."""
    assert meeting.id is not None
    criteria = _criteria(session, meeting.campaign_id)
    weights = {c.id: c.weight for c in criteria}
    sheets = _sheets(session, meeting)
    values: dict[int, dict[int, int]] = {}
    for sheet_id, criterion_id, value in session.exec(
        select(Score.sheet_id, Score.criterion_id, Score.value).where(
            col(Score.sheet_id).in_([s.sheet.id for s in sheets])
        )
    ).all():
        values.setdefault(sheet_id, {})[criterion_id] = value
    # The normalised scores exactly as the results were computed from them.
    normalised: dict[tuple[int | None, int | None], float] = {
        (row.finalist.id, judge.judge_id): judge.z
        for row in aggregation.compute_results(session, meeting=meeting).rows
        for judge in row.judge_scores
    }
    headers = [
        *(t(h) for h in LEADING_HEADERS),
        *(t.pick(c.name_es, c.name_en) for c in criteria),
        *(t(h) for h in TRAILING_HEADERS),
    ]
    rows: list[list[Cell]] = []
    for entry in sheets:
        scores = values.get(entry.sheet.id or 0, {})
        weight = sum(weights.get(i, 0.0) for i in scores)
        weighted = (
            sum(weights.get(i, 0.0) * v for i, v in scores.items()) / weight if weight else None
        )
        submitted = entry.sheet.submitted_at is not None
        counted = submitted and not entry.recused and weighted is not None
        rows.append(
            [
                t.pick(entry.theme.name_es, entry.theme.name_en),
                entry.finalist.id,
                entry.finalist.public_name,
                entry.judge.id,
                entry.judge.name,
                t("submitted") if submitted else t("draft"),
                _when(entry.sheet.submitted_at),
                t("Yes") if entry.recused else t("No"),
                t("Yes") if counted else t("No"),
                *(scores.get(c.id or 0) for c in criteria),
                _number(weighted),
                _number(normalised.get((entry.finalist.id, entry.judge.id))),
                entry.sheet.comment,
            ]
        )
    return headers, rows


def export_sheets(
    session: Session,
    *,
    meeting_id: int,
    file_format: ExportFormat,
    t: Translator,
    today: date,
) -> ExportFile:
    meeting = meetings.get_meeting(session, meeting_id=meeting_id)
    if meeting.status is not MeetingStatus.closed:
        raise Conflict(NOT_CLOSED_MESSAGE)
    headers, rows = sheet_rows(session, meeting=meeting, t=t)
    if file_format is ExportFormat.xlsx:
        content, size, count = write_xlsx(
            headers, rows, title=t("Meeting %(number)s", number=meeting.number)
        )
    else:
        content, size, count = write_csv(headers, rows)
    return ExportFile(
        object_type="meeting",
        file_format=file_format,
        filename=f"meeting-{meeting.number}-sheets-{today.isoformat()}.{file_format.value}",
        content=content,
        size=size,
        rows=count,
        filters={"meeting_id": meeting.id, "meeting_number": meeting.number},
    )


def record_sheets_export(session: Session, *, actor: Account, export: ExportFile) -> None:
    """Judges' individual scores leave the portal: who took them, and when, is kept."""
    audit.record(
        session,
        actor=actor,
        action="meeting.sheets_exported",
        object_type="meeting",
        object_id=str(export.filters["meeting_id"]),
        after={"format": export.file_format.value, "rows": export.rows},
    )
    session.flush()
