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


@dataclass(frozen=True)
class ThemeView:
    theme: Theme
    state: WindowState

    @property
    def is_open(self) -> bool:
        return self.state is WindowState.open


def window_state(theme: Theme, now: datetime) -> WindowState:
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
    return [ThemeView(theme, window_state(theme, now)) for theme in themes]


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


def theme_view(theme: Theme | None, *, now: datetime) -> ThemeView:
    if theme is None:
        raise NotFound(N_("There is no theme with this name in the current campaign."))
    return ThemeView(theme, window_state(theme, now))


def get_theme(session: Session, *, slug: str, now: datetime) -> ThemeView:
    return theme_view(find_theme(session, slug=slug), now=now)
