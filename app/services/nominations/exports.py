"""Staff exports: nominations and candidates as CSV or XLSX files.

A file is built in a spooled temporary file (in memory while small, on disk beyond that) while
the rows are read in batches, so 100,000 rows cost neither 100,000 queries nor a 100,000-row
list. Text that a spreadsheet would run as a formula is neutralised in both formats.
"""

import csv
import io
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import IO, Any

from sqlalchemy import case, distinct, func
from sqlmodel import Session, col, select

from app.forms.filters import NominationFilter
from app.i18n import N_, TIMEZONE, Translator
from app.models import (
    Account,
    AuditEvent,
    Candidate,
    EvidenceFile,
    Nomination,
    NominationStatus,
    Theme,
)
from app.services import audit
from app.services.nominations.screening import nomination_query
from app.services.text import FORMULA_STARTS, neutralise

BATCH = 1000
# Files up to this size stay in memory; larger ones spill to a temporary file on disk.
IN_MEMORY_BYTES = 16 * 1024 * 1024

Cell = str | int | float | None


class ExportFormat(StrEnum):
    csv = "csv"
    xlsx = "xlsx"


MEDIA_TYPES = {
    ExportFormat.csv: "text/csv; charset=utf-8",
    ExportFormat.xlsx: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


@dataclass
class ExportFile:
    """A finished export, ready to be sent; `content` is positioned at its start."""

    object_type: str
    file_format: ExportFormat
    filename: str
    content: IO[bytes]
    size: int
    rows: int
    filters: dict[str, Any] = field(default_factory=dict)

    @property
    def media_type(self) -> str:
        return MEDIA_TYPES[self.file_format]


# -- the columns -----------------------------------------------------------------------------

NominationRow = tuple[Nomination, Theme, int]


def _when(value: datetime | None) -> str:
    return value.astimezone(TIMEZONE).isoformat(timespec="seconds") if value else ""


def _enum(value: StrEnum | None) -> str:
    return value.value if value is not None else ""


def _yes_no(t: Translator, value: bool) -> str:
    return t("Yes") if value else t("No")


# (header message id, the cell of one row). One list keeps headers and cells aligned.
NOMINATION_COLUMNS: tuple[tuple[str, Callable[[NominationRow, Translator], Cell]], ...] = (
    (N_("ID"), lambda r, t: r[0].id),
    (N_("Submitted at"), lambda r, t: _when(r[0].submitted_at)),
    (N_("Theme"), lambda r, t: r[1].slug),
    (N_("Status"), lambda r, t: _enum(r[0].status)),
    (N_("Reason for the status"), lambda r, t: r[0].status_reason),
    (N_("Candidate ID"), lambda r, t: r[0].candidate_id),
    (N_("Nominee"), lambda r, t: r[0].nominee_name),
    (N_("Position"), lambda r, t: r[0].nominee_position),
    (N_("Institution"), lambda r, t: r[0].nominee_institution),
    (N_("Level of government"), lambda r, t: _enum(r[0].government_level)),
    (N_("State"), lambda r, t: r[0].state),
    (N_("Years in public service"), lambda r, t: r[0].years_of_service),
    (N_("Age"), lambda r, t: r[0].nominee_age),
    (N_("How to reach the nominee"), lambda r, t: r[0].nominee_contact),
    (N_("Gender"), lambda r, t: _enum(r[0].nominee_gender)),
    (N_("What did they do?"), lambda r, t: r[0].achievement),
    (N_("What was its impact beyond their own office?"), lambda r, t: r[0].impact),
    (N_("What obstacles did they overcome?"), lambda r, t: r[0].obstacles),
    (N_("How do you know about it?"), lambda r, t: r[0].how_known),
    (N_("First reference: name"), lambda r, t: r[0].reference1_name),
    (N_("First reference: phone or e-mail"), lambda r, t: r[0].reference1_contact),
    (N_("Second reference: name"), lambda r, t: r[0].reference2_name),
    (N_("Second reference: phone or e-mail"), lambda r, t: r[0].reference2_contact),
    (N_("Nominator: name"), lambda r, t: r[0].nominator_name),
    (N_("Nominator: e-mail"), lambda r, t: r[0].nominator_email),
    (N_("Nominator: phone"), lambda r, t: r[0].nominator_phone),
    (
        N_("Nominator: relationship with the nominee"),
        lambda r, t: _enum(r[0].nominator_relationship),
    ),
    (N_("Nominator may be contacted"), lambda r, t: _yes_no(t, r[0].may_contact)),
    (N_("Nominee may learn who nominated them"), lambda r, t: _yes_no(t, r[0].reveal_identity)),
    (N_("Evidence files"), lambda r, t: r[2]),
)

CandidateRow = tuple[Candidate, str, int, int]

CANDIDATE_COLUMNS: tuple[tuple[str, Callable[[CandidateRow, Translator], Cell]], ...] = (
    (N_("ID"), lambda r, t: r[0].id),
    (N_("Name"), lambda r, t: r[0].name),
    (N_("Institution"), lambda r, t: r[0].institution),
    (N_("State"), lambda r, t: r[0].state),
    (N_("Theme"), lambda r, t: r[1]),
    (N_("Vetting status"), lambda r, t: _enum(r[0].vetting_status)),
    (N_("Nominations"), lambda r, t: r[2]),
    (N_("Independent nominators"), lambda r, t: r[3]),
)


# -- the queries -----------------------------------------------------------------------------


def count_nominations(session: Session, *, filters: NominationFilter, campaign_id: int) -> int:
    query = nomination_query(filters, campaign_id=campaign_id).order_by(None)
    return int(session.exec(select(func.count()).select_from(query.subquery())).one())


def _nomination_rows(
    session: Session, *, filters: NominationFilter, campaign_id: int
) -> Iterable[NominationRow]:
    files = (
        select(EvidenceFile.nomination_id, func.count().label("files"))
        .group_by(col(EvidenceFile.nomination_id))
        .subquery()
    )
    query = (
        nomination_query(filters, campaign_id=campaign_id)
        .add_columns(func.coalesce(files.c.files, 0))
        .outerjoin(files, files.c.nomination_id == Nomination.id)
        .execution_options(yield_per=BATCH)
    )
    for nomination, theme, file_count in session.exec(query):
        yield nomination, theme, int(file_count)


def _candidate_rows(
    session: Session, *, filters: NominationFilter, campaign_id: int
) -> Iterable[CandidateRow]:
    # As the candidates' pages count them: every nomination grouped under the candidate, and
    # independent nominators = distinct e-mails, folded, of the nominations not withdrawn.
    folded_email = func.lower(func.trim(col(Nomination.nominator_email)))
    counts = (
        select(
            col(Nomination.candidate_id).label("candidate_id"),
            func.count(col(Nomination.id)).label("nominations"),
            func.count(
                distinct(case((col(Nomination.status) != NominationStatus.withdrawn, folded_email)))
            ).label("nominators"),
        )
        .where(col(Nomination.candidate_id).is_not(None))
        .group_by(col(Nomination.candidate_id))
        .subquery()
    )
    query = (
        select(
            Candidate,
            Theme.slug,
            func.coalesce(counts.c.nominations, 0),
            func.coalesce(counts.c.nominators, 0),
        )
        .join(Theme, col(Theme.id) == Candidate.theme_id)
        .outerjoin(counts, counts.c.candidate_id == Candidate.id)
        .where(Candidate.campaign_id == campaign_id)
    )
    if filters.theme:
        query = query.where(Theme.slug == filters.theme)
    if filters.state:
        query = query.where(Candidate.state == filters.state)
    query = query.order_by(col(Theme.position), col(Candidate.name), col(Candidate.id))
    for candidate, slug, nominations, nominators in session.exec(
        query.execution_options(yield_per=BATCH)
    ):
        yield candidate, slug, int(nominations), int(nominators)


# -- the writers -----------------------------------------------------------------------------


def write_csv(headers: Sequence[str], rows: Iterable[Sequence[Cell]]) -> tuple[IO[bytes], int, int]:
    """UTF-8 with a byte-order mark, which Excel needs to read accents right."""
    out: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=IN_MEMORY_BYTES)  # noqa: SIM115 - returned open, closed by the response
    out.write("\ufeff".encode())
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([neutralise(h) for h in headers])
    count = 0
    for row in rows:
        writer.writerow(
            ["" if v is None else neutralise(v) if isinstance(v, str) else v for v in row]
        )
        count += 1
        if count % BATCH == 0:
            out.write(buffer.getvalue().encode())
            buffer.seek(0)
            buffer.truncate()
    out.write(buffer.getvalue().encode())
    size = out.tell()
    out.seek(0)
    return out, size, count


def write_xlsx(
    headers: Sequence[str], rows: Iterable[Sequence[Cell]], *, title: str
) -> tuple[IO[bytes], int, int]:
    """A write-only workbook: rows go to disk as they come instead of living in memory."""
    # Imported here: openpyxl adds ~15 MB to every worker that loads it, and only exports use it.
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=title[:31])

    def cell(value: Cell) -> Any:
        if not isinstance(value, str):
            return value
        clean = ILLEGAL_CHARACTERS_RE.sub("", value)
        if clean.startswith((*FORMULA_STARTS, "#")):
            # openpyxl reads "=…" as a formula and "#N/A" as an error: force plain text.
            text = WriteOnlyCell(sheet, value=clean)
            text.data_type = "s"
            return text
        return clean

    sheet.append([cell(h) for h in headers])
    count = 0
    for row in rows:
        sheet.append([cell(v) for v in row])
        count += 1
    out: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=IN_MEMORY_BYTES)  # noqa: SIM115 - returned open, closed by the response
    workbook.save(out)
    size = out.tell()
    out.seek(0)
    return out, size, count


def _build(
    *,
    object_type: str,
    basename: str,
    title: str,
    headers: Sequence[str],
    rows: Iterable[Sequence[Cell]],
    file_format: ExportFormat,
    filters: dict[str, Any],
    today: date,
) -> ExportFile:
    if file_format is ExportFormat.xlsx:
        content, size, count = write_xlsx(headers, rows, title=title)
    else:
        content, size, count = write_csv(headers, rows)
    return ExportFile(
        object_type=object_type,
        file_format=file_format,
        filename=f"{basename}-{today.isoformat()}.{file_format.value}",
        content=content,
        size=size,
        rows=count,
        filters=filters,
    )


def export_nominations(
    session: Session,
    *,
    filters: NominationFilter,
    campaign_id: int,
    file_format: ExportFormat,
    t: Translator,
    today: date,
) -> ExportFile:
    """The nominations the queue shows with these filters, in its order, every column."""
    rows = _nomination_rows(session, filters=filters, campaign_id=campaign_id)
    return _build(
        object_type="nominations",
        basename="nominaciones",
        title=t("Nominations"),
        headers=[t(header) for header, _ in NOMINATION_COLUMNS],
        rows=([value(row, t) for _, value in NOMINATION_COLUMNS] for row in rows),
        file_format=file_format,
        filters=filters.model_dump(mode="json", exclude={"page"}),
        today=today,
    )


def export_candidates(
    session: Session,
    *,
    filters: NominationFilter,
    campaign_id: int,
    file_format: ExportFormat,
    t: Translator,
    today: date,
) -> ExportFile:
    """Candidates of the campaign, narrowed by the queue's theme and state filters only."""
    rows = _candidate_rows(session, filters=filters, campaign_id=campaign_id)
    return _build(
        object_type="candidates",
        basename="candidatos",
        title=t("Candidates"),
        headers=[t(header) for header, _ in CANDIDATE_COLUMNS],
        rows=([value(row, t) for _, value in CANDIDATE_COLUMNS] for row in rows),
        file_format=file_format,
        filters={"theme": filters.theme, "state": filters.state},
        today=today,
    )


def record_export(session: Session, *, actor: Account, export: ExportFile) -> AuditEvent:
    """An export copies personal data out of the portal: who took what is kept."""
    event = audit.record(
        session,
        actor=actor,
        action="export",
        object_type=export.object_type,
        after={"format": export.file_format.value, "filters": export.filters, "rows": export.rows},
    )
    session.flush()
    return event
