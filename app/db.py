from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.engine import Connection
from sqlmodel import Session, create_engine

from app.config import Settings

# Execution option asking SQLite for BEGIN IMMEDIATE: a transaction that reads and then writes
# must hold the write lock from its start, or under concurrency its upgrade fails at once with
# "database is locked" (SQLITE_BUSY_SNAPSHOT skips the busy timeout).
WRITE = {"sqlite_immediate": True}


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

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get("sqlite_immediate")
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def refresh_statistics(engine: Engine) -> None:
    """Lets the query planner see the data's shape. SQLite never gathers statistics by itself,
    and without them it sorted the whole 100,000-row queue instead of reading its index."""
    with engine.connect() as conn:
        if is_sqlite(engine):
            conn.exec_driver_sql("PRAGMA optimize=0x10002")
        else:
            conn.exec_driver_sql("ANALYZE")
        conn.commit()


@contextmanager
def session_scope(engine: Engine, *, write: bool = False) -> Iterator[Session]:
    """A session for the command line and tests; the caller commits."""
    with Session(engine, expire_on_commit=False) as session:
        if write:
            session.connection(execution_options=WRITE)
        yield session
