"""A fresh database for every test: SQLite by default, PostgreSQL when DATABASE_URL names one.

The schema is built once per run by the migrations themselves; each SQLite test gets a copy of
that file, and each PostgreSQL test starts from emptied tables of a database made for this run.
"""

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlmodel import Session

from app.config import Settings
from app.db import make_engine
from app.main import create_app
from app.migrate import upgrade
from app.models import metadata

SERVER_URL = os.environ.get("DATABASE_URL", "")
ON_POSTGRES = SERVER_URL.startswith(("postgres://", "postgresql"))


def postgres_admin_url() -> str:
    url = make_url(Settings(database_url=SERVER_URL, _env_file=None).sqlalchemy_url)  # type: ignore[call-arg]
    return url.set(database="postgres").render_as_string(hide_password=False)


def create_postgres_database(name: str) -> str:
    admin = create_engine(postgres_admin_url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
        # A test's database need not outlive a crash of the server: commits do not wait for the
        # disk, which made most of the difference between the PostgreSQL and SQLite legs.
        conn.execute(text(f'ALTER DATABASE "{name}" SET synchronous_commit = off'))
    admin.dispose()
    url = make_url(postgres_admin_url()).set(database=name)
    return url.render_as_string(hide_password=False)


def drop_postgres_database(name: str) -> None:
    admin = create_engine(postgres_admin_url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def make_settings(data_dir: Path, database_url: str | None, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "database_url": database_url,
        "data_dir": data_dir,
        "secret_key": "test-secret-" + "x" * 40,
        "environment": "test",
        "base_url": "http://testserver",
        "smtp_url": None,
        "default_locale": "es",
        "form_min_seconds": 0,
        "nomination_rate_limit": 0,
        "nomination_browser_limit": 0,
        # The server's own retention purge runs only in the tests that ask for it.
        "nomination_retention_days": 0,
        # The server's own reminders run only in the tests that ask for them.
        "reminder_interval_seconds": 0,
        **overrides,
    }
    return Settings(_env_file=None, **values)  # type: ignore[call-arg, arg-type]


@pytest.fixture(scope="session")
def database_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated database for this run: a SQLite file to copy, or a PostgreSQL URL."""
    if ON_POSTGRES:
        name = f"ii_test_{uuid.uuid4().hex[:12]}"
        url = create_postgres_database(name)
        engine = make_engine(make_settings(tmp_path_factory.mktemp("pg"), url))
        upgrade(engine)
        engine.dispose()
        yield url
        drop_postgres_database(name)
    else:
        data_dir = tmp_path_factory.mktemp("template")
        settings = make_settings(data_dir, None)
        engine = make_engine(settings)
        upgrade(engine)
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        engine.dispose()
        yield str(data_dir / "portal.sqlite3")


def _emptying_statements() -> tuple[str, str]:
    """One query naming the tables that hold rows, and one naming the sequences a test used."""
    tables = [table.name for table in metadata.sorted_tables if table.name != "audit_chain_head"]
    holding_rows = " UNION ALL ".join(
        f"SELECT '{name}' WHERE EXISTS (SELECT 1 FROM \"{name}\")"  # noqa: S608 (our tables)
        for name in tables
    )
    used_sequences = (
        "SELECT quote_ident(schemaname) || '.' || quote_ident(sequencename) FROM pg_sequences"
        " WHERE last_value IS NOT NULL AND schemaname = current_schema()"
    )
    return holding_rows, used_sequences


# Children before their parents, so that each DELETE leaves no row pointing at a deleted one.
_DELETE_ORDER = {table.name: n for n, table in enumerate(reversed(metadata.sorted_tables))}


def _empty_tables(engine: Engine) -> None:
    """Back to the state the migrations leave: the rows of the tables a test wrote to are
    deleted, every used sequence starts again at 1, and the audit chain's head row is at the
    start of the chain. DELETE and setval, not TRUNCATE and ALTER SEQUENCE RESTART: those make
    new files, and a commit that drops files waits for the disk whatever synchronous_commit
    says, which made the PostgreSQL leg wait on I/O most of its time (TRUNCATE stays for a
    server where the tests are not superuser)."""
    holding_rows, used_sequences = _emptying_statements()
    with engine.begin() as conn:
        # A session a test forgot to close would make this wait forever; fail loudly instead.
        conn.execute(text("SET LOCAL lock_timeout = '10s'"))
        written = [row[0] for row in conn.execute(text(holding_rows))]
        if conn.execute(text("SELECT current_setting('is_superuser')")).scalar_one() == "on":
            # The audit tables refuse DELETE by trigger: off for this transaction only.
            conn.execute(text("SET LOCAL session_replication_role = replica"))
            for name in sorted(written, key=_DELETE_ORDER.__getitem__):
                conn.execute(text(f'DELETE FROM "{name}"'))  # noqa: S608 (our tables)
        elif written:  # a server where the tests may not switch triggers off: slower, as sure
            names = ", ".join(f'"{name}"' for name in written)
            conn.execute(text(f"TRUNCATE {names} CASCADE"))
        for (sequence,) in conn.execute(text(used_sequences)).all():
            conn.execute(text("SELECT setval(:s, 1, false)"), {"s": sequence})
        conn.execute(text("DELETE FROM audit_chain_head"))
        conn.execute(
            text("INSERT INTO audit_chain_head (id, event_count, head_hash) VALUES (1, 0, :h)"),
            {"h": "0" * 64},
        )


@pytest.fixture
def settings(tmp_path: Path, database_template: str) -> Settings:
    data_dir = tmp_path / "var"
    data_dir.mkdir()
    if ON_POSTGRES:
        return make_settings(data_dir, database_template)
    shutil.copy(database_template, data_dir / "portal.sqlite3")
    return make_settings(data_dir, None)


@pytest.fixture
def app(settings: Settings) -> Iterator[FastAPI]:
    application = create_app(settings)
    engine: Engine = application.state.engine
    if ON_POSTGRES:
        _empty_tables(engine)
    yield application
    engine.dispose()


@pytest.fixture
def engine(app: FastAPI) -> Engine:
    return app.state.engine  # type: ignore[no-any-return]


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as db:
        yield db


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, base_url="http://testserver") as test_client:
        yield test_client
