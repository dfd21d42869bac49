"""What the benchmark measures: scenarios, the baseline figure each is compared with, and the
targets of issue 7. A new scenario is one entry in SCENARIOS (and a target, if it has one)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Server(StrEnum):
    portal = "portal"
    baseline = "baseline"


@dataclass(frozen=True)
class Flow:
    """A citizen's visit as a browser makes it: GET the form (keeping the cookie), POST it with
    its csrf_token, follow the 303 to the receipt. `pdf_bytes` > 0 attaches one PDF that size."""

    form_path: str
    pdf_bytes: int = 0


@dataclass(frozen=True)
class Seeded:
    """What bench/seed_large.py loaded, from its `BENCH-SEED` line: the benchmark's accounts
    (one password for all) and the ids that the staff and judges' URLs name."""

    password: str
    staff: str
    judges: list[str]
    themes: list[str]
    closed_meeting: int
    open_meeting: int
    # (index in `judges`, finalist id): dossiers that judge may open (not recused).
    pairs: list[tuple[int, int]]
    rows: dict[str, int] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Seeded:
        names = set(cls.__dataclass_fields__)
        values = {k: v for k, v in data.items() if k in names}
        values["pairs"] = [(int(i), int(f)) for i, f in data["pairs"]]
        return cls(**values)


@dataclass(frozen=True)
class Visit:
    """One signed-in GET: who is signed in (an e-mail of Seeded) and the path."""

    account: str
    path: str


@dataclass(frozen=True)
class Scenario:
    key: str
    label: str
    server: Server
    # Exactly one of `path` (one GET, repeated), `visits` and `flow` is set.
    path: str | None = None
    # Signed-in GETs, built from the seeded data and taken in turn (each with its account's
    # session cookie), so that a cell is not one cached page of one person.
    visits: Callable[[Seeded], list[Visit]] | None = None
    flow: Flow | None = None
    # The baseline scenario whose figures are this one's 100%.
    compare_to: str | None = None
    # The table that must gain one row per acknowledged flow, checked after each cell.
    stored_in: str | None = None
    # Needs bench/seed_large.py's data (100,000 nominations, the large edition, results).
    large: bool = False

    @property
    def unit(self) -> str:
        return "flows/s" if self.flow else "req/s"


MB = 1024 * 1024

# The queue as staff use it on 100,000 nominations: filtered by theme, status or state, in
# each order, on a page in the middle of the list.
QUEUE_QUERIES = (
    "theme=youth&status=received&page=50",
    "theme=sustainability&status=eligible&page=50",
    "status=received&page=200",
    "theme=youth&sort=oldest&page=100",
    "state=JAL&status=received&page=5",
    "theme=sustainability&sort=nominee&page=150",
)
# Judges whose agenda is opened in turn: each sees the meeting's 1,000 finalists.
AGENDA_JUDGES = 8


def _queue(seeded: Seeded) -> list[Visit]:
    return [Visit(seeded.staff, f"/staff/nominations?{query}") for query in QUEUE_QUERIES]


def _meeting_results(seeded: Seeded) -> list[Visit]:
    return [Visit(seeded.staff, f"/staff/meetings/{seeded.closed_meeting}/results")]


def _agenda(meeting: int, seeded: Seeded) -> list[Visit]:
    return [Visit(judge, f"/judges/meetings/{meeting}") for judge in seeded.judges[:AGENDA_JUDGES]]


def _sheets(meeting: int, seeded: Seeded) -> list[Visit]:
    return [
        Visit(seeded.judges[judge], f"/judges/meetings/{meeting}/finalists/{finalist}")
        for judge, finalist in seeded.pairs
    ]


def _agenda_open(seeded: Seeded) -> list[Visit]:
    return _agenda(seeded.open_meeting, seeded)


def _agenda_closed(seeded: Seeded) -> list[Visit]:
    return _agenda(seeded.closed_meeting, seeded)


def _sheet_open(seeded: Seeded) -> list[Visit]:
    return _sheets(seeded.open_meeting, seeded)


def _sheet_closed(seeded: Seeded) -> list[Visit]:
    return _sheets(seeded.closed_meeting, seeded)


SCENARIOS: tuple[Scenario, ...] = (
    # The baseline: the least FastAPI + Jinja2 + SQLAlchemy needs for the same work (baseline.py).
    Scenario("base_page", "baseline page", Server.baseline, path="/"),
    Scenario(
        "base_flow",
        "baseline GET+POST+GET",
        Server.baseline,
        flow=Flow("/form"),
        stored_in="bench_submission",
    ),
    Scenario(
        "base_flow_pdf",
        "baseline flow + 1 MB PDF",
        Server.baseline,
        flow=Flow("/form", pdf_bytes=MB),
        stored_in="bench_submission",
    ),
    # The public portal. Staff and judges' scenarios go here once their areas exist.
    Scenario("home", "home page /", Server.portal, path="/", compare_to="base_page"),
    Scenario(
        "form",
        "form /nominate/youth",
        Server.portal,
        path="/nominate/youth",
        compare_to="base_page",
    ),
    Scenario(
        "nominate",
        "nomination, no file",
        Server.portal,
        flow=Flow("/nominate/youth"),
        compare_to="base_flow",
        stored_in="nomination",
    ),
    Scenario(
        "nominate_pdf",
        "nomination + 1 MB PDF",
        Server.portal,
        flow=Flow("/nominate/youth", pdf_bytes=MB),
        compare_to="base_flow_pdf",
        stored_in="nomination",
    ),
    # Once results are published: the page everyone opens that day.
    Scenario(
        "results", "results /results", Server.portal, path="/results", compare_to="base_page",
        large=True,
    ),
    # Staff and judges, signed in, on the large data (bench/seed_large.py).
    Scenario("queue", "staff queue, 100k", Server.portal, visits=_queue, large=True),
    Scenario(
        "meeting_results", "staff meeting results", Server.portal, visits=_meeting_results,
        large=True,
    ),
    Scenario("agenda", "judge agenda, open", Server.portal, visits=_agenda_open, large=True),
    Scenario("sheet", "judge sheet, open", Server.portal, visits=_sheet_open, large=True),
    Scenario(
        "agenda_closed", "judge agenda, closed", Server.portal, visits=_agenda_closed,
        large=True,
    ),
    Scenario(
        "sheet_closed", "judge sheet, closed", Server.portal, visits=_sheet_closed, large=True
    ),
)  # fmt: skip

BY_KEY = {scenario.key: scenario for scenario in SCENARIOS}


class Metric(StrEnum):
    ratio = "x baseline"  # throughput as a share of the baseline's equivalent
    p50_ms = "p50 ms"
    p99_ms = "p99 ms"
    errors = "errors"
    unstored = "receipts - rows"  # acknowledged receipts minus rows the database gained
    mb_per_worker = "MB/worker"  # peak RSS of the server's process tree / workers


@dataclass(frozen=True)
class Target:
    """One of issue 7's targets. `scenario` None: every portal scenario; `concurrency` None:
    every concurrency, judged on the worst cell."""

    scenario: str | None
    concurrency: int | None
    metric: Metric
    limit: float
    at_least: bool = False  # the figure must be >= limit; otherwise < limit (== 0 for counts)

    def passes(self, value: float) -> bool:
        if self.at_least:
            return value >= self.limit
        if self.metric in (Metric.errors, Metric.unstored):
            return value == self.limit
        return value < self.limit

    def describe(self) -> str:
        what = BY_KEY[self.scenario].label if self.scenario else "every portal scenario"
        where = f"c{self.concurrency}" if self.concurrency else "every c"
        if self.metric is Metric.ratio:
            rule = f">= {self.limit:.0%} of baseline"
        elif self.metric is Metric.p50_ms:
            rule = f"p50 < {self.limit:g} ms"
        elif self.metric is Metric.p99_ms:
            rule = f"p99 < {self.limit:g} ms"
        elif self.metric is Metric.errors:
            rule = "zero errors"
        elif self.metric is Metric.unstored:
            rule = "every receipt stored"
        else:
            rule = f"peak < {self.limit:g} MB per worker"
        return f"{what} @ {where}: {rule}"


TARGETS: tuple[Target, ...] = (
    Target("home", 64, Metric.ratio, 0.60, at_least=True),
    Target("home", 64, Metric.p99_ms, 100),
    Target("nominate", 64, Metric.ratio, 0.50, at_least=True),
    Target("nominate", None, Metric.errors, 0),
    Target("nominate", None, Metric.unstored, 0),
    Target("results", 64, Metric.ratio, 0.60, at_least=True),
    Target("results", 64, Metric.p99_ms, 100),
    # One staff member or judge at a time: what a person waits for a page.
    Target("queue", 1, Metric.p50_ms, 50),
    Target("meeting_results", 1, Metric.p50_ms, 250),
    Target("meeting_results", 1, Metric.p99_ms, 250),
    Target("agenda", 1, Metric.p50_ms, 100),
    Target("sheet", 1, Metric.p50_ms, 50),
    # Once a meeting is closed, a judge's pages show the panel's result, which takes the whole
    # meeting's aggregation (a rank needs every finalist's): the staff page's target.
    Target("agenda_closed", 1, Metric.p50_ms, 250),
    Target("sheet_closed", 1, Metric.p50_ms, 250),
    # A signed-in scenario with errors measures a refusal, not the page.
    Target(None, None, Metric.errors, 0),
    Target(None, None, Metric.mb_per_worker, 150),
)
