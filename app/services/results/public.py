"""What the public pages read: /results and earlier editions, a revision, /finalists, a
winner's page, and the photos of announced and published profiles (and, for staff, of any
finalist in a preview). Only published things are found here; before its staff action a page
learns only the stage the campaign is in."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlmodel import Session, col, select

from app.errors import NotFound
from app.i18n import N_
from app.models import Campaign, Finalist, ResultsRevision, RevisionStatus, Theme
from app.services.campaigns.campaigns import get_current_campaign
from app.services.files import FileStore
from app.services.results.revisions import RevisionView, published_only, revisions_of
from app.services.results.shared import (
    Stage,
    campaign_stage,
    consents_of,
    may_be_named,
    profile,
)
from app.services.results.winners import finalists_content

_IMAGE_TYPES = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
)
PHOTO_VERSION_CHARS = 16


def _campaign_by_year(session: Session, year: int) -> Campaign:
    campaign = None
    if 1900 <= year <= 9999:
        campaign = session.exec(select(Campaign).where(Campaign.year == year)).first()
    if campaign is None:
        raise NotFound(N_("There are no published results for this year."))
    return campaign


def published_years(session: Session) -> list[int]:
    """Editions with published results, newest first."""
    return [
        int(year)
        for year in session.exec(
            select(Campaign.year)
            .join(ResultsRevision, col(ResultsRevision.campaign_id) == col(Campaign.id))
            .where(ResultsRevision.status == RevisionStatus.published)
            .distinct()
            .order_by(col(Campaign.year).desc())
        ).all()
    ]


def public_revision(session: Session, *, campaign: Campaign, number: int | None) -> RevisionView:
    """A published revision (the latest when `number` is None); drafts do not exist here."""
    assert campaign.id is not None
    history = list(
        session.exec(
            select(ResultsRevision)
            .where(
                ResultsRevision.campaign_id == campaign.id,
                ResultsRevision.status == RevisionStatus.published,
            )
            .order_by(col(ResultsRevision.number))
        ).all()
    )
    if number is None:
        revision = history[-1] if history else None
    else:
        revision = next((r for r in history if r.number == number), None)
    if revision is None:
        raise NotFound(N_("There are no published results for this year."))
    return RevisionView(
        campaign=campaign, revision=revision, content=json.loads(revision.content), history=history
    )


@dataclass(frozen=True)
class StageView:
    campaign: Campaign | None
    stage: Stage | None
    earlier_years: list[int]


def results_page(session: Session, *, year: int | None, today: date) -> RevisionView | StageView:
    """/results (year None: the current campaign) and /results/{year}: the latest published
    revision, or, for the current campaign before publication, only the stage it is in."""
    current = get_current_campaign(session)
    campaign = current if year is None else _campaign_by_year(session, year)
    if campaign is not None:
        try:
            return public_revision(session, campaign=campaign, number=None)
        except NotFound:
            if current is None or campaign.id != current.id:
                raise
    return StageView(
        campaign=campaign,
        stage=campaign_stage(campaign, published=False, today=today) if campaign else None,
        earlier_years=[
            y for y in published_years(session) if campaign is None or y != campaign.year
        ],
    )


def edition_revision(session: Session, *, year: int, number: int | None) -> RevisionView:
    return public_revision(session, campaign=_campaign_by_year(session, year), number=number)


@dataclass(frozen=True)
class FinalistsView:
    campaign: Campaign
    content: dict[str, Any]


def finalists_page(session: Session, *, today: date) -> FinalistsView | StageView:
    """/finalists: the current campaign's finalists once announced; before, only the stage."""
    current = get_current_campaign(session)
    if current is None or current.finalists_announced_at is None:
        return StageView(
            campaign=current,
            stage=campaign_stage(current, published=False, today=today) if current else None,
            earlier_years=[
                y for y in published_years(session) if current is None or y != current.year
            ],
        )
    return FinalistsView(campaign=current, content=finalists_content(session, campaign=current))


@dataclass(frozen=True)
class WinnerView:
    edition: RevisionView
    theme: dict[str, Any]
    winner: dict[str, Any]
    # Set when a later correction no longer lists this person as a winner.
    withdrawn_by: ResultsRevision | None


def winner_page(session: Session, *, year: int, finalist_id: int) -> WinnerView:
    """A winner's own page, from the latest published revision that lists them: a correction
    that removes a winner leaves the page up, saying so, instead of a silent 404."""
    latest = edition_revision(session, year=year, number=None)
    for revision in reversed(latest.history):
        content = json.loads(revision.content)
        for theme in content["themes"]:
            for winner in theme["winners"]:
                if winner["finalist_id"] == finalist_id:
                    edition = RevisionView(
                        campaign=latest.campaign,
                        revision=revision,
                        content=content,
                        history=latest.history,
                    )
                    withdrawn = None if revision.id == latest.revision.id else latest.revision
                    return WinnerView(
                        edition=edition, theme=theme, winner=winner, withdrawn_by=withdrawn
                    )
    raise NotFound(N_("There is no winner with this address in these results."))


# --- photos ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Photo:
    content: bytes
    content_type: str
    sha256: str


def photo_content_type(data: bytes) -> str | None:
    for magic, content_type in _IMAGE_TYPES:
        if data.startswith(magic):
            return content_type
    if data.startswith(b"RIFF") and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def _read_photo(store: FileStore, sha256: str) -> Photo:
    try:
        data = store.path_for(sha256).read_bytes()
    except (FileNotFoundError, ValueError):
        raise NotFound(N_("We could not find this photo.")) from None
    content_type = photo_content_type(data)
    if content_type is None:
        raise NotFound(N_("We could not find this photo."))
    return Photo(content=data, content_type=content_type, sha256=sha256)


def public_photo(session: Session, *, store: FileStore, finalist_id: int, version: str) -> Photo:
    """The photo of an announced finalist, or the one a published revision froze for them
    (`version` is the start of its hash); nothing for anyone else."""
    row = session.exec(
        select(Finalist, Campaign)
        .join(Theme, col(Theme.id) == Finalist.theme_id)
        .join(Campaign, col(Campaign.id) == Theme.campaign_id)
        .where(Finalist.id == finalist_id)
    ).first()
    if row is None:
        raise NotFound(N_("We could not find this photo."))
    finalist, campaign = row
    allowed: list[str] = []
    # The live photo only with the finalist's consent to name and photo (issue 15).
    consent = consents_of(session, [finalist_id]).get(finalist_id)
    live = profile(finalist, consent)["photo_sha256"]
    if campaign.finalists_announced_at is not None and live and may_be_named(consent):
        allowed.append(live)
    for revision in published_only(revisions_of(session, campaign.id or 0)):
        for theme in json.loads(revision.content)["themes"]:
            for entry in [*theme["winners"], *theme["finalists"]]:
                if entry["finalist_id"] == finalist_id and entry["photo_sha256"]:
                    allowed.append(entry["photo_sha256"])
    if not allowed:
        raise NotFound(N_("We could not find this photo."))
    chosen = next((sha for sha in allowed if version and sha.startswith(version)), allowed[0])
    return _read_photo(store, chosen)


def staff_photo(
    session: Session, *, store: FileStore, campaign: Campaign, finalist_id: int
) -> Photo:
    finalist = session.exec(
        select(Finalist)
        .join(Theme, col(Theme.id) == Finalist.theme_id)
        .where(Finalist.id == finalist_id, Theme.campaign_id == campaign.id)
    ).first()
    if finalist is None or not finalist.photo_sha256:
        raise NotFound(N_("We could not find this photo."))
    return _read_photo(store, finalist.photo_sha256)


def published_photo_hashes(session: Session, *, among: set[str]) -> set[str]:
    """Which of `among` are photos frozen in a published revision: the file store's sweep must
    keep them, even after the finalist's photo is replaced, or an earlier revision loses it."""
    revisions = session.exec(
        select(ResultsRevision.content).where(ResultsRevision.status == RevisionStatus.published)
    ).all()
    found = set()
    for content in revisions:
        for theme in json.loads(content)["themes"]:
            for entry in [*theme["winners"], *theme["finalists"]]:
                if entry["photo_sha256"] in among:
                    found.add(entry["photo_sha256"])
    return found


def photo_path(entry: dict[str, Any]) -> str:
    """The public address of a profile's photo; the hash in it changes with the photo."""
    version = entry["photo_sha256"][:PHOTO_VERSION_CHARS]
    return f"/media/finalists/{entry['finalist_id']}.jpg?v={version}"
