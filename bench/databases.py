"""Throw-away databases: a SQLite data directory, or a PostgreSQL database that is dropped at
the end whatever happens."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql
from sqlalchemy import create_engine, text


@dataclass(frozen=True)
class BenchDatabase:
    name: str
    # The portal's DATABASE_URL (None: SQLite under its DATA_DIR) and its DATA_DIR.
    portal_url: str | None
    portal_data_dir: Path
    # SQLAlchemy URLs, to count stored rows and for the baseline.
    portal_sqlalchemy_url: str
    baseline_url: str
    baseline_files: Path
    # PostgreSQL's name for the database, to find the backends serving it; None for SQLite.
    postgres_name: str | None = None

    def count_rows(self, table: str, *, baseline: bool) -> int:
        url = self.baseline_url if baseline else self.portal_sqlalchemy_url
        engine = create_engine(url)
        try:
            with engine.connect() as connection:
                # `table` comes from bench.scenarios, never from input.
                query = text(f"SELECT count(*) FROM {table}")  # noqa: S608 - see above
                return int(connection.execute(query).scalar_one())
        finally:
            engine.dispose()


def _sqlalchemy_postgres(url: str) -> str:
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


@contextmanager
def sqlite_database(workdir: Path) -> Iterator[BenchDatabase]:
    data_dir = workdir / "sqlite-data"
    data_dir.mkdir()
    # The baseline has a file of its own, so its writes never wait for the portal's lock.
    yield BenchDatabase(
        name="SQLite",
        portal_url=None,
        portal_data_dir=data_dir,
        portal_sqlalchemy_url=f"sqlite:///{data_dir / 'portal.sqlite3'}",
        baseline_url=f"sqlite:///{workdir / 'baseline.sqlite3'}",
        baseline_files=workdir / "sqlite-baseline-files",
    )


def postgres_reachable(admin_url: str) -> str | None:
    """None if we can create databases there, else why not."""
    try:
        with psycopg.connect(admin_url, connect_timeout=3) as connection:
            connection.execute("SELECT 1")
    except psycopg.Error as error:
        return str(error).strip().splitlines()[0]
    return None


@contextmanager
def postgres_database(workdir: Path, admin_url: str) -> Iterator[BenchDatabase]:
    name = f"bench_icon_{secrets.token_hex(4)}"
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        url = urlunsplit(urlsplit(admin_url)._replace(path=f"/{name}"))
        data_dir = workdir / "postgres-data"
        data_dir.mkdir()
        yield BenchDatabase(
            name="PostgreSQL",
            portal_url=url,
            portal_data_dir=data_dir,
            portal_sqlalchemy_url=_sqlalchemy_postgres(url),
            baseline_url=_sqlalchemy_postgres(url),
            baseline_files=workdir / "postgres-baseline-files",
            postgres_name=name,
        )
    finally:
        with psycopg.connect(admin_url, autocommit=True) as connection:
            # FORCE: a server killed half-way may leave connections behind.
            connection.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
