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
from app.models import Campaign, ConsentStatus, Finalist, FinalistConsent, Theme, Winner
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


def consents_of(session: Session, finalist_ids: list[int]) -> dict[int, FinalistConsent]:
    """The consent records of these finalists, by finalist id (one query)."""
    if not finalist_ids:
        return {}
    rows = session.exec(
        select(FinalistConsent).where(col(FinalistConsent.finalist_id).in_(finalist_ids))
    ).all()
    return {row.finalist_id: row for row in rows}


def may_be_named(consent: FinalistConsent | None) -> bool:
    """The rule of every public page: a finalist is named only with their consent to name and
    position, given and not withdrawn (issue 15)."""
    return (
        consent is not None and consent.status is ConsentStatus.given and consent.name_and_position
    )


def profile(finalist: Finalist, consent: FinalistConsent | None) -> dict[str, Any]:
    """The public profile of a finalist: what /finalists and the results may show, with only
    the items the finalist consented to (the photo, the story told about them)."""
    photo = consent is not None and consent.photo
    story = consent is not None and consent.story
    return {
        "finalist_id": finalist.id,
        "public_name": finalist.public_name,
        "public_position": finalist.public_position,
        "public_institution": finalist.public_institution,
        "citation_es": finalist.citation_es if story else "",
        "citation_en": finalist.citation_en if story else "",
        "photo_sha256": finalist.photo_sha256 if photo else "",
    }


def named_finalists_of(
    session: Session, campaign_id: int
) -> list[tuple[Finalist, FinalistConsent]]:
    """The finalists public pages may name, with their consent (finalists_of's order)."""
    finalists = finalists_of(session, campaign_id)
    consents = consents_of(session, [f.id for f in finalists if f.id is not None])
    named = []
    for finalist in finalists:
        consent = consents.get(finalist.id or 0)
        if consent is not None and may_be_named(consent):
            named.append((finalist, consent))
    return named


def consent_missing(
    session: Session, campaign_id: int
) -> list[tuple[Finalist, FinalistConsent | None]]:
    """Finalists who may not be announced yet: no consent (asked or not), declined, withdrawn,
    or changes they asked for that staff have not applied."""
    finalists = finalists_of(session, campaign_id)
    consents = consents_of(session, [f.id for f in finalists if f.id is not None])
    missing = []
    for finalist in finalists:
        consent = consents.get(finalist.id or 0)
        if not may_be_named(consent) or (
            consent is not None and consent.requested_changes and not consent.changes_handled_at
        ):
            missing.append((finalist, consent))
    return missing


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
