"""Importing a registry file: a new version of its list, what it added, changed and removed, and
a screening of the current edition against it.

The file is read as a stream (formats.py) and its entries are written in batches as they come;
a file that turns out bad halfway raises `FileRefused`, and the caller rolls the transaction
back, so nothing of it is kept. Older versions stay: an entry changed or dropped by a newer file
is closed, not deleted, and decisions made on it keep pointing at the text they were made on.
"""

import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Any

from sqlalchemy import delete, insert, update
from sqlmodel import Session, col, select

from app.config import Settings
from app.i18n import N_
from app.models import (
    Account,
    EntryType,
    ListFormat,
    SanctionEntry,
    SanctionListVersion,
    SanctionNameKey,
    SanctionSource,
)
from app.services import audit
from app.services.campaigns.campaigns import get_current_campaign
from app.services.candidates.sanctions.formats import (
    FileRefused,
    ListedEntry,
    entry_json,
    listed,
    reader_for,
)
from app.services.candidates.sanctions.matcher import entry_blocking_keys
from app.services.candidates.sanctions.screening import (
    ScreeningRun,
    drop_open_matches_of,
    screen_edition,
)

BATCH = 1000
# How often a long import reports its progress (entries read).
PROGRESS_EVERY = 5000

DEFAULT_NAMES = {
    ListFormat.ofac_sdn: "OFAC SDN",
    ListFormat.pdn_s3: "PDN servidores públicos sancionados",
    ListFormat.sat_69b: "SAT 69-B",
}


class HashingReader:
    """A binary file read through: its SHA-256 and size, computed while it streams."""

    def __init__(self, binary: IO[bytes]) -> None:
        self._binary = binary
        self._hash = hashlib.sha256()
        self.size = 0

    def read(self, size: int = -1) -> bytes:
        data = self._binary.read(size)
        self._hash.update(data)
        self.size += len(data)
        return data

    def read1(self, size: int = -1) -> bytes:
        return self.read(size if size and size > 0 else 64 * 1024)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    @property
    def closed(self) -> bool:
        return False

    def close(self) -> None:
        """The caller closes the underlying file."""

    def flush(self) -> None:
        """Nothing is written."""

    def seekable(self) -> bool:
        return False

    def writable(self) -> bool:
        return False

    def finish(self) -> str:
        """Reads what the parser left (a trailing end-of-file mark) and returns the digest."""
        while self.read(64 * 1024):
            pass
        return self._hash.hexdigest()


@dataclass(frozen=True)
class ImportResult:
    source: SanctionSource
    version: SanctionListVersion
    added_ids: list[int]
    removed_ids: list[int]

    @property
    def added(self) -> int:
        return self.version.added

    @property
    def changed(self) -> int:
        return self.version.changed

    @property
    def removed(self) -> int:
        return self.version.removed


def list_name(list_format: ListFormat, name: str | None, file_name: str) -> str:
    """The list a file belongs to: the official lists have one each; a CSV list is named by
    the person importing it, or after its file."""
    if name:
        return name.strip()[:120]
    if list_format in DEFAULT_NAMES:
        return DEFAULT_NAMES[list_format]
    stem = file_name.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    return (stem or "CSV")[:120]


def _source(
    session: Session, *, list_format: ListFormat, name: str, now: datetime
) -> SanctionSource:
    source = session.exec(select(SanctionSource).where(SanctionSource.name == name)).first()
    if source is None:
        source = SanctionSource(format=list_format, name=name, created_at=now)
        session.add(source)
        session.flush()
    elif source.format is not list_format:
        raise FileRefused(
            N_(
                "The list “%(name)s” was imported as %(format)s: import this file under another"
                " name."
            ),
            name=name,
            format=source.format.value,
        )
    return source


def _row(entry: ListedEntry, *, source_id: int, version_id: int, digest: str) -> dict[str, Any]:
    years = entry.birth_years
    return {
        "source_id": source_id,
        "external_id": entry.external_id,
        "added_version_id": version_id,
        "removed_version_id": None,
        "content_sha256": digest,
        "entry_type": entry.entry_type,
        "name": entry.name,
        "aliases": json.dumps(entry.aliases, ensure_ascii=False),
        "rfc": entry.rfc,
        "curp": entry.curp,
        "birth_date": entry.birth_date,
        "birth_year_from": years[0] if years else None,
        "birth_year_to": years[1] if years else None,
        "gender": entry.gender,
        "position": entry.position,
        "institution": entry.institution,
        "sanction_type": entry.sanction_type,
        "dates": entry.dates,
        "program": entry.program,
        "remarks": entry.remarks,
        "url": entry.url,
    }


class _Writer:
    """Inserts new entry rows and their blocking keys in batches."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.rows: list[dict[str, Any]] = []
        self.keys: list[set[str]] = []
        self.inserted: list[int] = []

    def add(self, row: dict[str, Any], entry: ListedEntry) -> None:
        self.rows.append(row)
        self.keys.append(
            entry_blocking_keys(listed(entry, None))
            if entry.entry_type is not EntryType.other
            else set()
        )
        if len(self.rows) >= BATCH:
            self.flush()

    def flush(self) -> None:
        if not self.rows:
            return
        statement = insert(SanctionEntry).returning(
            col(SanctionEntry.id), sort_by_parameter_order=True
        )
        ids = list(self.session.execute(statement, self.rows).scalars())
        keys = [
            {"key": key, "entry_id": entry_id}
            for entry_id, entry_keys in zip(ids, self.keys, strict=True)
            for key in sorted(entry_keys)
        ]
        if keys:
            self.session.execute(insert(SanctionNameKey), keys)
        self.inserted.extend(ids)
        self.rows.clear()
        self.keys.clear()


def store_list(
    session: Session,
    *,
    list_format: ListFormat,
    file: IO[bytes],
    file_name: str,
    aliases: IO[bytes] | None = None,
    aliases_file_name: str = "",
    name: str | None = None,
    actor: Account | None,
    now: datetime,
    progress: Callable[[int], None] | None = None,
) -> ImportResult:
    """A new version of a list from a published file; flushes, never commits."""
    alias_reader = HashingReader(aliases) if aliases is not None else None
    reader = reader_for(list_format, aliases=alias_reader, today=now.date())  # type: ignore[arg-type]
    source = _source(
        session, list_format=list_format, name=list_name(list_format, name, file_name), now=now
    )
    assert source.id is not None
    version = SanctionListVersion(
        source_id=source.id,
        file_name=file_name[:255],
        aliases_file_name=aliases_file_name[:255],
        sha256="",
        aliases_sha256=alias_reader.finish() if alias_reader else "",
        imported_at=now,
        imported_by_id=actor.id if actor else None,
        imported_by=actor.email if actor else "command line",
    )
    session.add(version)
    session.flush()
    assert version.id is not None

    current: dict[str, tuple[int, str]] = {
        external: (entry_id, digest)
        for entry_id, external, digest in session.execute(
            select(SanctionEntry.id, SanctionEntry.external_id, SanctionEntry.content_sha256).where(
                SanctionEntry.source_id == source.id,
                col(SanctionEntry.removed_version_id).is_(None),
            )
        ).all()
    }
    stream = HashingReader(file)
    writer = _Writer(session)
    closed: list[int] = []
    seen: set[str] = set()
    count = added = changed = 0
    for entry in _entries(reader(stream), progress):  # type: ignore[arg-type]
        count += 1
        seen.add(entry.external_id)
        digest = hashlib.sha256(entry_json(entry).encode()).hexdigest()
        old = current.get(entry.external_id)
        if old is not None and old[1] == digest:
            continue
        if old is not None:
            closed.append(old[0])
            changed += 1
        else:
            added += 1
        writer.add(_row(entry, source_id=source.id, version_id=version.id, digest=digest), entry)
    writer.flush()
    if count == 0:
        raise FileRefused(N_("The file holds no entries."))
    gone = [entry_id for external, (entry_id, _) in current.items() if external not in seen]
    closed += gone
    for start in range(0, len(closed), BATCH):
        batch = closed[start : start + BATCH]
        session.execute(
            update(SanctionEntry)
            .where(col(SanctionEntry.id).in_(batch))
            .values(removed_version_id=version.id)
        )
        session.execute(delete(SanctionNameKey).where(col(SanctionNameKey.entry_id).in_(batch)))
    version.sha256 = stream.finish()
    version.size = stream.size
    version.entry_count = count
    version.added = added
    version.changed = changed
    version.removed = len(gone)
    session.add(version)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="sanctions.import",
        object_type="sanction_list",
        object_id=source.id,
        after={
            "list": source.name,
            "format": source.format.value,
            "version_id": version.id,
            "file_name": version.file_name,
            "sha256": version.sha256,
            "aliases_file_name": version.aliases_file_name,
            "aliases_sha256": version.aliases_sha256,
            "entries": count,
            "added": added,
            "changed": changed,
            "removed": len(gone),
        },
    )
    return ImportResult(source, version, writer.inserted, closed)


def _entries(
    entries: Iterator[ListedEntry], progress: Callable[[int], None] | None
) -> Iterator[ListedEntry]:
    for count, entry in enumerate(entries, start=1):
        if progress is not None and count % PROGRESS_EVERY == 0:
            progress(count)
        yield entry


@dataclass(frozen=True)
class ImportSummary:
    result: ImportResult
    # The screening of the current edition that followed, if there is an edition.
    run: ScreeningRun | None


def import_list(
    session: Session,
    *,
    list_format: ListFormat,
    file: IO[bytes],
    file_name: str,
    aliases: IO[bytes] | None = None,
    aliases_file_name: str = "",
    name: str | None = None,
    actor: Account | None,
    settings: Settings,
    now: datetime,
    progress: Callable[[int], None] | None = None,
) -> ImportSummary:
    """Stores a new version of a list, then screens the current edition against the lists as
    they now are (open matches with entries it removed or changed go first)."""
    result = store_list(
        session,
        list_format=list_format,
        file=file,
        file_name=file_name,
        aliases=aliases,
        aliases_file_name=aliases_file_name,
        name=name,
        actor=actor,
        now=now,
        progress=progress,
    )
    drop_open_matches_of(session, result.removed_ids)
    campaign = get_current_campaign(session)
    run = None
    if campaign is not None:
        run = screen_edition(
            session, campaign=campaign, settings=settings, actor=actor, now=now, reason="import"
        )
    return ImportSummary(result, run)
