"""The winner board: the final meeting's ranking per theme, confirming winners from it, and
announcing the finalists (what /finalists shows, made public exactly as previewed)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from app.errors import Conflict, NotFound
from app.i18n import N_
from app.models import Account, Campaign, Finalist, Meeting, MeetingStatus, Theme, Winner
from app.services import audit
from app.services.judging import aggregation
from app.services.judging.aggregation import FinalistResult
from app.services.mail import notifications
from app.services.results.shared import (
    FieldInvalid,
    campaign_header,
    finalists_of,
    fingerprint,
    lock_campaign,
    profile,
    theme_header,
    themes_of,
    winners_of,
)

# --- the final meeting's ranking ----------------------------------------------------------


def final_meeting(session: Session, *, campaign_id: int) -> Meeting | None:
    """The latest closed meeting: its decision is the one winners are confirmed from."""
    return session.exec(
        select(Meeting)
        .where(Meeting.campaign_id == campaign_id, Meeting.status == MeetingStatus.closed)
        .order_by(col(Meeting.number).desc())
        .limit(1)
    ).first()


@dataclass(frozen=True)
class RankedFinalist:
    finalist: Finalist
    in_meeting: bool
    proposed: bool
    # The final meeting's aggregate (judging/aggregation.py): the panel's weighted mean,
    # how many judges' sheets counted, and the rank by score within the theme.
    mean_score: float | None
    sheets: int
    score_rank: int | None
    score_tie: bool
    # The ranking winners are confirmed from: proposed winners first, then by score rank.
    rank: int | None
    is_winner: bool


@dataclass(frozen=True)
class ThemeRanking:
    theme: Theme
    rows: list[RankedFinalist]
    # Whom the ranking suggests: the first `winners_per_theme` (more when tied at the limit).
    expected_ids: frozenset[int]
    expected_count: int
    winner_ids: frozenset[int]
    rationale: str

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
    meeting: Meeting | None
    themes: list[ThemeRanking]


def _rank_theme(
    theme: Theme,
    finalists: list[Finalist],
    *,
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
        rows=rows,
        expected_ids=expected,
        expected_count=expected_count,
        winner_ids=winner_ids,
        rationale=next((w.rationale for w in winners if w.rationale), ""),
    )


def winner_board(session: Session, *, campaign: Campaign) -> WinnerBoard:
    """Each theme's finalists in the final meeting's ranking, with the confirmed winners."""
    assert campaign.id is not None
    meeting = final_meeting(session, campaign_id=campaign.id)
    results: dict[int, FinalistResult] = {}
    if meeting is not None:
        results = {
            row.finalist.id: row
            for row in aggregation.compute_results(session, meeting=meeting).rows
            if row.finalist.id is not None
        }
    finalists = finalists_of(session, campaign.id)
    winners = winners_of(session, campaign.id)
    return WinnerBoard(
        campaign=campaign,
        meeting=meeting,
        themes=[
            _rank_theme(
                theme,
                [f for f in finalists if f.theme_id == theme.id],
                results=results,
                winners=[w for w in winners if w.theme_id == theme.id],
                per_theme=campaign.winners_per_theme,
            )
            for theme in themes_of(session, campaign.id)
        ],
    )


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
    if board.meeting is None:
        raise Conflict(
            N_("No meeting has been closed yet: winners are confirmed from the final meeting.")
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
    if before == after:
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
            "meeting_number": board.meeting.number,
            "ranking_suggested": sorted(i for i in ranking.expected_ids),
            "differs_from_ranking": differs,
        },
    )
    return kept


# --- finalists ------------------------------------------------------------------------------


def finalists_content(session: Session, *, campaign: Campaign) -> dict[str, Any]:
    """What /finalists shows, built from the live profiles."""
    assert campaign.id is not None
    finalists = finalists_of(session, campaign.id)
    return {
        "campaign": campaign_header(campaign),
        "themes": [
            {
                **theme_header(theme),
                "finalists": [profile(f) for f in finalists if f.theme_id == theme.id],
            }
            for theme in themes_of(session, campaign.id)
        ],
    }


def announce_finalists(
    session: Session,
    *,
    campaign: Campaign,
    actor: Account,
    previewed: str,
    now: datetime,
    base_url: str,
) -> int:
    """Makes /finalists public, exactly as previewed, and tells finalists and the nominators
    who agreed to be contacted; returns how many e-mails were queued."""
    campaign = lock_campaign(session, campaign)
    if campaign.finalists_announced_at is not None:
        raise Conflict(N_("The finalists were already announced."))
    content = finalists_content(session, campaign=campaign)
    if not any(theme["finalists"] for theme in content["themes"]):
        raise Conflict(N_("There are no finalists to announce yet."))
    if previewed != fingerprint(content):
        raise Conflict(
            N_("The finalists changed since you opened the preview. Check the preview again.")
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
    return sent
