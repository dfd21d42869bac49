"""Migrations build exactly the models' schema, can be undone and redone, on both engines."""

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, col, select

from app.db import make_engine
from app.migrate import downgrade, include_name, upgrade
from app.models import AuditEvent, metadata
from app.services import audit, audit_chain
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


def test_migration_chains_audit_events_written_before_it(
    empty_engine: Engine, tmp_path: Path
) -> None:
    upgrade(empty_engine, "aa492f98d60b")
    with empty_engine.begin() as conn:
        for i in range(3):
            conn.execute(
                text(
                    "INSERT INTO audit_event (created_at, actor_id, actor_label, action,"
                    " object_type, object_id, before, after, client_hash) VALUES"
                    " (:at, NULL, 'anonymous', 'login.failed', '', '', '', :after, '')"
                ),
                {"at": datetime(2026, 1, i + 1, 10, 0, i, 5, tzinfo=UTC), "after": f'{{"i": {i}}}'},
            )

    upgrade(empty_engine)
    with Session(empty_engine) as session:
        audit.record(session, actor=None, action="logout")
        session.commit()

    signer = audit_chain.load_signer(make_settings(tmp_path / "key", None))
    assert signer is not None
    with Session(empty_engine) as session:
        chain = session.exec(select(AuditEvent).order_by(col(AuditEvent.seq))).all()
        result = audit_chain.verify(session, public_key=signer.public)
    assert [(e.seq, e.action) for e in chain] == [
        (1, "login.failed"),
        (2, "login.failed"),
        (3, "login.failed"),
        (4, "logout"),
    ]
    assert result.ok, result.problems
    with empty_engine.connect() as conn, pytest.raises(DBAPIError, match="append-only"):
        conn.execute(text("UPDATE audit_event SET action = 'x'"))


def test_intake_migration_keeps_nominations_their_files_and_their_search(
    empty_engine: Engine,
) -> None:
    """Issue 15's columns are added to a nomination table that holds rows others point at (an
    evidence file here); they come out as the web's channel, and the queue still finds them."""
    from app.forms.filters import NominationFilter
    from app.models import Channel, ConsentMethod, EvidenceFile, Nomination
    from app.services.nominations.screening import queue_page

    upgrade(empty_engine, "ef745cf17f66")
    at = datetime(2030, 1, 1, tzinfo=UTC)
    with empty_engine.begin() as conn:
        campaign = conn.execute(
            text(
                "INSERT INTO campaign (year, title_es, title_en, intro_es, intro_en,"
                " nominations_open_on, nominations_close_on, screening_until, vetting_until,"
                " finalists_on, deliberation_on, results_on, created_at, winners_per_theme)"
                " VALUES (2030, 'a', 'a', '', '', :d, :d, :d, :d, :d, :d, :d, :at, 1) RETURNING id"
            ),
            {"d": at.date(), "at": at},
        ).scalar_one()
        theme = conn.execute(
            text(
                "INSERT INTO theme (campaign_id, slug, position, name_es, name_en, description_es,"
                " description_en, eligibility_es, eligibility_en, opens_at, closes_at)"
                " VALUES (:c, 'youth', 1, 'J', 'Y', '', '', '', '', :at, :at) RETURNING id"
            ),
            {"c": campaign, "at": at},
        ).scalar_one()
        nomination = conn.execute(
            text(
                "INSERT INTO nomination (reference, submission_key, theme_id, status,"
                " status_reason, search_text, locale, nominee_name, nominee_position,"
                " nominee_institution, government_level, state, years_of_service,"
                " nominee_contact, achievement, impact, obstacles, how_known, reference1_name,"
                " reference1_contact, reference2_name, reference2_contact, nominator_name,"
                " nominator_email, nominator_phone, nominator_relationship, may_contact,"
                " reveal_identity, privacy_consent_at, submitted_at) VALUES ('ref-0000000001',"
                " 'k1', :t, 'received', '', 'lopez ruiz xalapa', 'es', 'Ana López Ruiz', 'p',"
                " 'Xalapa', 'state', 'VER', 1, '', 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i',"
                " 'i@example.org', '', 'colleague', false, false, :at, :at) RETURNING id"
            ),
            {"t": theme, "at": at},
        ).scalar_one()
        conn.execute(
            text(
                "INSERT INTO evidence_file (nomination_id, position, sha256, content_type, size,"
                " original_name, created_at) VALUES (:n, 0, 'ab', 'application/pdf', 1, 'x.pdf',"
                " :at)"
            ),
            {"n": nomination, "at": at},
        )

    upgrade(empty_engine)

    assert schema_differences(empty_engine) == []
    with Session(empty_engine) as session:
        stored = session.get(Nomination, nomination)
        assert stored is not None
        assert (stored.channel, stored.consent_method) == (Channel.web, ConsentMethod.web_form)
        assert session.exec(select(EvidenceFile.nomination_id)).all() == [nomination]
        found = queue_page(session, NominationFilter(q="lopez"), campaign_id=campaign)
        assert [row.nomination.id for row in found.rows] == [nomination]
