"""The demo's voting stage (`seed-demo --stage voting`, app/services/demo/edition.py): a public
vote open on every theme of the current edition whose finalists are announced, set up through
the vote's own service."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from app.models import (
    Account,
    Campaign,
    Finalist,
    Role,
    Theme,
    ThemeVote,
)
from app.services.campaigns.campaigns import get_current_campaign
from app.services.voting.setup import save_vote

VOTE_DAYS = 14


@dataclass(frozen=True)
class DemoVotes:
    campaign: Campaign
    themes: list[str]


def open_demo_votes(session: Session, *, now: datetime) -> DemoVotes:
    """A vote open from now for VOTE_DAYS on every theme of the current edition that has
    announced finalists; a theme whose vote exists already keeps it."""
    campaign = get_current_campaign(session)
    if campaign is None or campaign.finalists_announced_at is None:
        raise ValueError("the current edition has no announced finalists")
    staff = session.exec(
        select(Account)
        .where(col(Account.role).in_([Role.admin, Role.staff]))
        .order_by(col(Account.id))
    ).first()
    if staff is None:
        raise ValueError("the demo has no staff account")
    opened = []
    themes = session.exec(
        select(Theme).where(Theme.campaign_id == campaign.id).order_by(col(Theme.position))
    ).all()
    for theme in themes:
        assert theme.id is not None
        if session.exec(select(Finalist.id).where(Finalist.theme_id == theme.id)).first() is None:
            continue
        if session.exec(select(ThemeVote.id).where(ThemeVote.theme_id == theme.id)).first():
            opened.append(theme.slug)
            continue
        save_vote(
            session,
            actor=staff,
            theme_id=theme.id,
            opens_at=now - timedelta(minutes=1),
            closes_at=now + timedelta(days=VOTE_DAYS),
            show_running_counts=False,
            now=now,
        )
        opened.append(theme.slug)
    return DemoVotes(campaign=campaign, themes=opened)
