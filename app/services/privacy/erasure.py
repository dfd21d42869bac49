"""Erasing personal data for good: evidence files, the stories, whole nominations.

The rows go in the caller's transaction. The files they named stay in the store until the caller
has committed and calls `remove_files`, which removes only those nothing else names (the same
content may belong to another nomination, or be a finalist's photo): removed first, a rolled
back transaction would leave rows naming missing files. A process that dies in between leaves
files no row names, which the orphan sweep at the next start removes.
"""

from collections.abc import Iterable, Sequence

from sqlalchemy import Column, Engine, Table, delete
from sqlalchemy.engine import CursorResult
from sqlmodel import Session, col, select, update

from app.models import EvidenceFile, Nomination, metadata
from app.services.files import FileStore
from app.services.nominations.intake import referenced_files

# What the nominator wrote: what the nominee did, its impact, the obstacles, and how the
# nominator knows it (their own words about themselves).
STORY_FIELDS = ("achievement", "impact", "obstacles", "how_known")
# Rows per statement: far below SQLite's and PostgreSQL's limits on bound parameters.
CHUNK = 500


def _chunks(ids: Sequence[int]) -> Iterable[list[int]]:
    for start in range(0, len(ids), CHUNK):
        yield list(ids[start : start + CHUNK])


def _evidence_hashes(session: Session, nomination_ids: Sequence[int]) -> set[str]:
    found: set[str] = set()
    for chunk in _chunks(nomination_ids):
        found |= set(
            session.exec(
                select(EvidenceFile.sha256).where(col(EvidenceFile.nomination_id).in_(chunk))
            ).all()
        )
    return found


def delete_evidence(session: Session, *, nomination_ids: Sequence[int]) -> tuple[int, set[str]]:
    """Deletes the evidence files of these nominations; returns how many, and their hashes for
    `remove_files` once committed."""
    hashes = _evidence_hashes(session, nomination_ids)
    deleted = 0
    for chunk in _chunks(nomination_ids):
        result = session.execute(
            delete(EvidenceFile).where(col(EvidenceFile.nomination_id).in_(chunk))
        )
        deleted += result.rowcount if isinstance(result, CursorResult) else 0
    return deleted, hashes


def redact_stories(session: Session, *, nomination_ids: Sequence[int]) -> None:
    for chunk in _chunks(nomination_ids):
        session.exec(
            update(Nomination)
            .where(col(Nomination.id).in_(chunk))
            .values(**dict.fromkeys(STORY_FIELDS, ""))
            .execution_options(synchronize_session="fetch")
        )


def _rows_naming_nominations() -> list[tuple[Table, Column[int]]]:
    """Every table with a foreign key to nomination (evidence files, notes, and whatever a later
    change adds), found from the models, so a new one cannot be forgotten here."""
    found = []
    for table in metadata.sorted_tables:
        for key in table.foreign_keys:
            if key.column.table.name == Nomination.__tablename__:
                found.append((table, key.parent))
    return found


def delete_nominations(session: Session, *, nomination_ids: Sequence[int]) -> tuple[int, set[str]]:
    """Deletes these nominations and every row that names them; returns how many evidence
    files went, and their hashes for `remove_files` once committed."""
    files, hashes = delete_evidence(session, nomination_ids=nomination_ids)
    for chunk in _chunks(nomination_ids):
        for table, column in _rows_naming_nominations():
            session.execute(delete(table).where(column.in_(chunk)))
        session.execute(delete(Nomination).where(col(Nomination.id).in_(chunk)))
    session.flush()
    return files, hashes


def remove_files(engine: Engine, store: FileStore, hashes: set[str]) -> list[str]:
    """After the commit: removes the stored files among `hashes` that nothing names any more."""
    if not hashes:
        return []
    with Session(engine) as session:
        kept = referenced_files(session, among=hashes)
    removed = sorted(hashes - kept)
    for sha256 in removed:
        store.remove(sha256)
    return removed
