"""Staff exports: nominations and candidates as CSV or XLSX files.

Rows are read from the database as plain tuples in batches (no ORM object per row) and written
as they come into a spooled temporary file (in memory while small, on disk beyond that), so an
export of 100,000 nominations holds one batch in memory, not 100,000 rows (bench/staff_data.py).
Text that a spreadsheet would run as a formula is neutralised in CSV; XLSX keeps text as text.

A long export takes this process's turn (ExportTurns): one at a time per worker, so that a few
staff exporting at once cannot hold every request thread while citizens wait.
"""

import csv
import io
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import IO, Any

from sqlalchemy import String, case, distinct, func, type_coerce
from sqlalchemy import select as sa_select
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
from app.services import audit, xlsx
from app.services.nominations.screening import nomination_query
from app.services.text import neutralise

BATCH = 1000
# Files up to this size stay in memory; larger ones spill to a temporary file on disk.
IN_MEMORY_BYTES = 4 * 1024 * 1024
# An export of more rows than this takes its turn (ExportTurns); smaller ones take well under a
# second and go at once.
LONG_EXPORT_ROWS = 5000
# How long the page of an export waiting its turn waits before asking again.
RETRY_SECONDS = 5

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


class ExportTurns:
    """The turn of one process's long exports: one at a time. Another long export asked for
    meanwhile is not queued on a request thread; its page says to wait and asks again."""

    def __init__(self, *, long_rows: int = LONG_EXPORT_ROWS) -> None:
        self.long_rows = long_rows
        self._lock = threading.Lock()

    @contextmanager
    def turn(self, rows: int) -> Iterator[bool]:
        """True inside the block if the export may run now: it is short, or it took the turn."""
        if rows <= self.long_rows:
            yield True
            return
        taken = self._lock.acquire(blocking=False)
        try:
            yield taken
        finally:
            if taken:
                self._lock.release()


# -- the columns -----------------------------------------------------------------------------

Format = Callable[[Any, Translator], Cell]


def _when(value: datetime | None, _t: Translator) -> str:
    return value.astimezone(TIMEZONE).isoformat(timespec="seconds") if value else ""


def _enum(value: StrEnum | None, _t: Translator) -> str:
    return value.value if value is not None else ""


def _yes_no(value: bool, t: Translator) -> str:
    return t("Yes") if value else t("No")


def _code(column: Any) -> Any:
    """An option as the code stored (eligible, colleague…), read as plain text: no enum member
    built per row only to be written as its value again."""
    return type_coerce(column, String)


_FILES = (
    sa_select(func.count())
    .where(col(EvidenceFile.nomination_id) == col(Nomination.id))
    .correlate(Nomination)
    .scalar_subquery()
)

# (header message id, what the database reads, how its value is written: None, as it is). One
# list keeps headers and cells aligned.
NOMINATION_COLUMNS: tuple[tuple[str, Any, Format | None], ...] = (
    (N_("ID"), Nomination.id, None),
    (N_("Submitted at"), Nomination.submitted_at, _when),
    (N_("Theme"), Theme.slug, None),
    (N_("Status"), _code(Nomination.status), None),
    (N_("Channel"), _code(Nomination.channel), None),
    (N_("Reason for the status"), Nomination.status_reason, None),
    (N_("Candidate ID"), Nomination.candidate_id, None),
    (N_("Nominee"), Nomination.nominee_name, None),
    (N_("Position"), Nomination.nominee_position, None),
    (N_("Institution"), Nomination.nominee_institution, None),
    (N_("Level of government"), _code(Nomination.government_level), None),
    (N_("State"), Nomination.state, None),
    (N_("Years in public service"), Nomination.years_of_service, None),
    (N_("Age"), Nomination.nominee_age, None),
    (N_("How to reach the nominee"), Nomination.nominee_contact, None),
    (N_("Gender"), _code(Nomination.nominee_gender), None),
    (N_("What did they do?"), Nomination.achievement, None),
    (N_("What was its impact beyond their own office?"), Nomination.impact, None),
    (N_("What obstacles did they overcome?"), Nomination.obstacles, None),
    (N_("How do you know about it?"), Nomination.how_known, None),
    (N_("First reference: name"), Nomination.reference1_name, None),
    (N_("First reference: phone or e-mail"), Nomination.reference1_contact, None),
    (N_("Second reference: name"), Nomination.reference2_name, None),
    (N_("Second reference: phone or e-mail"), Nomination.reference2_contact, None),
    (N_("Nominator: name"), Nomination.nominator_name, None),
    (N_("Nominator: e-mail"), Nomination.nominator_email, None),
    (N_("Nominator: phone"), Nomination.nominator_phone, None),
    (
        N_("Nominator: relationship with the nominee"),
        _code(Nomination.nominator_relationship),
        None,
    ),
    (N_("Nominator may be contacted"), Nomination.may_contact, _yes_no),
    (N_("Nominee may learn who nominated them"), Nomination.reveal_identity, _yes_no),
    (N_("Evidence files"), _FILES, None),
)
# Column widths in the XLSX file, in characters: long texts get a wide column.
NOMINATION_WIDTHS = (
    8, 20, 14, 11, 24, 10, 28, 24, 28, 12, 6, 8, 6, 20, 10,
    50, 50, 40, 40, 22, 24, 22, 24, 22, 26, 16, 14, 10, 10, 8,
)  # fmt: skip

CANDIDATE_COLUMNS: tuple[tuple[str, Format | None], ...] = (
    (N_("ID"), None),
    (N_("Name"), None),
    (N_("Institution"), None),
    (N_("State"), None),
    (N_("Theme"), None),
    (N_("Vetting status"), _enum),
    (N_("Nominations"), None),
    (N_("Independent nominators"), None),
)
CANDIDATE_WIDTHS = (8, 30, 30, 6, 14, 12, 12, 12)


# -- the queries -----------------------------------------------------------------------------


def count_nominations(session: Session, *, filters: NominationFilter, campaign_id: int) -> int:
    query = nomination_query(filters, campaign_id=campaign_id).order_by(None)
    return int(session.exec(select(func.count()).select_from(query.subquery())).one())


def _formatted(
    rows: Iterable[Sequence[Any]], formats: Sequence[Format | None], t: Translator
) -> Iterator[list[Cell]]:
    changes = [(index, fmt) for index, fmt in enumerate(formats) if fmt is not None]
    for row in rows:
        cells = list(row)
        for index, fmt in changes:
            cells[index] = fmt(cells[index], t)
        yield cells


def _nomination_rows(
    session: Session, *, filters: NominationFilter, campaign_id: int, t: Translator
) -> Iterator[list[Cell]]:
    query = (
        nomination_query(filters, campaign_id=campaign_id)
        .with_only_columns(*(column for _, column, _ in NOMINATION_COLUMNS))
        .execution_options(yield_per=BATCH)
    )
    formats = [fmt for _, _, fmt in NOMINATION_COLUMNS]
    yield from _formatted(session.execute(query), formats, t)


def _candidates_query(filters: NominationFilter, *, campaign_id: int) -> Any:
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
        sa_select(
            col(Candidate.id),
            col(Candidate.name),
            col(Candidate.institution),
            col(Candidate.state),
            col(Theme.slug),
            col(Candidate.vetting_status),
            func.coalesce(counts.c.nominations, 0),
            func.coalesce(counts.c.nominators, 0),
        )
        .join(Theme, col(Theme.id) == Candidate.theme_id)
        .outerjoin(counts, counts.c.candidate_id == Candidate.id)
        .where(col(Candidate.campaign_id) == campaign_id)
    )
    if filters.theme:
        query = query.where(col(Theme.slug) == filters.theme)
    if filters.state:
        query = query.where(col(Candidate.state) == filters.state)
    return query.order_by(col(Theme.position), col(Candidate.name), col(Candidate.id))


def count_candidates(session: Session, *, filters: NominationFilter, campaign_id: int) -> int:
    query = _candidates_query(filters, campaign_id=campaign_id).order_by(None)
    return int(session.exec(select(func.count()).select_from(query.subquery())).one())


def _candidate_rows(
    session: Session, *, filters: NominationFilter, campaign_id: int, t: Translator
) -> Iterator[list[Cell]]:
    query = _candidates_query(filters, campaign_id=campaign_id)
    formats = [fmt for _, fmt in CANDIDATE_COLUMNS]
    yield from _formatted(session.execute(query.execution_options(yield_per=BATCH)), formats, t)


# -- the writers -----------------------------------------------------------------------------


def _spool() -> IO[bytes]:
    return tempfile.SpooledTemporaryFile(max_size=IN_MEMORY_BYTES)


def write_csv(headers: Sequence[str], rows: Iterable[Sequence[Cell]]) -> tuple[IO[bytes], int, int]:
    """UTF-8 with a byte-order mark, which Excel needs to read accents right."""
    out = _spool()
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
            out.write(buffer.getvalue().encode("utf-8", "replace"))
            buffer.seek(0)
            buffer.truncate()
    out.write(buffer.getvalue().encode("utf-8", "replace"))
    size = out.tell()
    out.seek(0)
    return out, size, count


def write_xlsx(
    headers: Sequence[str],
    rows: Iterable[Sequence[Cell]],
    *,
    title: str,
    widths: Sequence[int] = (),
) -> tuple[IO[bytes], int, int]:
    out = _spool()
    try:
        count = xlsx.write_xlsx(out, headers, rows, title=title, widths=widths)
    except BaseException:
        out.close()
        raise
    size = out.tell()
    out.seek(0)
    return out, size, count


def _build(
    *,
    object_type: str,
    basename: str,
    title: str,
    headers: Sequence[str],
    widths: Sequence[int],
    rows: Iterable[Sequence[Cell]],
    file_format: ExportFormat,
    filters: dict[str, Any],
    today: date,
) -> ExportFile:
    if file_format is ExportFormat.xlsx:
        content, size, count = write_xlsx(headers, rows, title=title, widths=widths)
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
    return _build(
        object_type="nominations",
        basename="nominaciones",
        title=t("Nominations"),
        headers=[t(header) for header, _, _ in NOMINATION_COLUMNS],
        widths=NOMINATION_WIDTHS,
        rows=_nomination_rows(session, filters=filters, campaign_id=campaign_id, t=t),
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
    return _build(
        object_type="candidates",
        basename="candidatos",
        title=t("Candidates"),
        headers=[t(header) for header, _ in CANDIDATE_COLUMNS],
        widths=CANDIDATE_WIDTHS,
        rows=_candidate_rows(session, filters=filters, campaign_id=campaign_id, t=t),
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
