"""The portal as production runs it, a real server (`python -m app serve`) on loopback: behind a
proxy, its access log, and what a crash leaves behind."""

import hashlib
import os
import re
import signal
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from app.__main__ import ORPHAN_AGE, sweep_crash_leftovers
from app.config import Settings
from app.models import Role, utcnow
from app.services.accounts.accounts import create_account
from app.services.files import FileStore
from app.serving import DataDirLock, shared_lock
from app.web.logs import redact
from tests.factories import make_open_campaign, nomination_data
from tests.server import PortalProcess

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def campaign(app: object, session: Session) -> None:
    # `app` empties the PostgreSQL tables for the server's database.
    make_open_campaign(session)


@pytest.fixture
def log_path(tmp_path: Path) -> Path:
    return tmp_path / "server.log"


@pytest.fixture
def running(settings: Settings) -> Iterator[list[PortalProcess]]:
    """The servers a test starts, stopped at its end whatever happens."""
    servers: list[PortalProcess] = []
    yield servers
    for server in servers:
        server.stop()


def serve(
    running: list[PortalProcess], settings: Settings, log_path: Path | None = None, **env: str
) -> PortalProcess:
    server = PortalProcess(settings, env=env, log_path=log_path)
    running.append(server)
    return server.start()


def nominate(server: PortalProcess, **headers: str) -> int:
    """One nomination from a new browser, its requests carrying `headers`: the POST's status."""
    with httpx.Client(base_url=server.url, headers=headers, timeout=30) as browser:
        form = browser.get("/nominate/youth")
        token = TOKEN.search(form.text)
        assert form.status_code == 200 and token, form.status_code
        sent = browser.post("/nominate/youth", data={**nomination_data(), "csrf_token": token[1]})
        return sent.status_code


# Behind a proxy (item 1 of issue 20)


def test_behind_a_trusted_proxy_forwarded_addresses_are_limited_separately(
    settings: Settings, campaign: None, running: list[PortalProcess], log_path: Path
) -> None:
    server = serve(
        running,
        settings,
        log_path,
        TRUSTED_PROXIES="127.0.0.1",
        NOMINATION_RATE_LIMIT="1",
        LOG_LEVEL="INFO",
    )

    first = nominate(server, **{"X-Forwarded-For": "203.0.113.1"})
    again = nominate(server, **{"X-Forwarded-For": "203.0.113.1"})
    other = nominate(server, **{"X-Forwarded-For": "203.0.113.2"})
    server.stop()

    assert (first, again, other) == (303, 429, 303)
    # uvicorn believes the same proxies: its access log names the citizen, not the proxy.
    log = log_path.read_text()
    assert '203.0.113.2:0 - "POST /nominate/youth' in log


def test_a_forged_forwarded_header_from_an_untrusted_peer_is_ignored(
    settings: Settings, campaign: None, running: list[PortalProcess]
) -> None:
    # The proxies trusted are elsewhere: this test's requests come straight from 127.0.0.1.
    server = serve(running, settings, TRUSTED_PROXIES="10.9.9.9", NOMINATION_RATE_LIMIT="1")

    first = nominate(server, **{"X-Forwarded-For": "203.0.113.1"})
    forged = nominate(server, **{"X-Forwarded-For": "203.0.113.2", "Forwarded": "for=1.2.3.4"})

    assert (first, forged) == (303, 429)


# Secrets stay out of the logs (item 6)


def test_access_log_shows_no_token_and_no_receipt_reference(
    settings: Settings,
    campaign: None,
    session: Session,
    running: list[PortalProcess],
    log_path: Path,
) -> None:
    invited = create_account(
        session, email="ana@example.org", name="Ana", role=Role.staff, password=None, now=utcnow()
    )
    session.commit()
    token = invited.set_password_token
    assert token
    server = serve(running, settings, log_path, LOG_LEVEL="INFO")

    with httpx.Client(base_url=server.url, timeout=30) as browser:
        assert browser.get(f"/account/set-password/{token}").status_code == 200
        assert browser.get(f"/account/set-password/{token}x?lang=en").status_code == 404
        form = browser.get("/nominate/youth")
        token_field = TOKEN.search(form.text)
        assert token_field
        sent = browser.post(
            "/nominate/youth", data={**nomination_data(), "csrf_token": token_field[1]}
        )
        reference = sent.headers["location"].rsplit("/", 1)[1]
        assert browser.get(f"/nominations/{reference}").status_code == 200
        assert browser.get("/nominations/status").status_code == 200
    server.stop()

    log = log_path.read_text()
    assert token not in log and reference not in log
    assert '"GET /account/set-password/[redacted] HTTP/1.1" 200' in log
    assert '"GET /account/set-password/[redacted]?lang=en HTTP/1.1" 404' in log
    assert '"POST /nominate/youth HTTP/1.1" 303' in log
    assert '"GET /nominations/[redacted] HTTP/1.1" 200' in log
    assert '"GET /nominations/status HTTP/1.1" 200' in log  # a page, not a secret


@pytest.mark.parametrize(
    ("path", "logged"),
    [
        ("/consent/s3cr3t-token", "/consent/[redacted]"),
        ("/drafts/s3cr3t-token?saved=1", "/drafts/[redacted]?saved=1"),
        ("/nominations/ABC-123", "/nominations/[redacted]"),
        ("/nominations/status", "/nominations/status"),
        ("/vote/confirm/s3cr3t-token", "/vote/confirm/[redacted]"),
        ("/vote/sent/REF123", "/vote/sent/[redacted]"),
        ("/vote/youth", "/vote/youth"),
    ],
)
def test_every_address_that_carries_a_secret_is_redacted(path: str, logged: str) -> None:
    # The links mailed to nominees (consent), nominators (drafts) and voters let their holder in.
    assert redact(path) == logged


# Crash leftovers (item 8)


def test_orphan_and_partial_files_of_a_crash_are_swept_at_the_next_start(
    settings: Settings, app: object, running: list[PortalProcess]
) -> None:
    # What a SIGKILL between writing a submission's files and committing it leaves: a stored
    # file no row references, and a temporary file cut short. Both just written.
    store = FileStore(settings.files_dir)
    content = b"%PDF-1.4\n% evidence of a nomination never committed\n%%EOF\n"
    orphan = store.path_for(hashlib.sha256(content).hexdigest())
    orphan.parent.mkdir(parents=True)
    orphan.write_bytes(content)
    partial = settings.files_dir / "tmp" / "0123456789abcdef1234.part"
    partial.parent.mkdir(parents=True)
    partial.write_bytes(b"%PDF-1.4\n% cut sh")

    serve(running, settings)

    assert not orphan.exists()
    assert not partial.exists()


def _alive(pid: int) -> bool:
    """Whether `pid` still runs (a zombie nobody reaped has ended)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


def test_killing_the_supervisor_stops_its_workers_and_a_restart_gets_the_port(
    settings: Settings, app: object, running: list[PortalProcess]
) -> None:
    server = PortalProcess(settings, workers=2)
    running.append(server)
    server.start()
    assert server.process is not None
    supervisor = server.process.pid
    workers = server.workers_now()
    assert len(workers) == 2

    os.kill(supervisor, signal.SIGKILL)
    server.process.wait(timeout=10)
    try:
        # At once on the same port, as a process manager restarts a service. It answers at
        # first through the old workers, which finish what they were doing and end...
        server.start()
        assert eventually(lambda: not any(_alive(pid) for pid in workers))
        # ...and then through its own, on the port it waited for.
        assert eventually(lambda: _serves(server) and server.workers_now() != [])
        assert server.process.poll() is None
        assert not set(server.workers_now()) & set(workers)
    finally:
        for pid in workers:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)


def eventually(check: Callable[[], bool], within: float = 60) -> bool:
    """Whether `check` comes true within `within` seconds (a bound, not a timing asserted)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.2)
    return check()


def _serves(server: PortalProcess) -> bool:
    try:
        return httpx.get(server.url + "/healthz", timeout=5).status_code == 200
    except httpx.HTTPError:
        return False


def write_orphan(store: FileStore, content: bytes, *, age: timedelta = timedelta(0)) -> Path:
    path = store.path_for(hashlib.sha256(content).hexdigest())
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    then = time.time() - age.total_seconds()
    os.utime(path, (then, then))
    return path


def test_start_sweeps_young_orphans_only_when_no_other_process_holds_the_data_dir(
    settings: Settings, engine: Engine
) -> None:
    store = FileStore(settings.files_dir)
    # A file a running server may be about to commit, and one of a crash long ago.
    in_flight = write_orphan(store, b"a submission under way")
    stale = write_orphan(store, b"left by a crash", age=ORPHAN_AGE + timedelta(minutes=1))

    with shared_lock(settings.data_dir):  # as a running server holds it
        alone = sweep_crash_leftovers(settings, engine, DataDirLock(settings.data_dir), wait=0)
    assert (alone, in_flight.exists(), stale.exists()) == (False, True, False)

    lock = DataDirLock(settings.data_dir)
    alone = sweep_crash_leftovers(settings, engine, lock, wait=0)
    lock.release()
    assert (alone, in_flight.exists()) == (True, False)
