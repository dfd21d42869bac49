"""The open-data datasets of an edition (issue 16), built from the database: participation
(nominations by theme, state, government level, gender, and by week), and, once public, the
finalists, the path to the winners, the rubric, the meetings and the aggregated scores.

Every count of nominations goes through small-cell suppression (`suppress`): a count from 1 to
OPEN_DATA_MIN_COUNT - 1 is written empty with its flag set, and complementary cells are hidden
too, so that no hidden count can be recovered by subtraction from a total, within a file or
across the files of one release. docs/open-data.md explains the method.

Nominators never appear here; nominees only as announced finalists, through the one public
profile (`app.services.results.shared.profile`) the public pages show.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func
from sqlalchemy import select as select_columns
from sqlmodel import Session, col, select

from app.errors import NotFound
from app.models import (
    Campaign,
    Candidate,
    Criterion,
    Finalist,
    Meeting,
    MeetingFinalist,
    MeetingStatus,
    Nomination,
    NominationStatus,
    Score,
    ScoreSheet,
    Theme,
)
from app.models.judging import ConflictDeclaration
from app.services.judging.aggregation import compute_results
from app.services.results.public import public_revision
from app.services.results.shared import themes_of
from app.services.results.winners import finalists_content

# Mexico's 32 states by the ISO 3166-2:MX code the nomination form stores, with INEGI's
# two-digit state code (cve_ent, from its Marco Geoestadístico: 01 Aguascalientes … 32
# Zacatecas, in INEGI's alphabetical order) and INEGI's name, so the files join the country's
# other statistics.
INEGI_STATES: dict[str, tuple[str, str]] = {
    "AGU": ("01", "Aguascalientes"),
    "BCN": ("02", "Baja California"),
    "BCS": ("03", "Baja California Sur"),
    "CAM": ("04", "Campeche"),
    "COA": ("05", "Coahuila de Zaragoza"),
    "COL": ("06", "Colima"),
    "CHP": ("07", "Chiapas"),
    "CHH": ("08", "Chihuahua"),
    "CMX": ("09", "Ciudad de México"),
    "DUR": ("10", "Durango"),
    "GUA": ("11", "Guanajuato"),
    "GRO": ("12", "Guerrero"),
    "HID": ("13", "Hidalgo"),
    "JAL": ("14", "Jalisco"),
    "MEX": ("15", "México"),
    "MIC": ("16", "Michoacán de Ocampo"),
    "MOR": ("17", "Morelos"),
    "NAY": ("18", "Nayarit"),
    "NLE": ("19", "Nuevo León"),
    "OAX": ("20", "Oaxaca"),
    "PUE": ("21", "Puebla"),
    "QUE": ("22", "Querétaro"),
    "ROO": ("23", "Quintana Roo"),
    "SLP": ("24", "San Luis Potosí"),
    "SIN": ("25", "Sinaloa"),
    "SON": ("26", "Sonora"),
    "TAB": ("27", "Tabasco"),
    "TAM": ("28", "Tamaulipas"),
    "TLA": ("29", "Tlaxcala"),
    "VER": ("30", "Veracruz de Ignacio de la Llave"),
    "YUC": ("31", "Yucatán"),
    "ZAC": ("32", "Zacatecas"),
}
UNKNOWN_STATE = ("", "")
ALL = "all"
# A finalist's aggregated scores are published only when at least this many judges scored
# them: with fewer, a mean is (nearly) one judge's own score.
MIN_JUDGES_FOR_SCORES = 3


@dataclass(frozen=True)
class Dimension:
    """A column of the participation file: a nomination's field and the values it may hold."""

    name: str
    column: Any


# The dimensions of the detailed participation file besides theme and state, in its column
# order. A new one is one entry here and one in the data dictionary.
PARTICIPATION_DIMENSIONS: tuple[Dimension, ...] = (
    Dimension("government_level", col(Nomination.government_level)),
    Dimension("nominee_gender", col(Nomination.nominee_gender)),
    Dimension("channel", col(Nomination.channel)),
)


# --- suppression -------------------------------------------------------------------------


Ref = tuple[Hashable, ...]


@dataclass
class CountTable:
    """Every count of nominations one release publishes, and how they add up: each relation
    says a published total equals the sum of published parts."""

    values: dict[Ref, int] = field(default_factory=dict)
    relations: list[tuple[Ref, list[Ref]]] = field(default_factory=list)
    hidden: set[Ref] = field(default_factory=set)

    def add(self, ref: Ref, value: int) -> Ref:
        self.values[ref] = self.values.get(ref, 0) + value
        return ref

    def relate(self, total: Ref, parts: Iterable[Ref]) -> None:
        self.relations.append((total, [p for p in parts if self.values.get(p, 0) > 0]))

    def shown(self, ref: Ref) -> int | None:
        return None if ref in self.hidden else self.values.get(ref, 0)


def suppress(table: CountTable, *, min_count: int) -> None:
    """Primary suppression of every count from 1 to min_count - 1, then complementary
    suppression until, in every relation: a shown total has no hidden part, or at least two
    whose sum is min_count or more; a hidden total has at least one hidden part."""
    table.hidden = {ref for ref, value in table.values.items() if 0 < value < min_count}
    changed = True
    while changed:
        changed = False
        for total, parts in table.relations:
            hidden_parts = [p for p in parts if p in table.hidden]
            if total in table.hidden:
                if hidden_parts or not parts:
                    continue
            elif not hidden_parts or (
                len(hidden_parts) >= 2 and sum(table.values[p] for p in hidden_parts) >= min_count
            ):
                continue
            shown_parts = sorted(
                (table.values[p], str(p), p) for p in parts if p not in table.hidden
            )
            if shown_parts:
                table.hidden.add(shown_parts[0][2])
            else:
                table.hidden.add(total)
            changed = True


# --- datasets ------------------------------------------------------------------------------


@dataclass
class Dataset:
    name: str
    columns: list[str]
    rows: list[dict[str, Any]]


def _state(code: str) -> tuple[str, str]:
    return INEGI_STATES.get(code, UNKNOWN_STATE)


def _week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _day(value: object) -> date:
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def _call_weeks(campaign: Campaign, seen: Iterable[date]) -> list[date]:
    """Every week of the call (Monday first), and any other week a nomination came in."""
    weeks = set(seen)
    week = _week_start(campaign.nominations_open_on)
    last = _week_start(campaign.nominations_close_on)
    while week <= last:
        weeks.add(week)
        week += timedelta(days=7)
    return sorted(weeks)


def _flagged(value: int | None) -> tuple[int | None, str]:
    return value, "yes" if value is None else "no"


def participation_datasets(
    session: Session,
    *,
    campaign: Campaign,
    themes: list[Theme],
    min_count: int | None,
    table: CountTable,
) -> list[Dataset]:
    """Participation by theme, state, government level, gender (and each dimension), by
    theme and state, by theme, and by week; `min_count` None leaves every count in (staff)."""
    slugs = {theme.id: theme.slug for theme in themes}
    counted = (
        col(Nomination.theme_id).in_(list(slugs)),
        col(Nomination.status) != NominationStatus.withdrawn,
    )
    dims = [d.column for d in PARTICIPATION_DIMENSIONS]
    detail = session.execute(
        select_columns(col(Nomination.theme_id), col(Nomination.state), *dims, func.count())
        .where(*counted)
        .group_by(col(Nomination.theme_id), col(Nomination.state), *dims)
    ).all()
    day = func.date(col(Nomination.submitted_at))
    daily = session.execute(
        select(col(Nomination.theme_id), day, func.count())
        .where(*counted)
        .group_by(col(Nomination.theme_id), day)
    ).all()

    by_theme_state: dict[tuple[str, str], list[Ref]] = defaultdict(list)
    detail_rows: list[tuple[tuple[str, ...], Ref]] = []
    for row in detail:
        theme_id, state, *values, n = row
        slug = slugs[theme_id]
        dim_values = tuple("" if v is None else str(getattr(v, "value", v)) for v in values)
        ref = table.add(("detail", slug, state, *dim_values), int(n))
        by_theme_state[(slug, state)].append(ref)
        detail_rows.append(((slug, state, *dim_values), ref))
        table.add(("state", slug, state), int(n))
        table.add(("state", ALL, state), int(n))
        table.add(("theme", slug), int(n))
        table.add(("theme", ALL), int(n))
    weekly: dict[tuple[str, date], int] = defaultdict(int)
    for theme_id, when, n in daily:
        week = _week_start(_day(when))
        weekly[(slugs[theme_id], week)] += int(n)
        weekly[(ALL, week)] += int(n)
    weeks = _call_weeks(campaign, (week for _, week in weekly))
    theme_keys = [*(theme.slug for theme in themes), ALL]
    for key in theme_keys:
        for week in weeks:
            table.add(("week", key, week), weekly.get((key, week), 0))

    states = sorted({state for _, state in by_theme_state})
    for (slug, state), parts in by_theme_state.items():
        table.relate(("state", slug, state), parts)
    for state in states:
        table.relate(("state", ALL, state), [("state", t.slug, state) for t in themes])
    for key in theme_keys:
        table.relate(("theme", key), [("state", key, state) for state in states])
        table.relate(("theme", key), [("week", key, week) for week in weeks])
    table.relate(("theme", ALL), [("theme", t.slug) for t in themes])
    for week in weeks:
        table.relate(("week", ALL, week), [("week", t.slug, week) for t in themes])
    if min_count is not None:
        suppress(table, min_count=min_count)

    year = campaign.year
    dim_names = [d.name for d in PARTICIPATION_DIMENSIONS]
    participation = Dataset(
        "participation",
        ["year", "theme", "cve_ent", "state", *dim_names, "nominations", "nominations_suppressed"],
        [],
    )
    for key_values, ref in sorted(detail_rows, key=lambda r: r[0]):
        slug, state, *row_dims = key_values
        cve, name = _state(state)
        shown, flag = _flagged(table.shown(ref))
        participation.rows.append(
            {
                "year": year,
                "theme": slug,
                "cve_ent": cve,
                "state": name,
                **dict(zip(dim_names, row_dims, strict=True)),
                "nominations": shown,
                "nominations_suppressed": flag,
            }
        )
    by_state = Dataset(
        "participation_by_state",
        ["year", "theme", "cve_ent", "state", "nominations", "nominations_suppressed"],
        [],
    )
    for key in theme_keys:
        for state in sorted(states, key=lambda s: _state(s)[0]):
            ref = ("state", key, state)
            if table.values.get(ref, 0) == 0:
                continue
            cve, name = _state(state)
            value, flag = _flagged(table.shown(ref))
            by_state.rows.append(
                {
                    "year": year,
                    "theme": key,
                    "cve_ent": cve,
                    "state": name,
                    "nominations": value,
                    "nominations_suppressed": flag,
                }
            )
    by_theme = Dataset(
        "participation_by_theme", ["year", "theme", "nominations", "nominations_suppressed"], []
    )
    for key in theme_keys:
        value, flag = _flagged(table.shown(("theme", key)))
        by_theme.rows.append(
            {"year": year, "theme": key, "nominations": value, "nominations_suppressed": flag}
        )
    by_week = Dataset(
        "participation_by_week",
        ["year", "theme", "week_start", "nominations", "nominations_suppressed"],
        [],
    )
    for key in theme_keys:
        for week in weeks:
            value, flag = _flagged(table.shown(("week", key, week)))
            by_week.rows.append(
                {
                    "year": year,
                    "theme": key,
                    "week_start": week.isoformat(),
                    "nominations": value,
                    "nominations_suppressed": flag,
                }
            )
    return [participation, by_theme, by_state, by_week]


def finalists_dataset(
    session: Session, *, campaign: Campaign, published: dict[str, Any] | None
) -> Dataset | None:
    """Announced finalists with their public profile (frozen in the published results once
    there are any), winners flagged once published; None before the announcement."""
    if published is None and campaign.finalists_announced_at is None:
        return None
    content = published or finalists_content(session, campaign=campaign)
    dataset = Dataset(
        "finalists",
        [
            "year",
            "theme",
            "finalist_id",
            "public_name",
            "public_position",
            "public_institution",
            "citation_es",
            "citation_en",
            "winner",
        ],
        [],
    )
    for theme in content["themes"]:
        winners = {w["finalist_id"] for w in theme.get("winners", [])}
        for entry in theme["finalists"]:
            dataset.rows.append(
                {
                    "year": campaign.year,
                    "theme": theme["slug"],
                    "finalist_id": entry["finalist_id"],
                    "public_name": entry["public_name"],
                    "public_position": entry["public_position"],
                    "public_institution": entry["public_institution"],
                    "citation_es": entry["citation_es"],
                    "citation_en": entry["citation_en"],
                    "winner": ("yes" if entry["finalist_id"] in winners else "no")
                    if published is not None
                    else "",
                }
            )
    return dataset


def _suppressed(value: int, min_count: int | None) -> tuple[int | None, str]:
    if min_count is not None and 0 < value < min_count:
        return None, "yes"
    return value, "no"


def add_stage_counts(session: Session, *, table: CountTable, themes: list[Theme]) -> None:
    """Eligible nominations and candidates per theme and in all, for the path to the winners:
    counted with participation, so one suppression covers every file of the release."""
    theme_ids = [t.id for t in themes]
    eligible = dict(
        session.execute(
            select(col(Theme.slug), func.count())
            .join(Nomination, col(Nomination.theme_id) == col(Theme.id))
            .where(
                col(Theme.id).in_(theme_ids),
                col(Nomination.status) == NominationStatus.eligible,
            )
            .group_by(col(Theme.slug))
        ).all()
    )
    candidates = dict(
        session.execute(
            select(col(Theme.slug), func.count())
            .join(Candidate, col(Candidate.theme_id) == col(Theme.id))
            .where(col(Theme.id).in_(theme_ids))
            .group_by(col(Theme.slug))
        ).all()
    )
    for stage, found in (("eligible", eligible), ("candidates", candidates)):
        for theme in themes:
            table.add((stage, theme.slug), int(found.get(theme.slug, 0)))
            table.add((stage, ALL), int(found.get(theme.slug, 0)))
        table.relate((stage, ALL), [(stage, t.slug) for t in themes])


def results_datasets(
    session: Session,
    *,
    campaign: Campaign,
    themes: list[Theme],
    published: dict[str, Any],
    counts: CountTable,
    min_count: int | None,
) -> list[Dataset]:
    """The path to the winners, the rubric, the meetings and the aggregated scores: only for
    an edition whose results are published (`published`: the latest revision's content)."""
    assert campaign.id is not None
    year = campaign.year
    theme_keys = [*(t.slug for t in themes), ALL]
    by_slug = {entry["slug"]: entry for entry in published["themes"]}
    path = Dataset("path", ["year", "theme", "stage", "count", "count_suppressed"], [])
    for key in theme_keys:
        entries = by_slug.values() if key == ALL else [by_slug.get(key, {})]
        finalists = sum(len(entry.get("finalists", [])) for entry in entries)
        winners = sum(len(entry.get("winners", [])) for entry in entries)
        for stage, value in (
            ("received", counts.shown(("theme", key))),
            ("eligible", counts.shown(("eligible", key))),
            ("candidates", counts.shown(("candidates", key))),
            # Finalists and winners are named in public: their counts are no secret.
            ("finalists", finalists),
            ("winners", winners),
        ):
            shown, flag = _flagged(value)
            path.rows.append(
                {
                    "year": year,
                    "theme": key,
                    "stage": stage,
                    "count": shown,
                    "count_suppressed": flag,
                }
            )

    how = published["how_chosen"]
    rubric = Dataset(
        "rubric",
        [
            "year",
            "position",
            "criterion_es",
            "criterion_en",
            "weight",
            "share_percent",
            "scale_min",
            "scale_max",
        ],
        [
            {
                "year": year,
                "position": i + 1,
                "criterion_es": c["name_es"],
                "criterion_en": c["name_en"],
                "weight": c["weight"],
                "share_percent": c["share_percent"],
                "scale_min": c["scale_min"],
                "scale_max": c["scale_max"],
            }
            for i, c in enumerate(how["criteria"])
        ],
    )

    meetings = session.exec(
        select(Meeting)
        .where(Meeting.campaign_id == campaign.id, Meeting.status == MeetingStatus.closed)
        .order_by(col(Meeting.number))
    ).all()
    meeting_ids = [m.id for m in meetings]
    sheets = {
        mid: (int(judges), int(n))
        for mid, judges, n in session.execute(
            select(
                col(ScoreSheet.meeting_id),
                func.count(func.distinct(col(ScoreSheet.judge_id))),
                func.count(),
            )
            .where(
                col(ScoreSheet.meeting_id).in_(meeting_ids),
                col(ScoreSheet.submitted_at).is_not(None),
            )
            .group_by(col(ScoreSheet.meeting_id))
        ).all()
    }
    recusals = dict(
        session.execute(
            select(col(MeetingFinalist.meeting_id), func.count())
            .join(
                ConflictDeclaration,
                col(ConflictDeclaration.finalist_id) == col(MeetingFinalist.finalist_id),
            )
            .where(
                col(MeetingFinalist.meeting_id).in_(meeting_ids),
                col(ConflictDeclaration.has_conflict).is_(True),
            )
            .group_by(col(MeetingFinalist.meeting_id))
        ).all()
    )
    meeting_data = Dataset(
        "meetings",
        [
            "year",
            "meeting",
            "held_on",
            "themes",
            "finalists",
            "judges",
            "judges_suppressed",
            "score_sheets",
            "score_sheets_suppressed",
            "recusals",
            "recusals_suppressed",
        ],
        [],
    )
    published_meetings = {m["number"]: m for m in how["meetings"]}
    for meeting in meetings:
        judges, n_sheets = sheets.get(meeting.id, (0, 0))
        j, jf = _suppressed(judges, min_count)
        s, sf = _suppressed(n_sheets, min_count)
        r, rf = _suppressed(int(recusals.get(meeting.id, 0)), min_count)
        entry = published_meetings.get(meeting.number, {})
        meeting_data.rows.append(
            {
                "year": year,
                "meeting": meeting.number,
                "held_on": meeting.held_on.isoformat(),
                "themes": " ".join(entry.get("themes", [])),
                "finalists": entry.get("finalists", 0),
                "judges": j,
                "judges_suppressed": jf,
                "score_sheets": s,
                "score_sheets_suppressed": sf,
                "recusals": r,
                "recusals_suppressed": rf,
            }
        )

    public_ids = {e["finalist_id"] for th in published["themes"] for e in th["finalists"]}
    criteria = session.exec(
        select(Criterion)
        .where(Criterion.campaign_id == campaign.id)
        .order_by(col(Criterion.position), col(Criterion.id))
    ).all()
    means = {
        (mid, fid, cid): (float(avg), int(n))
        for mid, fid, cid, avg, n in session.execute(
            select_columns(
                col(ScoreSheet.meeting_id),
                col(ScoreSheet.finalist_id),
                col(Score.criterion_id),
                func.avg(col(Score.value)),
                func.count(),
            )
            .join(Score, col(Score.sheet_id) == col(ScoreSheet.id))
            .where(
                col(ScoreSheet.meeting_id).in_(meeting_ids),
                col(ScoreSheet.submitted_at).is_not(None),
            )
            .group_by(
                col(ScoreSheet.meeting_id), col(ScoreSheet.finalist_id), col(Score.criterion_id)
            )
        ).all()
    }
    scores = Dataset(
        "scores",
        [
            "year",
            "meeting",
            "theme",
            "finalist_id",
            "public_name",
            "criterion_es",
            "criterion_en",
            "score",
            "judges",
            "score_withheld",
        ],
        [],
    )
    names = {
        e["finalist_id"]: e["public_name"] for th in published["themes"] for e in th["finalists"]
    }
    for meeting in meetings:
        results = compute_results(session, meeting=meeting, judge_scores=False)
        for row in results.rows:
            finalist: Finalist = row.finalist
            if finalist.id not in public_ids:
                continue
            lines: list[tuple[str, str, float | None, int]] = [
                (
                    c.name_es,
                    c.name_en,
                    *means.get((meeting.id, finalist.id, c.id), (None, 0)),
                )
                for c in criteria
            ]
            lines.append(
                ("General (ponderado)", "Overall (weighted)", row.weighted_mean, row.judges)
            )
            for name_es, name_en, mean, judges in lines:
                withheld = judges < MIN_JUDGES_FOR_SCORES or mean is None
                scores.rows.append(
                    {
                        "year": year,
                        "meeting": meeting.number,
                        "theme": row.theme.slug,
                        "finalist_id": finalist.id,
                        "public_name": names[finalist.id],
                        "criterion_es": name_es,
                        "criterion_en": name_en,
                        "score": None if withheld else round(float(mean or 0), 3),
                        "judges": judges,
                        "score_withheld": "yes" if withheld else "no",
                    }
                )
    return [path, rubric, meeting_data, scores]


def edition_datasets(
    session: Session, *, campaign: Campaign, min_count: int | None
) -> list[Dataset]:
    """Every dataset the edition's stage allows, in catalogue order."""
    assert campaign.id is not None
    themes = themes_of(session, campaign.id)
    published: dict[str, Any] | None
    try:
        published = json.loads(
            json.dumps(public_revision(session, campaign=campaign, number=None).content)
        )
    except NotFound:
        published = None
    counts = CountTable()
    if published is not None:
        add_stage_counts(session, table=counts, themes=themes)
    datasets = participation_datasets(
        session, campaign=campaign, themes=themes, min_count=min_count, table=counts
    )
    finalists = finalists_dataset(session, campaign=campaign, published=published)
    if finalists is not None:
        datasets.append(finalists)
    if published is not None:
        datasets += results_datasets(
            session,
            campaign=campaign,
            themes=themes,
            published=published,
            counts=counts,
            min_count=min_count,
        )
    return datasets
