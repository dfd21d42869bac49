"""`python -m app` as an operator runs it, in a subprocess with its own environment."""

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from argon2 import PasswordHasher
from sqlmodel import Session, col, select

from app.config import Settings
from app.db import make_engine
from app.models import Account, AccountToken, Campaign, Role, Theme
from tests.server import PortalProcess

ROOT = Path(__file__).resolve().parent.parent


def run_cli(settings: Settings, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "DATA_DIR": str(settings.data_dir),
        "SECRET_KEY": settings.secret_key or "",
        "ENVIRONMENT": "test",
    }
    env.pop("DATABASE_URL", None)
    if settings.database_url:
        env["DATABASE_URL"] = settings.database_url
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=60,
        check=False,
    )


@pytest.fixture
def db(settings: Settings, app: object) -> Iterator[Session]:
    engine = make_engine(settings)
    with Session(engine, expire_on_commit=False) as session:
        yield session
    engine.dispose()


def test_create_user_with_password_stdin_stores_argon2_hash(
    settings: Settings, db: Session
) -> None:
    result = run_cli(
        settings,
        "create-user",
        "Ana@Example.org",
        "--role",
        "staff",
        "--name",
        "Ana",
        "--password-stdin",
        stdin="una frase bastante larga\n",
    )

    assert result.returncode == 0, result.stderr
    account = db.exec(select(Account)).one()
    assert (account.email, account.role, account.name) == ("ana@example.org", Role.staff, "Ana")
    assert account.password_hash.startswith("$argon2id$")
    assert PasswordHasher().verify(account.password_hash, "una frase bastante larga")
    assert "una frase" not in result.stdout


def test_create_user_without_password_prints_one_time_link(settings: Settings, db: Session) -> None:
    result = run_cli(
        settings, "create-user", "juez@example.org", "--role", "judge", "--name", "Juez"
    )

    assert result.returncode == 0, result.stderr
    assert "/account/set-password/" in result.stdout
    token = result.stdout.rsplit("/", 1)[1].strip()
    stored = db.exec(select(AccountToken)).one()
    assert stored.token_hash != token  # only a hash of the link is kept
    assert db.exec(select(Account)).one().password_hash == ""


def test_create_user_short_password_is_refused(settings: Settings, db: Session) -> None:
    result = run_cli(
        settings,
        "create-user",
        "a@example.org",
        "--role",
        "admin",
        "--name",
        "A",
        "--password-stdin",
        stdin="corta\n",
    )

    assert result.returncode == 1
    assert "at least 10 characters" in result.stderr
    assert db.exec(select(Account)).all() == []


def test_create_user_twice_is_refused(settings: Settings, db: Session) -> None:
    args = ("create-user", "a@example.org", "--role", "admin", "--name", "A", "--password-stdin")
    run_cli(settings, *args, stdin="una frase bastante larga\n")

    again = run_cli(settings, *args, stdin="otra frase bastante larga\n")

    assert again.returncode == 1
    assert "already exists" in again.stderr


def test_seed_demo_creates_open_campaign_and_prints_credentials(
    settings: Settings, db: Session
) -> None:
    first = run_cli(settings, "seed-demo")
    second = run_cli(settings, "seed-demo")

    assert first.returncode == second.returncode == 0, first.stderr
    assert "judge1@demo.integrity-icon.invalid" in first.stdout
    # This year's campaign, open, and last year's, published (app/services/demo/past_edition.py).
    assert len(db.exec(select(Campaign)).all()) == 2
    current = db.exec(select(Campaign).order_by(col(Campaign.year).desc())).first()
    assert current is not None
    themes = db.exec(select(Theme).where(Theme.campaign_id == current.id)).all()
    assert sorted(t.slug for t in themes) == ["sustainability", "youth"]
    demo = col(Account.email).like("%@demo.integrity-icon.invalid") & (Account.password_hash != "")
    assert len(db.exec(select(Account).where(demo)).all()) == 5
    volunteer = db.exec(select(Account).where(Account.role == Role.volunteer)).one()
    assert volunteer.email in first.stdout
    assert "/results/" in first.stdout
    password = first.stdout.split("admin@demo.integrity-icon.invalid", 1)[1].split()[0]
    assert len(password) >= 12


def test_migrate_on_current_database_is_a_no_op(settings: Settings, app: object) -> None:
    result = run_cli(settings, "migrate")

    assert result.returncode == 0, result.stderr
    assert "up to date" in result.stdout


def test_serve_with_workers_leaves_them_to_a_bare_uvicorn_supervisor(
    settings: Settings, app: object
) -> None:
    server = PortalProcess(settings, workers=2).start()
    try:
        assert server.process is not None
        supervisor = Path(f"/proc/{server.process.pid}/cmdline").read_bytes().split(b"\0")
        children = Path(f"/proc/{server.process.pid}/task/{server.process.pid}/children")
        workers = children.read_text().split()
        page = httpx.get(server.url + "/", timeout=10)
    finally:
        server.stop()

    # The process the operator started became `python -m uvicorn`, which imports no app code,
    # with the settings `serve` gives uvicorn.
    assert supervisor[1:6] == [b"-m", b"uvicorn", b"app.main:app", b"--workers", b"2"]
    assert {b"--no-proxy-headers", b"--no-server-header"} <= set(supervisor)
    assert supervisor[supervisor.index(b"--timeout-keep-alive") + 1] == b"30"
    # Two workers (and multiprocessing's resource tracker), and they serve.
    assert len(workers) >= 2
    assert page.status_code == 200
    assert "server" not in page.headers
