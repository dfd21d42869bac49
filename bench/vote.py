"""The public vote's throughput (issue 18): votes cast and votes confirmed per second, each as
a share of the bare baseline's insert (bench/baseline.py: GET /form, POST /form, one row
stored) measured in the same run, on the same machine and database.

    .venv/bin/python -m bench.vote                 # 4,000 votes, SQLite then PostgreSQL
    .venv/bin/python -m bench.vote --quick         # 500 votes, SQLite only

Each flow is two requests, as a browser makes them: the baseline gets its form and posts it;
a voter gets the ballot (/vote/youth) and posts it; then opens the link of the e-mail
(/vote/confirm/{token}) and presses the button. All run at the same concurrency from one
driver process, with the same HTTP client, so the shares compare like with like. The run
checks that every vote sent is stored and counted once; no timing is asserted anywhere.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text

from bench.baseline import create_schema
from bench.databases import BenchDatabase, postgres_database, postgres_reachable, sqlite_database
from bench.run import Server, app_command, make_server
from bench.servers import running

ROOT = Path(__file__).resolve().parent.parent
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
FINALIST = re.compile(r'name="finalist" id="finalist-[0-9]+" value="([0-9]+)"')
CONFIRM = re.compile(r"/vote/confirm/([A-Za-z0-9_-]{20,100})")
SECRET = "bench-vote-secret-" + "x" * 40
VOTE_ENV = {
    "VOTE_RATE_LIMIT": "0",
    "VOTE_NETWORK_RATE_LIMIT": "0",
    "VOTE_ADDRESS_RATE_LIMIT": "0",
}


def cookies_of(response: httpx.Response) -> dict[str, str]:
    """The cookies a response sets, kept by hand: in production (ENVIRONMENT=prod, as the
    portal is measured) they are `Secure`, and an HTTP client would not send them back over
    this plain-HTTP loopback."""
    found = {}
    for header in response.headers.get_list("set-cookie"):
        name, _, value = header.split(";", 1)[0].partition("=")
        found[name.strip()] = value.strip()
    return {"cookie": "; ".join(f"{k}={v}" for k, v in found.items())} if found else {}


# A keep-alive connection the server closes just as it is reused fails before any response;
# browsers send the request again on a new connection, and so does the driver.
RETRIED = (httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError)


async def send(
    method: Callable[..., Awaitable[httpx.Response]], *args: object, **kwargs: object
) -> httpx.Response:
    try:
        return await method(*args, **kwargs)
    except RETRIED:
        return await method(*args, **kwargs)


@dataclass
class Rate:
    done: int
    failed: int
    seconds: float

    @property
    def per_second(self) -> float:
        return self.done / self.seconds if self.seconds else 0.0


async def drive(
    count: int, concurrency: int, flow: Callable[[httpx.AsyncClient, int], Awaitable[bool]]
) -> Rate:
    gate = asyncio.Semaphore(concurrency)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    done = failed = 0
    reasons: dict[str, int] = {}
    async with httpx.AsyncHTTPTransport(limits=limits, retries=1) as transport:

        async def one(i: int) -> None:
            nonlocal done, failed
            async with gate:
                # Not closed: closing a client closes the transport all browsers share.
                browser = httpx.AsyncClient(transport=transport, timeout=120)
                try:
                    ok = await flow(browser, i)
                except httpx.HTTPError as error:
                    ok = False
                    reasons[type(error).__name__] = reasons.get(type(error).__name__, 0) + 1
            if ok:
                done += 1
            else:
                failed += 1

        started = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(count)))
        if reasons:
            print(f"  failures: {reasons}", file=sys.stderr)
        return Rate(done, failed, time.perf_counter() - started)


def baseline_flow(url: str) -> Callable[[httpx.AsyncClient, int], Awaitable[bool]]:
    async def flow(browser: httpx.AsyncClient, i: int) -> bool:
        page = await send(browser.get, url + "/form")
        token = TOKEN.search(page.text)
        if token is None:
            return False
        sent = await send(
            browser.post,
            url + "/form",
            data={"csrf_token": token.group(1), "finalist": str(i % 3), "email": f"v{i}@x.org"},
        )
        return sent.status_code == 303

    return flow


def cast_flow(
    url: str, finalists: list[str]
) -> Callable[[httpx.AsyncClient, int], Awaitable[bool]]:
    async def flow(browser: httpx.AsyncClient, i: int) -> bool:
        page = await send(browser.get, url + "/vote/youth")
        token = TOKEN.search(page.text)
        if token is None:
            return False
        data = {
            "csrf_token": token.group(1),
            "finalist": finalists[i % len(finalists)],
            "email": f"votante{i}@example.org",
        }
        sent = await send(browser.post, url + "/vote/youth", data=data, headers=cookies_of(page))
        return sent.status_code == 303

    return flow


def confirm_flow(
    url: str, tokens: list[str]
) -> Callable[[httpx.AsyncClient, int], Awaitable[bool]]:
    async def flow(browser: httpx.AsyncClient, i: int) -> bool:
        page = await send(browser.get, f"{url}/vote/confirm/{tokens[i]}")
        token = TOKEN.search(page.text)
        if token is None:
            return False
        done = await send(
            browser.post,
            f"{url}/vote/confirm/{tokens[i]}",
            data={"csrf_token": token.group(1)},
            headers=cookies_of(page),
        )
        return done.status_code == 303

    return flow


def scalar(url: str, query: str) -> list[tuple[object, ...]]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(text(query)).all()]
    finally:
        engine.dispose()


@dataclass
class Cell:
    database: str
    baseline: Rate
    cast: Rate
    confirm: Rate
    counted: int


def measure(database: BenchDatabase, workdir: Path, args: argparse.Namespace) -> Cell:
    from bench.run import portal_env

    env = {**portal_env(database, SECRET, ROOT), **VOTE_ENV}
    app_command(env, workdir, "migrate")
    app_command(env, workdir, "seed-demo", "--stage", "voting")
    create_schema(database.baseline_url)
    with ExitStack() as stack:
        baseline = make_server(Server.baseline, database, args.workers, workdir, SECRET, ROOT, None)
        stack.enter_context(running(baseline))
        base_rate = asyncio.run(drive(args.votes, args.concurrency, baseline_flow(baseline.url)))
    portal = make_server(Server.portal, database, args.workers, workdir, SECRET, ROOT, None)
    portal.env.update(VOTE_ENV)
    with running(portal):
        ballot = httpx.get(portal.url + "/vote/youth", timeout=60)
        finalists = FINALIST.findall(ballot.text)
        if not finalists:
            raise RuntimeError(f"no ballot at /vote/youth: {ballot.status_code}")
        cast = asyncio.run(drive(args.votes, args.concurrency, cast_flow(portal.url, finalists)))
        bodies = scalar(database.portal_sqlalchemy_url, "SELECT body FROM outbox_message")
        tokens = [m.group(1) for (body,) in bodies if (m := CONFIRM.search(str(body)))]
        confirm = asyncio.run(
            drive(len(tokens), args.concurrency, confirm_flow(portal.url, tokens))
        )
    ((counted,),) = scalar(
        database.portal_sqlalchemy_url, "SELECT count(*) FROM vote WHERE counted_key IS NOT NULL"
    )
    return Cell(database.name, base_rate, cast, confirm, int(str(counted)))


def report(cell: Cell, votes: int) -> str:
    base = cell.baseline.per_second or 1.0
    rows = [("baseline insert", cell.baseline), ("vote cast", cell.cast)]
    rows.append(("vote confirm", cell.confirm))
    lines = [f"{cell.database}: {votes} votes"]
    for name, rate in rows:
        share = rate.per_second / base
        lines.append(f"  {name:16} {rate.per_second:8.1f}/s {share:6.0%}   failed {rate.failed}")
    lines += [
        f"  counted {cell.counted} of {votes} "
        + ("(every vote counted once)" if cell.counted == votes else "(MISMATCH)"),
    ]
    return "\n".join(lines)


@contextmanager
def databases(args: argparse.Namespace, workdir: Path) -> Iterator[list[BenchDatabase]]:
    with ExitStack() as stack:
        found = [stack.enter_context(sqlite_database(workdir / "sqlite"))]
        if not args.quick and not args.no_postgres:
            why = postgres_reachable(args.postgres)
            if why is None:
                found.append(stack.enter_context(postgres_database(workdir / "pg", args.postgres)))
            else:
                print(f"PostgreSQL skipped: {why}", file=sys.stderr)
        yield found


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.vote", description=__doc__)
    parser.add_argument("--votes", type=int, default=4000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="500 votes, SQLite only")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument(
        "--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres", metavar="URL"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.votes = min(args.votes, 500)
    failed = False
    with tempfile.TemporaryDirectory(prefix="bench-vote-") as tmp:
        workdir = Path(tmp)
        (workdir / "sqlite").mkdir()
        (workdir / "pg").mkdir()
        with databases(args, workdir) as found:
            for database in found:
                cell = measure(database, workdir, args)
                print(report(cell, args.votes), flush=True)
                failed = failed or cell.counted != args.votes
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
