from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import func
from sqlmodel import Session, col, select

from app.errors import NotFound
from app.i18n import N_
from app.models import Campaign, Theme


class WindowState(StrEnum):
    not_yet_open = "not_yet_open"
    open = "open"
    closed = "closed"
    # The call is over for good, whatever the theme's dates say: the finalists are announced.
    ended = "ended"


@dataclass(frozen=True)
class ThemeView:
    theme: Theme
    state: WindowState

    @property
    def is_open(self) -> bool:
        return self.state is WindowState.open


def window_state(theme: Theme, now: datetime, *, call_ended: bool = False) -> WindowState:
    if call_ended:
        return WindowState.ended
    if now < theme.opens_at:
        return WindowState.not_yet_open
    if now >= theme.closes_at:
        return WindowState.closed
    return WindowState.open


def get_current_campaign(session: Session) -> Campaign | None:
    """The newest edition; earlier ones stay for their published results."""
    return session.exec(select(Campaign).order_by(col(Campaign.year).desc()).limit(1)).first()


def list_themes(session: Session, *, campaign: Campaign, now: datetime) -> list[ThemeView]:
    themes = session.exec(
        select(Theme).where(Theme.campaign_id == campaign.id).order_by(col(Theme.position))
    ).all()
    ended = call_ended(campaign)
    return [ThemeView(theme, window_state(theme, now, call_ended=ended)) for theme in themes]


def call_ended(campaign: Campaign) -> bool:
    """Once the finalists are announced no nomination is taken, even if a theme's window,
    or an override that announced them early, left the form open."""
    return campaign.finalists_announced_at is not None


def call_closes_at(session: Session, *, campaign: Campaign) -> datetime | None:
    """When the last theme's window closes: the call for nominations is over then."""
    return session.exec(
        select(func.max(Theme.closes_at)).where(Theme.campaign_id == campaign.id)
    ).one()


def call_is_open(session: Session, *, campaign: Campaign, now: datetime) -> bool:
    """Whether some theme of the campaign still takes (or is yet to take) nominations."""
    closes = call_closes_at(session, campaign=campaign)
    if closes is None or call_ended(campaign):
        return False
    return now < closes


def find_theme(session: Session, *, slug: str) -> Theme | None:
    """A theme of the current campaign, by its slug (one query: every nomination asks)."""
    if len(slug) > 40:
        return None
    newest = select(func.max(Campaign.year)).scalar_subquery()
    return session.exec(
        select(Theme)
        .join(Campaign, col(Campaign.id) == Theme.campaign_id)
        .where(Campaign.year == newest, Theme.slug == slug)
    ).first()


def theme_view(theme: Theme | None, *, now: datetime, call_ended: bool = False) -> ThemeView:
    if theme is None:
        raise NotFound(N_("There is no theme with this name in the current campaign."))
    return ThemeView(theme, window_state(theme, now, call_ended=call_ended))


def get_theme(session: Session, *, slug: str, now: datetime) -> ThemeView:
    theme = find_theme(session, slug=slug)
    campaign = session.get(Campaign, theme.campaign_id) if theme is not None else None
    return theme_view(theme, now=now, call_ended=campaign is not None and call_ended(campaign))
