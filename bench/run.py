"""One command for the whole benchmark: `.venv/bin/python -m bench.run` (see bench/README.md).

For each database (SQLite, then PostgreSQL) it makes a throw-away database, migrates and seeds
it with the portal's own commands, then for 1 and 2 workers serves the bare baseline and the
portal in turn as real uvicorn processes on 127.0.0.1 and drives each scenario at each
concurrency from separate processes. Everything it starts is stopped, and everything it
creates removed, also on Ctrl-C or error.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import asdict
from pathlib import Path
from types import FrameType

if not __package__:
    # Run as `python bench/run.py`: make the repository importable, as `-m` would.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import load, report
from bench.baseline import create_schema
from bench.databases import (
    BenchDatabase,
    postgres_database,
    postgres_reachable,
    sqlite_database,
)
from bench.scenarios import BY_KEY, SCENARIOS, Scenario, Seeded, Server
from bench.servers import (
    Sampler,
    ServerProcess,
    free_port,
    running,
    wait_until_idle,
    wait_until_quiet,
)
from bench.signin import check_visits, sign_in

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def machine() -> dict[str, str]:
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cores": str(os.cpu_count()),
        "cpu": model,
        "python": platform.python_version(),
        "kernel": platform.release(),
    }


def clean_env(code: Path) -> dict[str, str]:
    """This environment without any portal setting, so a developer's shell or .env cannot
    change what is measured (servers also run from the temp directory, away from `.env`)."""
    from app.config import Settings

    env = dict(os.environ)
    for name in Settings.model_fields:
        env.pop(name.upper(), None)
    env["PYTHONPATH"] = str(code)
    return env


def portal_env(database: BenchDatabase, secret: str, portal_dir: Path) -> dict[str, str]:
    env = clean_env(portal_dir)
    env.update(
        DATA_DIR=str(database.portal_data_dir),
        SECRET_KEY=secret,
        # As production runs: a strong key, secure cookies, no API docs, templates not reloaded.
        ENVIRONMENT="prod",
        # Production refuses a loopback BASE_URL; the load reaches the server on loopback.
        BASE_URL="https://portal.bench.invalid",
        ALLOWED_HOSTS="portal.bench.invalid,127.0.0.1",
        # Otherwise the load would be refused as too fast or too many from one address.
        NOMINATION_RATE_LIMIT="0",
        NOMINATION_BROWSER_LIMIT="0",
        FORM_MIN_SECONDS="0",
        # The large edition two years back is past the retention period: measured as seeded,
        # not while the server purges it.
        NOMINATION_RETENTION_DAYS="0",
        # The open-data refresh would build a release of the 100,000 nominations while the
        # first scenario runs; bench/open_data.py measures that on its own.
        OPEN_DATA_REFRESH_SECONDS="0",
        LOG_LEVEL="WARNING",
    )
    if database.portal_url:
        env["DATABASE_URL"] = database.portal_url
    return env


def baseline_env(database: BenchDatabase) -> dict[str, str]:
    env = clean_env(ROOT)
    env.update(
        BENCH_BASELINE_URL=database.baseline_url,
        BENCH_BASELINE_FILES=str(database.baseline_files),
    )
    return env


def app_command(env: dict[str, str], workdir: Path, *args: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "app", *args],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"python -m app {' '.join(args)} failed:\n{done.stdout}{done.stderr}")


def seed_large(env: dict[str, str], workdir: Path) -> Seeded:
    """bench/seed_large.py in the portal's environment. Run from its path with runpy, not as
    `-m bench.seed_large`: the measured checkout (--portal-dir) has a `bench` of its own, and
    only its `app` must come first on the path."""
    script = ROOT / "bench" / "seed_large.py"
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            f"import runpy; runpy.run_path({str(script)!r}, run_name='__main__')",
        ],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    line = next((x for x in done.stdout.splitlines() if x.startswith("BENCH-SEED ")), None)
    if done.returncode != 0 or line is None:
        raise RuntimeError(f"bench/seed_large.py failed:\n{done.stdout}{done.stderr}")
    return Seeded.from_json(json.loads(line.removeprefix("BENCH-SEED ")))


def make_server(
    kind: Server,
    database: BenchDatabase,
    workers: int,
    workdir: Path,
    secret: str,
    portal_dir: Path,
    nice: int | None,
) -> ServerProcess:
    port = free_port()
    if kind is Server.portal:
        command = ["-m", "app", "serve", "--port", str(port), "--workers", str(workers)]
        env, ready = portal_env(database, secret, portal_dir), "/healthz"
    else:
        command = ["-m", "bench.baseline", "--port", str(port), "--workers", str(workers)]
        env, ready = baseline_env(database), "/"
    return ServerProcess(
        name=f"{kind} ({workers} worker{'s' if workers > 1 else ''})",
        argv=[sys.executable, *command],
        env=env,
        cwd=workdir,
        log=workdir / f"{kind}.log",
        port=port,
        ready_path=ready,
        nice=nice,
    )


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.duration: int = args.duration
        self.concurrencies: list[int] = args.concurrency
        self.workers: list[int] = args.workers
        self.scenarios: list[Scenario] = args.scenario_list
        self.wrk = None if args.no_wrk else load.wrk_available()
        self.driver_processes: int = args.driver_processes
        self.portal_dir: Path = args.portal_dir
        self.wait_quiet: float = args.wait_quiet
        self.nice: int | None = args.nice
        self.json: Path | None = args.json
        self.info = machine()
        self.results = report.Results()
        # Per database: the large data, if a scenario needs it, and the session cookie of each
        # benchmark account (sessions live in the database, so one sign-in serves every server).
        self.seeded: Seeded | None = None
        self.cookies: dict[str, str] = {}
        self.workdir = Path(tempfile.gettempdir())

    def _visits(self, scenario: Scenario) -> list[tuple[str, str]]:
        assert scenario.visits is not None and self.seeded is not None
        return [(v.path, self.cookies[v.account]) for v in scenario.visits(self.seeded)]

    def sign_in(self, server: ServerProcess, scenarios: list[Scenario]) -> None:
        """Signs the scenarios' accounts in (once per database) and checks that each account's
        first page answers 200: wrk counts a redirect to /login as a success."""
        if self.seeded is None:
            return
        seeded = self.seeded
        for scenario in scenarios:
            if scenario.visits is None:
                continue
            first: dict[str, str] = {}
            for visit in scenario.visits(seeded):
                if visit.account not in self.cookies:
                    self.cookies[visit.account] = sign_in(
                        server.url, visit.account, seeded.password
                    )
                first.setdefault(visit.account, visit.path)
            check_visits(server.url, [(path, self.cookies[a]) for a, path in first.items()])

    def _drive(
        self,
        server: ServerProcess,
        scenario: Scenario,
        concurrency: int,
        duration: float,
        watch: AbstractContextManager[object],
    ) -> load.LoadResult:
        visits = self._visits(scenario) if scenario.visits else []
        if visits and self.wrk and duration >= 1:
            path, cookie = visits[0]
            one = len(visits) == 1
            return load.run_wrk(
                server.url + path,
                concurrency=concurrency,
                duration=int(duration),
                watch=watch,
                nice=self.nice,
                # One page: a plain header keeps wrk on its fast path; several: a Lua rotation.
                headers=[f"Cookie: {cookie}"] if one else [],
                script=load.WRK_SCRIPT if one else load.wrk_rotation_script(visits, self.workdir),
            )
        if scenario.path is not None and self.wrk and duration >= 1:
            return load.run_wrk(
                server.url + scenario.path,
                concurrency=concurrency,
                duration=int(duration),
                watch=watch,
                nice=self.nice,
            )
        flow = scenario.flow
        return load.run_driver(
            server.url,
            mode="flow" if flow else "get",
            path=flow.form_path if flow else scenario.path or "/",
            pdf_bytes=flow.pdf_bytes if flow else 0,
            concurrency=concurrency,
            duration=duration,
            processes=self.driver_processes,
            watch=watch,
            nice=self.nice,
            visits=visits,
        )

    def warm_up(
        self,
        server: ServerProcess,
        scenarios: list[Scenario],
        workers: int,
        database: BenchDatabase,
    ) -> None:
        # Templates compile, pools connect and lazy imports load on each worker's first
        # requests; that belongs to no cell.
        for scenario in scenarios:
            self._drive(server, scenario, 4 * workers, 0.3, load.unwatched())
        self.drain(server, database)

    def drain(self, server: ServerProcess, database: BenchDatabase) -> None:
        """Lets the server finish the requests the load generator left queued: at c64 a page of
        0.5 s leaves half a minute of work, which would otherwise be the next cell's."""
        assert server.process is not None
        waited = wait_until_idle(server.process.pid, database.postgres_name, max_wait=120)
        if waited > 1:
            log(f"  (waited {waited:.1f} s for the server to finish queued requests)")

    def measure(
        self,
        database: BenchDatabase,
        server: ServerProcess,
        scenario: Scenario,
        workers: int,
        concurrency: int,
    ) -> report.Cell:
        began = time.monotonic()
        table = scenario.stored_in
        baseline = scenario.server is Server.baseline
        before = database.count_rows(table, baseline=baseline) if table else 0
        assert server.process is not None
        if self.wait_quiet:
            wait_until_quiet(limit=report.BUSY_CORES, max_wait=self.wait_quiet)
        sampler = Sampler(server.process.pid, database.postgres_name)
        own_cpu = time.process_time()
        result = self._drive(server, scenario, concurrency, self.duration, sampler)
        own_cpu = time.process_time() - own_cpu
        usage = sampler.usage()
        failure = server.failure()
        if failure:
            raise RuntimeError(failure)
        stored = database.count_rows(table, baseline=baseline) - before if table else None
        cell = report.Cell(
            database=database.name,
            scenario=scenario.key,
            workers=workers,
            concurrency=concurrency,
            duration=self.duration,
            load=result,
            peak_rss_bytes=usage.peak_rss_bytes,
            server_cpu=usage.server_cpu,
            database_cpu=usage.database_cpu,
            others_cpu=max(
                0.0,
                usage.machine_cpu
                - usage.server_cpu
                - usage.database_cpu
                - result.generator_cpu_seconds
                - own_cpu,
            ),
            watched=usage.wall_seconds,
            stored=stored,
        )
        log(
            f"  {database.name} {workers}w {scenario.label:<26} c{concurrency:<3} "
            f"{result.rate:8.1f} {scenario.unit:<7} p99 {result.p99_ms:7.1f} ms "
            f"err {result.errors} [{result.generator}, {time.monotonic() - began:.1f} s]"
            + (" busy" if cell.busy else "")
        )
        self.drain(server, database)
        load.pause_between_cells()
        return cell

    def run_database(self, database: BenchDatabase, workdir: Path) -> None:
        secret = secrets.token_urlsafe(48)
        env = portal_env(database, secret, self.portal_dir)
        app_command(env, workdir, "migrate")
        app_command(env, workdir, "seed-demo")
        self.seeded, self.cookies, self.workdir = None, {}, workdir
        if any(scenario.large for scenario in self.scenarios):
            log(f"{database.name}: loading the large data (bench/seed_large.py)...")
            self.seeded = seed_large(env, workdir)
            rows = sum(self.seeded.rows.values())
            steps = ", ".join(f"{k} {v:.1f} s" for k, v in self.seeded.timings.items())
            log(f"{database.name}: {rows:,} rows seeded in {self.seeded.seconds:.1f} s ({steps})")
        create_schema(database.baseline_url)
        for workers in self.workers:
            # The baseline first: the portal's ratios need its figures.
            for kind in (Server.baseline, Server.portal):
                scenarios = [s for s in self.scenarios if s.server is kind]
                if not scenarios:
                    continue
                server = make_server(
                    kind, database, workers, workdir, secret, self.portal_dir, self.nice
                )
                with running(server):
                    self.sign_in(server, scenarios)
                    # The staff and judges' pages are warmed up just before their own cells:
                    # their large pages grow the workers' memory, which must not be counted
                    # against the public pages measured first.
                    light = [s for s in scenarios if not s.large]
                    self.warm_up(server, light, workers, database)
                    for scenario in scenarios:
                        if scenario.large:
                            self.warm_up(server, [scenario], workers, database)
                        for concurrency in self.concurrencies:
                            self.results.add(
                                self.measure(database, server, scenario, workers, concurrency)
                            )
                            if self.json:  # after each cell: even a killed run leaves its data
                                _write_json(self.json, self, self.info, self.duration)


def _selected(keys: str | None) -> list[Scenario]:
    if not keys:
        return list(SCENARIOS)
    wanted = {key.strip() for key in keys.split(",") if key.strip()}
    unknown = wanted - BY_KEY.keys()
    if unknown:
        raise SystemExit(f"unknown scenario(s): {', '.join(sorted(unknown))}")
    # A portal scenario brings the baseline it is compared with.
    wanted |= {base for key in wanted if (base := BY_KEY[key].compare_to) is not None}
    return [scenario for scenario in SCENARIOS if scenario.key in wanted]


def _int_list(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.strip()]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.run",
        description="Load-test the portal against a bare FastAPI baseline (bench/README.md).",
    )
    parser.add_argument(
        "--duration",
        type=int,
        # 3 s keeps a full run (84 cells) under 6 minutes; measured here, runs of 3 s and of
        # 10 s cells spread alike (about ±10% from run to run), so longer cells buy little.
        help="seconds per cell, whole (wrk takes whole seconds); default 3, --quick 1",
    )
    parser.add_argument("--quick", action="store_true", help="smoke run: short, fewer cells")
    parser.add_argument(
        "--db", default="sqlite,postgres", help="sqlite, postgres or both (default both)"
    )
    parser.add_argument("--workers", type=_int_list, help="worker counts (default 1,2)")
    parser.add_argument("--concurrency", type=_int_list, help="default 1,16,64")
    parser.add_argument(
        "--scenarios",
        help="comma-separated keys (default all): " + ", ".join(BY_KEY),
    )
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("BENCH_POSTGRES_URL", DEFAULT_POSTGRES),
        help="a server where we may create and drop a database (env BENCH_POSTGRES_URL)",
    )
    parser.add_argument(
        "--driver-processes",
        type=int,
        default=1,
        # One is enough: it uses under a fifth of a core at the highest rates measured here.
        help="Python driver processes per cell (default 1)",
    )
    parser.add_argument(
        "--portal-dir",
        type=Path,
        default=ROOT,
        help="the checkout whose app/ is measured (default: this one), e.g. a `git worktree`",
    )
    parser.add_argument("--no-wrk", action="store_true", help="drive GETs with Python too")
    parser.add_argument(
        "--wait-quiet",
        type=float,
        default=0,
        metavar="SECONDS",
        help="before each cell, wait up to this long for other processes to leave the CPUs idle",
    )
    parser.add_argument(
        "--nice",
        type=int,
        help="run servers and load generators at this niceness; below 0 (root only) it keeps"
        " other people's work on a shared machine from taking their CPU (not PostgreSQL's)",
    )
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--json", type=Path, help="also write every figure to this file")
    args = parser.parse_args(argv)
    args.portal_dir = args.portal_dir.resolve()
    if not (args.portal_dir / "app" / "__main__.py").is_file():
        parser.error(f"--portal-dir: no app/ package in {args.portal_dir}")
    quick = args.quick
    args.duration = args.duration or (1 if quick else 3)
    args.workers = args.workers or ([1] if quick else [1, 2])
    args.concurrency = args.concurrency or ([1, 16] if quick else [1, 16, 64])
    args.scenario_list = _selected(args.scenarios)
    args.databases = [d.strip() for d in args.db.split(",") if d.strip()]
    if not set(args.databases) <= {"sqlite", "postgres"}:
        parser.error("--db takes sqlite, postgres or both")
    return args


class _Interrupt:
    """Turns SIGTERM (and SIGHUP) into KeyboardInterrupt, as Ctrl-C is, so the finally blocks
    stop servers and drop databases; remembers which signal came, for the report."""

    def __init__(self) -> None:
        self.received: int | None = None

    def __call__(self, signum: int, _frame: FrameType | None) -> None:
        self.received = signum
        raise KeyboardInterrupt


@contextmanager
def bench_database(kind: str, workdir: Path, postgres_url: str) -> Iterator[BenchDatabase | None]:
    """A throw-away database of `kind` ("sqlite" or "postgres"), None when PostgreSQL is not
    there (and the run says so)."""
    manager: AbstractContextManager[BenchDatabase]
    if kind == "postgres":
        problem = postgres_reachable(postgres_url)
        if problem:
            log(f"PostgreSQL leg skipped: cannot use {postgres_url}: {problem}")
            yield None
            return
        manager = postgres_database(workdir, postgres_url)
    else:
        manager = sqlite_database(workdir)
    with manager as database:
        yield database


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    interrupt = _Interrupt()
    signal.signal(signal.SIGTERM, interrupt)
    if signal.getsignal(signal.SIGHUP) is not signal.SIG_IGN:  # `nohup` keeps its meaning
        signal.signal(signal.SIGHUP, interrupt)
    bench = Bench(args)
    info = bench.info
    started = time.monotonic()
    log(
        f"Machine: {info['cores']} cores, {info['cpu']}, Python {info['python']}; "
        f"{args.duration} s per cell"
    )
    if bench.wrk:
        log("GET scenarios: wrk (1 thread); nomination flows: the Python driver (bench/driver.py).")
    else:
        why = "--no-wrk" if args.no_wrk else "wrk is not installed (apt-get install wrk)"
        log(
            f"GET scenarios: Python driver, because {why}; its own CPU may cap the GET figures"
            " (see the generator CPU column)."
        )
    workdir = Path(tempfile.mkdtemp(prefix="icon-bench-"))
    interrupted = None
    try:
        for kind in args.databases:
            with bench_database(kind, workdir, args.postgres_url) as database:
                if database is None:
                    continue
                bench.run_database(database, workdir)
                # Uploaded files are large; each database's go as soon as it is done.
                shutil.rmtree(database.portal_data_dir, ignore_errors=True)
                shutil.rmtree(database.baseline_files, ignore_errors=True)
    except KeyboardInterrupt:
        interrupted = _signal_name(interrupt.received)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    # What was measured is shown even after an interruption: a long run is not thrown away.
    print(
        f"\nMachine: {info['cores']} cores, {info['cpu']}, Python {info['python']}, "
        f"Linux {info['kernel']}"
    )
    print(report.LEGEND)
    measured = list(dict.fromkeys(cell.database for cell in bench.results.cells))
    for name in measured:
        print()
        print(report.table(bench.results, name, bench.workers, bench.concurrencies))
    text, all_passed = report.summary(bench.results, measured, bench.workers)
    print()
    print(text)
    print(f"\nTotal time {time.monotonic() - started:.0f} s.")
    if args.json:
        _write_json(args.json, bench, info, args.duration)
    if interrupted:
        log(f"Interrupted by {interrupted}: servers stopped, temporary data removed.")
        return 130
    return 1 if args.strict and not all_passed else 0


def _signal_name(number: int | None) -> str:
    return signal.Signals(number).name if number else "SIGINT"


def _write_json(path: Path, bench: Bench, info: dict[str, str], duration: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    cells = [
        {**asdict(cell), "rate": cell.load.rate, "ratio": bench.results.ratio(cell)}
        for cell in bench.results.cells
    ]
    path.write_text(json.dumps({"machine": info, "duration": duration, "cells": cells}, indent=1))


if __name__ == "__main__":
    sys.exit(main())
