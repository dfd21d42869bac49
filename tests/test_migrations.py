"""Migrations build exactly the models' schema, can be undone and redone, on both engines."""

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect

from app.db import make_engine
from app.migrate import downgrade, include_name, upgrade
from app.models import metadata
from tests.conftest import (
    ON_POSTGRES,
    create_postgres_database,
    drop_postgres_database,
    make_settings,
)


@pytest.fixture
def empty_engine(tmp_path: Path) -> Iterator[Engine]:
    if ON_POSTGRES:
        name = f"ii_migrate_{uuid.uuid4().hex[:12]}"
        engine = make_engine(make_settings(tmp_path, create_postgres_database(name)))
        yield engine
        engine.dispose()
        drop_postgres_database(name)
    else:
        engine = make_engine(make_settings(tmp_path, None))
        yield engine
        engine.dispose()


def schema_differences(engine: Engine) -> list[object]:
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "include_name": include_name}
        )
        return list(compare_metadata(context, metadata))


def test_migrations_upgrade_empty_database_gives_models_schema(empty_engine: Engine) -> None:
    upgrade(empty_engine)

    assert schema_differences(empty_engine) == []


def test_migrations_downgrade_then_upgrade_works(empty_engine: Engine) -> None:
    upgrade(empty_engine)

    downgrade(empty_engine, "base")
    assert set(inspect(empty_engine).get_table_names()) <= {"alembic_version"}
    upgrade(empty_engine)

    assert schema_differences(empty_engine) == []
    assert set(metadata.tables) <= set(inspect(empty_engine).get_table_names())


def test_sqlite_connection_has_wal_foreign_keys_and_busy_timeout(empty_engine: Engine) -> None:
    if ON_POSTGRES:
        pytest.skip("SQLite pragmas")
    with empty_engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 10_000
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
