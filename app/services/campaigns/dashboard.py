"""The staff dashboard: where the current campaign stands and what waits for action.

Every figure is counted by the database (GROUP BY or COUNT), never by loading nominations."""

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func
from sqlmodel import Session, col, select

from app.i18n import TIMEZONE
from app.models import Campaign, Candidate, Nomination, NominationStatus, Theme, VettingStatus
from app.services.campaigns.campaigns import WindowState, get_current_campaign, window_state

TOP_STATES = 10


@dataclass(frozen=True)
class ThemeSummary:
    theme: Theme
    by_status: dict[NominationStatus, int]
    window: WindowState
    # Calendar days in Mexico City from today to the closing day (0: it closes today).
    days_left: int
    closes_on: date
    opens_on: date

    @property
    def total(self) -> int:
        return sum(self.by_status.values())


@dataclass(frozen=True)
class Dashboard:
    campaign: Campaign
    themes: list[ThemeSummary]
    by_status: dict[NominationStatus, int]
    top_states: list[tuple[str, int]]
    states_with_nominations: int
    to_screen: int
    to_group: int
    to_vet: int

    @property
    def total(self) -> int:
        return sum(self.by_status.values())


def build_dashboard(session: Session, *, now: datetime) -> Dashboard | None:
    """The dashboard of the current campaign; None when there is no campaign yet."""
    campaign = get_current_campaign(session)
    if campaign is None:
        return None
    themes = session.exec(
        select(Theme).where(Theme.campaign_id == campaign.id).order_by(col(Theme.position))
    ).all()
    theme_ids = [theme.id for theme in themes]
    in_campaign = col(Nomination.theme_id).in_(theme_ids)

    # Theme by status in one pass over the (theme_id, status) index.
    counts: dict[int, dict[NominationStatus, int]] = {}
    for theme_id, status, count in session.exec(
        select(Nomination.theme_id, Nomination.status, func.count())
        .where(in_campaign)
        .group_by(col(Nomination.theme_id), col(Nomination.status))
    ).all():
        counts.setdefault(theme_id, {})[NominationStatus(status)] = int(count)

    state_count = func.count().label("n")
    states = session.exec(
        select(Nomination.state, state_count)
        .where(in_campaign)
        .group_by(col(Nomination.state))
        .order_by(state_count.desc(), col(Nomination.state))
    ).all()

    to_group = session.exec(
        select(func.count()).where(
            in_campaign,
            Nomination.status == NominationStatus.eligible,
            col(Nomination.candidate_id).is_(None),
        )
    ).one()
    to_vet = session.exec(
        select(func.count()).where(
            Candidate.campaign_id == campaign.id,
            Candidate.vetting_status == VettingStatus.pending,
        )
    ).one()

    today = now.astimezone(TIMEZONE).date()
    summaries = []
    for theme in themes:
        assert theme.id is not None
        by_status = {status: counts.get(theme.id, {}).get(status, 0) for status in NominationStatus}
        closes_on = theme.closes_at.astimezone(TIMEZONE).date()
        summaries.append(
            ThemeSummary(
                theme=theme,
                by_status=by_status,
                window=window_state(theme, now),
                days_left=(closes_on - today).days,
                closes_on=closes_on,
                opens_on=theme.opens_at.astimezone(TIMEZONE).date(),
            )
        )
    by_status = {
        status: sum(summary.by_status[status] for summary in summaries)
        for status in NominationStatus
    }
    return Dashboard(
        campaign=campaign,
        themes=summaries,
        by_status=by_status,
        top_states=[(state, int(n)) for state, n in states[:TOP_STATES]],
        states_with_nominations=len(states),
        to_screen=by_status[NominationStatus.received],
        to_group=int(to_group),
        to_vet=int(to_vet),
    )
