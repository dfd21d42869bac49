"""What the open-data charts show: bars with their labels and values, read from the latest
stored release for the public (suppressed counts stay hidden) and from the live tables for
staff (unsuppressed). The SVG itself is drawn by app/templates/macros/charts.html."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from app.i18n import N_
from app.models import Campaign, Finalist, Theme, Winner
from app.services.results.data_releases import latest_dataset
from app.services.results.datasets import (
    ALL,
    CountTable,
    add_stage_counts,
    participation_datasets,
)
from app.services.results.shared import themes_of


@dataclass(frozen=True)
class Bar:
    label: str
    value: int | None  # None: suppressed

    @property
    def shown(self) -> int:
        return self.value or 0


@dataclass(frozen=True)
class Chart:
    key: str
    title: str  # a msgid, translated by the template
    bars: list[Bar]

    @property
    def top(self) -> int:
        return max((bar.shown for bar in self.bars), default=0) or 1


STAGES = {
    "received": N_("Received"),
    "eligible": N_("Eligible"),
    "candidates": N_("Candidates"),
    "finalists": N_("Finalists"),
    "winners": N_("Winners"),
}


def _charts(
    campaign: Campaign, theme_names: dict[str, str], data: dict[str, dict[str, Any] | None]
) -> list[Chart]:
    charts = []
    by_theme = data.get("participation_by_theme")
    if by_theme:
        charts.append(
            Chart(
                "theme",
                N_("Nominations by theme"),
                [
                    Bar(theme_names.get(r["theme"], r["theme"]), r["nominations"])
                    for r in by_theme["rows"]
                    if r["theme"] != ALL
                ],
            )
        )
    by_state = data.get("participation_by_state")
    if by_state:
        rows = [r for r in by_state["rows"] if r["theme"] == ALL]
        rows.sort(key=lambda r: (-(r["nominations"] or 0), r["state"]))
        charts.append(
            Chart(
                "state",
                N_("Nominations by state"),
                [Bar(r["state"] or "?", r["nominations"]) for r in rows],
            )
        )
    by_week = data.get("participation_by_week")
    if by_week:
        charts.append(
            Chart(
                "week",
                N_("Nominations by week of the call"),
                [
                    Bar(r["week_start"], r["nominations"])
                    for r in by_week["rows"]
                    if r["theme"] == ALL
                ],
            )
        )
    path = data.get("path")
    if path:
        charts.append(
            Chart(
                "path",
                N_("From nominations to winners"),
                [Bar(r["stage"], r["count"]) for r in path["rows"] if r["theme"] == ALL],
            )
        )
    return charts


def theme_names(session: Session, campaign: Campaign, locale: str) -> dict[str, str]:
    assert campaign.id is not None
    return {
        t.slug: (t.name_es if locale == "es" else t.name_en)
        for t in themes_of(session, campaign.id)
    }


def public_charts(session: Session, *, campaign: Campaign, locale: str) -> list[Chart]:
    """The edition's charts from its latest release; none before the first release."""
    assert campaign.id is not None
    data = {
        name: latest_dataset(session, campaign_id=campaign.id, name=name)
        for name in (
            "participation_by_theme",
            "participation_by_state",
            "participation_by_week",
            "path",
        )
    }
    return _charts(campaign, theme_names(session, campaign, locale), data)


def staff_charts(
    session: Session, *, campaign: Campaign, themes: list[Theme], locale: str
) -> list[Chart]:
    """The same charts of the live participation and path, every count shown: for staff
    only. Six grouped queries, whatever the number of nominations."""
    table = CountTable()
    add_stage_counts(session, table=table, themes=themes)
    datasets = participation_datasets(
        session, campaign=campaign, themes=themes, min_count=None, table=table
    )
    data: dict[str, dict[str, Any] | None] = {d.name: {"rows": d.rows} for d in datasets}
    theme_ids = [t.id for t in themes]
    finalists = session.exec(
        select(func.count()).select_from(Finalist).where(col(Finalist.theme_id).in_(theme_ids))
    ).one()
    winners = session.exec(
        select(func.count()).select_from(Winner).where(Winner.campaign_id == campaign.id)
    ).one()
    data["path"] = {
        "rows": [
            {"theme": ALL, "stage": stage, "count": count}
            for stage, count in (
                ("received", table.values.get(("theme", ALL), 0)),
                ("eligible", table.values.get(("eligible", ALL), 0)),
                ("candidates", table.values.get(("candidates", ALL), 0)),
                ("finalists", int(finalists)),
                ("winners", int(winners)),
            )
        ]
    }
    names = {t.slug: (t.name_es if locale == "es" else t.name_en) for t in themes}
    return _charts(campaign, names, data)
