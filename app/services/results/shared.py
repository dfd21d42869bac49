"""What the other results modules share: the campaign staff act on and its lock, the queries
of a campaign's themes, finalists and winners, the public profile and the fingerprint of a
preview, the stage citizens may know, and the refusal of a staff form's field."""

from __future__ import annotations

import hashlib
import json
from datetime import date
from enum import StrEnum
from typing import Any

from sqlmodel import Session, col, select

from app.errors import InvalidInput, NotFound
from app.i18n import N_
from app.models import Campaign, Finalist, Theme, Winner
from app.services.campaigns.campaigns import get_current_campaign


def current_campaign(session: Session) -> Campaign:
    """The campaign staff publish for: the newest one."""
    campaign = get_current_campaign(session)
    if campaign is None:
        raise NotFound(N_("There is no campaign yet."))
    return campaign


def lock_campaign(session: Session, campaign: Campaign) -> Campaign:
    """Serialises the publishing actions of one campaign, and reloads it: two staff members
    acting at once (on PostgreSQL; SQLite writers already take turns) would otherwise both
    announce, or publish the same draft twice and send its e-mails twice."""
    return session.exec(
        select(Campaign)
        .where(Campaign.id == campaign.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()


def themes_of(session: Session, campaign_id: int) -> list[Theme]:
    return list(
        session.exec(
            select(Theme)
            .where(Theme.campaign_id == campaign_id)
            .order_by(col(Theme.position), col(Theme.id))
        ).all()
    )


def finalists_of(session: Session, campaign_id: int) -> list[Finalist]:
    return list(
        session.exec(
            select(Finalist)
            .join(Theme, col(Theme.id) == Finalist.theme_id)
            .where(Theme.campaign_id == campaign_id)
            .order_by(col(Finalist.public_name), col(Finalist.id))
        ).all()
    )


def winners_of(session: Session, campaign_id: int) -> list[Winner]:
    return list(
        session.exec(
            select(Winner).where(Winner.campaign_id == campaign_id).order_by(col(Winner.id))
        ).all()
    )


def profile(finalist: Finalist) -> dict[str, Any]:
    """The public profile of a finalist: what /finalists and the results may show."""
    return {
        "finalist_id": finalist.id,
        "public_name": finalist.public_name,
        "public_position": finalist.public_position,
        "public_institution": finalist.public_institution,
        "citation_es": finalist.citation_es,
        "citation_en": finalist.citation_en,
        "photo_sha256": finalist.photo_sha256,
    }


def theme_header(theme: Theme) -> dict[str, Any]:
    return {
        "slug": theme.slug,
        "name_es": theme.name_es,
        "name_en": theme.name_en,
        "description_es": theme.description_es,
        "description_en": theme.description_en,
    }


def campaign_header(campaign: Campaign) -> dict[str, Any]:
    return {"year": campaign.year, "title_es": campaign.title_es, "title_en": campaign.title_en}


def fingerprint(content: dict[str, Any]) -> str:
    """A short hash of what a preview showed, so an action applies to exactly that."""
    text = json.dumps(content, ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


# --- the campaign's stage, as citizens may know it ---------------------------------------


class Stage(StrEnum):
    upcoming = "upcoming"
    nominating = "nominating"
    reviewing = "reviewing"
    deliberating = "deliberating"
    published = "published"


def campaign_stage(campaign: Campaign, *, published: bool, today: date) -> Stage:
    """Only what is public already decides the stage: the dates, and the two staff actions."""
    if published:
        return Stage.published
    if campaign.finalists_announced_at is not None:
        return Stage.deliberating
    if today < campaign.nominations_open_on:
        return Stage.upcoming
    if today <= campaign.nominations_close_on:
        return Stage.nominating
    return Stage.reviewing


class FieldInvalid(InvalidInput):
    """Refused input of a staff form, with the field the message belongs beside."""

    def __init__(self, message: str, *, field: str, **params: object) -> None:
        super().__init__(message, **params)
        self.field = field
