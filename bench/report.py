"""Measured cells, the targets they are judged by, and the tables printed at the end."""

from __future__ import annotations

import math
from dataclasses import dataclass

from bench.load import LoadResult
from bench.scenarios import BY_KEY, TARGETS, Metric, Scenario, Server, Target

MB = 1024 * 1024
# Beyond this (in cores) of other processes' CPU during a cell, the cell is marked `busy`.
BUSY_CORES = 0.15


@dataclass
class Cell:
    database: str
    scenario: str
    workers: int
    concurrency: int
    duration: float
    load: LoadResult
    peak_rss_bytes: int
    # CPU seconds while the cell was watched (`watched` seconds, a little longer than the
    # load): the server's process tree, PostgreSQL's backends for the benchmark's database,
    # and everything else on the machine (other people's work).
    server_cpu: float
    database_cpu: float
    others_cpu: float
    watched: float
    # Rows the scenario's table gained during the cell (flows only).
    stored: int | None = None

    def cores(self, seconds: float) -> float:
        return seconds / self.watched if self.watched > 0 else 0.0

    @property
    def generator_cores(self) -> float:
        load = self.load
        return load.generator_cpu_seconds / load.elapsed if load.elapsed > 0 else 0.0

    @property
    def busy(self) -> bool:
        """Other processes used a noticeable share of the CPUs: the figures are doubtful."""
        return self.cores(self.others_cpu) > BUSY_CORES

    @property
    def spec(self) -> Scenario:
        return BY_KEY[self.scenario]

    @property
    def mb_per_worker(self) -> float:
        return self.peak_rss_bytes / MB / self.workers


class Results:
    def __init__(self) -> None:
        self.cells: list[Cell] = []

    def add(self, cell: Cell) -> None:
        self.cells.append(cell)

    def find(self, database: str, scenario: str, workers: int, concurrency: int) -> Cell | None:
        for cell in self.cells:
            if (cell.database, cell.scenario, cell.workers, cell.concurrency) == (
                database,
                scenario,
                workers,
                concurrency,
            ):
                return cell
        return None

    def ratio(self, cell: Cell) -> float | None:
        compare_to = cell.spec.compare_to
        if compare_to is None:
            return None
        base = self.find(cell.database, compare_to, cell.workers, cell.concurrency)
        if base is None or base.load.rate == 0:
            return None
        return cell.load.rate / base.load.rate

    def metric(self, cell: Cell, metric: Metric) -> float | None:
        if metric is Metric.ratio:
            return self.ratio(cell)
        if metric in (Metric.p50_ms, Metric.p99_ms) and cell.load.completed == 0:
            return math.inf  # not one answer in the whole cell: as slow as it gets
        if metric is Metric.p50_ms:
            return cell.load.p50_ms
        if metric is Metric.p99_ms:
            return cell.load.p99_ms
        if metric is Metric.errors:
            return float(cell.load.errors)
        if metric is Metric.unstored:
            return None if cell.stored is None else float(cell.load.acknowledged - cell.stored)
        return cell.mb_per_worker

    def applies(self, target: Target, cell: Cell) -> bool:
        if target.scenario is None:
            scenario_ok = cell.spec.server is Server.portal
        else:
            scenario_ok = target.scenario == cell.scenario
        return scenario_ok and target.concurrency in (None, cell.concurrency)

    def judge(self, target: Target, cells: list[Cell]) -> tuple[float | None, bool | None]:
        """The worst figure among `cells` for this target, and whether it passes."""
        values = [
            value
            for cell in cells
            if self.applies(target, cell)
            and (value := self.metric(cell, target.metric)) is not None
        ]
        if not values:
            return None, None
        if target.at_least:
            worst = min(values)
        elif target.metric is Metric.unstored:
            worst = max(values, key=abs)
        else:
            worst = max(values)
        return worst, target.passes(worst)

    def cell_verdict(self, cell: Cell) -> str:
        missed = []
        judged = False
        for target in TARGETS:
            if not self.applies(target, cell):
                continue
            _, passed = self.judge(target, [cell])
            if passed is None:
                continue
            judged = True
            if not passed:
                missed.append(_SHORT[target.metric])
        if not judged:
            return ""
        return "PASS" if not missed else "MISS " + ",".join(missed)


LEGEND = """\
Columns, for each worker count:
  rate          requests/s (pages) or whole flows/s (nominations)
  xbase         rate / the same figure of the baseline's equivalent scenario
  p50ms p99ms   latency of one request (pages) or of one whole GET+POST+GET flow
  err           responses >= 400, broken connections and timeouts (flows: failed flows)
  MB            peak RSS of the server's process tree (supervisor + workers)
  cpu% s/g/d/o  CPU in % of one core: server / load generator / PostgreSQL backends / others
  check         PASS when every target that applies to the cell is met, else MISS and which;
                busy when other processes took CPU during the cell"""


_SHORT = {
    Metric.ratio: "xbase",
    Metric.p50_ms: "p50",
    Metric.p99_ms: "p99",
    Metric.errors: "err",
    Metric.unstored: "stored",
    Metric.mb_per_worker: "mem",
}


def _num(value: float | None, width: int, digits: int = 1) -> str:
    if value is None or math.isnan(value):
        return "-".rjust(width)
    return f"{value:{width}.{digits}f}"


_BLOCK_HEAD = f"{'rate':>8} {'xbase':>5} {'p50ms':>7} {'p99ms':>7} {'err':>4} {'MB':>4} "
_BLOCK_HEAD += f"{'cpu% s/g/d/o':>13} {'check':<14}"


def _block(results: Results, cell: Cell | None) -> str:
    if cell is None:
        return " " * len(_BLOCK_HEAD)
    load = cell.load
    # In % of one core: server / load generator / PostgreSQL backends / everything else.
    cores = (
        cell.cores(cell.server_cpu),
        cell.generator_cores,
        cell.cores(cell.database_cpu),
        cell.cores(cell.others_cpu),
    )
    cpu = "/".join(f"{value * 100:.0f}" for value in cores)
    verdict = results.cell_verdict(cell) + (" busy" if cell.busy else "")
    # No request answered within the cell (a slow page at high concurrency): no latency to show.
    answered = load.completed > 0
    return " ".join(
        [
            _num(load.rate, 8),
            _num(results.ratio(cell), 5, 2),
            _num(load.p50_ms if answered else None, 7),
            _num(load.p99_ms if answered else None, 7),
            f"{load.errors:4d}",
            f"{cell.peak_rss_bytes / MB:4.0f}",
            f"{cpu:>13}",
            f"{verdict.strip():<14}",
        ]
    )


def table(results: Results, database: str, workers: list[int], concurrencies: list[int]) -> str:
    cells = [cell for cell in results.cells if cell.database == database]
    if not cells:
        return ""
    keys = [key for key in BY_KEY if any(cell.scenario == key for cell in cells)]
    gap = " | "
    label_width = 26
    head = f"{'scenario':<{label_width}} {'c':>3}"
    lines = [
        f"{database}: portal and bare baseline, "
        f"{cells[0].duration:g} s per cell, rate in req/s (pages) or flows/s (nominations)",
        " " * len(head)
        + gap
        + gap.join(f"{w} worker{'s' if w > 1 else ''}".center(len(_BLOCK_HEAD)) for w in workers),
        head + gap + gap.join(_BLOCK_HEAD for _ in workers),
    ]
    lines.append("-" * len(lines[-1]))
    for key in keys:
        for concurrency in concurrencies:
            row = [results.find(database, key, w, concurrency) for w in workers]
            if not any(row):
                continue
            label = BY_KEY[key].label
            lines.append(
                f"{label:<{label_width}} {concurrency:>3}"
                + gap
                + gap.join(_block(results, cell) for cell in row)
            )
    stored_lines = []
    for cell in cells:
        if cell.stored is not None:
            mark = "ok" if cell.stored == cell.load.acknowledged else "MISMATCH"
            stored_lines.append(
                f"  {cell.spec.label}, {cell.workers}w c{cell.concurrency}: "
                f"{cell.load.acknowledged} receipts, {cell.stored} rows stored: {mark}"
            )
    if stored_lines:
        lines.append("Receipts acknowledged (303 + receipt 200) against rows stored:")
        lines.extend(stored_lines)
    busy = [cell for cell in cells if cell.busy]
    if busy:
        lines.append(
            f"busy: in {len(busy)} cell(s) other processes used more than {BUSY_CORES:.0%} of a"
            " core; their figures are doubtful. Rerun on a quiet machine or with --wait-quiet."
        )
    error_lines = [
        f"  {cell.spec.label}, {cell.workers}w c{cell.concurrency}: {cell.load.error_kinds}"
        for cell in cells
        if cell.load.errors
    ]
    if error_lines:
        lines.append("Errors by kind:")
        lines.extend(error_lines)
    return "\n".join(lines)


def summary(results: Results, databases: list[str], workers: list[int]) -> tuple[str, bool]:
    """The targets, PASS or MISS, per database and worker count; and whether all passed."""
    lines = ["Targets (issue 7), worst cell per target:"]
    all_passed = True
    for database in databases:
        for target in TARGETS:
            parts = []
            for w in workers:
                cells = [c for c in results.cells if c.database == database and c.workers == w]
                value, passed = results.judge(target, cells)
                if passed is None:
                    parts.append(f"{w}w: not measured")
                    continue
                all_passed &= passed
                shown = f"{value:.2f}" if target.metric is Metric.ratio else f"{value:g}"
                if target.metric in (Metric.p50_ms, Metric.p99_ms, Metric.mb_per_worker):
                    shown = f"{value:.0f}"
                parts.append(f"{w}w: {shown} {'PASS' if passed else 'MISS'}")
            if all(part.endswith("not measured") for part in parts):
                continue  # its scenario was not selected
            lines.append(f"  {database:<10} {target.describe():<60} " + "   ".join(parts))
    return "\n".join(lines), all_passed
