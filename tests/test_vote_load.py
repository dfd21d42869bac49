"""The public vote under a campaign's whole burst (issue 18): a real server (uvicorn, two
workers) takes votes cast and confirmed by 200 browsers at a time; nothing acknowledged is
lost or counted twice, and the count published at the close equals the confirmed votes
stored, also after the server is killed (SIGKILL) in the middle of a burst and restarted.

Slow: skipped unless LOAD_TESTS is set. VOTE_LOAD sets how many votes (default 20,000 with
LOAD_TESTS=full, else 2,000 to keep CI short); VOTE_CRASH_LOAD those of the kill test."""

import asyncio
import os
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, func, select

from app.config import Settings
from app.models import OutboxMessage, Role, ThemeVote, Vote, utcnow
from app.services.accounts.sessions import start_session
from app.web.deps import SESSION_COOKIE
from tests.factories import make_account
from tests.server import PortalProcess
from tests.vote_helpers import CONFIRM_LINK, voting_world

if not os.environ.get("LOAD_TESTS"):
    pytest.skip("set LOAD_TESTS=1 to run the load and crash tests", allow_module_level=True)

FULL = os.environ.get("LOAD_TESTS") == "full"
VOTES = int(os.environ.get("VOTE_LOAD", "20000" if FULL else "2000"))
CRASH_VOTES = int(os.environ.get("VOTE_CRASH_LOAD", "2000" if FULL else "600"))
BURST = 200
SERVER_ENV = {
    "VOTE_RATE_LIMIT": "0",
    "VOTE_NETWORK_RATE_LIMIT": "0",
    "VOTE_ADDRESS_RATE_LIMIT": "0",
    "FORM_MIN_SECONDS": "0",
    # Every burst would otherwise discard the kept pages of both workers at each commit.
    "PAGE_CACHE_SECONDS": "10",
}
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
# A connection cut by the server (a keep-alive closed as it is reused, a killed server) is
# retried as a browser does; a repeated POST carries the same token and stores nothing twice.
RETRIED = (httpx.TransportError,)
PATIENCE_SECONDS = 120


@dataclass
class Outcome:
    statuses: Counter[int] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    transport_errors: int = 0
    # Votes acknowledged (303 to their "check your e-mail" page), by address.
    cast: dict[str, str] = field(default_factory=dict)
    # Confirmations acknowledged, by address.
    confirmed: set[str] = field(default_factory=set)

    def saw(self, response: httpx.Response) -> None:
        self.statuses[response.status_code] += 1


async def persist(outcome: Outcome, send, *args, **kwargs) -> httpx.Response | None:  # type: ignore[no-untyped-def]
    """What a person does when the page does not load: waits a moment and tries again."""
    deadline = time.monotonic() + PATIENCE_SECONDS
    while time.monotonic() < deadline:
        try:
            response = await send(*args, **kwargs)
        except RETRIED:
            outcome.transport_errors += 1
            await asyncio.sleep(0.2)
            continue
        outcome.saw(response)
        return response
    return None


async def cast_one(
    url: str, transport: httpx.AsyncHTTPTransport, outcome: Outcome, finalist: int, i: int
) -> None:
    email = f"votante{i}@example.org"
    # Not closed: closing a client closes the transport all browsers share.
    browser = httpx.AsyncClient(base_url=url, timeout=120, transport=transport)
    page = await persist(outcome, browser.get, "/vote/youth")
    token = TOKEN.search(page.text) if page is not None else None
    if page is None or page.status_code != 200 or token is None:
        outcome.errors.append(f"ballot {i}: {page.status_code if page else 'gave up'}")
        return
    data = {"csrf_token": token.group(1), "finalist": str(finalist), "email": email}
    sent = await persist(outcome, browser.post, "/vote/youth", data=data)
    if sent is None or sent.status_code != 303:
        outcome.errors.append(f"cast {i}: {sent.status_code if sent else 'gave up'}")
        return
    outcome.cast[email] = sent.headers["location"]


async def confirm_one(
    url: str, transport: httpx.AsyncHTTPTransport, outcome: Outcome, email: str, token: str
) -> None:
    browser = httpx.AsyncClient(base_url=url, timeout=120, transport=transport)
    page = await persist(outcome, browser.get, f"/vote/confirm/{token}")
    form = TOKEN.search(page.text) if page is not None else None
    if page is None or page.status_code != 200 or form is None:
        outcome.errors.append(f"confirm page {email}: {page.status_code if page else '-'}")
        return
    done = await persist(
        outcome, browser.post, f"/vote/confirm/{token}", data={"csrf_token": form.group(1)}
    )
    if done is None or done.status_code != 303:
        outcome.errors.append(f"confirm {email}: {done.status_code if done else 'gave up'}")
        return
    outcome.confirmed.add(email)


def mailed_tokens(engine: Engine, after_id: int) -> tuple[dict[str, str], int]:
    """The confirmation links mailed since message `after_id`, by address (one read)."""
    with Session(engine) as session:
        rows = session.exec(
            select(OutboxMessage.id, OutboxMessage.to_address, OutboxMessage.body)
            .where(col(OutboxMessage.id) > after_id)
            .order_by(col(OutboxMessage.id))
        ).all()
    tokens = {}
    last = after_id
    for message_id, to, body in rows:
        found = CONFIRM_LINK.search(body)
        if found:
            tokens[to] = found.group(1)
        last = max(last, int(message_id or 0))
    return tokens, last


async def vote_in_bursts(
    url: str,
    engine: Engine,
    finalists: list[int],
    numbers: range,
    outcome: Outcome,
    *,
    during_burst: object = None,
) -> None:
    """Bursts of BURST voters casting at once, then the same BURST confirming at once."""
    limits = httpx.Limits(max_connections=BURST, max_keepalive_connections=BURST)
    last_mail = 0
    async with httpx.AsyncHTTPTransport(limits=limits) as transport:
        for start in range(numbers.start, numbers.stop, BURST):
            burst = range(start, min(start + BURST, numbers.stop))
            casts = [
                cast_one(url, transport, outcome, finalists[i % len(finalists)], i) for i in burst
            ]
            if callable(during_burst):
                casts.append(during_burst(start))
            await asyncio.gather(*casts)
            tokens, last_mail = mailed_tokens(engine, last_mail)
            await asyncio.gather(
                *(
                    confirm_one(url, transport, outcome, email, tokens[email])
                    for email in (f"votante{i}@example.org" for i in burst)
                    if email in outcome.cast and email in tokens
                )
            )


def stored_counts(engine: Engine, vote_id: int) -> tuple[int, int, set[str]]:
    with Session(engine) as session:
        cast = session.exec(
            select(func.count()).select_from(Vote).where(Vote.theme_vote_id == vote_id)
        ).one()
        counted = session.exec(
            select(Vote.address).where(
                Vote.theme_vote_id == vote_id, col(Vote.counted_key).is_not(None)
            )
        ).all()
    return int(cast), len(counted), set(counted)


def publish(server: PortalProcess, engine: Engine, vote: ThemeVote, cookie: str) -> int:
    """Closes the vote, has staff freeze it, and reads the published count off /vote/youth."""
    with Session(engine) as session:
        stored = session.get(ThemeVote, vote.id)
        assert stored is not None
        stored.closes_at = utcnow()
        session.add(stored)
        session.commit()
    with httpx.Client(base_url=server.url, cookies={SESSION_COOKIE: cookie}, timeout=60) as staff:
        page = staff.get(f"/staff/vote/{vote.theme_id}")
        token = TOKEN.search(page.text)
        assert token, page.text[:300]
        frozen = staff.post(
            f"/staff/vote/{vote.theme_id}/freeze", data={"csrf_token": token.group(1)}
        )
        assert frozen.status_code in (200, 303), frozen.text[:300]
    published = httpx.get(server.url + "/vote/youth?lang=en", timeout=60)
    found = re.search(r"([0-9]+) confirmed votes? online\.", published.text)
    assert found, published.text[-2000:]
    return int(found.group(1))


def world(session: Session) -> tuple[ThemeVote, list[int], str]:
    _campaign, _theme, vote, finalists = voting_world(session)
    staff = make_account(session, Role.staff)
    cookie = start_session(session, account=staff, now=utcnow())
    session.commit()
    return vote, [int(f.id or 0) for f in finalists], cookie


def test_votes_cast_and_confirmed_in_bursts_are_all_counted_once(
    settings: Settings, engine: Engine, session: Session, tmp_path: Path
) -> None:
    vote, finalists, cookie = world(session)
    server = PortalProcess(settings, workers=2, env=SERVER_ENV, log_path=tmp_path / "server.log")
    server.start()
    outcome = Outcome()
    started = time.monotonic()
    try:
        asyncio.run(vote_in_bursts(server.url, engine, finalists, range(VOTES), outcome))
        elapsed = time.monotonic() - started
        published = publish(server, engine, vote, cookie)
    finally:
        server.stop()
    print(
        f"\n{VOTES} votes cast and confirmed in {elapsed:.1f}s"
        f" ({2 * VOTES / elapsed:.0f} writes/s): {dict(outcome.statuses)}"
    )

    assert outcome.errors == []
    assert not [s for s in outcome.statuses if s >= 500], outcome.statuses
    assert len(outcome.cast) == VOTES
    assert len(outcome.confirmed) == VOTES
    assert vote.id is not None
    cast, counted, addresses = stored_counts(engine, vote.id)
    assert cast == VOTES  # nothing lost, nothing stored twice
    assert counted == VOTES and addresses == outcome.confirmed  # each counted once
    assert published == counted


def test_the_published_count_equals_the_confirmed_votes_after_a_kill_mid_burst(
    settings: Settings, engine: Engine, session: Session, tmp_path: Path
) -> None:
    vote, finalists, cookie = world(session)
    server = PortalProcess(settings, workers=2, env=SERVER_ENV, log_path=tmp_path / "server.log")
    server.start()
    killed_at: list[int] = []

    async def kill_and_restart(start: int) -> None:
        # Once, in the middle of the run: the server dies while a burst is on its way in.
        if killed_at or start < CRASH_VOTES // 2:
            return
        await asyncio.sleep(0.3)
        server.kill()
        killed_at.append(start)
        await asyncio.to_thread(server.start)

    outcome = Outcome()
    try:
        asyncio.run(
            vote_in_bursts(
                server.url,
                engine,
                finalists,
                range(CRASH_VOTES),
                outcome,
                during_burst=kill_and_restart,
            )
        )
        published = publish(server, engine, vote, cookie)
    finally:
        server.stop()
    print(f"\nkilled during the burst from {killed_at}: {dict(outcome.statuses)}")

    assert killed_at, "the server was never killed"
    assert outcome.transport_errors > 0  # the kill did cut requests short
    assert not [s for s in outcome.statuses if s >= 500], outcome.statuses
    assert vote.id is not None
    cast, counted, addresses = stored_counts(engine, vote.id)
    # Everything acknowledged is stored, and counted once; the published count is the stored.
    assert set(outcome.cast) <= {f"votante{i}@example.org" for i in range(CRASH_VOTES)}
    assert cast >= len(outcome.cast)
    assert outcome.confirmed <= addresses
    assert published == counted
