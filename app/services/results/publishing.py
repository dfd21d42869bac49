"""Winners and what the public sees of them: confirming winners, announcing finalists, and
publishing the results as frozen, numbered revisions.

The rules, in one place:
- Winners are confirmed per theme from the final (latest closed) meeting's ranking; a choice
  that differs from it needs a written rationale.
- Nothing reaches a public URL before its staff action: finalists before they are announced,
  results before a revision is published, a draft revision never. Photos follow their finalist.
- Published results never change: a correction is a new revision with its reason, and every
  published revision stays readable. A revision's `content` is a snapshot taken when it was
  prepared; it holds public profiles and aggregate figures only, never a judge's score, a
  judge's or nominator's name, or any contact detail.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import case, distinct, func
from sqlmodel import Session, col, select

from app.errors import Conflict, InvalidInput, NotFound
from app.i18n import N_
from app.models import (
    Account,
    Campaign,
    Candidate,
    CheckpointReason,
    ConflictDeclaration,
    Criterion,
    Finalist,
    JudgeAssignment,
    Meeting,
    MeetingFinalist,
    MeetingStatus,
    Nomination,
    NominationStatus,
    ResultsRevision,
    RevisionStatus,
    Theme,
    Winner,
)
from app.services import audit, audit_chain
from app.services.campaigns.campaigns import get_current_campaign
from app.services.files import FileStore
from app.services.judging import aggregation
from app.services.judging.aggregation import FinalistResult
from app.services.mail import notifications
from app.services.results import transparency

CONTENT_FORMAT = 1
# How scores became winners, frozen into each revision in both languages like any other
# published text, so a later change of wording never alters what was published.
AGGREGATION_TEXT_ES = (
    "Cada integrante del jurado calificó a cada finalista de su tema con cada uno de los"
    " criterios, en la escala indicada. Las calificaciones se combinaron en un promedio"
    " ponderado, según el peso de cada criterio, y se promediaron entre las personas del"
    " jurado; la clasificación resultante fue el punto de partida de la deliberación. Quien"
    " declaró un conflicto de interés con una persona finalista no la calificó y quedó fuera de"
    " su promedio. El jurado propuso a las personas ganadoras y el equipo de la campaña las"
    " confirmó; cuando el equipo se apartó de la clasificación, dejó constancia escrita de sus"
    " razones. Las calificaciones individuales del jurado son confidenciales."
)
AGGREGATION_TEXT_EN = (
    "Each judge scored every finalist of their theme on each criterion, on the scale shown."
    " The scores were combined into a weighted mean, using each criterion's weight, and"
    " averaged across judges; the ranking this gave was the starting point of the judges'"
    " deliberation. A judge who declared a conflict of interest with a finalist did not score"
    " them and was left out of that finalist's average. The judges proposed the winners and"
    " the campaign team confirmed them; where the team departed from the ranking, it recorded"
    " its reasons in writing. Individual judges' scores are confidential."
)
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_IMAGE_TYPES = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
)
PHOTO_VERSION_CHARS = 16


# --- reading the campaign ---------------------------------------------------------------


def current_campaign(session: Session) -> Campaign:
    """The campaign staff publish for: the newest one."""
    campaign = get_current_campaign(session)
    if campaign is None:
        raise NotFound(N_("There is no campaign yet."))
    return campaign


def _lock(session: Session, campaign: Campaign) -> Campaign:
    """Serialises the publishing actions of one campaign, and reloads it: two staff members
    acting at once (on PostgreSQL; SQLite writers already take turns) would otherwise both
    announce, or publish the same draft twice and send its e-mails twice."""
    return session.exec(
        select(Campaign)
        .where(Campaign.id == campaign.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()


def _themes(session: Session, campaign_id: int) -> list[Theme]:
    return list(
        session.exec(
            select(Theme)
            .where(Theme.campaign_id == campaign_id)
            .order_by(col(Theme.position), col(Theme.id))
        ).all()
    )


def _finalists(session: Session, campaign_id: int) -> list[Finalist]:
    return list(
        session.exec(
            select(Finalist)
            .join(Theme, col(Theme.id) == Finalist.theme_id)
            .where(Theme.campaign_id == campaign_id)
            .order_by(col(Finalist.public_name), col(Finalist.id))
        ).all()
    )


def _winners(session: Session, campaign_id: int) -> list[Winner]:
    return list(
        session.exec(
            select(Winner).where(Winner.campaign_id == campaign_id).order_by(col(Winner.id))
        ).all()
    )


def profile(finalist: Finalist) -> dict[str, Any]:
    """The public profile of a finalist: what /finalists and the results may show."""
    return {
        "finalist_id": finalist.id,
        "public_name": finalist.public_name,
        "public_position": finalist.public_position,
        "public_institution": finalist.public_institution,
        "citation_es": finalist.citation_es,
        "citation_en": finalist.citation_en,
        "photo_sha256": finalist.photo_sha256,
    }


def _theme_header(theme: Theme) -> dict[str, Any]:
    return {
        "slug": theme.slug,
        "name_es": theme.name_es,
        "name_en": theme.name_en,
        "description_es": theme.description_es,
        "description_en": theme.description_en,
    }


def _campaign_header(campaign: Campaign) -> dict[str, Any]:
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
    finalists = _finalists(session, campaign.id)
    winners = _winners(session, campaign.id)
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
            for theme in _themes(session, campaign.id)
        ],
    )


class FieldInvalid(InvalidInput):
    """Refused input of a staff form, with the field the message belongs beside."""

    def __init__(self, message: str, *, field: str, **params: object) -> None:
        super().__init__(message, **params)
        self.field = field


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
    campaign = _lock(session, campaign)
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
    finalists = _finalists(session, campaign.id)
    return {
        "campaign": _campaign_header(campaign),
        "themes": [
            {
                **_theme_header(theme),
                "finalists": [profile(f) for f in finalists if f.theme_id == theme.id],
            }
            for theme in _themes(session, campaign.id)
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
    campaign = _lock(session, campaign)
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
    audit_chain.checkpoint_at_commit(
        session, reason=CheckpointReason.finalists_announced, edition=campaign.year
    )
    return sent


# --- the results snapshot -----------------------------------------------------------------


def _count_by_theme(session: Session, query: Any) -> dict[int, int]:
    return {int(theme_id): int(n) for theme_id, n in session.execute(query).all()}


def build_results_content(session: Session, *, campaign: Campaign) -> dict[str, Any]:
    """The frozen content of a results revision: winners' public profiles per theme, the
    finalists, and how they were chosen, in aggregate figures only."""
    campaign_id = campaign.id
    assert campaign_id is not None
    themes = _themes(session, campaign_id)
    theme_ids = [theme.id for theme in themes]
    finalists = _finalists(session, campaign_id)
    by_id = {f.id: f for f in finalists}
    winners = _winners(session, campaign_id)

    nominations = session.execute(
        select(
            col(Nomination.theme_id),
            func.count(),
            func.sum(case((col(Nomination.status) == NominationStatus.eligible, 1), else_=0)),
        )
        .where(
            col(Nomination.theme_id).in_(theme_ids),
            col(Nomination.status) != NominationStatus.withdrawn,
        )
        .group_by(col(Nomination.theme_id))
    ).all()
    received = {int(theme_id): int(n) for theme_id, n, _ in nominations}
    eligible = {int(theme_id): int(e or 0) for theme_id, _, e in nominations}
    candidates = _count_by_theme(
        session,
        select(col(Candidate.theme_id), func.count())
        .where(Candidate.campaign_id == campaign_id)
        .group_by(col(Candidate.theme_id)),
    )
    judges = session.execute(
        select(func.count(distinct(col(JudgeAssignment.account_id)))).where(
            col(JudgeAssignment.theme_id).in_(theme_ids)
        )
    ).scalar_one()
    recusals = session.execute(
        select(func.count())
        .select_from(ConflictDeclaration)
        .where(
            col(ConflictDeclaration.has_conflict).is_(True),
            col(ConflictDeclaration.finalist_id).in_(list(by_id)),
        )
    ).scalar_one()
    meetings = session.execute(
        select(col(Meeting.number), col(Meeting.held_on), func.count(col(MeetingFinalist.id)))
        .outerjoin(MeetingFinalist, col(MeetingFinalist.meeting_id) == col(Meeting.id))
        .where(Meeting.campaign_id == campaign_id, Meeting.status == MeetingStatus.closed)
        .group_by(col(Meeting.id), col(Meeting.number), col(Meeting.held_on))
        .order_by(col(Meeting.number))
    ).all()
    criteria = session.exec(
        select(Criterion)
        .where(Criterion.campaign_id == campaign_id)
        .order_by(col(Criterion.position), col(Criterion.id))
    ).all()
    total_weight = sum(c.weight for c in criteria)

    theme_entries = []
    for theme in themes:
        assert theme.id is not None
        theme_finalists = [f for f in finalists if f.theme_id == theme.id]
        theme_winners = sorted(
            (by_id[w.finalist_id] for w in winners if w.theme_id == theme.id),
            key=lambda f: (f.public_name, f.id),
        )
        theme_entries.append(
            {
                **_theme_header(theme),
                "winners": [profile(f) for f in theme_winners],
                "finalists": [profile(f) for f in theme_finalists],
                "figures": {
                    "nominations": received.get(theme.id, 0),
                    "eligible_nominations": eligible.get(theme.id, 0),
                    "candidates": candidates.get(theme.id, 0),
                    "finalists": len(theme_finalists),
                },
            }
        )
    return {
        "format": CONTENT_FORMAT,
        "campaign": _campaign_header(campaign),
        "themes": theme_entries,
        "how_chosen": {
            "criteria": [
                {
                    "name_es": c.name_es,
                    "name_en": c.name_en,
                    "description_es": c.description_es,
                    "description_en": c.description_en,
                    "weight": c.weight,
                    "share_percent": round(100 * c.weight / total_weight, 1)
                    if total_weight
                    else 0.0,
                    "scale_min": c.scale_min,
                    "scale_max": c.scale_max,
                }
                for c in criteria
            ],
            "figures": {
                "nominations": sum(received.values()),
                "eligible_nominations": sum(eligible.values()),
                "candidates": sum(candidates.values()),
                "finalists": len(finalists),
                "judges": int(judges),
                "meetings": len(meetings),
                "recusals": int(recusals),
            },
            "meetings": [
                {"number": int(number), "held_on": held_on.isoformat(), "finalists": int(n)}
                for number, held_on, n in meetings
            ],
            "aggregation": {"es": AGGREGATION_TEXT_ES, "en": AGGREGATION_TEXT_EN},
        },
    }


def winner_ids(content: dict[str, Any]) -> list[int]:
    return [w["finalist_id"] for theme in content["themes"] for w in theme["winners"]]


# --- revisions -------------------------------------------------------------------------------


def _revisions(session: Session, campaign_id: int) -> list[ResultsRevision]:
    return list(
        session.exec(
            select(ResultsRevision)
            .where(ResultsRevision.campaign_id == campaign_id)
            .order_by(col(ResultsRevision.number))
        ).all()
    )


def _published(revisions: list[ResultsRevision]) -> list[ResultsRevision]:
    return [r for r in revisions if r.status is RevisionStatus.published]


@dataclass(frozen=True)
class ThemeStatus:
    theme: Theme
    finalists: int
    winners: list[Finalist]


@dataclass(frozen=True)
class PublishingOverview:
    campaign: Campaign
    themes: list[ThemeStatus]
    revisions: list[ResultsRevision]
    draft: ResultsRevision | None
    latest: ResultsRevision | None
    # The draft was prepared before the latest change of winners or profiles.
    draft_outdated: bool
    # Winners or profiles differ from what the latest published revision shows.
    published_outdated: bool
    missing_winners: list[Theme] = field(default_factory=list)

    @property
    def can_prepare(self) -> bool:
        return self.campaign.finalists_announced_at is not None and not self.missing_winners


def publishing_overview(session: Session, *, campaign: Campaign) -> PublishingOverview:
    assert campaign.id is not None
    finalists = _finalists(session, campaign.id)
    by_id = {f.id: f for f in finalists}
    winners = _winners(session, campaign.id)
    statuses = [
        ThemeStatus(
            theme=theme,
            finalists=sum(1 for f in finalists if f.theme_id == theme.id),
            winners=[by_id[w.finalist_id] for w in winners if w.theme_id == theme.id],
        )
        for theme in _themes(session, campaign.id)
    ]
    revisions = _revisions(session, campaign.id)
    draft = next((r for r in revisions if r.status is RevisionStatus.draft), None)
    published = _published(revisions)
    latest = published[-1] if published else None
    current = build_results_content(session, campaign=campaign) if draft or latest else None
    return PublishingOverview(
        campaign=campaign,
        themes=statuses,
        revisions=revisions,
        draft=draft,
        latest=latest,
        draft_outdated=draft is not None and json.loads(draft.content) != current,
        published_outdated=latest is not None and json.loads(latest.content) != current,
        missing_winners=[s.theme for s in statuses if s.finalists and not s.winners],
    )


def prepare_revision(
    session: Session, *, campaign: Campaign, actor: Account, reason: str, now: datetime
) -> ResultsRevision:
    """Freezes the current winners and figures into the draft revision (one at a time) for
    staff to preview; after a first publication it is a correction and needs its reason."""
    campaign = _lock(session, campaign)
    overview = publishing_overview(session, campaign=campaign)
    if campaign.finalists_announced_at is None:
        raise Conflict(N_("Announce the finalists before publishing the results."))
    if overview.missing_winners:
        raise Conflict(
            N_("Confirm the winners of every theme before publishing the results: %(themes)s."),
            themes=", ".join(theme.name_es for theme in overview.missing_winners),
        )
    if overview.latest is not None and not reason.strip():
        raise FieldInvalid(
            N_("Results already published are corrected by a new revision: say what it corrects."),
            field="reason",
        )
    content = build_results_content(session, campaign=campaign)
    if overview.latest is not None and json.loads(overview.latest.content) == content:
        raise FieldInvalid(
            N_("Nothing changed since the published revision: there is nothing to correct."),
            field="reason",
        )
    assert campaign.id is not None and actor.id is not None
    text = json.dumps(content, ensure_ascii=False, sort_keys=True)
    draft = overview.draft
    before = None
    if draft is None:
        number = max((r.number for r in overview.revisions), default=0) + 1
        draft = ResultsRevision(
            campaign_id=campaign.id, number=number, created_by_id=actor.id, created_at=now
        )
    else:
        before = {"reason": draft.reason, "content_sha256": fingerprint(json.loads(draft.content))}
    draft.status = RevisionStatus.draft
    draft.reason = reason.strip()
    draft.content = text
    draft.created_by_id = actor.id
    draft.created_at = now
    session.add(draft)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="results.draft_prepared",
        object_type="results_revision",
        object_id=draft.id,
        before=before,
        after={
            "number": draft.number,
            "reason": draft.reason,
            "content_sha256": fingerprint(content),
            "winner_ids": winner_ids(content),
        },
    )
    return draft


@dataclass(frozen=True)
class RevisionView:
    campaign: Campaign
    revision: ResultsRevision
    content: dict[str, Any]
    # Published revisions of the campaign, oldest first: the page's history of corrections.
    history: list[ResultsRevision]

    @property
    def latest(self) -> ResultsRevision | None:
        return self.history[-1] if self.history else None

    @property
    def is_latest(self) -> bool:
        return self.latest is not None and self.latest.id == self.revision.id

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.content)

    @property
    def meetings(self) -> list[dict[str, Any]]:
        """The meetings held, with their dates as dates (the snapshot keeps them as text)."""
        return [
            {**m, "held_on": date.fromisoformat(m["held_on"])}
            for m in self.content["how_chosen"]["meetings"]
        ]


def staff_revision(session: Session, *, campaign: Campaign, number: int) -> RevisionView:
    """Any revision of the current campaign, drafts included, for staff to preview."""
    assert campaign.id is not None
    revisions = _revisions(session, campaign.id)
    revision = next((r for r in revisions if r.number == number), None)
    if revision is None:
        raise NotFound(N_("This revision of the results does not exist."))
    return RevisionView(
        campaign=campaign,
        revision=revision,
        content=json.loads(revision.content),
        history=_published(revisions),
    )


def publish_revision(
    session: Session,
    *,
    campaign: Campaign,
    number: int,
    previewed: str,
    actor: Account,
    now: datetime,
    base_url: str,
) -> ResultsRevision:
    """Publishes the draft exactly as previewed, then tells the nominators who agreed to be
    contacted about winners this revision adds."""
    campaign = _lock(session, campaign)
    view = staff_revision(session, campaign=campaign, number=number)
    revision = view.revision
    if revision.status is not RevisionStatus.draft:
        raise Conflict(N_("This revision is already published."))
    if previewed != view.fingerprint:
        raise Conflict(
            N_("This draft changed since you opened its preview. Check the preview again.")
        )
    previous = view.latest
    before_ids = set(winner_ids(json.loads(previous.content))) if previous else set()
    new_winners = [i for i in winner_ids(view.content) if i not in before_ids]
    revision.status = RevisionStatus.published
    revision.published_at = now
    session.add(revision)
    session.flush()
    sent = notifications.notify_winners_published(
        session, campaign, finalist_ids=new_winners, base_url=base_url
    )
    audit.record(
        session,
        actor=actor,
        action="results.published",
        object_type="results_revision",
        object_id=revision.id,
        before={"status": RevisionStatus.draft.value},
        after={
            "status": RevisionStatus.published.value,
            "number": revision.number,
            "reason": revision.reason,
            "content_sha256": view.fingerprint,
            "winner_ids": winner_ids(view.content),
            "emails_queued": sent,
        },
    )
    transparency.seal_revision(session, campaign=campaign, revision=revision)
    return revision


def discard_draft(session: Session, *, campaign: Campaign, number: int, actor: Account) -> None:
    campaign = _lock(session, campaign)
    view = staff_revision(session, campaign=campaign, number=number)
    if view.revision.status is not RevisionStatus.draft:
        raise Conflict(N_("A published revision cannot be discarded; publish a correction."))
    revision_id = view.revision.id
    session.delete(view.revision)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="results.draft_discarded",
        object_type="results_revision",
        object_id=revision_id,
        before={"number": number, "content_sha256": view.fingerprint},
    )


# --- public pages ----------------------------------------------------------------------------


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
    if campaign.finalists_announced_at is not None and finalist.photo_sha256:
        allowed.append(finalist.photo_sha256)
    for revision in _published(_revisions(session, campaign.id or 0)):
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


# --- open data --------------------------------------------------------------------------------


def results_json(view: RevisionView, *, base_url: str) -> dict[str, Any]:
    base = base_url.rstrip("/")
    year = view.campaign.year
    content = json.loads(json.dumps(view.content))
    for theme in content["themes"]:
        for entry in [*theme["winners"], *theme["finalists"]]:
            entry["photo_url"] = base + photo_path(entry) if entry["photo_sha256"] else None
        for entry in theme["winners"]:
            entry["url"] = f"{base}/results/{year}/winners/{entry['finalist_id']}"
    return {
        "revision": {
            "number": view.revision.number,
            "published_at": _iso(view.revision.published_at),
            "reason": view.revision.reason,
            "url": f"{base}/results/{year}/revisions/{view.revision.number}",
        },
        "revisions": [
            {"number": r.number, "published_at": _iso(r.published_at), "reason": r.reason}
            for r in view.history
        ],
        **content,
    }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _neutralise(value: object) -> object:
    # A spreadsheet would run text starting with these as a formula (OWASP "CSV injection").
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


CSV_COLUMNS = (
    "year",
    "revision",
    "published_at",
    "theme",
    "theme_name_es",
    "theme_name_en",
    "finalist_id",
    "winner",
    "public_name",
    "public_position",
    "public_institution",
    "citation_es",
    "citation_en",
    "photo_url",
    "theme_nominations",
    "theme_candidates",
    "theme_finalists",
    "nominations",
    "candidates",
    "finalists",
    "judges",
    "meetings",
    "recusals",
    "criteria",
)


def results_csv(view: RevisionView, *, base_url: str) -> str:
    """One row per finalist of the edition (winners flagged), each carrying the edition's
    aggregate figures, so the file stands alone in a spreadsheet."""
    base = base_url.rstrip("/")
    content = view.content
    how = content["how_chosen"]
    figures = how["figures"]
    criteria = "; ".join(
        f"{c['name_es']} / {c['name_en']}: {c['share_percent']}%" for c in how["criteria"]
    )
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for theme in content["themes"]:
        winners = {w["finalist_id"] for w in theme["winners"]}
        for entry in theme["finalists"]:
            row = [
                view.campaign.year,
                view.revision.number,
                _iso(view.revision.published_at),
                theme["slug"],
                theme["name_es"],
                theme["name_en"],
                entry["finalist_id"],
                "yes" if entry["finalist_id"] in winners else "no",
                entry["public_name"],
                entry["public_position"],
                entry["public_institution"],
                entry["citation_es"],
                entry["citation_en"],
                base + photo_path(entry) if entry["photo_sha256"] else "",
                theme["figures"]["nominations"],
                theme["figures"]["candidates"],
                theme["figures"]["finalists"],
                figures["nominations"],
                figures["candidates"],
                figures["finalists"],
                figures["judges"],
                figures["meetings"],
                figures["recusals"],
                criteria,
            ]
            writer.writerow([_neutralise(value) for value in row])
    return out.getvalue()
