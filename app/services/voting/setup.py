"""Setting up a theme's public vote (staff), and what the public vote pages read.

A theme has at most one vote. Staff set its opening and closing time and whether running
counts are shown while it is open (by default not: a running count invites herding and
stuffing). The vote is public only once the campaign's finalists are announced; its count is
frozen at the close (app/services/voting/counting.py) and cannot be set up again after that.
"""

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlmodel import Session, col, select

from app.errors import Conflict, NotFound
from app.i18n import N_
from app.models import Account, Campaign, Finalist, FinalistConsent, Theme, ThemeVote
from app.services import audit
from app.services.campaigns.campaigns import get_current_campaign
from app.services.results.shared import FieldInvalid, consents_of, may_be_named, profile


class VoteState(StrEnum):
    scheduled = "scheduled"
    open = "open"
    closed = "closed"


def vote_state(vote: ThemeVote, now: datetime) -> VoteState:
    if now < vote.opens_at:
        return VoteState.scheduled
    if now >= vote.closes_at:
        return VoteState.closed
    return VoteState.open


@dataclass(frozen=True)
class SetupRow:
    theme: Theme
    vote: ThemeVote | None
    state: VoteState | None
    finalist_count: int


@dataclass(frozen=True)
class SetupOverview:
    campaign: Campaign | None
    rows: list[SetupRow]

    @property
    def announced(self) -> bool:
        return self.campaign is not None and self.campaign.finalists_announced_at is not None


def _current_campaign(session: Session) -> Campaign:
    campaign = get_current_campaign(session)
    if campaign is None:
        raise NotFound(N_("There is no campaign yet."))
    return campaign


def setup_overview(session: Session, *, now: datetime) -> SetupOverview:
    campaign = get_current_campaign(session)
    if campaign is None:
        return SetupOverview(None, [])
    themes = session.exec(
        select(Theme)
        .where(Theme.campaign_id == campaign.id)
        .order_by(col(Theme.position), col(Theme.id))
    ).all()
    theme_ids = [theme.id for theme in themes]
    votes = {
        vote.theme_id: vote
        for vote in session.exec(
            select(ThemeVote).where(col(ThemeVote.theme_id).in_(theme_ids))
        ).all()
    }
    finalists: dict[int, int] = {}
    for theme_id in session.exec(
        select(Finalist.theme_id).where(col(Finalist.theme_id).in_(theme_ids))
    ).all():
        finalists[theme_id] = finalists.get(theme_id, 0) + 1
    rows = []
    for theme in themes:
        assert theme.id is not None
        vote = votes.get(theme.id)
        rows.append(
            SetupRow(
                theme=theme,
                vote=vote,
                state=vote_state(vote, now) if vote else None,
                finalist_count=finalists.get(theme.id, 0),
            )
        )
    return SetupOverview(campaign, rows)


def _vote_values(vote: ThemeVote) -> dict[str, Any]:
    return {
        "opens_at": vote.opens_at.isoformat(),
        "closes_at": vote.closes_at.isoformat(),
        "show_running_counts": vote.show_running_counts,
    }


def save_vote(
    session: Session,
    *,
    actor: Account,
    theme_id: int,
    opens_at: datetime,
    closes_at: datetime,
    show_running_counts: bool,
    now: datetime,
) -> ThemeVote:
    """Sets up (or changes) the vote of a theme of the current campaign. A vote whose count is
    frozen is not changed any more."""
    campaign = _current_campaign(session)
    theme = session.get(Theme, theme_id)
    if theme is None or theme.campaign_id != campaign.id:
        raise FieldInvalid(N_("Choose one of the options."), field="theme_id")
    if closes_at <= opens_at:
        raise FieldInvalid(
            N_("The vote must close after it opens."),
            field="closes_at",
        )
    assert actor.id is not None
    vote = session.exec(select(ThemeVote).where(ThemeVote.theme_id == theme_id)).first()
    before = _vote_values(vote) if vote else None
    if vote is None:
        if closes_at <= now:
            raise FieldInvalid(N_("The closing time must be in the future."), field="closes_at")
        vote = ThemeVote(
            theme_id=theme_id,
            opens_at=opens_at,
            closes_at=closes_at,
            show_running_counts=show_running_counts,
            created_by_id=actor.id,
            created_at=now,
            updated_at=now,
        )
    else:
        if vote.frozen_at is not None:
            raise Conflict(N_("This vote is closed and its count frozen; it cannot be changed."))
        if closes_at <= now and vote.closes_at != closes_at:
            raise FieldInvalid(N_("The closing time must be in the future."), field="closes_at")
        vote.opens_at, vote.closes_at = opens_at, closes_at
        vote.show_running_counts = show_running_counts
        vote.updated_at = now
    session.add(vote)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="vote.set_up",
        object_type="theme_vote",
        object_id=vote.id,
        before=before,
        after={"theme": theme.slug, **_vote_values(vote)},
    )
    return vote


def staff_vote(session: Session, *, theme_id: int) -> tuple[Theme, ThemeVote]:
    """The vote of a theme of the current campaign, for the staff pages."""
    campaign = _current_campaign(session)
    theme = session.get(Theme, theme_id)
    vote = session.exec(select(ThemeVote).where(ThemeVote.theme_id == theme_id)).first()
    if theme is None or theme.campaign_id != campaign.id or vote is None:
        raise NotFound(N_("This theme has no public vote."))
    return theme, vote


# --- public pages ------------------------------------------------------------------------


@dataclass(frozen=True)
class PublicVote:
    theme: Theme
    vote: ThemeVote
    state: VoteState
    finalists: list[dict[str, Any]]
    # Confirmed votes per finalist id, while open and only when staff chose to show them.
    running: dict[int, int] | None
    # The frozen count (counting.published_content), once the vote has closed.
    published: dict[str, Any] | None

    @property
    def is_open(self) -> bool:
        return self.state is VoteState.open


def _announced_campaign(session: Session) -> Campaign | None:
    campaign = get_current_campaign(session)
    if campaign is None or campaign.finalists_announced_at is None:
        return None
    return campaign


def public_votes(session: Session, *, now: datetime) -> list[tuple[Theme, ThemeVote, VoteState]]:
    """/vote: the current campaign's votes, once its finalists are announced."""
    campaign = _announced_campaign(session)
    if campaign is None:
        return []
    rows = session.exec(
        select(Theme, ThemeVote)
        .join(ThemeVote, col(ThemeVote.theme_id) == col(Theme.id))
        .where(Theme.campaign_id == campaign.id)
        .order_by(col(Theme.position), col(Theme.id))
    ).all()
    return [(theme, vote, vote_state(vote, now)) for theme, vote in rows]


def find_public_vote(session: Session, *, slug: str) -> tuple[Theme, ThemeVote]:
    """The vote of a theme of the current campaign, by the theme's slug, once announced."""
    campaign = _announced_campaign(session)
    found = None
    if campaign is not None and len(slug) <= 40:
        found = session.exec(
            select(Theme, ThemeVote)
            .join(ThemeVote, col(ThemeVote.theme_id) == col(Theme.id))
            .where(Theme.campaign_id == campaign.id, Theme.slug == slug)
        ).first()
    if found is None:
        raise NotFound(N_("There is no public vote for this theme."))
    return found[0], found[1]


def theme_finalists(session: Session, *, theme_id: int) -> list[Finalist]:
    return list(
        session.exec(
            select(Finalist)
            .where(Finalist.theme_id == theme_id)
            .order_by(col(Finalist.public_name), col(Finalist.id))
        ).all()
    )


def named_theme_finalists(
    session: Session, *, theme_id: int
) -> list[tuple[Finalist, FinalistConsent]]:
    """The finalists of a theme the public may see and vote for: those who consented to being
    named (the rule of every public page, shared.may_be_named), with their consent."""
    finalists = theme_finalists(session, theme_id=theme_id)
    consents = consents_of(session, [f.id for f in finalists if f.id is not None])
    return [
        (finalist, consents[finalist.id or 0])
        for finalist in finalists
        if may_be_named(consents.get(finalist.id or 0))
    ]


def public_profiles(named: list[tuple[Finalist, FinalistConsent]]) -> list[dict[str, Any]]:
    """Their public profiles, with only the items each consented to."""
    return [profile(finalist, consent) for finalist, consent in named]
