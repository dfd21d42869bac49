import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any

from sqlalchemy import Engine, Insert, Table, event, insert
from sqlalchemy.engine import Connection
from sqlmodel import Session, SQLModel, create_engine

from app.config import Settings

# Execution option asking SQLite for BEGIN IMMEDIATE: a transaction that reads and then writes
# must hold the write lock from its start, or under concurrency its upgrade fails at once with
# "database is locked" (SQLITE_BUSY_SNAPSHOT skips the busy timeout).
WRITE = {"sqlite_immediate": True}
# For a transaction that only reads, on an engine or session set up with WRITE.
READ = {"sqlite_immediate": False}
HOLDS_WRITE_LOCK = "holds_sqlite_write_lock"


def make_engine(settings: Settings) -> Engine:
    url = settings.sqlalchemy_url
    if url.startswith("sqlite"):
        return _sqlite_engine(url, settings)
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)


def _sqlite_engine(url: str, settings: Settings) -> Engine:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url,
        connect_args={
            "check_same_thread": False,
            "timeout": settings.sqlite_busy_timeout_ms / 1000,
            # Let SQLAlchemy's begin event below issue BEGIN itself.
            "isolation_level": None,
        },
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(settings.sqlite_busy_timeout_ms)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA synchronous={settings.sqlite_synchronous}")
        cursor.close()

    # One writer at a time is all SQLite allows. Writers of this process queue on a lock of
    # their own, handed over the moment the holder is done, rather than on SQLite's busy
    # handler, which polls with sleeps of up to 100 ms: under a spike of nominations those
    # sleeps, not the work, made the waiting. Other processes still meet the busy handler.
    write_lock = threading.Lock()
    timeout = settings.sqlite_busy_timeout_ms / 1000

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get("sqlite_immediate")
        if immediate and not conn.info.get(HOLDS_WRITE_LOCK):
            if not write_lock.acquire(timeout=timeout):
                raise sqlite3.OperationalError("database is locked")
            conn.info[HOLDS_WRITE_LOCK] = True
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    def _release(_dbapi_connection: Any, record: Any, *_args: Any) -> None:
        # The lock is held from BEGIN IMMEDIATE until the connection goes back to the pool,
        # after the commit or rollback (or is closed or invalidated).
        if record is not None and record.info.pop(HOLDS_WRITE_LOCK, False):
            write_lock.release()

    for name in ("checkin", "invalidate", "soft_invalidate", "close", "detach"):
        event.listen(engine, name, _release)

    return engine


def is_sqlite(bind: Engine | Connection) -> bool:
    return bind.dialect.name == "sqlite"


def refresh_statistics(engine: Engine) -> None:
    """Lets the query planner see the data's shape. SQLite never gathers statistics by itself,
    and without them it sorted the whole 100,000-row queue instead of reading its index."""
    with engine.connect() as conn:
        if is_sqlite(engine):
            conn.exec_driver_sql("PRAGMA optimize=0x10002")
        else:
            conn.exec_driver_sql("ANALYZE")
        conn.commit()


def end_reads(session: Session) -> None:
    """Ends a session's reads before its writes, on SQLite: its single writer should wait only
    for others' writes, not for what a request does between reading and writing. PostgreSQL
    has no such lock, and one transaction there spares a connection check-out."""
    if is_sqlite(session.get_bind()):
        session.commit()


def begin_write(session: Session) -> None:
    """Starts the session's write transaction now: on SQLite, BEGIN IMMEDIATE, which takes the
    write lock (after `end_reads`: a transaction already open could not take it)."""
    if not is_sqlite(session.get_bind()):
        return
    if session.in_transaction():
        # A session that holds the write lock already (the command line's, opened with WRITE:
        # the demo nominates through the same service as the public form) just goes on.
        if session.connection().info.get(HOLDS_WRITE_LOCK):
            return
        raise RuntimeError("begin_write: the session's reads are still open (end_reads)")
    session.connection(execution_options=WRITE)


def insert_row(session: Session, row: SQLModel) -> int:
    """Inserts one new row at once, without the unit of work's bookkeeping (a flush of one
    object cost several times the INSERT itself): for the rows every nomination writes. The
    object stays outside the session, with its new id; column defaults were applied when it was
    built."""
    table: Table = row.__table__  # type: ignore[attr-defined]
    values = {column.key: getattr(row, column.key) for column in table.columns}
    if values.get("id") is None:
        values.pop("id", None)
    new_id: int = session.execute(_insert_returning_id(table), values).scalar_one()
    row.id = new_id
    return new_id


@cache
def _insert_returning_id(table: Table) -> Insert:
    # The same statement object every time, values passed as parameters: SQLAlchemy compiles
    # it once (`.values(dict)` made a new statement, and a new cache key, on every call).
    return insert(table).returning(table.c.id)


@contextmanager
def single_read(engine: Engine) -> Iterator[Connection]:
    """A connection for one statement that only reads. On PostgreSQL it runs in autocommit,
    which spares the BEGIN and the ROLLBACK, a round trip each, around the statement (one
    statement is its own snapshot); the pool gives the connection back as it found it. SQLite
    reads in a transaction as usual (its begin hook above would open one anyway)."""
    with engine.connect() as connection:
        if not is_sqlite(connection):
            connection.execution_options(isolation_level="AUTOCOMMIT")
        yield connection


@contextmanager
def session_scope(engine: Engine, *, write: bool = False) -> Iterator[Session]:
    """A session for the command line and tests; the caller commits."""
    with Session(engine, expire_on_commit=False) as session:
        if write:
            session.connection(execution_options=WRITE)
        yield session
