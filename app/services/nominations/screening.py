"""Screening nominations: the staff queue (filtered, sorted and paged in the database), one
nomination with its files, notes and history, and the staff's decisions on it."""

import json
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import false, func
from sqlmodel import Session, col, select

from app.errors import InvalidInput, NotFound
from app.forms.filters import NominationFilter, NominationSort
from app.forms.screening import MAX_NOTE_LENGTH, MAX_REASON_LENGTH
from app.i18n import N_
from app.models import (
    Account,
    AuditEvent,
    Campaign,
    Candidate,
    EvidenceFile,
    Nomination,
    NominationNote,
    NominationStatus,
    Theme,
)
from app.services import audit
from app.services.campaigns.campaigns import get_current_campaign
from app.services.nominations import search

PAGE_SIZE = 50
# Ids are 32-bit on PostgreSQL; a larger number names no row and must not reach the database.
MAX_ID = 2**31 - 1

STATUS_LABELS = {
    NominationStatus.received: N_("Received"),
    NominationStatus.eligible: N_("Eligible"),
    NominationStatus.ineligible: N_("Not eligible"),
    NominationStatus.withdrawn: N_("Withdrawn"),
}
# The decisions staff take on a nomination; "received" is only ever its starting point.
DECISIONS = (NominationStatus.eligible, NominationStatus.ineligible, NominationStatus.withdrawn)
NOT_FOUND = N_("We could not find this nomination.")


class ReasonRequired(InvalidInput):
    default_message = N_("Write why this nomination is not eligible.")


def _order(sort: NominationSort, *, searching: bool) -> tuple[Any, Any]:
    key = search.sort_key if searching else (lambda column: column)
    submitted, nomination_id = key(col(Nomination.submitted_at)), key(col(Nomination.id))
    return {
        NominationSort.newest: (submitted.desc(), nomination_id.desc()),
        NominationSort.oldest: (submitted.asc(), nomination_id.asc()),
        NominationSort.nominee: (key(col(Nomination.search_text)).asc(), nomination_id.asc()),
        NominationSort.state: (key(col(Nomination.state)).asc(), nomination_id.asc()),
    }[sort]


def nomination_query(filters: NominationFilter, *, campaign_id: int) -> Any:
    """Nominations of one campaign matching the filters, sorted; shared by the queue and exports."""
    query = (
        select(Nomination, Theme)
        .join(Theme, col(Theme.id) == Nomination.theme_id)
        .where(Theme.campaign_id == campaign_id)
    )
    if filters.theme:
        query = query.where(Theme.slug == filters.theme)
    if filters.status:
        query = query.where(Nomination.status == filters.status)
    if filters.state:
        query = query.where(Nomination.state == filters.state)
    if filters.channel:
        query = query.where(Nomination.channel == filters.channel)
    if filters.q:
        found = search.matches(filters.q)
        query = query.where(found if found is not None else false())
    return query.order_by(*_order(filters.sort, searching=bool(filters.q)))


@dataclass(frozen=True)
class QueueRow:
    nomination: Nomination
    theme: Theme
    file_count: int


@dataclass(frozen=True)
class QueuePage:
    rows: list[QueueRow]
    total: int
    page: int
    pages: int

    @property
    def first(self) -> int:
        """The position of the page's first row in the whole list (1-based)."""
        return (self.page - 1) * PAGE_SIZE + 1 if self.rows else 0

    @property
    def last(self) -> int:
        return (self.page - 1) * PAGE_SIZE + len(self.rows)


def queue_page(session: Session, filters: NominationFilter, *, campaign_id: int) -> QueuePage:
    """One page of the queue in three statements, whatever the page size: the count, the page's
    ids, then those rows with their number of evidence files."""
    query = nomination_query(filters, campaign_id=campaign_id)
    ids_query = query.with_only_columns(col(Nomination.id))
    if filters.q:
        # A search reads its matches from the full-text index once, in order, and counts and
        # cuts them here: searched twice (to count, then for the page), the index's work is
        # paid twice, and cut by the database, the planners would rather walk the sort order's
        # index, looking for a rare name row by row.
        matches = [int(row[0]) for row in session.exec(ids_query).all()]
        total = len(matches)
        pages = max(1, -(-total // PAGE_SIZE))
        page = min(filters.page, pages)
        ids = matches[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    else:
        total = int(
            session.exec(
                select(func.count()).select_from(ids_query.order_by(None).subquery())
            ).one()
        )
        pages = max(1, -(-total // PAGE_SIZE))
        page = min(filters.page, pages)
        # The ids first, so that filtering, sorting and cutting run on the indexes alone; joined
        # in one statement, SQLite would rather walk the whole sort index than sort 50 rows.
        ids = [
            int(row[0])
            for row in session.exec(ids_query.limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)).all()
        ]
    if not ids:
        return QueuePage(rows=[], total=total, page=page, pages=pages)
    files = (
        select(col(EvidenceFile.nomination_id), func.count().label("file_count"))
        .where(col(EvidenceFile.nomination_id).in_(ids))
        .group_by(col(EvidenceFile.nomination_id))
        .subquery("files")
    )
    found = {
        nomination.id: QueueRow(nomination, theme, int(count))
        for nomination, theme, count in session.exec(
            select(Nomination, Theme, func.coalesce(files.c.file_count, 0))
            .join(Theme, col(Theme.id) == Nomination.theme_id)
            .outerjoin(files, files.c.nomination_id == Nomination.id)
            .where(col(Nomination.id).in_(ids))
        ).all()
    }
    return QueuePage(
        rows=[found[i] for i in ids if i in found], total=total, page=page, pages=pages
    )


@dataclass(frozen=True)
class Queue:
    campaign: Campaign
    themes: list[Theme]
    page: QueuePage


def get_queue(session: Session, *, filters: NominationFilter) -> Queue | None:
    """The queue of the current campaign, with its themes for the filters; None without one."""
    campaign = get_current_campaign(session)
    if campaign is None:
        return None
    assert campaign.id is not None
    themes = session.exec(
        select(Theme).where(Theme.campaign_id == campaign.id).order_by(col(Theme.position))
    ).all()
    page = queue_page(session, filters, campaign_id=campaign.id)
    return Queue(campaign=campaign, themes=list(themes), page=page)


@dataclass(frozen=True)
class NoteView:
    note: NominationNote
    author_name: str


@dataclass(frozen=True)
class HistoryEntry:
    event: AuditEvent
    before: dict[str, Any]
    after: dict[str, Any]


@dataclass(frozen=True)
class NominationDetail:
    nomination: Nomination
    theme: Theme
    files: list[EvidenceFile]
    notes: list[NoteView]
    candidate: Candidate | None
    history: list[HistoryEntry]


def _get_nomination(
    session: Session, nomination_id: int, *, for_update: bool = False
) -> Nomination:
    nomination = None
    if 1 <= nomination_id <= MAX_ID:
        query = select(Nomination).where(Nomination.id == nomination_id)
        if for_update:
            # Two staff deciding at once: the second waits and sees the first one's decision.
            query = query.with_for_update()
        nomination = session.exec(query).first()
    if nomination is None:
        raise NotFound(NOT_FOUND)
    return nomination


def _loads(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text) if text else {}
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def get_nomination_detail(session: Session, *, nomination_id: int) -> NominationDetail:
    """Everything staff see about one nomination, nominator's contact details included."""
    row = None
    if 1 <= nomination_id <= MAX_ID:
        row = session.exec(
            select(Nomination, Theme)
            .join(Theme, col(Theme.id) == Nomination.theme_id)
            .where(Nomination.id == nomination_id)
        ).first()
    if row is None:
        raise NotFound(NOT_FOUND)
    nomination, theme = row
    files = session.exec(
        select(EvidenceFile)
        .where(EvidenceFile.nomination_id == nomination_id)
        .order_by(col(EvidenceFile.position), col(EvidenceFile.id))
    ).all()
    notes = session.exec(
        select(NominationNote, Account.name)
        .join(Account, col(Account.id) == NominationNote.author_id)
        .where(NominationNote.nomination_id == nomination_id)
        .order_by(col(NominationNote.created_at).desc(), col(NominationNote.id).desc())
    ).all()
    candidate = session.get(Candidate, nomination.candidate_id) if nomination.candidate_id else None
    events = session.exec(
        select(AuditEvent)
        .where(AuditEvent.object_type == "nomination", AuditEvent.object_id == str(nomination_id))
        .order_by(col(AuditEvent.created_at).desc(), col(AuditEvent.id).desc())
        .limit(100)
    ).all()
    return NominationDetail(
        nomination=nomination,
        theme=theme,
        files=list(files),
        notes=[NoteView(note, name) for note, name in notes],
        candidate=candidate,
        history=[HistoryEntry(e, _loads(e.before), _loads(e.after)) for e in events],
    )


def decide(
    session: Session,
    *,
    nomination_id: int,
    actor: Account,
    status: NominationStatus,
    reason: str = "",
) -> Nomination:
    """Records a screening decision. "Not eligible" needs a reason; "withdrawn" may have one;
    "eligible" clears an earlier reason (the audit trail keeps that it changed)."""
    if status not in DECISIONS:
        raise InvalidInput()
    reason = reason.strip()
    if status is NominationStatus.ineligible and not reason:
        raise ReasonRequired()
    if len(reason) > MAX_REASON_LENGTH:
        raise InvalidInput()
    nomination = _get_nomination(session, nomination_id, for_update=True)
    new_reason = "" if status is NominationStatus.eligible else reason
    changed = [
        name
        for name, old, new in (
            ("status", nomination.status, status),
            ("status_reason", nomination.status_reason, new_reason),
        )
        if old != new
    ]
    if not changed:
        # The same decision again (a double click, a second tab): nothing to record.
        return nomination
    before_status = nomination.status
    nomination.status = status
    nomination.status_reason = new_reason
    session.add(nomination)
    # The reason stays out of the append-only trail: it may describe the nominee, and an
    # erasure request must be able to remove it from the nomination.
    audit.record(
        session,
        actor=actor,
        action="nomination.status",
        object_type="nomination",
        object_id=nomination.id,
        before={"status": before_status.value},
        after={"status": status.value, "changed": changed},
    )
    session.flush()
    return nomination


def decide_many(
    session: Session,
    *,
    nomination_ids: list[int],
    actor: Account,
    status: NominationStatus,
    reason: str = "",
) -> list[Nomination]:
    """The same decision and reason for several nominations (the queue's ticked rows), each
    recorded and audited as if decided on its own page; all or none (a missing one is a 404)."""
    if status is NominationStatus.ineligible and not reason.strip():
        raise ReasonRequired()
    return [
        decide(session, nomination_id=nomination_id, actor=actor, status=status, reason=reason)
        for nomination_id in sorted(set(nomination_ids))
    ]


def add_note(
    session: Session, *, nomination_id: int, author: Account, body: str, now: datetime
) -> NominationNote:
    body = body.strip()
    if not body or len(body) > MAX_NOTE_LENGTH:
        raise InvalidInput()
    nomination = _get_nomination(session, nomination_id)
    assert nomination.id is not None and author.id is not None
    note = NominationNote(
        nomination_id=nomination.id, author_id=author.id, body=body, created_at=now
    )
    session.add(note)
    session.flush()
    # The note's text stays out of the trail, like the reason of a decision.
    audit.record(
        session,
        actor=author,
        action="nomination.note",
        object_type="nomination",
        object_id=nomination.id,
        after={"note_id": note.id},
    )
    session.flush()
    return note


def get_evidence_file(session: Session, *, nomination_id: int, file_id: int) -> EvidenceFile:
    """A file of this nomination; a file of another nomination is not found here."""
    file = None
    if 1 <= nomination_id <= MAX_ID and 1 <= file_id <= MAX_ID:
        file = session.exec(
            select(EvidenceFile).where(
                EvidenceFile.id == file_id, EvidenceFile.nomination_id == nomination_id
            )
        ).first()
    if file is None:
        raise NotFound(N_("We could not find this file."))
    return file


_EXTENSIONS = {
    "application/pdf": ".pdf",
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/webp": ".webp",
}
_JPEG_EXTENSIONS = (".jpg", ".jpeg")


def download_name(file: EvidenceFile) -> str:
    """The name a downloaded file is saved under: the uploaded name, without characters that
    could break out of a header or a path, ending in the extension of what the file really is."""
    name = unicodedata.normalize("NFC", file.original_name)
    name = "".join(
        "_" if ch in '/\\"<>:|?*' or unicodedata.category(ch)[0] == "C" else ch for ch in name
    )
    name = " ".join(name.split()).strip(" .")
    extension = _EXTENSIONS.get(file.content_type, "")
    stem, dot, suffix = name.rpartition(".")
    present = f".{suffix.lower()}" if dot and stem else ""
    if present == extension or (extension == ".jpg" and present in _JPEG_EXTENSIONS):
        stem, extension = name[: -len(present)], name[-len(present) :]
    else:
        stem = name
    stem = stem[:150].rstrip(" .") or f"evidence-{file.position + 1}"
    return stem + extension
