"""A meeting's results: each finalist's scores aggregated over the panel, and the decision.

Only submitted sheets count, and a recused judge's sheet never does (app.services.recusal).
For each (judge, finalist) the judge's weighted score is sum(weight * value) / sum(weight) over
the criteria. A judge's normalised score for a finalist is the z-score of that weighted score
against the judge's own mean and (population) standard deviation over every finalist they
scored in the meeting, so a harsh and a lenient judge weigh the same; a judge who gave every
finalist the same score has no spread and contributes 0. Finalists are ranked per theme by the
mean of their z-scores; means equal to 6 decimals share a rank and are flagged as a tie.

Every figure but the median is computed by the database (weighted scores, each judge's mean
and variance, z-scores, per-finalist means, spread and rank), with the same SQL on SQLite and
PostgreSQL: neither has a portable standard deviation or median, so the variance is
avg(x*x) - avg(x)^2, and the median is finished here from the per-(judge, finalist) rows
(judges x finalists rows, never every Score).
"""

import csv
import io
import math
import sqlite3
import statistics
from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Float, Numeric, and_, case, cast, func, not_, select
from sqlmodel import Session, col

from app.errors import Conflict, InvalidInput
from app.forms.text import normalise
from app.i18n import N_, Translator
from app.models import (
    Account,
    Criterion,
    Finalist,
    Meeting,
    MeetingFinalist,
    MeetingStatus,
    Score,
    ScoreSheet,
    Theme,
)
from app.services import audit, meetings, recusal

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


def _normalised(meeting: Meeting) -> Any:
    """One row per (judge, finalist) that counts: the weighted score and its z-score."""
    total_weight = func.sum(col(Criterion.weight))
    weighted = (
        select(
            col(ScoreSheet.judge_id).label("judge_id"),
            col(ScoreSheet.finalist_id).label("finalist_id"),
            col(Finalist.theme_id).label("theme_id"),
            (
                func.sum(cast(col(Criterion.weight), Float) * col(Score.value))
                / func.nullif(total_weight, 0)
            ).label("w"),
        )
        .select_from(ScoreSheet)
        .join(Score, col(Score.sheet_id) == ScoreSheet.id)
        .join(Criterion, col(Criterion.id) == Score.criterion_id)
        .join(
            MeetingFinalist,
            and_(
                col(MeetingFinalist.meeting_id) == ScoreSheet.meeting_id,
                col(MeetingFinalist.finalist_id) == ScoreSheet.finalist_id,
            ),
        )
        .join(Finalist, col(Finalist.id) == ScoreSheet.finalist_id)
        .where(
            col(ScoreSheet.meeting_id) == meeting.id,
            col(ScoreSheet.submitted_at).is_not(None),
            col(Criterion.campaign_id) == meeting.campaign_id,
            not_(recusal.recused_clause(ScoreSheet.judge_id, ScoreSheet.finalist_id)),
        )
        .group_by(col(ScoreSheet.judge_id), col(ScoreSheet.finalist_id), col(Finalist.theme_id))
        .having(total_weight > 0)
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
            weighted.c.theme_id,
            w.label("w"),
            z.label("z"),
        )
        .join(judge_stats, judge_stats.c.judge_id == weighted.c.judge_id)
        .cte("normalised")
    )


def _ranked(normalised: Any) -> Any:
    n = normalised.c
    per_finalist = (
        select(
            n.finalist_id,
            n.theme_id,
            func.count().label("judges"),
            func.avg(n.w).label("mean"),
            _variance(n.w).label("variance"),
            func.min(n.w).label("minimum"),
            func.max(n.w).label("maximum"),
            func.avg(n.z).label("mean_z"),
        )
        .group_by(n.finalist_id, n.theme_id)
        .cte("per_finalist")
    )
    p = per_finalist.c
    # PostgreSQL rounds only numerics to a number of places; SQLite takes the cast as a no-op.
    rounded = func.round(cast(p.mean_z, Numeric), TIE_DECIMALS)
    return select(
        p.finalist_id,
        p.judges,
        p.mean,
        _stdev(p.variance).label("stdev"),
        p.minimum,
        p.maximum,
        p.mean_z,
        func.rank().over(partition_by=p.theme_id, order_by=rounded.desc()).label("rank"),
        func.count().over(partition_by=[p.theme_id, rounded]).label("tied"),
    ).cte("ranked")


def _scale(session: Session, campaign_id: int) -> tuple[float | None, float | None]:
    weight = col(Criterion.weight)
    total = func.nullif(func.sum(weight), 0)
    low, high = session.execute(
        select(
            func.sum(weight * col(Criterion.scale_min)) / total,
            func.sum(weight * col(Criterion.scale_max)) / total,
        ).where(col(Criterion.campaign_id) == campaign_id)
    ).one()
    return (None if low is None else float(low)), (None if high is None else float(high))


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def compute_results(session: Session, *, meeting: Meeting) -> MeetingResults:
    assert meeting.id is not None
    _ensure_sqrt(session)
    normalised = _normalised(meeting)
    ranked = _ranked(normalised)
    rows = session.execute(
        select(
            Finalist,
            Theme,
            col(MeetingFinalist.advanced),
            col(MeetingFinalist.proposed_winner),
            ranked.c.judges,
            ranked.c.mean,
            ranked.c.stdev,
            ranked.c.minimum,
            ranked.c.maximum,
            ranked.c.mean_z,
            ranked.c.rank,
            ranked.c.tied,
        )
        .join(MeetingFinalist, col(MeetingFinalist.finalist_id) == Finalist.id)
        .join(Theme, col(Theme.id) == Finalist.theme_id)
        .outerjoin(ranked, ranked.c.finalist_id == Finalist.id)
        .where(col(MeetingFinalist.meeting_id) == meeting.id)
        .order_by(
            col(Theme.position),
            col(Theme.id),
            ranked.c.rank.is_(None),
            ranked.c.rank,
            col(Finalist.public_name),
            col(Finalist.id),
        )
    ).all()
    per_judge: dict[int, list[JudgeScore]] = defaultdict(list)
    n = normalised.c
    for finalist_id, judge_id, w, z in session.execute(
        select(n.finalist_id, n.judge_id, n.w, n.z).order_by(n.finalist_id, n.judge_id)
    ):
        per_judge[finalist_id].append(JudgeScore(judge_id=judge_id, weighted=float(w), z=float(z)))

    scale_min, scale_max = _scale(session, meeting.campaign_id)
    contested_from = (
        None
        if scale_min is None or scale_max is None
        else CONTESTED_SHARE * (scale_max - scale_min)
    )
    themes: dict[int, ThemeResults] = {}
    for (
        finalist,
        theme,
        advanced,
        proposed_winner,
        judges,
        mean,
        stdev,
        minimum,
        maximum,
        mean_z,
        rank,
        tied,
    ) in rows:
        scores = tuple(per_judge.get(finalist.id, ()))
        spread = _float(stdev)
        result = FinalistResult(
            finalist=finalist,
            theme=theme,
            judges=int(judges or 0),
            weighted_mean=_float(mean),
            median=statistics.median(s.weighted for s in scores) if scores else None,
            stdev=spread,
            minimum=_float(minimum),
            maximum=_float(maximum),
            mean_z=_float(mean_z),
            rank=None if rank is None else int(rank),
            tie=bool(tied and tied > 1),
            contested=(
                spread is not None
                and contested_from is not None
                and contested_from > 0
                and spread >= contested_from - EPSILON
            ),
            advanced=bool(advanced),
            proposed_winner=bool(proposed_winner),
            judge_scores=scores,
        )
        themes.setdefault(theme.id, ThemeResults(theme=theme, rows=[])).rows.append(result)
    return MeetingResults(
        meeting=meeting,
        themes=list(themes.values()),
        scale_min=scale_min,
        scale_max=scale_max,
        contested_from=contested_from,
    )


def meeting_results(session: Session, *, meeting_id: int) -> MeetingResults:
    return compute_results(session, meeting=meetings.get_meeting(session, meeting_id=meeting_id))


def panel_summaries(session: Session, *, meeting: Meeting) -> dict[int, PanelSummary]:
    """Per finalist with scores: the aggregate a judge may see once the meeting is closed.
    The caller leaves out finalists the judge is recused from."""
    return {
        row.finalist.id: PanelSummary(
            judges=row.judges, weighted_mean=row.weighted_mean, rank=row.rank, tie=row.tie
        )
        for row in compute_results(session, meeting=meeting).rows
        if row.finalist.id is not None and row.weighted_mean is not None
    }


# -- CSV ------------------------------------------------------------------------------------

# What a spreadsheet reads as the start of a formula (OWASP "CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

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


def neutralise(value: str) -> str:
    return "'" + value if value.startswith(FORMULA_STARTS) else value


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
