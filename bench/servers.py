"""Server processes under test: started in their own process group on 127.0.0.1, always
stopped with their whole group, and watched through /proc for memory and CPU."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class ProcStat:
    command: str
    parent: int
    cpu_ticks: int
    # CPU of its children that ended and were waited for: for PostgreSQL's postmaster, the
    # backends of connections that were opened and closed between two samples.
    reaped_ticks: int


def _stat(pid: int) -> ProcStat | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:  # the process ended between listing and reading
        return None
    # The command name may hold spaces and parentheses; the fields after its last ")" do not.
    name_end = raw.rfind(")")
    fields = raw[name_end + 2 :].split()
    return ProcStat(
        command=raw[raw.find("(") + 1 : name_end],
        parent=int(fields[1]),
        cpu_ticks=int(fields[11]) + int(fields[12]),  # utime + stime
        reaped_ticks=int(fields[13]) + int(fields[14]),  # cutime + cstime
    )


def _processes() -> dict[int, ProcStat]:
    found = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            stat = _stat(int(entry.name))
            if stat is not None:
                found[int(entry.name)] = stat
    return found


def process_tree(root: int, processes: dict[int, ProcStat]) -> list[int]:
    """The root and all its descendants (uvicorn's supervisor, its workers, their helpers)."""
    children: dict[int, list[int]] = {}
    for pid, stat in processes.items():
        children.setdefault(stat.parent, []).append(pid)
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, ()))
    return tree


def postgres_backends(database: str, processes: dict[int, ProcStat]) -> list[int]:
    """PostgreSQL's processes serving `database`: each names it in its title,
    `postgres: USER DATABASE HOST(PORT) STATE`."""
    found = []
    for pid, stat in processes.items():
        if stat.command != "postgres":
            continue
        try:
            title = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if title.startswith(b"postgres: ") and f" {database} ".encode() in title:
            found.append(pid)
    return found


def machine_busy_ticks() -> int:
    """Ticks all CPUs spent on anything but idle and I/O wait, since boot."""
    values = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = values[:8]
    return user + nice + system + irq + softirq + steal


def rss_bytes(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        try:
            resident = int(Path(f"/proc/{pid}/statm").read_text().split()[1])
        except (OSError, IndexError, ValueError):
            continue
        total += resident * PAGE_SIZE
    return total


@dataclass
class Usage:
    peak_rss_bytes: int
    # CPU seconds used during the cell by the server's process tree, by the PostgreSQL
    # backends serving the benchmark's database (with those that ended during the cell, which
    # may include another database's), and by the whole machine.
    server_cpu: float
    database_cpu: float
    machine_cpu: float
    # How long the sampler watched, which is a little longer than the load itself.
    wall_seconds: float


class _CpuGroup:
    """CPU used by a changing set of processes between the first and the last sample; a
    process that appears later counts from zero (it was born in the cell)."""

    def __init__(self) -> None:
        self.first: dict[int, int] = {}
        self.last: dict[int, int] = {}

    def see(self, pids: list[int], processes: dict[int, ProcStat], *, at_start: bool) -> None:
        for pid in pids:
            stat = processes.get(pid)
            if stat is None:
                continue
            ticks = stat.cpu_ticks
            self.first.setdefault(pid, ticks if at_start else 0)
            self.last[pid] = ticks

    def seconds(self) -> float:
        return sum(self.last[pid] - self.first[pid] for pid in self.last) / CLOCK_TICKS


class Sampler:
    """Samples a server's process tree every `interval` seconds in a thread: the peak of its
    summed RSS (a page shared by two workers counts twice, an upper bound) and its CPU, with
    the CPU of PostgreSQL's backends for `database` and of the machine as a whole, so that
    other people's work on a shared machine shows up in the figures instead of hiding."""

    def __init__(self, root: int, database: str | None = None, interval: float = 0.1) -> None:
        self.root = root
        self.database = database
        self.interval = interval
        self._peak = 0
        self._server = _CpuGroup()
        self._backends = _CpuGroup()
        # The postmaster's reaped-children CPU at the first and last sample.
        self._reaped: dict[int, list[int]] = {}
        self._machine_start = 0
        self._machine_end = 0
        self._wall_start = 0.0
        self._wall_end = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample(at_start=False)

    def _sample(self, *, at_start: bool) -> None:
        processes = _processes()
        tree = process_tree(self.root, processes)
        self._peak = max(self._peak, rss_bytes(tree))
        self._server.see(tree, processes, at_start=at_start)
        if self.database:
            backends = postgres_backends(self.database, processes)
            self._backends.see(backends, processes, at_start=at_start)
            for postmaster in {processes[pid].parent for pid in backends if pid in processes}:
                if postmaster in processes:
                    ticks = processes[postmaster].reaped_ticks
                    self._reaped.setdefault(postmaster, [ticks, ticks])[1] = ticks

    def __enter__(self) -> Sampler:
        self._wall_start = time.monotonic()
        self._machine_start = machine_busy_ticks()
        self._sample(at_start=True)
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample(at_start=False)
        self._machine_end = machine_busy_ticks()
        self._wall_end = time.monotonic()

    def usage(self) -> Usage:
        return Usage(
            peak_rss_bytes=self._peak,
            server_cpu=self._server.seconds(),
            database_cpu=self._backends.seconds()
            + sum(last - first for first, last in self._reaped.values()) / CLOCK_TICKS,
            machine_cpu=(self._machine_end - self._machine_start) / CLOCK_TICKS,
            wall_seconds=self._wall_end - self._wall_start,
        )


def wait_until_quiet(*, limit: float, max_wait: float, window: float = 0.5) -> float:
    """Waits (at most `max_wait` s) until the machine's CPUs were busy less than `limit` of one
    core over `window` s; the servers under test are idle then, so that is other people's
    work. Returns the load last seen, in cores."""
    deadline = time.monotonic() + max_wait
    while True:
        before = machine_busy_ticks()
        time.sleep(window)
        load = (machine_busy_ticks() - before) / CLOCK_TICKS / window
        if load < limit or time.monotonic() >= deadline:
            return load


def boost(pid: int, nice: int | None) -> None:
    """Gives a process we started (and what it starts later) the niceness `nice`. With the
    kernel's autogroup scheduling, CPU is first shared between sessions and only then between
    the processes of one, so the session's autogroup gets the same niceness; our processes run
    in sessions of their own for this reason."""
    if nice is None:
        return
    os.setpriority(os.PRIO_PROCESS, pid, nice)
    with contextlib.suppress(OSError):  # a kernel without autogroups
        Path(f"/proc/{pid}/autogroup").write_text(str(nice))


class ServerFailed(RuntimeError):
    pass


@dataclass
class ServerProcess:
    name: str
    argv: list[str]
    env: dict[str, str]
    cwd: Path
    log: Path
    port: int
    ready_path: str
    nice: int | None = None
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                self.argv,
                cwd=self.cwd,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                # Its own group: Ctrl-C does not reach it half-way, and stop() takes the
                # supervisor and all its workers at once.
                start_new_session=True,
            )
        # Before uvicorn spawns its workers, which inherit it.
        boost(self.process.pid, self.nice)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ServerFailed(f"{self.name} exited at start:\n{self._log_tail()}")
            try:
                if httpx.get(self.url + self.ready_path, timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise ServerFailed(f"{self.name} was not ready after {timeout:.0f} s:\n{self._log_tail()}")

    def stop(self) -> None:
        process = self.process
        if process is None or process.poll() is not None:
            return
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=15)
        except ProcessLookupError:
            pass

    def failure(self) -> str | None:
        """The log's tail if the server died during the run, else None."""
        if self.process is not None and self.process.poll() is not None:
            return f"{self.name} exited with {self.process.returncode}:\n{self._log_tail()}"
        return None

    def _log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


@contextmanager
def running(server: ServerProcess) -> Iterator[ServerProcess]:
    try:
        server.start()
        yield server
    finally:
        server.stop()


def wait_until_idle(
    root: int, database: str | None, *, max_wait: float, window: float = 0.2, limit: float = 0.05
) -> float:
    """Waits (at most `max_wait` s) until the server's process tree and its PostgreSQL backends
    used less than `limit` of a core over `window` s: a slow page leaves requests queued after
    the load generator has gone, and their work must not land in the next cell. Returns the
    seconds waited."""
    began = time.monotonic()

    def ticks() -> int:
        processes = _processes()
        pids = process_tree(root, processes)
        if database:
            pids += postgres_backends(database, processes)
        return sum(processes[pid].cpu_ticks for pid in pids if pid in processes)

    while time.monotonic() - began < max_wait:
        before = ticks()
        time.sleep(window)
        if (ticks() - before) / CLOCK_TICKS / window < limit:
            break
    return time.monotonic() - began
