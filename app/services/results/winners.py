"""The winner board: each theme's final meeting's ranking, confirming winners from it, and
announcing the finalists (what /finalists shows, made public exactly as previewed)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from app.errors import Conflict, NotFound
from app.i18n import N_
from app.models import (
    Account,
    Campaign,
    CheckpointReason,
    Finalist,
    Meeting,
    MeetingFinalist,
    MeetingStatus,
    Theme,
    Winner,
)
from app.services import audit, audit_chain
from app.services.campaigns.campaigns import call_closes_at, call_is_open
from app.services.candidates.sanctions.adjudication import check_announcement
from app.services.judging import aggregation
from app.services.judging.aggregation import FinalistResult
from app.services.mail import notifications
from app.services.results.shared import (
    FieldInvalid,
    campaign_header,
    consent_missing,
    finalists_of,
    fingerprint,
    lock_campaign,
    named_finalists_of,
    profile,
    theme_header,
    themes_of,
    winners_of,
)

# --- each theme's final meeting and its ranking --------------------------------------------


def final_meetings(session: Session, *, campaign_id: int) -> dict[int, Meeting]:
    """Each theme's final meeting, by theme id: the latest closed meeting whose scope has a
    finalist of that theme. A run-off for one theme (meeting 3 for Youth only) is final for
    that theme alone; the others keep the meeting that last discussed them."""
    return _meetings_by_theme(session, campaign_id=campaign_id, status=MeetingStatus.closed)


def open_meetings(session: Session, *, campaign_id: int) -> dict[int, Meeting]:
    """By theme id, a meeting still open for scoring with finalists of that theme (the latest,
    if several): while it runs, the theme's result is not settled."""
    return _meetings_by_theme(session, campaign_id=campaign_id, status=MeetingStatus.open)


def _meetings_by_theme(
    session: Session, *, campaign_id: int, status: MeetingStatus
) -> dict[int, Meeting]:
    latest: dict[int, tuple[int, int]] = {}
    for theme_id, meeting_id, number in session.exec(
        select(col(Finalist.theme_id), col(Meeting.id), col(Meeting.number))
        .join(MeetingFinalist, col(MeetingFinalist.meeting_id) == Meeting.id)
        .join(Finalist, col(Finalist.id) == MeetingFinalist.finalist_id)
        .where(Meeting.campaign_id == campaign_id, Meeting.status == status)
        .distinct()
    ).all():
        if meeting_id is not None and (theme_id not in latest or number > latest[theme_id][1]):
            latest[theme_id] = (meeting_id, number)
    found = {
        meeting.id: meeting
        for meeting in session.exec(
            select(Meeting).where(col(Meeting.id).in_([i for i, _ in latest.values()]))
        ).all()
    }
    return {theme_id: found[meeting_id] for theme_id, (meeting_id, _) in latest.items()}


@dataclass(frozen=True)
class RankedFinalist:
    finalist: Finalist
    in_meeting: bool
    proposed: bool
    # The theme's final meeting's aggregate (judging/aggregation.py): the panel's weighted mean,
    # the normalised score (mean of the judges' z-scores) that ranks, how many judges' sheets
    # counted, and the rank by normalised score within the theme.
    mean_score: float | None
    normalised: float | None
    sheets: int
    score_rank: int | None
    score_tie: bool
    # The ranking winners are confirmed from: proposed winners first, then by score rank.
    rank: int | None
    is_winner: bool


@dataclass(frozen=True)
class ThemeRanking:
    theme: Theme
    # The theme's final meeting (None before one with this theme is closed), and a meeting
    # still open with this theme's finalists, if any.
    meeting: Meeting | None
    open_meeting: Meeting | None
    rows: list[RankedFinalist]
    # Whom the ranking suggests: the first `winners_per_theme` (more when tied at the limit).
    expected_ids: frozenset[int]
    expected_count: int
    winner_ids: frozenset[int]
    rationale: str
    # The winners were confirmed before the final meeting closed (a run-off closed since):
    # they must be confirmed again from its ranking.
    confirmed_before_meeting: bool

    @property
    def suggested_ids(self) -> frozenset[int]:
        """The ranking's choice when it is unambiguous (no tie at the limit)."""
        return self.expected_ids if len(self.expected_ids) == self.expected_count else frozenset()

    def agrees(self, chosen: Sequence[int]) -> bool:
        chosen_set = set(chosen)
        return len(chosen_set) == self.expected_count and chosen_set <= self.expected_ids


@dataclass(frozen=True)
class WinnerBoard:
    campaign: Campaign
    themes: list[ThemeRanking]

    @property
    def any_meeting(self) -> bool:
        return any(ranking.meeting is not None for ranking in self.themes)


def _rank_theme(
    theme: Theme,
    finalists: list[Finalist],
    *,
    meeting: Meeting | None,
    open_meeting: Meeting | None,
    results: dict[int, FinalistResult],
    winners: list[Winner],
    per_theme: int,
) -> ThemeRanking:
    def key(result: FinalistResult) -> tuple[bool, float]:
        score_rank = result.rank if result.rank is not None else float("inf")
        return (not result.proposed_winner, score_rank)

    in_scope = sorted(
        (results[f.id] for f in finalists if f.id in results),
        key=lambda r: (key(r), r.finalist.public_name, r.finalist.id),
    )
    keys = [key(r) for r in in_scope]
    winner_ids = frozenset(w.finalist_id for w in winners)
    rows = [
        RankedFinalist(
            finalist=result.finalist,
            in_meeting=True,
            proposed=result.proposed_winner,
            mean_score=result.weighted_mean,
            normalised=result.mean_z,
            sheets=result.judges,
            score_rank=result.rank,
            score_tie=result.tie,
            rank=1 + sum(1 for other in keys if other < own),
            is_winner=result.finalist.id in winner_ids,
        )
        for result, own in zip(in_scope, keys, strict=True)
    ]
    rows += [
        RankedFinalist(
            finalist=finalist,
            in_meeting=False,
            proposed=False,
            mean_score=None,
            normalised=None,
            sheets=0,
            score_rank=None,
            score_tie=False,
            rank=None,
            is_winner=finalist.id in winner_ids,
        )
        for finalist in finalists
        if finalist.id not in results
    ]
    expected_count = min(per_theme, len(in_scope))
    expected = frozenset(
        r.finalist.id
        for r in rows
        if r.rank is not None and r.rank <= expected_count and r.finalist.id is not None
    )
    return ThemeRanking(
        theme=theme,
        meeting=meeting,
        open_meeting=open_meeting,
        rows=rows,
        expected_ids=expected,
        expected_count=expected_count,
        winner_ids=winner_ids,
        rationale=next((w.rationale for w in winners if w.rationale), ""),
        confirmed_before_meeting=confirmed_before(meeting, winners),
    )


def confirmed_before(meeting: Meeting | None, winners: list[Winner]) -> bool:
    """Whether a theme's winners were confirmed before its final meeting closed: a run-off
    closed since, and they must be confirmed again from its ranking."""
    closed_at = meeting.closed_at if meeting is not None else None
    return closed_at is not None and any(w.confirmed_at < closed_at for w in winners)


def winner_board(session: Session, *, campaign: Campaign) -> WinnerBoard:
    """Each theme's finalists in the ranking of the theme's own final meeting, with the
    confirmed winners."""
    assert campaign.id is not None
    finals = final_meetings(session, campaign_id=campaign.id)
    running = open_meetings(session, campaign_id=campaign.id)
    results: dict[int, dict[int, FinalistResult]] = {}
    for meeting_id, final in {m.id: m for m in finals.values()}.items():
        assert meeting_id is not None
        results[meeting_id] = {
            row.finalist.id: row
            for row in aggregation.compute_results(session, meeting=final, judge_scores=False).rows
            if row.finalist.id is not None
        }
    finalists = finalists_of(session, campaign.id)
    winners = winners_of(session, campaign.id)
    themes = []
    for theme in themes_of(session, campaign.id):
        assert theme.id is not None
        theme_final = finals.get(theme.id)
        themes.append(
            _rank_theme(
                theme,
                [f for f in finalists if f.theme_id == theme.id],
                meeting=theme_final,
                open_meeting=running.get(theme.id),
                results=results[theme_final.id or 0] if theme_final is not None else {},
                winners=[w for w in winners if w.theme_id == theme.id],
                per_theme=campaign.winners_per_theme,
            )
        )
    return WinnerBoard(campaign=campaign, themes=themes)


def confirm_winners(
    session: Session,
    *,
    campaign: Campaign,
    theme_id: int,
    finalist_ids: Sequence[int],
    rationale: str,
    actor: Account,
    now: datetime,
) -> list[Winner]:
    """Makes `finalist_ids` the theme's winners; a choice other than the final meeting's
    ranking needs a rationale. Published results do not change until a new revision is."""
    campaign = lock_campaign(session, campaign)
    board = winner_board(session, campaign=campaign)
    ranking = next((r for r in board.themes if r.theme.id == theme_id), None)
    if ranking is None:
        raise NotFound(N_("This theme does not exist in the current campaign."))
    if ranking.meeting is None:
        raise Conflict(
            N_(
                "No meeting with this theme's finalists has been closed yet: winners are"
                " confirmed from the theme's final meeting."
            )
        )
    if ranking.open_meeting is not None:
        raise Conflict(
            N_(
                "Meeting %(number)s is still open for scoring with this theme's finalists:"
                " close it before confirming the theme's winners."
            ),
            number=ranking.open_meeting.number,
        )
    chosen = list(dict.fromkeys(finalist_ids))
    options = {r.finalist.id for r in ranking.rows}
    if not chosen:
        raise FieldInvalid(N_("Choose at least one winner."), field="winner")
    if any(finalist_id not in options for finalist_id in chosen):
        raise FieldInvalid(N_("Choose among this theme's finalists."), field="winner")
    if len(chosen) > campaign.winners_per_theme:
        raise FieldInvalid(
            N_("Choose at most %(count)s winners in this theme."),
            field="winner",
            count=campaign.winners_per_theme,
        )
    differs = not ranking.agrees(chosen)
    if differs and not rationale.strip():
        raise FieldInvalid(
            N_(
                "Your choice differs from the final meeting's ranking: write down why, so the"
                " decision can be explained later."
            ),
            field="rationale",
        )

    existing = {
        w.finalist_id: w
        for w in session.exec(
            select(Winner).where(Winner.campaign_id == campaign.id, Winner.theme_id == theme_id)
        ).all()
    }
    before = {
        "finalist_ids": sorted(existing),
        "rationale": next((w.rationale for w in existing.values() if w.rationale), ""),
    }
    after = {"finalist_ids": sorted(chosen), "rationale": rationale}
    if before == after and not ranking.confirmed_before_meeting:
        return list(existing.values())
    assert actor.id is not None and campaign.id is not None
    for finalist_id, winner in existing.items():
        if finalist_id not in chosen:
            session.delete(winner)
    session.flush()
    kept = []
    for finalist_id in chosen:
        winner = existing.get(finalist_id) or Winner(
            campaign_id=campaign.id,
            theme_id=theme_id,
            finalist_id=finalist_id,
            confirmed_by_id=actor.id,
        )
        winner.rationale = rationale
        winner.confirmed_by_id = actor.id
        winner.confirmed_at = now
        session.add(winner)
        kept.append(winner)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="winners.confirmed",
        object_type="theme",
        object_id=theme_id,
        before=before,
        after={
            **after,
            "meeting_number": ranking.meeting.number,
            "ranking_suggested": sorted(i for i in ranking.expected_ids),
            "differs_from_ranking": differs,
        },
    )
    return kept


# --- finalists ------------------------------------------------------------------------------


def finalists_content(session: Session, *, campaign: Campaign) -> dict[str, Any]:
    """What /finalists shows, built from the live profiles of the finalists who consented."""
    assert campaign.id is not None
    named = named_finalists_of(session, campaign.id)
    return {
        "campaign": campaign_header(campaign),
        "themes": [
            {
                **theme_header(theme),
                "finalists": [profile(f, c) for f, c in named if f.theme_id == theme.id],
            }
            for theme in themes_of(session, campaign.id)
        ],
    }


def check_consent(session: Session, *, campaign: Campaign) -> None:
    """Finalists are announced only with every finalist's consent (issue 15): the refusal
    names whom it waits for."""
    assert campaign.id is not None
    missing = consent_missing(session, campaign.id)
    if missing:
        raise Conflict(
            N_(
                "The finalists cannot be announced yet: the consent of %(names)s is missing,"
                " declined or withdrawn, or changes they asked for are not applied yet."
            ),
            names=", ".join(finalist.public_name for finalist, _ in missing),
        )


OVERRIDE_MAX_CHARS = 2000


def ensure_call_closed(
    session: Session,
    *,
    campaign: Campaign,
    step: str,
    override_reason: str,
    actor: Account,
    now: datetime,
) -> None:
    """Announcing the finalists comes after the call for nominations (and results come after
    the announcement): while a theme still takes nominations it is refused, unless staff go
    ahead on purpose, with a written reason that the audit trail keeps (a call whose dates were
    set later than the campaign really runs, say). The announcement then ends the call
    (campaigns.call_ended). `step` names the act, for the trail."""
    if not call_is_open(session, campaign=campaign, now=now):
        return
    reason = override_reason.strip()
    if not reason:
        raise FieldInvalid(
            N_(
                "The call for nominations is still open. Wait until it closes, or write why"
                " this must go ahead now: the reason is kept in the audit trail."
            ),
            field="override_reason",
        )
    if len(reason) > OVERRIDE_MAX_CHARS:
        raise FieldInvalid(
            N_("Write at most %(max_length)s characters."),
            field="override_reason",
            max_length=OVERRIDE_MAX_CHARS,
        )
    closes = call_closes_at(session, campaign=campaign)
    audit.record(
        session,
        actor=actor,
        action="stage.overridden",
        object_type="campaign",
        object_id=campaign.id,
        after={
            "step": step,
            "guard": "call_open",
            "call_closes_at": closes.isoformat() if closes else None,
            "reason": reason,
        },
    )


def announce_finalists(
    session: Session,
    *,
    campaign: Campaign,
    actor: Account,
    previewed: str,
    now: datetime,
    base_url: str,
    override_reason: str = "",
) -> int:
    """Makes /finalists public, exactly as previewed, and tells finalists and the nominators
    who agreed to be contacted; returns how many e-mails were queued. It ends the call: the
    forms take no nomination after it. While the call is still open it needs
    `override_reason` (ensure_call_closed). Sent again from the same preview (a double click,
    a browser's retry) once they are public, it does nothing and queues nothing: what that
    click asked for is done."""
    campaign = lock_campaign(session, campaign)
    content = finalists_content(session, campaign=campaign)
    if campaign.finalists_announced_at is not None:
        if previewed == fingerprint(content):
            return 0
        raise Conflict(N_("The finalists were already announced."))
    check_announcement(session, campaign=campaign)  # no open sanction match (issue 14)
    check_consent(session, campaign=campaign)
    if not any(theme["finalists"] for theme in content["themes"]):
        raise Conflict(N_("There are no finalists to announce yet."))
    if previewed != fingerprint(content):
        raise Conflict(
            N_("The finalists changed since you opened the preview. Check the preview again.")
        )
    ensure_call_closed(
        session,
        campaign=campaign,
        step="finalists.announced",
        override_reason=override_reason,
        actor=actor,
        now=now,
    )
    campaign.finalists_announced_at = now
    session.add(campaign)
    session.flush()
    sent = notifications.notify_finalists_announced(session, campaign, base_url=base_url)
    audit.record(
        session,
        actor=actor,
        action="finalists.announced",
        object_type="campaign",
        object_id=campaign.id,
        before={"finalists_announced_at": None},
        after={
            "finalists_announced_at": now.isoformat(),
            "finalist_ids": [
                entry["finalist_id"] for theme in content["themes"] for entry in theme["finalists"]
            ],
            "emails_queued": sent,
        },
    )
    audit_chain.checkpoint_at_commit(
        session, reason=CheckpointReason.finalists_announced, edition=campaign.year
    )
    return sent
