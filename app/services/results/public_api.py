"""What the read-only JSON API (/api/v1) answers: editions, themes, announced finalists,
published winners and statistics. Only what the public pages already show; statistics come
from the latest open-data release, so they carry the same suppression."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlmodel import Session, col, select

from app.errors import NotFound
from app.models import Campaign
from app.services.results.data_releases import campaign_by_year, latest_dataset
from app.services.results.datasets import finalists_dataset
from app.services.results.public import public_revision
from app.services.results.shared import campaign_stage, themes_of


def _published(session: Session, campaign: Campaign) -> dict[str, Any] | None:
    try:
        return public_revision(session, campaign=campaign, number=None).content
    except NotFound:
        return None


def _edition(session: Session, campaign: Campaign, *, today: date, base: str) -> dict[str, Any]:
    published = _published(session, campaign) is not None
    year = campaign.year
    return {
        "year": year,
        "title_es": campaign.title_es,
        "title_en": campaign.title_en,
        "stage": campaign_stage(campaign, published=published, today=today).value,
        "nominations_open_on": campaign.nominations_open_on.isoformat(),
        "nominations_close_on": campaign.nominations_close_on.isoformat(),
        "finalists_announced": campaign.finalists_announced_at is not None,
        "results_published": published,
        "links": {
            "self": f"{base}/api/v1/editions/{year}",
            "themes": f"{base}/api/v1/editions/{year}/themes",
            "finalists": f"{base}/api/v1/editions/{year}/finalists",
            "winners": f"{base}/api/v1/editions/{year}/winners",
            "statistics": f"{base}/api/v1/editions/{year}/statistics",
            "catalog": f"{base}/data/{year}/catalog.json",
        },
    }


def editions(session: Session, *, today: date, base_url: str) -> list[dict[str, Any]]:
    base = base_url.rstrip("/")
    campaigns = session.exec(select(Campaign).order_by(col(Campaign.year).desc())).all()
    return [_edition(session, c, today=today, base=base) for c in campaigns]


def edition(session: Session, *, year: int, today: date, base_url: str) -> dict[str, Any]:
    return _edition(
        session, campaign_by_year(session, year), today=today, base=base_url.rstrip("/")
    )


def themes(session: Session, *, year: int) -> list[dict[str, Any]]:
    campaign = campaign_by_year(session, year)
    assert campaign.id is not None
    return [
        {
            "slug": t.slug,
            "name_es": t.name_es,
            "name_en": t.name_en,
            "description_es": t.description_es,
            "description_en": t.description_en,
            "opens_at": t.opens_at.isoformat(),
            "closes_at": t.closes_at.isoformat(),
        }
        for t in themes_of(session, campaign.id)
    ]


def finalists(session: Session, *, year: int) -> list[dict[str, Any]]:
    """Announced finalists' public profiles; none before the announcement."""
    campaign = campaign_by_year(session, year)
    dataset = finalists_dataset(session, campaign=campaign, published=_published(session, campaign))
    return [] if dataset is None else dataset.rows


def winners(session: Session, *, year: int) -> list[dict[str, Any]]:
    """Winners of the latest published results; none before publication."""
    return [row for row in finalists(session, year=year) if row["winner"] == "yes"]


STATISTICS = ("participation_by_theme", "participation_by_state", "participation_by_week", "path")


def statistics(session: Session, *, year: int) -> list[dict[str, Any]]:
    """The rows of the edition's statistics datasets, each row naming its dataset."""
    campaign = campaign_by_year(session, year)
    assert campaign.id is not None
    rows: list[dict[str, Any]] = []
    for name in STATISTICS:
        data = latest_dataset(session, campaign_id=campaign.id, name=name)
        if data is not None:
            rows += [{"dataset": name, **row} for row in data["rows"]]
    return rows
