"""Leases: work that one process at a time may do, across processes and machines.

A lease is a row naming its holder and when it runs out. Taking it is one conditional UPDATE
(or the INSERT of the first row), so two processes that try at once cannot both win, on SQLite
as on PostgreSQL. The holder renews it while it works; one that died is replaced once its
lease has run out. The caller commits each step in a short transaction of its own.
"""

import os
import socket
import uuid
from datetime import datetime

from sqlalchemy import delete, or_, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import CursorResult
from sqlmodel import Session, col

from app.db import is_sqlite
from app.models import Lease


def new_holder() -> str:
    """A name for one holder: the machine and process, for whoever reads the table, and a
    random part, since two senders in one process must not pass for each other."""
    return f"{socket.gethostname()[:120]}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


def _rowcount(result: object) -> int:
    return result.rowcount if isinstance(result, CursorResult) else 0


def acquire(session: Session, *, name: str, holder: str, until: datetime, now: datetime) -> bool:
    """Takes the lease `name` until `until` if it is free, run out, or already ours."""
    taken = session.execute(
        update(Lease)
        .where(
            col(Lease.name) == name,
            or_(col(Lease.holder) == holder, col(Lease.expires_at) <= now),
        )
        .values(holder=holder, expires_at=until)
    )
    if _rowcount(taken):
        return True
    insert = sqlite_insert if is_sqlite(session.get_bind()) else postgresql_insert
    # RETURNING says whether the row went in (rowcount does not, for an ORM insert on psycopg).
    created = session.execute(
        insert(Lease)
        .values(name=name, holder=holder, expires_at=until)
        .on_conflict_do_nothing(index_elements=["name"])
        .returning(col(Lease.name))
    )
    return created.first() is not None


def renew(session: Session, *, name: str, holder: str, until: datetime) -> bool:
    """Extends our lease; False when it is no longer ours (it ran out and another took it)."""
    renewed = session.execute(
        update(Lease)
        .where(col(Lease.name) == name, col(Lease.holder) == holder)
        .values(expires_at=until)
    )
    return _rowcount(renewed) == 1


def release(session: Session, *, name: str, holder: str) -> None:
    session.execute(delete(Lease).where(col(Lease.name) == name, col(Lease.holder) == holder))
