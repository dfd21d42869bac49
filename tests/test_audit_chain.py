"""The audit trail as a hash chain: every event linked to the one before in commit order, with no
fork or gap under concurrent writers; tampering in the database itself (a field changed, an
event removed, two swapped, the newest cut off, history rewritten) found by `verify-log`, which
names the event or the checkpoint, on SQLite and PostgreSQL."""

import itertools
import json
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, col, select

from app.config import Settings
from app.db import WRITE
from app.models import AuditCheckpoint, AuditEvent, CheckpointReason, utcnow
from app.services import audit, audit_chain
from app.services.audit_chain import Signer
from tests.conftest import ON_POSTGRES
from tests.server import PortalProcess
from tests.test_cli import run_cli


def record_events(engine: Engine, count: int, *, per_transaction: int = 1) -> None:
    for start in range(0, count, per_transaction):
        with Session(engine.execution_options(**WRITE)) as session:
            for i in range(start, min(start + per_transaction, count)):
                audit.record(
                    session,
                    actor=None,
                    action="login.failed",
                    object_type="account",
                    object_id=i,
                    after={"attempt": i, "texto": "contraseña ñ"},
                )
            session.commit()


def events(engine: Engine) -> list[AuditEvent]:
    with Session(engine) as session:
        return list(session.exec(select(AuditEvent).order_by(col(AuditEvent.seq))).all())


def signer_of(app: FastAPI) -> Signer:
    signer: Signer = app.state.checkpoint_signer
    return signer


def verify(engine: Engine, app: FastAPI, published: dict | None = None) -> audit_chain.Verification:
    with Session(engine) as session:
        return audit_chain.verify(session, public_key=signer_of(app).public, published=published)


def checkpoint(engine: Engine, app: FastAPI) -> AuditCheckpoint:
    with Session(engine.execution_options(**WRITE), expire_on_commit=False) as session:
        made = audit_chain.checkpoint_now(
            session, signer=signer_of(app), reason=CheckpointReason.daily, now=utcnow()
        )
        session.commit()
        return made


Change = tuple[str, dict[str, object]]


def tamper(engine: Engine, *changes: Change) -> None:
    """Runs `statements` with the append-only triggers off, as someone with access to the
    database could; they are back on afterwards (DDL is transactional on both engines)."""
    with engine.begin() as conn:
        if ON_POSTGRES:
            conn.execute(text("ALTER TABLE audit_event DISABLE TRIGGER audit_event_append_only"))
        else:
            conn.execute(text("DROP TRIGGER audit_event_no_update"))
            conn.execute(text("DROP TRIGGER audit_event_no_delete"))
        for statement, params in changes:
            conn.execute(text(statement), params)
        if ON_POSTGRES:
            conn.execute(text("ALTER TABLE audit_event ENABLE TRIGGER audit_event_append_only"))
        else:
            for kind in ("update", "delete"):
                conn.execute(
                    text(
                        f"CREATE TRIGGER audit_event_no_{kind} BEFORE {kind.upper()} ON"
                        " audit_event BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END"
                    )
                )


# --- the chain as written --------------------------------------------------------------------


def test_events_are_linked_in_order_when_their_transaction_commits(
    engine: Engine, app: FastAPI
) -> None:
    record_events(engine, 5, per_transaction=2)

    chain = events(engine)
    assert [e.seq for e in chain] == [1, 2, 3, 4, 5]
    assert chain[0].prev_hash == audit.GENESIS
    for before, after in itertools.pairwise(chain):
        assert after.prev_hash == before.hash
    for event in chain:
        assert event.hash == audit.link_hash(event.prev_hash, audit.event_fields(event))
    result = verify(engine, app)
    assert result.ok, result.problems
    assert (result.event_count, result.head_hash) == (5, chain[-1].hash)


def test_event_of_a_rolled_back_transaction_is_never_written(engine: Engine) -> None:
    with Session(engine) as session:
        audit.record(session, actor=None, action="login.failed")
        session.rollback()
        audit.record(session, actor=None, action="logout")
        session.commit()

    assert [(e.seq, e.action) for e in events(engine)] == [(1, "logout")]


def test_concurrent_writers_leave_one_chain_without_fork_or_gap(
    engine: Engine, app: FastAPI
) -> None:
    threads = [
        threading.Thread(target=record_events, args=(engine, 15), kwargs={"per_transaction": 3})
        for _ in range(6)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    chain = events(engine)
    assert [e.seq for e in chain] == list(range(1, 91))
    assert len({e.prev_hash for e in chain}) == 90
    assert verify(engine, app).ok


def test_two_events_in_one_place_are_refused_by_the_database(engine: Engine) -> None:
    record_events(engine, 1)

    with Session(engine) as session, pytest.raises(DBAPIError):
        session.add(AuditEvent(action="forged", seq=1, prev_hash="0" * 64, hash="f" * 64))
        session.commit()


# --- tampering -------------------------------------------------------------------------------


def test_untouched_database_verifies_with_its_checkpoints(engine: Engine, app: FastAPI) -> None:
    record_events(engine, 3)
    checkpoint(engine, app)
    record_events(engine, 2)
    checkpoint(engine, app)

    result = verify(engine, app)

    assert result.ok, result.problems
    assert (result.event_count, result.checkpoints) == (5, 2)


def test_changed_field_of_an_old_event_is_named(engine: Engine, app: FastAPI) -> None:
    record_events(engine, 6)
    target = events(engine)[2]

    tamper(engine, ("UPDATE audit_event SET after = '{}' WHERE id = :id", {"id": target.id}))

    result = verify(engine, app)
    assert not result.ok
    assert result.problems[0].startswith(f"event #3 (id {target.id}, login.failed")
    assert "was changed" in result.problems[0]


def test_removed_event_is_named(engine: Engine, app: FastAPI) -> None:
    record_events(engine, 6)
    target = events(engine)[3]

    tamper(engine, ("DELETE FROM audit_event WHERE id = :id", {"id": target.id}))

    result = verify(engine, app)
    assert not result.ok
    assert result.problems[0].startswith("event #4 was removed")


def test_swapped_events_are_named(engine: Engine, app: FastAPI) -> None:
    record_events(engine, 6)
    chain = events(engine)
    second, fifth = chain[1], chain[4]

    tamper(
        engine,
        ("UPDATE audit_event SET seq = -1 WHERE id = :id", {"id": second.id}),
        ("UPDATE audit_event SET seq = 2 WHERE id = :id", {"id": fifth.id}),
        ("UPDATE audit_event SET seq = 5 WHERE id = :id", {"id": second.id}),
    )

    result = verify(engine, app)
    assert not result.ok
    assert result.problems[0] == (
        f"event #2 (id {fifth.id}, login.failed, "
        f"{fifth.created_at.isoformat(timespec='microseconds')}) is out of place:"
        " it was written as event #5, after event #4"
    )


def test_removed_newest_events_are_caught_by_the_checkpoint(engine: Engine, app: FastAPI) -> None:
    record_events(engine, 4)
    made = checkpoint(engine, app)
    last = events(engine)[-1]

    tamper(engine, ("DELETE FROM audit_event WHERE id = :id", {"id": last.id}))

    result = verify(engine, app)
    assert not result.ok
    assert result.problems[0].startswith(f"checkpoint #{made.id} of ")
    assert "the newest events were removed" in result.problems[0]


def test_rewritten_history_is_caught_by_a_published_copy_of_the_checkpoints(
    engine: Engine, app: FastAPI
) -> None:
    """Whoever rewrites the trail and every hash after it, and the database's checkpoints too,
    is still caught by an observer's copy of the checkpoints published earlier."""
    record_events(engine, 4)
    checkpoint(engine, app)
    with Session(engine) as session:
        published = audit_chain.checkpoints_document(session, public_key=signer_of(app).public)
    chain = events(engine)
    prev = chain[1].hash
    changes: list[Change] = [("UPDATE audit_event SET after = '{}' WHERE seq = 3", {})]
    for event in chain[2:]:
        fields = audit.event_fields(event)
        if event.seq == 3:
            fields[8] = "{}"
        digest = audit.link_hash(prev, fields)
        changes.append(
            (
                "UPDATE audit_event SET prev_hash = :prev, hash = :hash WHERE id = :id",
                {"prev": prev, "hash": digest, "id": event.id},
            )
        )
        prev = digest
    tamper(engine, *changes)
    with engine.begin() as conn:
        conn.execute(text("UPDATE audit_chain_head SET head_hash = :h"), {"h": prev})
        if ON_POSTGRES:
            conn.execute(text("ALTER TABLE audit_checkpoint DISABLE TRIGGER USER"))
            conn.execute(text("DELETE FROM audit_checkpoint"))
            conn.execute(text("ALTER TABLE audit_checkpoint ENABLE TRIGGER USER"))
        else:
            conn.execute(text("DROP TRIGGER audit_checkpoint_no_delete"))
            conn.execute(text("DELETE FROM audit_checkpoint"))

    assert verify(engine, app).ok
    result = verify(engine, app, published=published)
    assert not result.ok
    assert result.problems[0].startswith("published checkpoint #1 of ")
    assert "no longer matches" in result.problems[0]


def test_checkpoint_with_a_forged_signature_is_refused(engine: Engine, app: FastAPI) -> None:
    record_events(engine, 2)
    checkpoint(engine, app)
    with Session(engine) as session:
        published = audit_chain.checkpoints_document(session, public_key=signer_of(app).public)
    published["checkpoints"][0]["event_count"] = 1

    result = verify(engine, app, published=published)

    assert not result.ok
    assert "signature does not verify" in result.problems[0]


def test_daily_checkpoint_is_made_once_a_day(engine: Engine, app: FastAPI) -> None:
    now = utcnow()
    with Session(engine.execution_options(**WRITE)) as session:
        first = audit_chain.daily_checkpoint(session, signer=signer_of(app), now=now)
        session.commit()
    with Session(engine.execution_options(**WRITE)) as session:
        again = audit_chain.daily_checkpoint(
            session, signer=signer_of(app), now=now + timedelta(hours=12)
        )
        next_day = audit_chain.daily_checkpoint(
            session, signer=signer_of(app), now=now + timedelta(hours=24)
        )
        session.commit()

    assert first is not None and again is None and next_day is not None


def test_checkpoint_key_comes_from_the_setting_when_given(tmp_path: Path) -> None:
    from tests.conftest import make_settings

    generated = audit_chain.load_signer(make_settings(tmp_path / "a", None))
    assert generated is not None
    pem = (tmp_path / "a" / audit_chain.KEY_FILE).read_text()
    assert oct((tmp_path / "a" / audit_chain.KEY_FILE).stat().st_mode & 0o777) == "0o600"

    given = audit_chain.load_signer(make_settings(tmp_path / "b", None, checkpoint_signing_key=pem))

    assert given is not None and given.public.raw == generated.public.raw
    assert not (tmp_path / "b" / audit_chain.KEY_FILE).exists()


# --- the command ------------------------------------------------------------------------------


def test_verify_log_command_prints_count_and_head_or_names_the_event(
    settings: Settings, engine: Engine, app: FastAPI, tmp_path: Path
) -> None:
    record_events(engine, 3)
    checkpoint(engine, app)
    with Session(engine) as session:
        document = audit_chain.checkpoints_document(session, public_key=signer_of(app).public)
    published = tmp_path / "checkpoints.json"
    published.write_text(json.dumps(document))
    head = events(engine)[-1].hash

    ok = run_cli(settings, "verify-log", "--checkpoints", str(published))
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert ok.stdout.strip() == (
        f"OK: 3 events, head {head}; 1 checkpoint(s) and 1 published checkpoint(s) match."
    )

    target = events(engine)[0]
    tamper(
        engine, ("UPDATE audit_event SET actor_label = 'someone' WHERE id = :id", {"id": target.id})
    )
    failed = run_cli(settings, "verify-log")
    assert failed.returncode == 1
    assert failed.stdout.startswith(f"FAILED: event #1 (id {target.id}, login.failed")


def test_verify_log_with_an_unreadable_checkpoints_file_says_so(
    settings: Settings, app: FastAPI, tmp_path: Path
) -> None:
    result = run_cli(settings, "verify-log", "--checkpoints", str(tmp_path / "missing.json"))

    assert result.returncode == 2
    assert "cannot read checkpoints from" in result.stderr


def test_verify_log_elsewhere_without_the_key_checks_with_the_published_key(
    settings: Settings, engine: Engine, app: FastAPI, tmp_path: Path
) -> None:
    """An observer with a copy of the database but not the private key: the public key of the
    site's checkpoints file checks the database's own checkpoints too."""
    record_events(engine, 2)
    checkpoint(engine, app)
    with Session(engine) as session:
        document = audit_chain.checkpoints_document(session, public_key=signer_of(app).public)
    published = tmp_path / "checkpoints.json"
    published.write_text(json.dumps(document))
    (settings.data_dir / audit_chain.KEY_FILE).rename(tmp_path / "kept-elsewhere.pem")

    without = run_cli(settings, "verify-log")
    with_file = run_cli(settings, "verify-log", "--checkpoints", str(published))

    assert without.returncode == 1
    assert "there is no key to check its signature with" in without.stdout
    assert with_file.returncode == 0, with_file.stdout
    assert not (settings.data_dir / audit_chain.KEY_FILE).exists()


def test_removed_newest_event_after_the_last_checkpoint_shows_in_the_head_row(
    engine: Engine, app: FastAPI
) -> None:
    record_events(engine, 3)
    last = events(engine)[-1]

    tamper(engine, ("DELETE FROM audit_event WHERE id = :id", {"id": last.id}))

    result = verify(engine, app)
    assert not result.ok
    assert result.problems[0].startswith("the chain's head row says 3 events")


def test_missing_head_row_is_made_again_from_the_last_event(engine: Engine, app: FastAPI) -> None:
    record_events(engine, 2)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_chain_head"))

    record_events(engine, 1)

    assert [e.seq for e in events(engine)] == [1, 2, 3]
    assert verify(engine, app).ok


def test_verify_log_reads_the_checkpoints_the_site_publishes_at_its_url(
    settings: Settings, engine: Engine, app: FastAPI
) -> None:
    record_events(engine, 2)
    made = checkpoint(engine, app)
    server = PortalProcess(settings, workers=1).start()
    try:
        result = run_cli(
            settings, "verify-log", "--checkpoints", server.url + "/transparency/checkpoints.json"
        )
    finally:
        server.stop()

    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == (
        f"OK: 2 events, head {made.head_hash}; 1 checkpoint(s) and 1 published checkpoint(s) match."
    )
