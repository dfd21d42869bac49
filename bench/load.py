"""The load generators, run as separate processes: wrk for GETs, bench.driver for the flows
(and for GETs when wrk is missing). Both give a LoadResult; the CPU they used is measured from
their rusage, so the tables show whether the generator or the server was the busy one."""

from __future__ import annotations

import json
import math
import resource
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench.driver import DriverConfig, DriverResult
from bench.servers import boost

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
WRK_SCRIPT = BENCH_DIR / "wrk_report.lua"


@dataclass
class LoadResult:
    completed: int
    elapsed: float
    p50_ms: float
    p99_ms: float
    errors: int
    error_kinds: dict[str, int] = field(default_factory=dict)
    acknowledged: int = 0
    # CPU the generator used while it drove load (not while starting).
    generator_cpu_seconds: float = 0.0
    generator: str = ""

    @property
    def rate(self) -> float:
        return self.completed / self.elapsed if self.elapsed > 0 else 0.0


def _children_cpu() -> float:
    # wrk is waited for before this is read again, so the difference is what it used (the
    # servers are waited for only when they stop; the Python driver counts its own CPU).
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def percentile(sorted_values: list[int], fraction: float) -> float:
    """Nearest-rank percentile, the definition wrk uses too."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return float(sorted_values[rank - 1])


def wrk_available() -> str | None:
    return shutil.which("wrk")


def _start(argv: list[str], nice: int | None, **options: Any) -> subprocess.Popen[str]:
    # A session of its own when boosted (see servers.boost); it is then out of reach of the
    # terminal's Ctrl-C, so callers kill it in a finally block.
    process = subprocess.Popen(argv, text=True, start_new_session=nice is not None, **options)
    boost(process.pid, nice)
    return process


def _lua_string(text: str) -> str:
    # Paths and cookie values here are printable ASCII without quotes or backslashes.
    if not text.isascii() or not text.isprintable() or '"' in text or "\\" in text:
        raise ValueError(f"not a plain ASCII string for a wrk script: {text!r}")
    return f'"{text}"'


def wrk_rotation_script(requests: Sequence[tuple[str, str]], directory: Path) -> Path:
    """A wrk script that sends these GETs (path, Cookie header) in turn. Each request is
    formatted once, in `init`; `request` only hands out the next one, so wrk does little more
    per request than on its fast path (one Lua call returning a ready string)."""
    entries = ",\n".join(
        f"  {{{_lua_string(path)}, {_lua_string(cookie)}}}" for path, cookie in requests
    )
    script = (
        "-- Written by bench/load.py: signed-in GETs taken in turn.\n"
        f"local visits = {{\n{entries}\n}}\n"
        "local requests = {}\n"
        "local next_one = 0\n"
        "init = function(args)\n"
        "  for i, visit in ipairs(visits) do\n"
        '    requests[i] = wrk.format("GET", visit[1], {["Cookie"] = visit[2]})\n'
        "  end\n"
        "end\n"
        "request = function()\n"
        "  next_one = next_one % #requests + 1\n"
        "  return requests[next_one]\n"
        "end\n\n" + WRK_SCRIPT.read_text()
    )
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"wrk-rotation-{abs(hash(script)):x}.lua"
    path.write_text(script)
    return path


def run_wrk(
    url: str,
    *,
    concurrency: int,
    duration: int,
    watch: AbstractContextManager[object],
    nice: int | None = None,
    headers: Sequence[str] = (),
    script: Path = WRK_SCRIPT,
) -> LoadResult:
    """`headers` are sent with every request (a session's `Cookie:`); `script` replaces the
    summary-only script with one that also chooses the requests (wrk_rotation_script)."""
    # One wrk thread drives tens of thousands of requests a second, far above any figure here,
    # and leaves the second core of a small machine to the server.
    argv = [
        "wrk", "-t1", f"-c{concurrency}", f"-d{duration}s", "--timeout", "10s",
        "-s", str(script), *(arg for header in headers for arg in ("-H", header)), url,
    ]  # fmt: skip
    cpu_before = _children_cpu()
    wrk = _start(argv, nice, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        with watch:
            stdout, stderr = wrk.communicate(timeout=duration + 60)
    finally:
        if wrk.poll() is None:
            wrk.kill()
            wrk.wait()
    cpu = _children_cpu() - cpu_before
    line = next((x for x in stdout.splitlines() if x.startswith("BENCH-JSON ")), None)
    if wrk.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({wrk.returncode}): {stderr or stdout}")
    data = json.loads(line.removeprefix("BENCH-JSON "))
    kinds = {
        name: data[name] for name in ("connect", "read", "write", "timeout", "status") if data[name]
    }
    if "status" in kinds:
        kinds["HTTP >= 400"] = kinds.pop("status")
    return LoadResult(
        completed=data["requests"],
        elapsed=data["duration_us"] / 1_000_000,
        p50_ms=data["p50_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        errors=sum(kinds.values()),
        error_kinds=kinds,
        generator_cpu_seconds=cpu,
        generator="wrk",
    )


def run_driver(
    base_url: str,
    *,
    mode: str,
    path: str,
    pdf_bytes: int,
    concurrency: int,
    duration: float,
    processes: int,
    watch: AbstractContextManager[object],
    nice: int | None = None,
    visits: Sequence[tuple[str, str]] = (),
) -> LoadResult:
    """Runs `processes` driver processes sharing the concurrency, started together; `watch`
    is entered once they are ready, so it sees the load and not their start-up."""
    processes = max(1, min(processes, concurrency))
    shares = [concurrency // processes + (i < concurrency % processes) for i in range(processes)]
    drivers: list[subprocess.Popen[str]] = []
    try:
        for index, share in enumerate(shares):
            config = DriverConfig(
                base_url=base_url,
                concurrency=share,
                duration=duration,
                mode=mode,
                path=path,
                pdf_bytes=pdf_bytes,
                process_index=index,
                visits=[(path, cookie) for path, cookie in visits],
            )
            drivers.append(
                _start(
                    [sys.executable, "-m", "bench.driver", json.dumps(asdict(config))],
                    nice,
                    cwd=ROOT,
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                )
            )
        for driver in drivers:
            assert driver.stdout is not None and driver.stdin is not None
            if driver.stdout.readline().strip() != "ready":
                raise RuntimeError("a load driver failed to start")
        outputs = []
        with watch:
            for driver in drivers:
                assert driver.stdin is not None
                driver.stdin.write("go\n")
                driver.stdin.flush()
            for driver in drivers:
                outputs.append(driver.communicate(timeout=duration + 120)[0])
        results = []
        for driver, out in zip(drivers, outputs, strict=True):
            if driver.returncode != 0:
                raise RuntimeError(f"a load driver exited with {driver.returncode}")
            results.append(DriverResult(**json.loads(out.strip().splitlines()[-1])))
    finally:
        for driver in drivers:
            if driver.poll() is None:
                driver.kill()
                driver.wait()
    latencies = sorted(value for result in results for value in result.latencies_us)
    kinds: dict[str, int] = {}
    for result in results:
        for kind, count in result.error_kinds.items():
            kinds[kind] = kinds.get(kind, 0) + count
    return LoadResult(
        completed=sum(result.completed for result in results),
        elapsed=max(result.elapsed for result in results),
        p50_ms=percentile(latencies, 0.50) / 1000,
        p99_ms=percentile(latencies, 0.99) / 1000,
        errors=sum(result.errors for result in results),
        error_kinds=kinds,
        acknowledged=sum(result.acknowledged for result in results),
        generator_cpu_seconds=sum(result.cpu_seconds for result in results),
        generator=f"python x{processes}",
    )


def unwatched() -> AbstractContextManager[object]:
    return nullcontext()


def pause_between_cells() -> None:
    # Lets the previous cell's connections close and SQLite checkpoint its WAL, so one cell's
    # leftovers do not land in the next one's figures.
    time.sleep(0.1)
