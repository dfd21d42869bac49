"""The server killed (SIGKILL, whole process group) at random moments under load loses nothing
it acknowledged, leaves a consistent database and, after the sweep, no orphan or temp files;
the audit chain, written meanwhile by failed sign-ins, keeps no duplicate or broken link.

Slow: skipped unless LOAD_TESTS is set. CRASH_LOAD sets how many nominations; CRASH_SEED replays
the kill moments."""

import asyncio
import hashlib
import os
import random
import re
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, text
from sqlmodel import Session, col, select

from app.config import Settings
from app.models import AuditEvent, EvidenceFile, Finalist, Nomination
from app.services import audit_chain
from app.services.files import FileStore
from app.services.nominations.intake import sweep_orphan_files
from tests.conftest import ON_POSTGRES
from tests.factories import make_open_campaign, make_pdf, nomination_data
from tests.server import PortalProcess

if not os.environ.get("LOAD_TESTS"):
    pytest.skip("set LOAD_TESTS=1 to run the load and crash tests", allow_module_level=True)

NOMINATIONS = int(os.environ.get("CRASH_LOAD", "300"))
CONCURRENCY = 20
PDF_EVERY = 5
KILLS = 3
SIGN_IN_WRITERS = 2
SERVER_ENV = {"NOMINATION_RATE_LIMIT": "0", "FORM_MIN_SECONDS": "0"}
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
# How long one simulated person keeps retrying while the server is down.
PATIENCE_SECONDS = 120


def pdf_for(i: int, size: int = 256 * 1024) -> bytes:
    return make_pdf(f"nomination {i}", size=size)


@dataclass
class Outcome:
    statuses: Counter[int] = field(default_factory=Counter)
    locked: int = 0
    transport_errors: int = 0
    # POSTs cut short by a kill and sent again: the ones that may have been stored unseen.
    resent_posts: int = 0
    gave_up: list[int] = field(default_factory=list)
    acknowledged: dict[str, str | None] = field(default_factory=dict)
    sign_ins: Counter[int] = field(default_factory=Counter)

    def saw(self, response: httpx.Response) -> None:
        self.statuses[response.status_code] += 1
        if "database is locked" in response.text:
            self.locked += 1


async def persist(
    outcome: Outcome, deadline: float, send: Callable[[], Awaitable[httpx.Response]]
) -> httpx.Response | None:
    """What a person does when the page does not load: waits a moment and tries again (a POST
    is sent again as it was, with the same token, as the browser's reload does)."""
    while time.monotonic() < deadline:
        try:
            response = await send()
        except httpx.TransportError:
            outcome.transport_errors += 1
            await asyncio.sleep(0.2)
            continue
        outcome.saw(response)
        return response
    return None


async def one_browser(
    url: str, i: int, outcome: Outcome, transport: httpx.AsyncHTTPTransport
) -> None:
    deadline = time.monotonic() + PATIENCE_SECONDS
    pdf = pdf_for(i) if i % PDF_EVERY == 0 else None
    browser = httpx.AsyncClient(base_url=url, timeout=60, transport=transport)
    form = await persist(outcome, deadline, lambda: browser.get("/nominate/youth"))
    token = TOKEN.search(form.text) if form is not None else None
    if form is None or form.status_code != 200 or token is None:
        outcome.gave_up.append(i)
        return
    data = {**nomination_data(nominee_name=f"Persona Nominada {i}"), "csrf_token": token[1]}
    files = None
    if pdf is not None:
        data["sensitive_consent"] = "yes"
        files = [("evidence", (f"oficio-{i}.pdf", pdf, "application/pdf"))]
    attempts = 0

    async def post() -> httpx.Response:
        nonlocal attempts
        attempts += 1
        return await browser.post("/nominate/youth", data=data, files=files)

    sent = await persist(outcome, deadline, post)
    outcome.resent_posts += attempts - 1
    if sent is None or sent.status_code != 303:
        outcome.gave_up.append(i)
        return
    location = sent.headers["location"]
    receipt = await persist(outcome, deadline, lambda: browser.get(location))
    if receipt is None or receipt.status_code != 200:
        outcome.gave_up.append(i)
        return
    outcome.acknowledged[location.rsplit("/", 1)[1]] = (
        hashlib.sha256(pdf).hexdigest() if pdf else None
    )


async def load_with_kills(server: PortalProcess, chooser: random.Random) -> Outcome:
    outcome = Outcome()
    gate = asyncio.Semaphore(CONCURRENCY)
    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)

    async with httpx.AsyncHTTPTransport(limits=limits) as transport:

        async def browse(i: int) -> None:
            async with gate:
                await one_browser(server.url, i, outcome, transport)

        async def killer() -> None:
            for _ in range(KILLS):
                await asyncio.sleep(chooser.uniform(1.0, 4.0))
                await asyncio.to_thread(server.kill)
                await asyncio.to_thread(server.start)  # serve sweeps old orphans on start

        async def audited_writes() -> None:
            # Failed sign-ins: each commits an audit event, and so a link of the chain, while
            # the kills cut some of them short.
            while len(outcome.acknowledged) + len(outcome.gave_up) < NOMINATIONS:
                await failed_sign_in(server.url, outcome, transport)

        await asyncio.gather(
            killer(),
            *(audited_writes() for _ in range(SIGN_IN_WRITERS)),
            *(browse(i) for i in range(NOMINATIONS)),
        )
    return outcome


async def failed_sign_in(url: str, outcome: Outcome, transport: httpx.AsyncHTTPTransport) -> None:
    deadline = time.monotonic() + PATIENCE_SECONDS
    browser = httpx.AsyncClient(base_url=url, timeout=60, transport=transport)
    form = await persist(outcome, deadline, lambda: browser.get("/login"))
    token = TOKEN.search(form.text) if form is not None else None
    if token is None:
        return
    data = {"csrf_token": token[1], "email": "nadie@example.org", "password": "no-es-esta"}
    sent = await persist(outcome, deadline, lambda: browser.post("/login", data=data))
    if sent is not None:
        outcome.sign_ins[sent.status_code] += 1


def stored_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and p.relative_to(root).parts[0] != "tmp"]


def test_sigkill_under_load_loses_no_acknowledged_nomination_and_leaves_no_orphans(
    settings: Settings, engine: Engine, session: Session, tmp_path: Path
) -> None:
    make_open_campaign(session)
    seed = int(os.environ.get("CRASH_SEED", str(time.time_ns())))
    server = PortalProcess(settings, workers=2, env=SERVER_ENV, log_path=tmp_path / "server.log")
    server.start()
    started = time.monotonic()
    try:
        outcome = asyncio.run(load_with_kills(server, random.Random(seed)))
    finally:
        server.kill()
    print(
        f"\nseed {seed}: {NOMINATIONS} nominations, {KILLS} kills in"
        f" {time.monotonic() - started:.1f}s: {dict(outcome.statuses)},"
        f" {outcome.transport_errors} failed connections, {outcome.resent_posts} POSTs resent;"
        f" failed sign-ins answered {dict(outcome.sign_ins)}"
    )

    store = FileStore(settings.files_dir)
    engine.dispose()
    removed = sweep_orphan_files(engine, store, older_than=timedelta(0))
    print(f"the sweep removed {len(removed)} orphan files")

    assert not [s for s in outcome.statuses if s >= 500], outcome.statuses
    assert outcome.locked == 0
    assert outcome.gave_up == []
    assert len(outcome.acknowledged) == NOMINATIONS

    with Session(engine) as fresh:
        stored = dict(fresh.exec(select(Nomination.reference, Nomination.id)).all())
        evidence = fresh.exec(select(EvidenceFile)).all()
        photos = {p for p in fresh.exec(select(Finalist.photo_sha256)).all() if p}
    # Retries carry the same form, so a POST cut short by the kill is stored once, not twice.
    assert set(stored) == set(outcome.acknowledged)
    by_nomination = {row.nomination_id: row for row in evidence}
    assert len(by_nomination) == len(evidence)
    for reference, sha256 in outcome.acknowledged.items():
        row = by_nomination.get(stored[reference])
        assert (row.sha256 if row else None) == sha256, reference
    for row in evidence:
        content = store.path_for(row.sha256).read_bytes()
        assert hashlib.sha256(content).hexdigest() == row.sha256

    with engine.connect() as conn:
        if ON_POSTGRES:
            dangling = conn.execute(
                text(
                    "SELECT count(*) FROM evidence_file e"
                    " LEFT JOIN nomination n ON n.id = e.nomination_id WHERE n.id IS NULL"
                )
            ).scalar_one()
            assert dangling == 0
        else:
            assert conn.execute(text("PRAGMA integrity_check")).scalars().all() == ["ok"]
            assert conn.execute(text("PRAGMA foreign_key_check")).all() == []

    with Session(engine) as fresh:
        chain = audit_chain.verify(fresh, public_key=None)
        seqs = fresh.exec(select(AuditEvent.seq).order_by(col(AuditEvent.seq))).all()
    assert chain.ok, chain.problems
    assert sum(outcome.sign_ins.values()) > 0
    assert list(seqs) == list(range(1, len(seqs) + 1)) and len(seqs) == chain.event_count > 0

    referenced = {row.sha256 for row in evidence} | photos
    assert {p.name for p in stored_files(settings.files_dir)} <= referenced
    tmp = settings.files_dir / "tmp"
    assert not tmp.exists() or [p for p in tmp.rglob("*") if p.is_file()] == []
