"""What the benchmark measures: scenarios, the baseline figure each is compared with, and the
targets of issue 7. A new scenario is one entry in SCENARIOS (and a target, if it has one)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


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
class Scenario:
    key: str
    label: str
    server: Server
    # Exactly one of `path` (one GET, repeated) and `flow` is set.
    path: str | None = None
    flow: Flow | None = None
    # The baseline scenario whose figures are this one's 100%.
    compare_to: str | None = None
    # The table that must gain one row per acknowledged flow, checked after each cell.
    stored_in: str | None = None

    @property
    def unit(self) -> str:
        return "flows/s" if self.flow else "req/s"


MB = 1024 * 1024

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
)

BY_KEY = {scenario.key: scenario for scenario in SCENARIOS}


class Metric(StrEnum):
    ratio = "x baseline"  # throughput as a share of the baseline's equivalent
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
    Target(None, None, Metric.mb_per_worker, 150),
)
