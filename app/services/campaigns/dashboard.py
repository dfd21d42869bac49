"""The staff dashboard: where the current campaign stands and what waits for action.

Every figure is counted by the database (GROUP BY or COUNT), never by loading nominations."""

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import func
from sqlmodel import Session, col, select

from app.i18n import N_, TIMEZONE
from app.models import (
    MEXICAN_STATES,
    Campaign,
    Candidate,
    Channel,
    Finalist,
    Meeting,
    MeetingStatus,
    Nomination,
    NominationStatus,
    ResultsRevision,
    RevisionStatus,
    Theme,
    VettingStatus,
    Winner,
)
from app.services.campaigns.campaigns import WindowState, get_current_campaign, window_state
from app.services.judging.progress import meeting_progress

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


class StageState(StrEnum):
    not_started = "not_started"
    in_progress = "in_progress"
    done = "done"


STATE_LABELS = {
    StageState.not_started: N_("Not started"),
    StageState.in_progress: N_("In progress"),
    StageState.done: N_("Done"),
}


@dataclass(frozen=True)
class StageProgress:
    """One stage of the edition: how much of it is done (`done` of `total`, the bar) and a
    sentence about it (a message id with its parameters)."""

    label: str
    state: StageState
    done: int
    total: int
    detail: str
    params: dict[str, object] = field(default_factory=dict)

    @property
    def percent(self) -> int:
        if self.state is StageState.done:
            return 100
        return round(100 * self.done / self.total) if self.total else 0


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
    stages: list[StageProgress]
    # Reach (issue 15): every channel and every state, those with none included, so that staff
    # see whom the call does not reach.
    by_channel: dict[Channel, int]
    by_state: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.by_status.values())

    @property
    def states_without(self) -> list[str]:
        return [code for code, count in self.by_state.items() if count == 0]


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

    # Over the (theme_id, channel) index.
    channels = dict.fromkeys(Channel, 0)
    for channel, count in session.exec(
        select(Nomination.channel, func.count())
        .where(in_campaign)
        .group_by(col(Nomination.channel))
    ).all():
        channels[Channel(channel)] = int(count)

    to_group = session.exec(
        select(func.count()).where(
            in_campaign,
            Nomination.status == NominationStatus.eligible,
            col(Nomination.candidate_id).is_(None),
        )
    ).one()
    vetting = {
        VettingStatus(status): int(count)
        for status, count in session.exec(
            select(Candidate.vetting_status, func.count())
            .where(Candidate.campaign_id == campaign.id)
            .group_by(col(Candidate.vetting_status))
        ).all()
    }

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
        stages=edition_stages(
            session, campaign=campaign, themes=summaries, vetting=vetting, now=now
        ),
        campaign=campaign,
        themes=summaries,
        by_status=by_status,
        top_states=[(state, int(n)) for state, n in states[:TOP_STATES]],
        states_with_nominations=len(states),
        to_screen=by_status[NominationStatus.received],
        to_group=int(to_group),
        to_vet=vetting.get(VettingStatus.pending, 0),
        by_channel=channels,
        by_state={
            code: count
            for code, count in sorted(
                ({code: 0 for code in MEXICAN_STATES} | {s: int(n) for s, n in states}).items(),
                key=lambda item: (-item[1], MEXICAN_STATES.get(item[0], item[0])),
            )
        },
    )


def _call(themes: list[ThemeSummary], today: date, received: int) -> StageProgress:
    opens = min((t.opens_on for t in themes), default=today)
    closes = max((t.closes_on for t in themes), default=today)
    windows = {t.window for t in themes}
    if not themes or windows == {WindowState.not_yet_open}:
        state = StageState.not_started
    elif windows == {WindowState.closed}:
        state = StageState.done
    else:
        state = StageState.in_progress
    days = (closes - opens).days + 1
    elapsed = min(days, max(0, (today - opens).days + 1))
    detail = (
        N_("Closed on %(date)s, with %(count)s nominations.")
        if state is StageState.done
        else N_("Open from %(opens)s to %(date)s; %(count)s nominations so far.")
    )
    return StageProgress(
        N_("Call for nominations"),
        state,
        elapsed,
        days,
        detail,
        {"date": closes, "opens": opens, "count": received},
    )


def edition_stages(
    session: Session,
    *,
    campaign: Campaign,
    themes: list[ThemeSummary],
    vetting: dict[VettingStatus, int],
    now: datetime,
) -> list[StageProgress]:
    """The edition's way through its stages, each from what the campaign's rows say: the
    call's dates, nominations decided, candidates vetted, finalists chosen and announced, score
    sheets submitted in the opened meetings, winners confirmed and results published."""
    assert campaign.id is not None
    today = now.astimezone(TIMEZONE).date()
    total = sum(t.total for t in themes)
    received = sum(t.by_status[NominationStatus.received] for t in themes)
    eligible = sum(t.by_status[NominationStatus.eligible] for t in themes)
    call = _call(themes, today, total)

    meetings = session.exec(
        select(Meeting)
        .where(Meeting.campaign_id == campaign.id, Meeting.status != MeetingStatus.draft)
        .order_by(col(Meeting.number))
    ).all()
    judged_from = bool(meetings) or campaign.finalists_announced_at is not None

    if total == 0:
        screening_state = StageState.not_started
    elif received == 0 and (call.state is StageState.done or judged_from):
        screening_state = StageState.done
    else:
        screening_state = StageState.in_progress
    screening = StageProgress(
        N_("Screening"),
        screening_state,
        total - received,
        total,
        N_("%(decided)s of %(count)s nominations decided; %(eligible)s eligible."),
        {"decided": total - received, "count": total, "eligible": eligible},
    )

    candidates = sum(vetting.values())
    cleared = vetting.get(VettingStatus.cleared, 0)
    vetted = candidates - vetting.get(VettingStatus.pending, 0)
    if candidates == 0:
        vetting_state = StageState.not_started
    elif judged_from or vetted == candidates:
        vetting_state = StageState.done
    else:
        vetting_state = StageState.in_progress
    vetting_stage = StageProgress(
        N_("Vetting"),
        vetting_state,
        vetted,
        candidates,
        N_("%(vetted)s of %(count)s candidates vetted; %(cleared)s cleared."),
        {"vetted": vetted, "count": candidates, "cleared": cleared},
    )

    in_campaign = col(Theme.campaign_id) == campaign.id
    finalists, themes_with_finalists, with_winners, published = session.exec(
        select(
            select(func.count(col(Finalist.id)))
            .join(Theme, col(Theme.id) == Finalist.theme_id)
            .where(in_campaign)
            .scalar_subquery(),
            select(func.count(func.distinct(Finalist.theme_id)))
            .join(Theme, col(Theme.id) == Finalist.theme_id)
            .where(in_campaign)
            .scalar_subquery(),
            select(func.count(func.distinct(Winner.theme_id)))
            .where(Winner.campaign_id == campaign.id)
            .scalar_subquery(),
            select(func.min(ResultsRevision.published_at))
            .where(
                ResultsRevision.campaign_id == campaign.id,
                ResultsRevision.status == RevisionStatus.published,
            )
            .scalar_subquery(),
        )
    ).one()
    announced = campaign.finalists_announced_at
    finalists_stage = StageProgress(
        N_("Finalists"),
        StageState.done
        if announced
        else StageState.in_progress
        if finalists
        else StageState.not_started,
        # Half the bar for finalists chosen in every theme, the other half for announcing.
        int(themes_with_finalists) + (len(themes) if announced else 0),
        2 * len(themes),
        N_("%(count)s finalists, announced on %(date)s.")
        if announced
        else N_("%(count)s finalists chosen; not announced yet."),
        {"count": finalists, "date": announced},
    )

    submitted = expected = 0
    for meeting in meetings:
        sheets = meeting_progress(session, meeting=meeting)
        submitted += sheets.submitted
        expected += sheets.expected
    closed = sum(m.status is MeetingStatus.closed for m in meetings)
    deliberation = StageProgress(
        N_("Deliberation"),
        StageState.not_started
        if not meetings
        else StageState.done
        if closed == len(meetings)
        else StageState.in_progress,
        submitted,
        expected,
        N_(
            "%(submitted)s of %(expected)s score sheets submitted; %(closed)s of %(count)s"
            " meetings closed."
        ),
        {"submitted": submitted, "expected": expected, "closed": closed, "count": len(meetings)},
    )

    results = StageProgress(
        N_("Results"),
        StageState.done
        if published
        else StageState.in_progress
        if with_winners
        else StageState.not_started,
        int(with_winners),
        len(themes),
        N_("Published on %(date)s.")
        if published
        else N_("Winners confirmed in %(done)s of %(count)s themes; not published yet."),
        {"date": published, "done": int(with_winners), "count": len(themes)},
    )
    return [call, screening, vetting_stage, finalists_stage, deliberation, results]
