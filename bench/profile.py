"""Where a portal scenario's time goes: `python -m bench.profile nominate` (pyinstrument).

Serves the portal in this process on 127.0.0.1 with uvicorn, drives it with bench.driver from
another process, and samples this process's stack with pyinstrument while the load runs.
pyinstrument samples one thread, so the thread pool that runs sync handlers is replaced by a
direct call: every request then runs on the event loop's thread, one at a time. That shows
what one request costs and where (templates, SQL, fsync, parsing); what concurrency adds
(lock waits, GIL contention) is what bench.run's tables show.

Needs pyinstrument, which the portal does not: `.venv/bin/pip install pyinstrument`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Any

if not __package__:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.databases import BenchDatabase, postgres_database, sqlite_database
from bench.driver import DriverConfig
from bench.run import DEFAULT_POSTGRES, ROOT, app_command, portal_env, seed_large
from bench.scenarios import BY_KEY, Seeded, Server
from bench.servers import free_port
from bench.signin import check_visits, sign_in


def _run_threadpool_inline() -> None:
    import anyio.to_thread

    async def run_sync(func: Any, *args: Any, **_options: Any) -> Any:
        return func(*args)

    # FastAPI and Starlette look the function up on the module at each call.
    anyio.to_thread.run_sync = run_sync  # type: ignore[assignment]  # a profiling-only stand-in


async def _visits(base_url: str, scenario_key: str, seeded: Seeded | None) -> list[tuple[str, str]]:
    """The scenario's signed-in GETs with their session cookies. Signing in runs in a thread:
    the server answering it runs on this event loop."""
    scenario = BY_KEY[scenario_key]
    if scenario.visits is None or seeded is None:
        return []
    cookies: dict[str, str] = {}
    visits = []
    for visit in scenario.visits(seeded):
        if visit.account not in cookies:
            cookies[visit.account] = await asyncio.to_thread(
                sign_in, base_url, visit.account, seeded.password
            )
        visits.append((visit.path, cookies[visit.account]))
    await asyncio.to_thread(check_visits, base_url, visits[:1])
    return visits


async def _profile(
    args: argparse.Namespace, port: int, output: Path | None, seeded: Seeded | None
) -> None:
    import uvicorn
    from pyinstrument import Profiler

    from app.main import create_app

    scenario = BY_KEY[args.scenario]
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(), host="127.0.0.1", port=port, log_level="warning", server_header=False
        )
    )
    serving = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.05)
    flow = scenario.flow
    visits = await _visits(f"http://127.0.0.1:{port}", args.scenario, seeded)
    config = DriverConfig(
        base_url=f"http://127.0.0.1:{port}",
        concurrency=args.concurrency,
        duration=args.seconds,
        mode="flow" if flow else "get",
        path=flow.form_path if flow else scenario.path or "/",
        pdf_bytes=flow.pdf_bytes if flow else 0,
        visits=visits,
    )
    driver = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.driver",
        json.dumps(asdict(config)),
        cwd=ROOT,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        # The driver's result is one line with every latency: far over asyncio's 64 KB for a
        # page served thousands of times.
        limit=64 * 1024 * 1024,
    )
    assert driver.stdin is not None and driver.stdout is not None
    await driver.stdout.readline()  # "ready"
    profiler = Profiler(interval=0.0005, async_mode="disabled")
    profiler.start()
    driver.stdin.write(b"go\n")
    await driver.stdin.drain()
    result = json.loads((await driver.stdout.readline()).decode())
    profiler.stop()
    await driver.wait()
    server.should_exit = True
    await serving
    print(
        f"{scenario.label}: {result['completed']} in {result['elapsed']:.1f} s, "
        f"{result['errors']} errors (one request at a time: throughput is not comparable)"
    )
    print(profiler.output_text(unicode=True, color=False, show_all=args.show_all, timeline=False))
    if output:
        output.write_text(profiler.output_html())
        print(f"HTML profile: {output}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__)
    portal = [key for key, s in BY_KEY.items() if s.server is Server.portal]
    parser.add_argument("scenario", choices=portal)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument(
        "--show-all", action="store_true", help="library frames too (SQLAlchemy, Jinja2…)"
    )
    parser.add_argument("--html", type=Path, help="also write pyinstrument's HTML report here")
    parser.add_argument(
        "--portal-dir", type=Path, default=ROOT, help="the checkout whose app/ is profiled"
    )
    args = parser.parse_args(argv)
    portal_dir = args.portal_dir.resolve()
    # Before anything imports `app`, so that the chosen checkout's is the one loaded.
    sys.path.insert(0, str(portal_dir))
    try:
        import pyinstrument  # noqa: F401 - only to say how to get it
    except ImportError:
        print("pyinstrument is missing: .venv/bin/pip install pyinstrument", file=sys.stderr)
        return 2

    with tempfile.TemporaryDirectory(prefix="icon-profile-") as tmp:
        workdir = Path(tmp)
        manager = (
            postgres_database(workdir, args.postgres_url)
            if args.db == "postgres"
            else sqlite_database(workdir)
        )
        with manager as database:
            seeded = _prepare(database, workdir, portal_dir, large=BY_KEY[args.scenario].large)
            _run_threadpool_inline()
            html = args.html.resolve() if args.html else None
            asyncio.run(_profile(args, free_port(), html, seeded))
    return 0


def _prepare(
    database: BenchDatabase, workdir: Path, portal_dir: Path, *, large: bool
) -> Seeded | None:
    env = portal_env(database, secrets.token_urlsafe(48), portal_dir)
    app_command(env, workdir, "migrate")
    app_command(env, workdir, "seed-demo")
    seeded = None
    if large:
        print("Loading the large data (bench/seed_large.py)...", file=sys.stderr, flush=True)
        seeded = seed_large(env, workdir)
        print(f"Seeded in {seeded.seconds:.1f} s.", file=sys.stderr, flush=True)
    # The app in this process reads its settings from the same environment as bench.run's.
    for name in ("DATABASE_URL", "DATA_DIR", "SECRET_KEY", "ENVIRONMENT"):
        os.environ.pop(name, None)
    os.environ.update({k: v for k, v in env.items() if k not in ("PYTHONPATH",)})
    # Away from any `.env` in the directory the command was run from, as bench.run's servers.
    os.chdir(workdir)
    return seeded


if __name__ == "__main__":
    sys.exit(main())
