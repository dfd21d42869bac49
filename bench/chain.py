"""What the audit chain costs a write that records an audit event.

    .venv/bin/python -m bench.chain [--db sqlite,postgres] [--threads 1,8] [--seconds 3]

Each cell runs `threads` threads in this process for `seconds`, each committing transactions of
one audit event as fast as it can, on a throw-away database (bench/databases.py) migrated by the
app's migrations, through the app's own engine (SQLite: WAL, synchronous=FULL, BEGIN IMMEDIATE):

- `chained`: `audit.record` + commit, as every audited action does: at commit the event is
  linked under the lock of the chain's head row (app/services/audit.py);
- `plain`: the same event inserted without the chain, as before it (numbered by a counter in
  this process, so that the unique `seq` holds), + commit.

`xplain` is chained / plain. Nominations record no audit event: for them the chain is the
commit hook finding nothing to link, timed last (`hook`, per commit, in microseconds); their
throughput with and without the chain is measured end to end by `python -m bench.run
--scenarios nominate` on this checkout and with `--portal-dir` on one without the chain
(docs/decision-record.md has both).
"""

from __future__ import annotations

import argparse
import itertools
import secrets
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import Engine
from sqlmodel import Session

from app.config import Settings
from app.db import WRITE, make_engine
from app.migrate import upgrade
from app.models import AuditEvent, utcnow
from app.services import audit
from bench.databases import BenchDatabase
from bench.run import bench_database

DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"


def _chained(session: Session, i: int) -> None:
    audit.record(session, actor=None, action="bench.write", object_id=i, after={"i": i})


def _plain(numbers: Iterator[int]) -> object:
    lock = threading.Lock()

    def write(session: Session, i: int) -> None:
        with lock:
            seq = next(numbers)
        # Negative places: apart from the chain's, which the chained cells extend.
        session.add(
            AuditEvent(
                created_at=utcnow(),
                actor_label="anonymous",
                action="bench.write",
                object_id=str(i),
                after=f'{{"i": {i}}}',
                seq=seq,
            )
        )

    return write


def hook_cost(engine: Engine, *, rounds: int = 20_000) -> float:
    """Microseconds the commit hook takes on a transaction that recorded no audit event."""
    with Session(engine) as session:
        session.begin()
        started = time.perf_counter()
        for _ in range(rounds):
            audit._link_pending(session)
        elapsed = time.perf_counter() - started
        session.rollback()
    return elapsed / rounds * 1e6


def run_cell(engine: Engine, write: object, *, threads: int, seconds: float) -> float:
    writer = engine.execution_options(**WRITE)
    done = [0] * threads
    start = threading.Barrier(threads + 1)
    deadline = 0.0

    def work(index: int) -> None:
        start.wait()
        n = 0
        while time.monotonic() < deadline:
            with Session(writer) as session:
                write(session, n)  # type: ignore[operator]
                session.commit()
            n += 1
        done[index] = n

    workers = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    deadline = time.monotonic() + seconds
    began = time.monotonic()
    start.wait()
    for worker in workers:
        worker.join()
    return sum(done) / (time.monotonic() - began)


def settings_for(database: BenchDatabase) -> Settings:
    return Settings(  # type: ignore[call-arg]
        _env_file=None,
        database_url=database.portal_url,
        data_dir=database.portal_data_dir,
        secret_key=secrets.token_urlsafe(48),
        environment="test",
    )


def measure(database: BenchDatabase, *, threads: list[int], seconds: float) -> list[str]:
    engine = make_engine(settings_for(database))
    upgrade(engine)
    lines = []
    numbers = itertools.count(-1, -1)
    # A first short run of each: connections opened, statements compiled.
    run_cell(engine, _chained, threads=1, seconds=0.5)
    run_cell(engine, _plain(numbers), threads=1, seconds=0.5)
    for count in threads:
        plain = run_cell(engine, _plain(numbers), threads=count, seconds=seconds)
        chained = run_cell(engine, _chained, threads=count, seconds=seconds)
        lines.append(
            f"{database.name:10} {count:7} {plain:9.0f} {chained:9.0f} {chained / plain:7.2f}"
        )
    engine.dispose()
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.chain", description=__doc__)
    parser.add_argument("--db", default="sqlite,postgres")
    parser.add_argument("--threads", default="1,8")
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES)
    args = parser.parse_args(argv)
    threads = [int(n) for n in args.threads.split(",")]
    print(f"{'database':10} {'threads':>7} {'plain/s':>9} {'chained/s':>9} {'xplain':>7}")
    for kind in args.db.split(","):
        with (
            tempfile.TemporaryDirectory(prefix="bench-chain-") as workdir,
            bench_database(kind, Path(workdir), args.postgres_url) as database,
        ):
            if database is not None:
                for line in measure(database, threads=threads, seconds=args.seconds):
                    print(line, flush=True)
                if kind == "sqlite":
                    cost = hook_cost(make_engine(settings_for(database)))
                    print(f"hook on a commit without audit events: {cost:.2f} µs", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
