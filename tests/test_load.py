"""Under load a real server (2 uvicorn workers) loses nothing: every acknowledged nomination is
stored once with its files intact, and two sessions saving one score sheet never lose an update.

Slow: skipped unless LOAD_TESTS is set. NOMINATION_LOAD sets how many nominations to send."""

import asyncio
import hashlib
import os
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, func, select

from app.config import Settings
from app.models import AuditEvent, EvidenceFile, Nomination, Score, ScoreSheet, utcnow
from app.services import audit_chain
from app.services.accounts.sessions import start_session
from app.services.files import FileStore
from app.web.deps import SESSION_COOKIE
from tests.factories import (
    make_criteria,
    make_finalist,
    make_judge,
    make_meeting,
    make_open_campaign,
    make_pdf,
    nomination_data,
)
from tests.server import PortalProcess

if not os.environ.get("LOAD_TESTS"):
    pytest.skip("set LOAD_TESTS=1 to run the load and crash tests", allow_module_level=True)

NOMINATIONS = int(os.environ.get("NOMINATION_LOAD", "2000"))
CONCURRENCY = 50
PDF_EVERY = 10
SHEET_ROUNDS = int(os.environ.get("SHEET_ROUNDS", "100"))
SERVER_ENV = {"NOMINATION_RATE_LIMIT": "0", "FORM_MIN_SECONDS": "0"}
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
VERSION = re.compile(r'name="version" value="([0-9]+)"')


def big_pdf(i: int, size: int = 1024 * 1024) -> bytes:
    """A unique ~1 MB PDF: files are stored by hash, so identical ones would share a file."""
    return make_pdf(f"nomination {i}", size=size)


@dataclass
class Outcome:
    statuses: Counter[int] = field(default_factory=Counter)
    locked: int = 0
    errors: list[str] = field(default_factory=list)
    # reference -> the sha256 of the PDF sent with it (None: no file)
    acknowledged: dict[str, str | None] = field(default_factory=dict)

    def saw(self, response: httpx.Response) -> None:
        self.statuses[response.status_code] += 1
        if "database is locked" in response.text:
            self.locked += 1


# A keep-alive connection the server closes just as the client reuses it fails before any
# response; browsers then send the request again on a new connection, and so do we (a repeated
# POST carries the same form token, so it cannot store a second nomination).
RETRIED = (httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError)


async def like_a_browser(send: Any, *args: Any, **kwargs: Any) -> httpx.Response:
    try:
        return await send(*args, **kwargs)
    except RETRIED:
        return await send(*args, **kwargs)


async def one_browser(
    url: str, i: int, outcome: Outcome, transport: httpx.AsyncHTTPTransport
) -> None:
    """One person, with their own cookie jar: opens the form, sends it and follows the 303 to
    the receipt. The connection pool is shared (closing the client would close it)."""
    pdf = big_pdf(i) if i % PDF_EVERY == 0 else None
    browser = httpx.AsyncClient(base_url=url, timeout=120, transport=transport)
    form = await like_a_browser(browser.get, "/nominate/youth")
    outcome.saw(form)
    token = TOKEN.search(form.text)
    if form.status_code != 200 or not token:
        outcome.errors.append(f"form {i}: {form.status_code}")
        return
    data = nomination_data(nominee_name=f"Persona Nominada {i}")
    files = None
    if pdf is not None:
        data["sensitive_consent"] = "yes"
        files = [("evidence", (f"oficio-{i}.pdf", pdf, "application/pdf"))]
    sent = await like_a_browser(
        browser.post, "/nominate/youth", data={**data, "csrf_token": token.group(1)}, files=files
    )
    outcome.saw(sent)
    if sent.status_code != 303:
        outcome.errors.append(f"post {i}: {sent.status_code} {sent.text[:200]!r}")
        return
    receipt = await like_a_browser(browser.get, sent.headers["location"])
    outcome.saw(receipt)
    if receipt.status_code != 200:
        outcome.errors.append(f"receipt {i}: {receipt.status_code}")
        return
    reference = sent.headers["location"].rsplit("/", 1)[1]
    outcome.acknowledged[reference] = hashlib.sha256(pdf).hexdigest() if pdf else None


async def nominate_many(url: str, count: int, concurrency: int) -> Outcome:
    outcome = Outcome()
    gate = asyncio.Semaphore(concurrency)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)

    async with httpx.AsyncHTTPTransport(limits=limits) as transport:

        async def browse(i: int) -> None:
            async with gate:
                try:
                    await one_browser(url, i, outcome, transport)
                except httpx.HTTPError as error:
                    outcome.errors.append(f"browser {i}: {error!r}")

        await asyncio.gather(*(browse(i) for i in range(count)))
    return outcome


def test_nominations_under_load_are_all_stored_once_with_intact_files(
    settings: Settings, engine: Engine, session: Session, tmp_path: Path
) -> None:
    make_open_campaign(session)
    server = PortalProcess(settings, workers=2, env=SERVER_ENV, log_path=tmp_path / "server.log")
    server.start()
    started = time.monotonic()
    try:
        outcome = asyncio.run(nominate_many(server.url, NOMINATIONS, CONCURRENCY))
    finally:
        server.stop()
    elapsed = time.monotonic() - started
    print(f"\n{NOMINATIONS} nominations in {elapsed:.1f}s: {dict(outcome.statuses)}")

    assert not [s for s in outcome.statuses if s >= 500], (outcome.statuses, outcome.errors[:5])
    assert outcome.locked == 0
    assert outcome.errors == []
    assert len(outcome.acknowledged) == NOMINATIONS

    with Session(engine) as fresh:
        stored = fresh.exec(select(Nomination.id, Nomination.reference)).all()
        evidence = fresh.exec(select(EvidenceFile)).all()
    references = [reference for _, reference in stored]
    assert len(references) == len(set(references))
    assert set(references) == set(outcome.acknowledged)

    by_id = dict(stored)
    store = FileStore(settings.files_dir)
    sent = {ref: sha for ref, sha in outcome.acknowledged.items() if sha}
    kept = {by_id[row.nomination_id]: row.sha256 for row in evidence}
    assert kept == sent  # one file per nomination that sent one, and it is what was sent
    for row in evidence:
        content = store.path_for(row.sha256).read_bytes()
        assert hashlib.sha256(content).hexdigest() == row.sha256
        assert len(content) == row.size


@dataclass
class SheetWorld:
    url: str
    criteria: list[int]


async def read_sheet(browser: httpx.AsyncClient, path: str) -> tuple[str, str]:
    page = await browser.get(path)
    assert page.status_code == 200, page.text[:300]
    token, version = TOKEN.search(page.text), VERSION.search(page.text)
    assert token and version
    return token.group(1), version.group(1)


async def race_saves(
    url: str, cookies: list[str], path: str, criteria: list[int], rounds: int
) -> tuple[list[int], dict[int, int], Counter[int], bool]:
    """Each round both sessions read the sheet, then save it at once with the version read.
    Returns the successful saves' values, the last ones, the statuses and "locked" seen."""
    browsers = [
        httpx.AsyncClient(base_url=url, timeout=60, cookies={SESSION_COOKIE: c}) for c in cookies
    ]
    statuses: Counter[int] = Counter()
    winners: list[int] = []
    last: dict[int, int] = {}
    locked = False
    try:
        for n in range(rounds):
            read = await asyncio.gather(*(read_sheet(b, path) for b in browsers))
            forms = []
            for side, (token, version) in enumerate(read):
                value = 1 + (n + side) % 5
                fields = {f"score-{c}": str(value) for c in criteria}
                forms.append(
                    (
                        {
                            **fields,
                            "comment": f"ronda {n} sesión {side}",
                            "version": version,
                            "action": "draft",
                            "csrf_token": token,
                        },
                        value,
                    )
                )
            responses = await asyncio.gather(
                *(b.post(path, data=form) for b, (form, _) in zip(browsers, forms, strict=True))
            )
            for response, (_, value) in zip(responses, forms, strict=True):
                statuses[response.status_code] += 1
                locked = locked or "database is locked" in response.text
                if response.status_code == 303:
                    winners.append(n)
                    last = dict.fromkeys(criteria, value)
    finally:
        for browser in browsers:
            await browser.aclose()
    return winners, last, statuses, locked


def test_same_sheet_saved_from_two_sessions_at_once_loses_no_update(
    settings: Settings, engine: Engine, session: Session, tmp_path: Path
) -> None:
    campaign, youth, _ = make_open_campaign(session)
    criteria = make_criteria(session, campaign, (2, 1, 1))
    finalist = make_finalist(session, youth)
    judge = make_judge(session, youth)
    meeting = make_meeting(session, campaign, [finalist])
    cookies = [start_session(session, account=judge, now=utcnow()) for _ in range(2)]
    session.commit()
    criterion_ids = [c.id for c in criteria if c.id is not None]
    path = f"/judges/meetings/{meeting.id}/finalists/{finalist.id}"

    server = PortalProcess(settings, workers=2, env=SERVER_ENV, log_path=tmp_path / "server.log")
    server.start()
    started = time.monotonic()
    try:
        winners, last, statuses, locked = asyncio.run(
            race_saves(server.url, cookies, path, criterion_ids, SHEET_ROUNDS)
        )
    finally:
        server.stop()
    print(f"\n{SHEET_ROUNDS} rounds in {time.monotonic() - started:.1f}s: {dict(statuses)}")

    assert not locked
    assert set(statuses) <= {303, 409}, statuses
    # Both read the same version, so exactly one save of each round wins.
    assert Counter(winners) == dict.fromkeys(range(SHEET_ROUNDS), 1)
    assert statuses[409] == SHEET_ROUNDS
    with Session(engine) as fresh:
        sheets = fresh.exec(select(ScoreSheet)).all()
        assert len(sheets) == 1
        # The first save creates version 1; every later successful save adds exactly one.
        assert sheets[0].version == len(winners)
        scores = fresh.exec(select(Score).where(col(Score.sheet_id) == sheets[0].id)).all()
        assert {s.criterion_id: s.value for s in scores} == last
        assert fresh.exec(select(func.count()).select_from(Score)).one() == len(criterion_ids)
        # Each save that won is one audit event, linked by two workers taking turns: one chain,
        # no event twice, none missing.
        chain = audit_chain.verify(fresh, public_key=None)
        saves = fresh.exec(select(AuditEvent.seq).where(col(AuditEvent.action) == "score.saved"))
        assert chain.ok, chain.problems
        assert len(saves.all()) == len(winners) == chain.event_count
