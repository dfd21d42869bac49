"""Batch intake (issue 15): a CSV file of nominations in the intake template's columns, from
/staff/intake/import or `python -m app nominations import FILE.csv --channel CHANNEL`.

All or nothing. The file is read once as a stream, never held whole: every row is checked with
the same validation as the web form (and the assisted intake's fields), every bad row reported
with its line, column and reason, and each good row's values and receipt kept in a spooled
temporary file (check_batch, which only reads). Only when no row is bad are they inserted, in
batches, in the caller's one transaction (store_batch): the write lock is held for the inserts
alone. The file's SHA-256 is recorded, so the same file imported again stores nothing and says
so; each row's own hash is its nomination's submission key, so a row already imported through
another file is not stored twice.
"""

import codecs
import csv
import hashlib
import io
import json
import pickle
import secrets
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from types import SimpleNamespace
from typing import IO, Any

from sqlalchemy import insert
from sqlmodel import Session, col, select

from app.errors import NotFound, PermissionDenied
from app.forms.nomination import IntakeForm, validate_intake
from app.i18n import N_, TIMEZONE, Translator
from app.models import (
    Account,
    Campaign,
    Channel,
    Nomination,
    NominationImport,
    Theme,
)
from app.services import audit
from app.services.campaigns.campaigns import get_current_campaign
from app.services.mail.outbox import queue_mails
from app.services.nominations.assisted import (
    ReceivedLate,
    check_received_on,
    new_nomination,
    refuse_after_announcement,
    render_receipt,
    require_intake_role,
    row_values,
    sees_all_entries,
)
from app.services.text import search_text

# The template's columns, in its order: one per field of the intake form (the channel is the
# batch's, the scans are not in a CSV). Their names are a fixed point: README.md lists them.
COLUMNS: tuple[str, ...] = (
    "theme",
    "received_on",
    "collected_by",
    "consent_method",
    "privacy_consent",
    "nominee_name",
    "nominee_position",
    "nominee_institution",
    "government_level",
    "state",
    "years_of_service",
    "nominee_age",
    "nominee_contact",
    "nominee_gender",
    "achievement",
    "impact",
    "obstacles",
    "how_known",
    "reference1_name",
    "reference1_contact",
    "reference2_name",
    "reference2_contact",
    "nominator_name",
    "nominator_email",
    "nominator_phone",
    "nominator_relationship",
    "may_contact",
    "reveal_identity",
)
# Columns a file may add to the template's: the nominator's language, in which their receipt is
# written (blank: the portal's default language, not the language of whoever imports).
OPTIONAL_COLUMNS: tuple[str, ...] = ("language",)
LANGUAGES = ("es", "en")
# What each column holds, for the import page (message ids).
COLUMN_HELP: dict[str, str] = {
    "theme": N_("The theme's short name: %(slugs)s."),
    "received_on": N_(
        "The day the nomination was received, as 2026-03-31; not after the theme's call closed."
    ),
    "collected_by": N_("Who collected it: a volunteer, an office, an event."),
    "consent_method": N_(
        "How the nominator agreed to the privacy notice: read_aloud (read to them) or"
        " signed_paper (signed on the paper form)."
    ),
    "privacy_consent": N_("yes: the nominator agreed to the privacy notice (required)."),
    "nominee_name": N_("The nominee's full name."),
    "nominee_position": N_("Their position."),
    "nominee_institution": N_("Their institution."),
    "government_level": N_("federal, state, municipal, autonomous, judicial or legislative."),
    "state": N_("Where they serve: the state's three-letter code, such as VER or CMX."),
    "years_of_service": N_("Years in public service, a whole number from 0 to 60."),
    "nominee_age": N_("Their age; required by themes with an age limit."),
    "nominee_contact": N_("How to reach the nominee (optional)."),
    "nominee_gender": N_("woman, man, non_binary, other or undisclosed (optional)."),
    "achievement": N_("What did they do?"),
    "impact": N_("What was its impact beyond their own office?"),
    "obstacles": N_("What obstacles did they overcome?"),
    "how_known": N_("How does the nominator know about it?"),
    "reference1_name": N_("First reference: name."),
    "reference1_contact": N_("First reference: phone or e-mail."),
    "reference2_name": N_("Second reference: name."),
    "reference2_contact": N_("Second reference: phone or e-mail."),
    "nominator_name": N_("The nominator's name."),
    "nominator_email": N_("The nominator's e-mail (optional): their receipt is sent there."),
    "nominator_phone": N_("The nominator's phone (optional)."),
    "nominator_relationship": N_(
        "colleague, supervisor, team_member, citizen_served, civil_society, journalist or other."
    ),
    "may_contact": N_("yes or no: the nominator may be contacted about this nomination."),
    "reveal_identity": N_("yes or no: the nominee may learn who nominated them."),
    "language": N_(
        "Optional column: es or en, the nominator's language, in which their receipt is"
        " written; empty or absent: the portal's default language."
    ),
}
YES = frozenset({"yes", "y", "sí", "si", "s", "true", "1", "x"})
NO = frozenset({"no", "n", "false", "0", ""})
BOOLEAN_COLUMNS = ("privacy_consent", "may_contact", "reveal_identity")
# Rows inserted per statement, and how often a long import reports its progress.
BATCH = 500
PROGRESS_EVERY = 1000
# Good rows' values kept in memory up to this size while a batch is checked, then on disk.
SPOOL_BYTES = 16 * 1024 * 1024
# Bad rows listed at most; past these, a count of the rest.
MAX_ERRORS = 1000
# A cell longer than any field of the form, refused before it is held.
MAX_CELL = 20_000

csv.field_size_limit(1024 * 1024)


@dataclass(frozen=True)
class RowError:
    line: int
    column: str
    message: str


@dataclass
class ImportReport:
    rows: int = 0
    imported: int = 0
    # Rows stored already by an earlier import (their content, not their file).
    skipped: int = 0
    errors: list[RowError] = field(default_factory=list)
    error_count: int = 0
    # The earlier import of this very file: nothing was stored.
    already: NominationImport | None = None
    batch: NominationImport | None = None

    @property
    def ok(self) -> bool:
        return self.error_count == 0


def find_campaign(session: Session, *, year: int | None) -> Campaign:
    campaign = (
        get_current_campaign(session)
        if year is None
        else session.exec(select(Campaign).where(Campaign.year == year)).first()
    )
    if campaign is None:
        if year is None:
            raise NotFound(N_("There is no campaign yet."))
        raise NotFound(N_("There is no campaign of %(year)s."), year=year)
    return campaign


def campaign_themes(session: Session, campaign: Campaign) -> dict[str, Theme]:
    return {
        theme.slug: theme
        for theme in session.exec(
            select(Theme).where(Theme.campaign_id == campaign.id).order_by(col(Theme.position))
        ).all()
    }


def file_sha256(binary: IO[bytes]) -> str:
    digest = hashlib.sha256()
    binary.seek(0)
    while chunk := binary.read(1024 * 1024):
        digest.update(chunk)
    binary.seek(0)
    return digest.hexdigest()


class _Refused(Exception):
    def __init__(self, error: RowError) -> None:
        super().__init__(error.message)
        self.error = error


def _records(binary: IO[bytes], t: Translator) -> Iterator[tuple[int, list[str]]]:
    """(line where the record starts, its cells), as a stream; a line that is not UTF-8 text
    or a broken quote stops the file with its line number."""
    binary.seek(0)
    number = 0

    def lines() -> Iterator[str]:
        nonlocal number
        for raw in iter(binary.readline, b""):
            number += 1
            if number == 1 and raw.startswith(codecs.BOM_UTF8):
                raw = raw[len(codecs.BOM_UTF8) :]
            try:
                yield raw.decode("utf-8")
            except UnicodeDecodeError as error:
                raise _Refused(
                    RowError(
                        number, "", t("This line is not UTF-8 text: save the file as CSV UTF-8.")
                    )
                ) from error

    source = lines()
    reader = csv.reader(source)
    while True:
        start = number + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            raise _Refused(
                RowError(
                    start, "", t("The CSV cannot be read here (%(problem)s).", problem=str(error))
                )
            ) from error
        yield start, cells


def _normalise(column: str, value: str) -> str:
    if column in BOOLEAN_COLUMNS:
        folded = value.strip().lower()
        if folded in YES:
            return "yes"
        if folded in NO:
            return ""
    return value


def _row_key(campaign_id: int, values: dict[str, str]) -> str:
    """The hash of a row's content in its campaign: the same nomination imported again (from
    any file) is found by it."""
    canonical = json.dumps(
        [campaign_id, [values.get(name, "").strip() for name in COLUMNS]], ensure_ascii=False
    )
    return "csv:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:60]


@dataclass
class _Checked:
    form: IntakeForm
    theme: Theme
    key: str
    # The nominator's language: their nomination's and their receipt's.
    locale: str


def _check_rows(
    binary: IO[bytes],
    *,
    themes: dict[str, Theme],
    campaign: Campaign,
    channel: Channel,
    t: Translator,
    default_locale: str,
    today: date,
    report: ImportReport,
    progress: Callable[[int], None] | None,
) -> Iterator[tuple[int, _Checked | None]]:
    """Every data row checked, with the errors of bad ones added to the report."""
    assert campaign.id is not None

    def error(line: int, column: str, message: str) -> None:
        report.error_count += 1
        if len(report.errors) < MAX_ERRORS:
            report.errors.append(RowError(line, column, message))

    slugs = ", ".join(themes)
    records = _records(binary, t)
    header: list[str] | None = None
    try:
        for line, cells in records:
            if header is None:
                header = [cell.strip().lower() for cell in cells]
                missing = [name for name in COLUMNS if name not in header]
                unknown = [name for name in header if name not in (*COLUMNS, *OPTIONAL_COLUMNS)]
                for name in missing:
                    error(line, name, t("This column is missing from the header line."))
                for name in unknown:
                    error(line, name, t("This column is not one of the template's."))
                if len(set(header)) != len(header):
                    error(line, "", t("A column appears twice in the header line."))
                if report.error_count:
                    return
                continue
            if not any(cell.strip() for cell in cells):
                continue  # a blank line, as spreadsheets leave at the end
            report.rows += 1
            if progress and report.rows % PROGRESS_EVERY == 0:
                progress(report.rows)
            if len(cells) != len(header):
                error(
                    line,
                    "",
                    t(
                        "This row has %(found)s cells; the header line has %(expected)s.",
                        found=len(cells),
                        expected=len(header),
                    ),
                )
                yield line, None
                continue
            values = {
                name: _normalise(name, cell[:MAX_CELL])
                for name, cell in zip(header, cells, strict=True)
            }
            slug = values.pop("theme").strip()
            locale = values.pop("language", "").strip().lower() or default_locale
            if locale not in LANGUAGES:
                error(line, "language", t("Write es or en, or leave it empty."))
            theme = themes.get(slug)
            if theme is None:
                error(
                    line,
                    "theme",
                    t(
                        "There is no theme “%(slug)s”: use one of %(slugs)s.",
                        slug=slug,
                        slugs=slugs,
                    ),
                )
                yield line, None
                continue
            form, errors = validate_intake(
                {**values, "channel": channel.value},
                t,
                max_age=theme.max_age,
                theme_name=t.pick(theme.name_es, theme.name_en),
                has_files=False,
                today=today,
            )
            for message in errors.general:
                error(line, "", message)
            for name, message in errors.fields.items():
                error(line, name, message)
            if form is None or locale not in LANGUAGES:
                yield line, None
                continue
            try:
                check_received_on(theme, form.received_on)
            except ReceivedLate as late:
                error(line, "received_on", t(late.message, **late.params))
                yield line, None
                continue
            key = _row_key(campaign.id, {**values, "theme": slug})
            yield line, _Checked(form, theme, key, locale)
    except _Refused as refused:
        error(refused.error.line, refused.error.column, refused.error.message)
    if header is None:
        error(1, "", t("The file is empty: it needs the template's header line and one row each."))


def _existing_keys(session: Session, keys: list[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(keys), BATCH):
        chunk = keys[start : start + BATCH]
        found |= set(
            session.exec(
                select(Nomination.submission_key).where(col(Nomination.submission_key).in_(chunk))
            ).all()
        )
    return found


@dataclass
class CheckedBatch:
    """A file read once and found good: its report, its hash, and each good row's values and
    receipt kept in a spooled temporary file (in memory while small), so that storing it takes
    the database's write lock only to insert."""

    report: ImportReport
    sha256: str = ""
    keys: list[str] = field(default_factory=list)
    # Closed by close(), which every caller runs in a `finally`.
    rows: IO[bytes] = field(
        default_factory=lambda: tempfile.SpooledTemporaryFile(SPOOL_BYTES)  # noqa: SIM115 - see close()
    )

    def close(self) -> None:
        self.rows.close()

    def stored_rows(self) -> Iterator[tuple[dict[str, Any], tuple[str, str, str] | None]]:
        self.rows.seek(0)
        while True:
            try:
                yield pickle.load(self.rows)  # noqa: S301 - written by check_batch just before
            except EOFError:
                return


def check_batch(
    session: Session,
    *,
    file: IO[bytes],
    channel: Channel,
    campaign: Campaign,
    actor: Account | None,
    t: Translator,
    now: datetime,
    base_url: str,
    default_locale: str,
    progress: Callable[[int], None] | None = None,
) -> CheckedBatch:
    """Reads a CSV batch (a seekable binary file) for `campaign` and checks every row; reads
    only, so it may run outside the write lock. `actor` is None from the command line. A row
    without a language is the portal's `default_locale`, whoever imports it."""
    if actor is not None:
        require_intake_role(actor)
    if channel is Channel.web:
        raise PermissionDenied(N_("The web channel is only ever the public form."))
    assert campaign.id is not None
    checked = CheckedBatch(report=ImportReport(), sha256=file_sha256(file))
    report = checked.report
    report.already = session.exec(
        select(NominationImport).where(NominationImport.sha256 == checked.sha256)
    ).first()
    if report.already is not None:
        return checked
    refuse_after_announcement(session, campaign_id=campaign.id)
    themes = campaign_themes(session, campaign)
    today = now.astimezone(TIMEZONE).date()
    table = Nomination.__table__  # type: ignore[attr-defined]
    # The columns every row shares (defaults included) come from one model built once: a model
    # per row cost more than validating it.
    shared: dict[str, Any] | None = None
    keys: dict[str, int] = {}
    for line, row in _check_rows(
        file,
        themes=themes,
        campaign=campaign,
        channel=channel,
        t=t,
        default_locale=default_locale,
        today=today,
        report=report,
        progress=progress,
    ):
        if row is None:
            continue
        if row.key in keys:
            report.error_count += 1
            if len(report.errors) < MAX_ERRORS:
                report.errors.append(
                    RowError(line, "", t("This row repeats line %(line)s.", line=keys[row.key]))
                )
            continue
        keys[row.key] = line
        if not report.ok:
            continue  # nothing will be stored: only the other rows' problems matter now
        assert row.theme.id is not None
        if shared is None:
            model = new_nomination(
                row.form,
                theme=row.theme,
                submission_key=row.key,
                actor=actor,
                locale=t.locale,
                now=now,
                channel=channel,
            )
            shared = {column.key: getattr(model, column.key) for column in table.columns}
            shared.pop("id", None)
        values = {
            **shared,
            **row_values(row.form, now=now),
            "reference": secrets.token_urlsafe(16),
            "submission_key": row.key,
            "theme_id": row.theme.id,
            "locale": row.locale,
            "search_text": search_text(row.form.nominee_name, row.form.nominee_institution),
        }
        mail = None
        if row.form.nominator_email:
            # The receipt's template reads attributes: a model per mail cost as much as the row.
            subject, body = render_receipt(
                SimpleNamespace(**values), theme=row.theme, base_url=base_url, file_count=0
            )
            mail = (row.form.nominator_email, subject, body)
        pickle.dump((values, mail), checked.rows)
    if report.ok and not report.rows:
        report.error_count += 1
        report.errors.append(
            RowError(1, "", t("The file has no nominations under its header line."))
        )
    if not report.ok:
        return checked
    checked.keys = list(keys)
    report.skipped = len(_existing_keys(session, checked.keys))
    return checked


def store_batch(
    session: Session,
    checked: CheckedBatch,
    *,
    file_name: str,
    channel: Channel,
    campaign: Campaign,
    actor: Account | None,
    now: datetime,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Stores a checked batch in the caller's one transaction (the caller commits). Asked again
    here, inside the write transaction: the same file or rows imported meanwhile are skipped."""
    report = checked.report
    assert report.ok and campaign.id is not None
    report.already = session.exec(
        select(NominationImport).where(NominationImport.sha256 == checked.sha256)
    ).first()
    if report.already is not None:
        return report
    refuse_after_announcement(session, campaign_id=campaign.id)
    existing = _existing_keys(session, checked.keys)
    report.skipped = len(existing)
    if report.skipped == report.rows:
        return report
    batch = NominationImport(
        campaign_id=campaign.id,
        sha256=checked.sha256,
        file_name=file_name[-200:],
        channel=channel,
        rows=report.rows - report.skipped,
        imported_by_id=actor.id if actor else None,
        created_at=now,
    )
    session.add(batch)
    session.flush()
    table = Nomination.__table__  # type: ignore[attr-defined]
    pending: list[dict[str, Any]] = []
    mails: list[tuple[str, str, str]] = []

    def flush() -> None:
        if pending:
            session.execute(insert(table), pending)
            pending.clear()
        queue_mails(session, mails)
        mails.clear()

    for values, mail in checked.stored_rows():
        if values["submission_key"] in existing:
            continue
        pending.append({**values, "import_id": batch.id})
        if mail is not None:
            mails.append(mail)
        report.imported += 1
        if len(pending) >= BATCH:
            flush()
        if progress and report.imported % PROGRESS_EVERY == 0:
            progress(report.imported)
    flush()
    audit.record(
        session,
        actor=actor,
        action="nomination.imported",
        object_type="nomination_import",
        object_id=batch.id,
        after={
            "channel": channel.value,
            "rows": report.imported,
            "skipped": report.skipped,
            "sha256": checked.sha256,
        },
    )
    session.flush()
    report.batch = batch
    return report


def import_batch(
    session: Session,
    *,
    file: IO[bytes],
    file_name: str,
    channel: Channel,
    campaign: Campaign,
    actor: Account | None,
    t: Translator,
    now: datetime,
    base_url: str,
    default_locale: str,
    checked: Callable[[int], None] | None = None,
    stored: Callable[[int], None] | None = None,
) -> ImportReport:
    """Checks and stores a CSV batch in one session, all or nothing (check_batch, then
    store_batch when every row is good). The report says what was stored, or why nothing was;
    the caller commits when `report.ok`, and may roll back otherwise (nothing was written)."""
    batch = check_batch(
        session,
        file=file,
        channel=channel,
        campaign=campaign,
        actor=actor,
        t=t,
        now=now,
        base_url=base_url,
        default_locale=default_locale,
        progress=checked,
    )
    try:
        report = batch.report
        if not report.ok or report.already is not None or report.skipped == report.rows:
            return report
        return store_batch(
            session,
            batch,
            file_name=file_name,
            channel=channel,
            campaign=campaign,
            actor=actor,
            now=now,
            progress=stored,
        )
    finally:
        batch.close()


@dataclass(frozen=True)
class ImportRow:
    batch: NominationImport
    # None: from the command line.
    imported_by: str | None


RECENT_IMPORTS = 20


def recent_imports(session: Session, *, actor: Account) -> list[ImportRow]:
    """The latest batches of the current campaign: all of them for staff, a volunteer's own."""
    require_intake_role(actor)
    campaign = get_current_campaign(session)
    if campaign is None:
        return []
    query = (
        select(NominationImport, Account.name)
        .outerjoin(Account, col(Account.id) == NominationImport.imported_by_id)
        .where(NominationImport.campaign_id == campaign.id)
    )
    if not sees_all_entries(actor):
        query = query.where(NominationImport.imported_by_id == actor.id)
    found = session.exec(
        query.order_by(
            col(NominationImport.created_at).desc(), col(NominationImport.id).desc()
        ).limit(RECENT_IMPORTS)
    ).all()
    return [ImportRow(batch, name) for batch, name in found]


def template_csv(session: Session, *, now: datetime) -> str:
    """The template: the header line and one example row that imports as it is into the
    current campaign (its first theme, received today or on the day its call closed)."""
    campaign = get_current_campaign(session)
    themes = list(campaign_themes(session, campaign).values()) if campaign else []
    theme = themes[0] if themes else None
    today = now.astimezone(TIMEZONE).date()
    received = today
    if theme is not None:
        received = min(today, theme.closes_at.astimezone(TIMEZONE).date())
    age = "30" if theme is None or theme.max_age is None else str(min(30, theme.max_age))
    example = {
        "theme": theme.slug if theme else "youth",
        "received_on": received.isoformat(),
        "collected_by": "Brigada de voluntarios, Xalapa",
        "consent_method": "signed_paper",
        "privacy_consent": "yes",
        "nominee_name": "Nombre Ficticio de Ejemplo",
        "nominee_position": "Directora de Agua Potable",
        "nominee_institution": "Ayuntamiento de Ejemplo",
        "government_level": "municipal",
        "state": "VER",
        "years_of_service": "8",
        "nominee_age": age,
        "nominee_contact": "",
        "nominee_gender": "woman",
        "achievement": "Denunció un desvío de fondos en la compra de medidores y lo documentó.",
        "impact": "La auditoría recuperó recursos y cambió las reglas de compra del estado.",
        "obstacles": "Recibió presiones de sus superiores.",
        "how_known": "La nominadora trabajó en la misma dirección.",
        "reference1_name": "Carlos Méndez",
        "reference1_contact": "+52 228 555 0101",
        "reference2_name": "Lucía Pérez",
        "reference2_contact": "+52 228 555 0102",
        "nominator_name": "Nominadora de Ejemplo",
        "nominator_email": "",
        "nominator_phone": "",
        "nominator_relationship": "colleague",
        "may_contact": "no",
        "reveal_identity": "no",
    }
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    writer.writerow([example[name] for name in COLUMNS])
    return out.getvalue()
