"""`python -m app backup DIR` and `restore DIR`, run as an operator runs them: everything comes
back (every row of every table, every file), also when the backup was taken while a real server
took nominations; restore refuses a target that is not empty and a backup that changed."""

import hashlib
import json
import re
import shutil
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, MetaData, Table, select
from sqlmodel import Session
from sqlmodel import select as select_rows

from app.config import Settings
from app.db import make_engine
from app.models import EvidenceFile, Lease, Nomination, utcnow
from app.services.demo.past_edition import seed_past_edition
from app.services.files import FileStore
from app.services.mail.outbox import queue_mail
from tests.conftest import (
    ON_POSTGRES,
    create_postgres_database,
    drop_postgres_database,
    make_settings,
)
from tests.factories import make_open_campaign, make_pdf, nomination_data, post_nomination
from tests.server import PortalProcess
from tests.test_cli import run_cli

if ON_POSTGRES and not (shutil.which("pg_dump") and shutil.which("pg_restore")):
    pytest.skip(
        "pg_dump and pg_restore are not installed (Debian package postgresql-client): the"
        " PostgreSQL backup cannot be tested here",
        allow_module_level=True,
    )


def pdf(label: str) -> bytes:
    return make_pdf(label)


@pytest.fixture
def target(tmp_path: Path) -> Iterator[Settings]:
    """Settings of an empty portal to restore into: a new data directory, and on PostgreSQL a
    new, empty database."""
    if not ON_POSTGRES:
        yield make_settings(tmp_path / "restored", None)
        return
    name = f"ii_restore_{uuid.uuid4().hex[:12]}"
    url = create_postgres_database(name)
    try:
        yield make_settings(tmp_path / "restored", url)
    finally:
        drop_postgres_database(name)


def every_row(settings: Settings) -> dict[str, list[tuple[Any, ...]]]:
    """All rows of all tables (the migrations' own included), in primary-key order."""
    engine = make_engine(settings)
    try:
        tables = MetaData()
        tables.reflect(engine)
        rows = {}
        with engine.connect() as connection:
            for table in tables.sorted_tables:
                assert isinstance(table, Table)
                order = list(table.primary_key.columns) or list(table.columns)
                query = select(table).order_by(*order)
                rows[table.name] = [tuple(row) for row in connection.execute(query)]
        return rows
    finally:
        engine.dispose()


def every_file(data_dir: Path) -> dict[str, tuple[bytes, int]]:
    found = {}
    for path in sorted(data_dir.rglob("*")):
        if path.is_file() and not path.name.startswith("portal.sqlite3"):
            found[path.relative_to(data_dir).as_posix()] = (
                path.read_bytes(),
                path.stat().st_mode & 0o777,
            )
    return found


def fill(client: TestClient, session: Session, settings: Settings) -> None:
    """Something in every part of the portal: a published edition with judges and scores, an
    open call with nominations and their files, mail, a lease, a key in the data directory."""
    seed_past_edition(session, now=utcnow())
    session.commit()
    make_open_campaign(session)
    for n in range(3):
        response = post_nomination(
            client,
            "youth",
            data=nomination_data(
                nominator_email=f"persona{n}@example.org", sensitive_consent="yes"
            ),
            files=[("evidence", (f"prueba{n}.pdf", pdf(f"nomination {n}"), "application/pdf"))],
        )
        assert response.status_code == 303
    queue_mail(session, to="ana@example.org", subject="Hola", body="Hola")
    session.add(Lease(name="outbox", holder="elsewhere", expires_at=utcnow()))
    session.commit()
    key = settings.data_dir / "secret_key"
    key.write_text("a-development-key")
    key.chmod(0o600)


def test_backup_then_restore_gives_back_every_row_and_file(
    client: TestClient, session: Session, settings: Settings, target: Settings, tmp_path: Path
) -> None:
    fill(client, session, settings)
    rows, files = every_row(settings), every_file(settings.data_dir)
    backup_dir = tmp_path / "backup"

    made = run_cli(settings, "backup", str(backup_dir))
    restored = run_cli(target, "restore", str(backup_dir))

    assert made.returncode == 0, made.stderr
    assert restored.returncode == 0, restored.stderr
    assert "backup: database" in made.stderr and "backup: files" in made.stderr
    assert "restore: done" in restored.stderr
    filled = ("nomination", "evidence_file", "score", "winner", "outbox_message", "lease")
    assert all(rows[table] for table in filled)
    assert every_row(target) == rows
    assert every_file(target.data_dir) == files
    assert (backup_dir.stat().st_mode & 0o777) == 0o700
    # The restored portal serves, and new rows follow the restored ones (on PostgreSQL, the
    # sequences came back too).
    server = PortalProcess(target).start()
    try:
        with httpx.Client(base_url=server.url) as browser:
            form = browser.get("/nominate/youth")
            token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
            assert token
            response = browser.post(
                "/nominate/youth",
                data={**nomination_data(sensitive_consent="yes"), "csrf_token": token.group(1)},
                files=[("evidence", ("nueva.pdf", pdf("after restore"), "application/pdf"))],
            )
    finally:
        server.stop()
    assert response.status_code == 303
    assert len(every_row(target)["nomination"]) == len(rows["nomination"]) + 1


def test_backup_while_the_server_takes_nominations_is_consistent(
    session: Session, settings: Settings, target: Settings, tmp_path: Path
) -> None:
    make_open_campaign(session)
    server = PortalProcess(settings, workers=2).start()
    stop = threading.Event()
    sent: list[int] = []
    problems: list[str] = []

    def nominate() -> None:
        with httpx.Client(base_url=server.url, timeout=30) as browser:
            while not stop.is_set():
                form = browser.get("/nominate/youth")
                token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
                if token is None:
                    problems.append(f"no form: {form.status_code}")
                    return
                data = {**nomination_data(sensitive_consent="yes"), "csrf_token": token[1]}
                n = len(sent)
                response = browser.post(
                    "/nominate/youth",
                    data=data,
                    files=[("evidence", (f"e{n}.pdf", pdf(f"under load {n}"), "application/pdf"))],
                )
                if response.status_code != 303:
                    problems.append(f"{response.status_code}: {response.text[:200]}")
                    return
                sent.append(n)

    people = [threading.Thread(target=nominate) for _ in range(3)]
    try:
        for person in people:
            person.start()
        # Some nominations stored before the backup starts, more while it runs.
        while len(sent) < 10 and not problems and any(p.is_alive() for p in people):
            stop.wait(0.05)
        made = run_cli(settings, "backup", str(tmp_path / "backup"))
    finally:
        stop.set()
        for person in people:
            person.join()
        server.stop()
    assert problems == []
    restored = run_cli(target, "restore", str(tmp_path / "backup"))

    assert made.returncode == 0, made.stderr
    assert restored.returncode == 0, restored.stderr
    engine = make_engine(target)
    try:
        with Session(engine) as copy:
            nominations = copy.exec(select_rows(Nomination)).all()
            evidence = copy.exec(select_rows(EvidenceFile)).all()
            if not ON_POSTGRES:
                assert copy.connection().exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
    finally:
        engine.dispose()
    assert 10 <= len(nominations) <= len(sent)
    assert len(evidence) == len(nominations)
    store = FileStore(target.files_dir)
    for file in evidence:
        content = store.path_for(file.sha256).read_bytes()
        assert hashlib.sha256(content).hexdigest() == file.sha256


def test_restore_refuses_a_data_directory_that_is_not_empty(
    client: TestClient, session: Session, settings: Settings, target: Settings, tmp_path: Path
) -> None:
    fill(client, session, settings)
    assert run_cli(settings, "backup", str(tmp_path / "backup")).returncode == 0
    target.data_dir.mkdir()
    (target.data_dir / "notes.txt").write_text("mine")

    result = run_cli(target, "restore", str(tmp_path / "backup"))

    assert result.returncode == 1
    assert "is not empty" in result.stderr
    assert [p.name for p in target.data_dir.iterdir()] == ["notes.txt"]


def test_restore_refuses_a_database_that_has_tables(
    client: TestClient, session: Session, settings: Settings, tmp_path: Path
) -> None:
    fill(client, session, settings)
    assert run_cli(settings, "backup", str(tmp_path / "backup")).returncode == 0
    # The very database that was backed up, with a new, empty data directory.
    url = settings.database_url or f"sqlite:///{settings.data_dir / 'portal.sqlite3'}"
    occupied = make_settings(tmp_path / "elsewhere", url)
    before = every_row(settings)

    result = run_cli(occupied, "restore", str(tmp_path / "backup"))

    assert result.returncode == 1
    assert "already" in result.stderr
    assert every_row(settings) == before
    assert not occupied.data_dir.exists() or not any(occupied.data_dir.iterdir())


def test_restore_refuses_a_backup_whose_file_changed(
    client: TestClient, session: Session, settings: Settings, target: Settings, tmp_path: Path
) -> None:
    fill(client, session, settings)
    backup_dir = tmp_path / "backup"
    assert run_cli(settings, "backup", str(backup_dir)).returncode == 0
    manifest = json.loads((backup_dir / "manifest.json").read_text())
    evidence = next(e["path"] for e in manifest["entries"] if e["path"].startswith("data/files/"))
    tampered = backup_dir / evidence
    tampered.write_bytes(tampered.read_bytes().replace(b"nomination", b"nominatioN"))

    result = run_cli(target, "restore", str(backup_dir))

    assert result.returncode == 1
    assert f"{evidence} has changed" in result.stderr
    assert not target.data_dir.exists() or not any(target.data_dir.iterdir())
    if ON_POSTGRES:
        assert every_row(target) == {}


def test_restore_refuses_an_unfinished_backup(target: Settings, tmp_path: Path) -> None:
    unfinished = tmp_path / "backup"
    unfinished.mkdir()
    (unfinished / "database.sqlite3").write_bytes(b"half")

    result = run_cli(target, "restore", str(unfinished))

    assert result.returncode == 1
    assert "no manifest.json" in result.stderr


def test_backup_refuses_a_directory_that_is_not_empty(
    settings: Settings, tmp_path: Path, engine: Engine
) -> None:
    occupied = tmp_path / "backup"
    occupied.mkdir()
    (occupied / "old.txt").write_text("keep me")

    result = run_cli(settings, "backup", str(occupied))

    assert result.returncode == 1
    assert "is not empty" in result.stderr
    assert [p.name for p in occupied.iterdir()] == ["old.txt"]
