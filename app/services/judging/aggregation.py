"""A meeting's results: each finalist's scores aggregated over the panel, and the decision.

Only submitted sheets count, and a recused judge's sheet never does (app.services.judging.recusal).
For each (judge, finalist) the judge's weighted score is sum(weight * value) / sum(weight) over
the criteria. A judge's normalised score for a finalist is the z-score of that weighted score
against the judge's own mean and (population) standard deviation over every finalist they
scored in the meeting, so a harsh and a lenient judge weigh the same; a judge who gave every
finalist the same score has no spread and contributes 0. Finalists are ranked per theme by the
mean of their z-scores; means equal to 6 decimals share a rank and are flagged as a tie.

Every figure but the median is computed by the database (weighted scores, each judge's mean
and variance, z-scores, per-finalist means, spread and rank), in one statement, with the same
SQL on SQLite and PostgreSQL: neither has a portable standard deviation or median, so the
variance is avg(x*x) - avg(x)^2, and the median is finished here from each finalist's judges'
weighted scores, which the statement returns as one text per finalist (never every Score, nor
a row per judge). A large edition's meeting (1,000 finalists, 30 judges, 180,000 scores) takes
the database about 0.12 s, so the figures are kept in memory per meeting with a fingerprint of
their inputs (`_FiguresCache`), read first on every request (about 8 ms there): staff and the
whole panel open a closed meeting's results again and again, and they change only with it.
"""

import csv
import io
import math
import sqlite3
import statistics
import threading
import weakref
from collections import OrderedDict, defaultdict
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Engine,
    Float,
    Numeric,
    String,
    and_,
    case,
    cast,
    func,
    not_,
    select,
    true,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement
from sqlmodel import Session, col

from app.errors import Conflict, InvalidInput
from app.forms.text import normalise
from app.i18n import N_, Translator
from app.models import (
    Account,
    ConflictDeclaration,
    Criterion,
    Finalist,
    Meeting,
    MeetingFinalist,
    MeetingStatus,
    Score,
    ScoreSheet,
    Theme,
)
from app.services import audit
from app.services.judging import meetings, recusal
from app.services.text import neutralise

# Below this a variance is rounding noise of avg(x*x) - avg(x)^2: no spread at all.
EPSILON = 1e-9
# A finalist is contested when the judges' weighted scores spread this much of the scale
# (a standard deviation of 1.0 on a 1-5 scale).
CONTESTED_SHARE = 0.25
# Mean z-scores equal to this many decimals are a tie.
TIE_DECIMALS = 6
MINUTES_MAX_CHARS = 6000


@dataclass(frozen=True)
class JudgeScore:
    judge_id: int
    weighted: float
    z: float


@dataclass(frozen=True)
class FinalistResult:
    finalist: Finalist
    theme: Theme
    judges: int
    weighted_mean: float | None
    median: float | None
    stdev: float | None
    minimum: float | None
    maximum: float | None
    mean_z: float | None
    rank: int | None
    tie: bool
    contested: bool
    advanced: bool
    proposed_winner: bool
    # Individual judges' scores: for staff only, never for a judge's page.
    judge_scores: tuple[JudgeScore, ...]


@dataclass(frozen=True)
class ThemeResults:
    theme: Theme
    rows: list[FinalistResult]


@dataclass(frozen=True)
class MeetingResults:
    meeting: Meeting
    themes: list[ThemeResults]
    # The weighted score's scale (the criteria's scales, weighted) and the contested threshold.
    scale_min: float | None
    scale_max: float | None
    contested_from: float | None

    @property
    def rows(self) -> list[FinalistResult]:
        return [row for theme in self.themes for row in theme.rows]


@dataclass(frozen=True)
class PanelSummary:
    """What a judge may see of the panel once a meeting is closed: no individual score."""

    judges: int
    weighted_mean: float
    # The normalised score (mean of the judges' z-scores), which the rank follows.
    normalised: float
    rank: int | None
    tie: bool


def _ensure_sqrt(session: Session) -> None:
    """SQLite has sqrt() only when built with its math functions (Debian's is); otherwise
    give this connection Python's."""
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        return
    raw: Any = connection.connection.driver_connection
    try:
        raw.execute("SELECT sqrt(1.0)").fetchone()
    except sqlite3.OperationalError:
        raw.create_function(
            "sqrt", 1, lambda x: None if x is None or x < 0 else math.sqrt(x), deterministic=True
        )


def _variance(column: Any) -> Any:
    return func.avg(column * column) - func.avg(column) * func.avg(column)


def _stdev(variance: Any) -> Any:
    return case((variance > EPSILON, func.sqrt(variance)), else_=0.0)


def _normalised(meeting: Meeting, weights: dict[int, float]) -> Any:
    """One row per (judge, finalist) that counts: the weighted score and its z-score.

    `weights` are the rubric's (criterion id -> weight), written into the statement: that saves
    a lookup of the criterion for each of a large meeting's 180,000 scores, and a score for a
    criterion of another rubric gets no weight, so it counts in neither sum. A sheet's scores
    are then read from one index alone (ix_score_sheet_id_criterion_id_value)."""
    weight = case(
        {criterion_id: float(w) for criterion_id, w in weights.items()},
        value=col(Score.criterion_id),
    )
    # Each submitted sheet's weighted sum, from the scores alone, grouped by sheet: the one
    # step that reads every score. Grouping by the sheet's number only (and finding judge and
    # finalist afterwards, once per sheet) made PostgreSQL's part a quarter faster.
    per_sheet = (
        select(
            col(Score.sheet_id).label("sheet_id"),
            func.sum(cast(weight, Float) * col(Score.value)).label("total"),
            func.sum(weight).label("weight"),
        )
        .where(
            col(Score.sheet_id).in_(
                select(col(ScoreSheet.id)).where(
                    col(ScoreSheet.meeting_id) == meeting.id,
                    col(ScoreSheet.submitted_at).is_not(None),
                )
            )
        )
        .group_by(col(Score.sheet_id))
        .cte("per_sheet")
    )
    weighted = (
        select(
            col(ScoreSheet.judge_id).label("judge_id"),
            col(ScoreSheet.finalist_id).label("finalist_id"),
            (per_sheet.c.total / per_sheet.c.weight).label("w"),
        )
        .select_from(per_sheet)
        .join(ScoreSheet, col(ScoreSheet.id) == per_sheet.c.sheet_id)
        .join(
            MeetingFinalist,
            and_(
                col(MeetingFinalist.meeting_id) == ScoreSheet.meeting_id,
                col(MeetingFinalist.finalist_id) == ScoreSheet.finalist_id,
            ),
        )
        .where(
            per_sheet.c.weight > 0,
            not_(recusal.recused_clause(ScoreSheet.judge_id, ScoreSheet.finalist_id)),
        )
        .cte("weighted")
    )
    w = weighted.c.w
    judge_stats = (
        select(
            weighted.c.judge_id,
            func.avg(w).label("mean"),
            _variance(w).label("variance"),
        )
        .group_by(weighted.c.judge_id)
        .cte("judge_stats")
    )
    z = case(
        (
            judge_stats.c.variance > EPSILON,
            (w - judge_stats.c.mean) / func.sqrt(judge_stats.c.variance),
        ),
        else_=0.0,
    )
    return (
        select(
            weighted.c.judge_id,
            weighted.c.finalist_id,
            w.label("w"),
            z.label("z"),
        )
        .join(judge_stats, judge_stats.c.judge_id == weighted.c.judge_id)
        .cte("normalised")
    )


class _exact_text(FunctionElement[str]):
    """A float as text that reads back as the very same float."""

    type = String()
    name = "exact_text"
    inherit_cache = True


@compiles(_exact_text, "sqlite")
def _exact_text_sqlite(element: _exact_text, compiler: Any, **kw: Any) -> str:
    # SQLite's own REAL-to-text conversion keeps 15 digits; 17 always read back exactly.
    return f"printf('%.17g', {compiler.process(element.clauses, **kw)})"


@compiles(_exact_text)
def _exact_text_default(element: _exact_text, compiler: Any, **kw: Any) -> str:
    # PostgreSQL (12 and later) writes a double with the fewest digits that read back exactly.
    return f"CAST({compiler.process(element.clauses, **kw)} AS TEXT)"


def _ranked(normalised: Any) -> Any:
    """One row per finalist with scores: the panel's figures and the rank in the finalist's
    theme, and the judges' weighted scores as one text ("3.5,4.25,..."), from
    which `_median` finishes the median: picking it in SQL sorted the meeting's 30,000
    (judge, finalist) rows once more, which took longer than the rest of the ranking."""
    n = normalised.c
    per_finalist = (
        select(
            n.finalist_id,
            func.count().label("judges"),
            func.avg(n.w).label("mean"),
            _variance(n.w).label("variance"),
            func.min(n.w).label("minimum"),
            func.max(n.w).label("maximum"),
            func.avg(n.z).label("mean_z"),
            func.aggregate_strings(_exact_text(n.w), ",").label("weighted"),
        )
        .group_by(n.finalist_id)
        .cte("per_finalist")
    )
    p = per_finalist.c
    # PostgreSQL rounds only numerics to a number of places; SQLite takes the cast as a no-op.
    rounded = func.round(cast(p.mean_z, Numeric), TIE_DECIMALS)
    theme = col(Finalist.theme_id)
    return (
        select(
            p.finalist_id,
            p.judges,
            p.mean,
            _stdev(p.variance).label("stdev"),
            p.minimum,
            p.maximum,
            p.mean_z,
            func.rank().over(partition_by=theme, order_by=rounded.desc()).label("rank"),
            func.count().over(partition_by=[theme, rounded]).label("tied"),
            p.weighted,
        )
        .join(Finalist, col(Finalist.id) == p.finalist_id)
        .cte("ranked")
    )


def _median(weighted: str) -> float:
    """The median of the judges' weighted scores, from `_ranked`'s text of them."""
    return statistics.median(float(value) for value in weighted.split(","))


def _criteria(session: Session, campaign_id: int) -> list[tuple[int, float, int, int]]:
    """The rubric: (id, weight, scale_min, scale_max) of each criterion."""
    return [
        (int(i), float(weight), int(low), int(high))
        for i, weight, low, high in session.execute(
            select(
                col(Criterion.id),
                col(Criterion.weight),
                col(Criterion.scale_min),
                col(Criterion.scale_max),
            ).where(col(Criterion.campaign_id) == campaign_id)
        )
    ]


def _scale(criteria: list[tuple[int, float, int, int]]) -> tuple[float | None, float | None]:
    """The weighted score's scale: the criteria's scales, weighted."""
    total = sum(weight for _, weight, _, _ in criteria)
    if not total:
        return None, None
    low = sum(weight * low for _, weight, low, _ in criteria) / total
    high = sum(weight * high for _, weight, _, high in criteria) / total
    return low, high


@dataclass(frozen=True)
class _Figures:
    """The panel's figures for one finalist with scores."""

    judges: int
    mean: float
    median: float
    stdev: float
    minimum: float
    maximum: float
    mean_z: float
    rank: int
    tie: bool


def _compute_figures(
    session: Session, meeting: Meeting, weights: dict[int, float]
) -> dict[int, _Figures]:
    """Per finalist with scores: the panel's figures, by finalist id, in one statement."""
    _ensure_sqrt(session)
    ranked = _ranked(_normalised(meeting, weights))
    return {
        int(row.finalist_id): _Figures(
            judges=int(row.judges),
            mean=float(row.mean),
            median=_median(row.weighted),
            stdev=float(row.stdev),
            minimum=float(row.minimum),
            maximum=float(row.maximum),
            mean_z=float(row.mean_z),
            rank=int(row.rank),
            tie=row.tied > 1,
        )
        for row in session.execute(select(ranked))
    }


def _fingerprint(session: Session, meeting_id: int, weights: dict[int, float]) -> tuple[Any, ...]:
    """What the figures are computed from, summed up so that any change to it changes this:
    the rubric's weights (frozen once scored); the meeting's sheets (a save always adds 1 to
    its sheet's `version`, a new sheet adds to the count and the highest id); the conflicts
    that recuse (one declared, withdrawn or edited moves the count, the ids' sum or the latest
    `updated_at`); and the meeting's scope. A finalist's theme, which partitions the ranks, is
    set when the finalist is made and never changes. Each is read from an index or a small
    table: about 10 ms for the large edition's meeting, against 120 ms for the figures."""
    sheets = (
        select(
            func.count().label("sheets"),
            func.sum(col(ScoreSheet.version)).label("versions"),
            func.max(col(ScoreSheet.id)).label("last_sheet"),
        )
        .where(col(ScoreSheet.meeting_id) == meeting_id)
        .subquery()
    )
    conflicts = (
        select(
            func.count().label("conflicts"),
            func.sum(col(ConflictDeclaration.id)).label("conflict_ids"),
            func.max(col(ConflictDeclaration.updated_at)).label("last_change"),
        )
        .where(col(ConflictDeclaration.has_conflict).is_(True))
        .subquery()
    )
    scope = (
        select(
            func.count().label("finalists"),
            func.sum(col(MeetingFinalist.finalist_id)).label("finalist_ids"),
        )
        .where(col(MeetingFinalist.meeting_id) == meeting_id)
        .subquery()
    )
    # Three one-row summaries side by side.
    row = session.execute(
        select(sheets, conflicts, scope).select_from(
            sheets.join(conflicts, true()).join(scope, true())
        )
    ).one()
    return (tuple(sorted(weights.items())), *(str(value) for value in row))


class _FiguresCache:
    """The last figures computed for a few meetings, per database engine, each kept with the
    fingerprint of what they were computed from. A closed meeting's figures, which staff and
    every judge of the panel open, then cost the fingerprint's 10 ms instead of the full
    computation; any change to their inputs, in any process, changes the fingerprint, and the
    next request computes them again."""

    SIZE = 8

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._kept: weakref.WeakKeyDictionary[
            Engine, OrderedDict[int, tuple[tuple[Any, ...], dict[int, _Figures]]]
        ] = weakref.WeakKeyDictionary()

    def get(
        self, engine: Engine, meeting_id: int, fingerprint: tuple[Any, ...]
    ) -> dict[int, _Figures] | None:
        with self._lock:
            meetings = self._kept.get(engine)
            kept = meetings.get(meeting_id) if meetings is not None else None
            return kept[1] if kept is not None and kept[0] == fingerprint else None

    def put(
        self,
        engine: Engine,
        meeting_id: int,
        fingerprint: tuple[Any, ...],
        figures: dict[int, _Figures],
    ) -> None:
        with self._lock:
            kept = self._kept.setdefault(engine, OrderedDict())
            kept[meeting_id] = (fingerprint, figures)
            kept.move_to_end(meeting_id)
            while len(kept) > self.SIZE:
                kept.popitem(last=False)


_cache = _FiguresCache()


def _figures(session: Session, meeting: Meeting, weights: dict[int, float]) -> dict[int, _Figures]:
    """The panel's figures per finalist with scores, from the cache while their inputs are
    unchanged. The fingerprint is read first: figures computed after a change that lands in
    between are kept under the older fingerprint, which no later request matches."""
    assert meeting.id is not None
    if not weights:
        return {}
    bind = session.get_bind()
    engine = bind if isinstance(bind, Engine) else bind.engine
    fingerprint = _fingerprint(session, meeting.id, weights)
    figures = _cache.get(engine, meeting.id, fingerprint)
    if figures is None:
        figures = _compute_figures(session, meeting, weights)
        _cache.put(engine, meeting.id, fingerprint, figures)
    return figures


def compute_results(
    session: Session, *, meeting: Meeting, judge_scores: bool = True
) -> MeetingResults:
    """Every finalist of the meeting with the panel's figures. With `judge_scores`, each row
    also carries the individual judges' weighted and z-scores, which take a second pass over
    the scores; the pages, which do not show them, go without."""
    assert meeting.id is not None
    criteria = _criteria(session, meeting.campaign_id)
    weights = {criterion_id: weight for criterion_id, weight, _, _ in criteria}
    figures = _figures(session, meeting, weights)
    # The scope on its own: joined to the figures' statement, the finalists and themes made the
    # database rework the figures (a large meeting took a fifth longer).
    scope = session.execute(
        select(
            Finalist,
            Theme,
            col(MeetingFinalist.advanced),
            col(MeetingFinalist.proposed_winner),
        )
        .join(MeetingFinalist, col(MeetingFinalist.finalist_id) == Finalist.id)
        .join(Theme, col(Theme.id) == Finalist.theme_id)
        .where(col(MeetingFinalist.meeting_id) == meeting.id)
        .order_by(col(Theme.position), col(Theme.id), col(Finalist.public_name), col(Finalist.id))
    ).all()
    per_judge: dict[int, list[JudgeScore]] = defaultdict(list)
    if judge_scores and weights:
        _ensure_sqrt(session)
        n = _normalised(meeting, weights).c
        for finalist_id, judge_id, w, z in session.execute(
            select(n.finalist_id, n.judge_id, n.w, n.z).order_by(n.finalist_id, n.judge_id)
        ):
            per_judge[finalist_id].append(
                JudgeScore(judge_id=judge_id, weighted=float(w), z=float(z))
            )

    scale_min, scale_max = _scale(criteria)
    contested_from = (
        None
        if scale_min is None or scale_max is None
        else CONTESTED_SHARE * (scale_max - scale_min)
    )
    themes: dict[int, ThemeResults] = {}
    for finalist, theme, advanced, proposed_winner in scope:
        found = figures.get(finalist.id)
        spread = found.stdev if found else None
        result = FinalistResult(
            finalist=finalist,
            theme=theme,
            judges=found.judges if found else 0,
            weighted_mean=found.mean if found else None,
            median=found.median if found else None,
            stdev=spread,
            minimum=found.minimum if found else None,
            maximum=found.maximum if found else None,
            mean_z=found.mean_z if found else None,
            rank=found.rank if found else None,
            tie=bool(found and found.tie),
            contested=(
                spread is not None
                and contested_from is not None
                and contested_from > 0
                and spread >= contested_from - EPSILON
            ),
            advanced=bool(advanced),
            proposed_winner=bool(proposed_winner),
            judge_scores=tuple(per_judge.get(finalist.id, ())),
        )
        themes.setdefault(theme.id, ThemeResults(theme=theme, rows=[])).rows.append(result)
    for group in themes.values():
        # By rank, finalists without one last; a stable sort keeps the database's order of
        # names (its collation) among equal ranks.
        group.rows.sort(key=lambda row: (row.rank is None, row.rank or 0))
    return MeetingResults(
        meeting=meeting,
        themes=list(themes.values()),
        scale_min=scale_min,
        scale_max=scale_max,
        contested_from=contested_from,
    )


def meeting_results(session: Session, *, meeting_id: int) -> MeetingResults:
    """The staff page and its CSV, which show no individual judge's score."""
    return compute_results(
        session, meeting=meetings.get_meeting(session, meeting_id=meeting_id), judge_scores=False
    )


def panel_summaries(session: Session, *, meeting: Meeting) -> dict[int, PanelSummary]:
    """Per finalist with scores: the aggregate a judge may see once the meeting is closed,
    with no finalist loaded. The caller leaves out finalists the judge is recused from."""
    weights = {i: weight for i, weight, _, _ in _criteria(session, meeting.campaign_id)}
    return {
        finalist: PanelSummary(
            judges=found.judges,
            weighted_mean=found.mean,
            normalised=found.mean_z,
            rank=found.rank,
            tie=found.tie,
        )
        for finalist, found in _figures(session, meeting, weights).items()
    }


# -- CSV ------------------------------------------------------------------------------------

CSV_HEADERS = (
    N_("Theme"),
    N_("Rank"),
    N_("Tie"),
    N_("Finalist"),
    N_("Judges who scored"),
    N_("Weighted mean"),
    N_("Median"),
    N_("Standard deviation"),
    N_("Lowest"),
    N_("Highest"),
    N_("Mean z-score"),
    N_("Contested"),
    N_("Advances"),
    N_("Proposed winner"),
)


def _number(value: float | None) -> float | str:
    # Numbers stay numbers (a negative z-score is not a formula); only text is neutralised.
    return "" if value is None else round(value, 6)


def results_csv(results: MeetingResults, t: Translator) -> bytes:
    """UTF-8 with a byte-order mark, which Excel needs to read accents right."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([neutralise(t(header)) for header in CSV_HEADERS])
    yes, no = t("Yes"), t("No")
    for row in results.rows:
        writer.writerow(
            [
                neutralise(t.pick(row.theme.name_es, row.theme.name_en)),
                "" if row.rank is None else row.rank,
                yes if row.tie else no,
                neutralise(row.finalist.public_name),
                row.judges,
                _number(row.weighted_mean),
                _number(row.median),
                _number(row.stdev),
                _number(row.minimum),
                _number(row.maximum),
                _number(row.mean_z),
                yes if row.contested else no,
                yes if row.advanced else no,
                yes if row.proposed_winner else no,
            ]
        )
    return ("\ufeff" + buffer.getvalue()).encode()


# -- the meeting's decision -----------------------------------------------------------------


class DecisionInvalid(InvalidInput):
    def __init__(self, fields: dict[str, tuple[str, dict[str, object]]]) -> None:
        super().__init__()
        self.fields = fields


def record_decision(
    session: Session,
    *,
    meeting_id: int,
    actor: Account,
    advanced: Collection[int],
    proposed_winners: Collection[int],
    minutes: str,
) -> Meeting:
    """Which finalists advance to the next meeting or are proposed as winners, and the minutes;
    recorded once the meeting is closed, so no score can change under the decision."""
    meeting = meetings.get_meeting(session, meeting_id=meeting_id, for_update=True)
    if meeting.status is not MeetingStatus.closed:
        raise Conflict(N_("The decision is recorded once the meeting is closed."))
    scope = {
        row.finalist_id: row
        for row in session.execute(
            select(MeetingFinalist).where(col(MeetingFinalist.meeting_id) == meeting.id)
        ).scalars()
    }
    fields: dict[str, tuple[str, dict[str, object]]] = {}
    if not set(advanced) <= scope.keys() or not set(proposed_winners) <= scope.keys():
        fields["decision"] = (N_("Choose only finalists of this meeting."), {})
    try:
        cleaned = normalise(minutes)
    except ValueError:
        fields["minutes"] = (N_("This field contains characters that are not allowed."), {})
        cleaned = minutes
    assert isinstance(cleaned, str)
    if len(cleaned) > MINUTES_MAX_CHARS:
        fields["minutes"] = (
            N_("Write at most %(max_length)s characters."),
            {"max_length": MINUTES_MAX_CHARS},
        )
    if fields:
        raise DecisionInvalid(fields)

    def state() -> dict[str, Any]:
        return {
            "advanced": sorted(i for i, row in scope.items() if row.advanced),
            "proposed_winner": sorted(i for i, row in scope.items() if row.proposed_winner),
            "minutes": meeting.minutes,
        }

    before = state()
    for finalist_id, row in scope.items():
        row.advanced = finalist_id in advanced
        row.proposed_winner = finalist_id in proposed_winners
        session.add(row)
    meeting.minutes = cleaned
    session.add(meeting)
    session.flush()
    after = state()
    audit.record(
        session,
        actor=actor,
        action="meeting.decision",
        object_type="meeting",
        object_id=meeting.id,
        before=before,
        after=after,
    )
    return meeting
