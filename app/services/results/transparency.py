"""The public decision record: how each edition's winners were chosen, step by step, each step
tied to the signed checkpoint of the audit chain that covers it (/transparency).

Only what is public already, or a count: dates, counts at each stage, the rubric, each closed
meeting's date with how many judges took part, recused themselves and submitted sheets, each
published revision, and hashes. Never a name of a nominee, nominator or judge, nor a score.

A step is covered by the first checkpoint whose count reaches the audit event that recorded it
(the checkpoint made for that very step, since the chain began); the close of the call, which
no staff action records, by the checkpoint the server makes when it sees it. A step that left
no audit event (data loaded by hand, a call closed before the chain) is covered by none.
"""

from __future__ import annotations

import bisect
import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import Engine, case, distinct, func
from sqlmodel import Session, col, select

from app.db import WRITE
from app.models import (
    AuditCheckpoint,
    AuditEvent,
    Campaign,
    Candidate,
    CheckpointReason,
    ConflictDeclaration,
    Criterion,
    Finalist,
    Meeting,
    MeetingFinalist,
    MeetingStatus,
    Nomination,
    NominationStatus,
    ResultsRevision,
    RevisionStatus,
    ScoreSheet,
    Theme,
)
from app.services import audit_chain
from app.services.audit import lock_head
from app.services.audit_chain import Signer

# A call that closed longer ago than this when the server first sees it (an old edition, a
# server that was down) gets no checkpoint of its own: the next daily one covers it.
CALL_CLOSED_GRACE = timedelta(days=7)
# What recorded each step in the audit trail: (action, object type).
STEP_EVENTS = {
    "finalists": ("finalists.announced", "campaign"),
    "meeting": ("meeting.closed", "meeting"),
    "revision": ("results.published", "results_revision"),
}


# --- checkpoints at stage changes -------------------------------------------------------------


def seal_revision(session: Session, *, campaign: Campaign, revision: ResultsRevision) -> None:
    """Publishing a results revision: when the transaction commits, a checkpoint of the head
    that includes the publication, and the revision keeps that head."""

    def keep_head(checkpoint: AuditCheckpoint) -> None:
        revision.chain_head = checkpoint.head_hash
        session.add(revision)

    audit_chain.checkpoint_at_commit(
        session,
        reason=CheckpointReason.results_published,
        edition=campaign.year,
        subject=f"revision {revision.number}",
        then=keep_head,
    )


def due_checkpoints(engine: Engine, *, signer: Signer, now: datetime) -> list[AuditCheckpoint]:
    """What the server checks every few minutes: a call that has just closed, and the day's
    checkpoint. Safe with several workers: each decision is taken with the head locked."""
    made = []
    with Session(engine.execution_options(**WRITE), expire_on_commit=False) as session:
        lock_head(session)
        closed = session.execute(
            select(col(Campaign.year), func.max(col(Theme.closes_at)))
            .join(Theme, col(Theme.campaign_id) == col(Campaign.id))
            .group_by(col(Campaign.year))
        ).all()
        marked = set(
            session.exec(
                select(AuditCheckpoint.edition).where(
                    AuditCheckpoint.reason == CheckpointReason.call_closed
                )
            ).all()
        )
        for year, closes_at in closed:
            if year not in marked and now - CALL_CLOSED_GRACE <= closes_at <= now:
                made.append(
                    audit_chain.checkpoint_now(
                        session,
                        signer=signer,
                        reason=CheckpointReason.call_closed,
                        edition=int(year),
                        now=now,
                    )
                )
        daily = audit_chain.daily_checkpoint(session, signer=signer, now=now)
        if daily is not None:
            made.append(daily)
        session.commit()
    return made


# --- the story of an edition -------------------------------------------------------------------


@dataclass(frozen=True)
class Covered:
    """A step of the story and the checkpoint that covers it (None: none covers it yet)."""

    checkpoint: AuditCheckpoint | None


@dataclass(frozen=True)
class MeetingStep(Covered):
    number: int
    held_on: date
    closed_at: datetime | None
    finalists: int
    judges: int
    recusals: int
    sheets: int


@dataclass(frozen=True)
class RevisionStep(Covered):
    number: int
    published_at: datetime | None
    reason: str
    chain_head: str | None
    winners: int


@dataclass(frozen=True)
class CriterionLine:
    name_es: str
    name_en: str
    share_percent: float
    scale_min: int
    scale_max: int


@dataclass(frozen=True)
class Edition:
    campaign: Campaign
    call_opens_at: datetime | None
    call_closes_at: datetime | None
    call_closed: Covered | None
    nominations: int
    eligible: int
    candidates: int
    # Counted once the finalists are public.
    finalists: int | None
    finalists_announced: Covered | None
    criteria: list[CriterionLine]
    meetings: list[MeetingStep]
    revisions: list[RevisionStep]


@dataclass(frozen=True)
class TransparencyPage:
    public_key: audit_chain.PublicKey
    # Newest first.
    checkpoints: list[AuditCheckpoint]
    editions: list[Edition]
    # The first checkpoint of each head, which /transparency#head-{hash} points to (a results
    # revision's page links there with the head it keeps).
    head_anchors: set[int]


class _Coverage:
    """Finds the first checkpoint whose count reaches an event's place in the chain."""

    def __init__(self, checkpoints: list[AuditCheckpoint]) -> None:
        self.checkpoints = sorted(checkpoints, key=lambda c: (c.event_count, c.id or 0))
        self.counts = [c.event_count for c in self.checkpoints]

    def of_seq(self, seq: int | None) -> AuditCheckpoint | None:
        if seq is None:
            return None
        index = bisect.bisect_left(self.counts, seq)
        return self.checkpoints[index] if index < len(self.checkpoints) else None


def _step_seqs(session: Session) -> dict[tuple[str, str], int]:
    """The place in the chain of the latest event that recorded each step, by (action,
    object id)."""
    actions = [action for action, _ in STEP_EVENTS.values()]
    types = [object_type for _, object_type in STEP_EVENTS.values()]
    rows = session.execute(
        select(col(AuditEvent.action), col(AuditEvent.object_id), func.max(col(AuditEvent.seq)))
        .where(col(AuditEvent.object_type).in_(types), col(AuditEvent.action).in_(actions))
        .group_by(col(AuditEvent.action), col(AuditEvent.object_id))
    ).all()
    return {(str(action), str(object_id)): int(seq) for action, object_id, seq in rows}


def _counts(session: Session, campaign_ids: list[int]) -> dict[int, dict[str, int]]:
    counts: dict[int, dict[str, int]] = {
        cid: {"nominations": 0, "eligible": 0, "candidates": 0, "finalists": 0, "winners": 0}
        for cid in campaign_ids
    }
    nominations = session.execute(
        select(
            col(Theme.campaign_id),
            func.count(),
            func.sum(case((col(Nomination.status) == NominationStatus.eligible, 1), else_=0)),
        )
        .select_from(Nomination)
        .join(Theme, col(Theme.id) == col(Nomination.theme_id))
        .where(col(Nomination.status) != NominationStatus.withdrawn)
        .group_by(col(Theme.campaign_id))
    ).all()
    for cid, received, eligible in nominations:
        counts[cid].update(nominations=int(received), eligible=int(eligible or 0))
    for cid, n in session.execute(
        select(col(Candidate.campaign_id), func.count()).group_by(col(Candidate.campaign_id))
    ).all():
        counts[cid]["candidates"] = int(n)
    for cid, n in session.execute(
        select(col(Theme.campaign_id), func.count())
        .select_from(Finalist)
        .join(Theme, col(Theme.id) == col(Finalist.theme_id))
        .group_by(col(Theme.campaign_id))
    ).all():
        counts[cid]["finalists"] = int(n)
    return counts


def _meetings(
    session: Session, coverage: _Coverage, seqs: dict[tuple[str, str], int]
) -> dict[int, list[MeetingStep]]:
    meetings = session.exec(
        select(Meeting)
        .where(Meeting.status == MeetingStatus.closed)
        .order_by(col(Meeting.campaign_id), col(Meeting.number))
    ).all()
    ids = [m.id for m in meetings]
    scope = dict(
        session.execute(
            select(col(MeetingFinalist.meeting_id), func.count())
            .where(col(MeetingFinalist.meeting_id).in_(ids))
            .group_by(col(MeetingFinalist.meeting_id))
        ).all()
    )
    sheets = {
        meeting_id: (int(n), int(judges))
        for meeting_id, n, judges in session.execute(
            select(
                col(ScoreSheet.meeting_id),
                func.count(),
                func.count(distinct(col(ScoreSheet.judge_id))),
            )
            .where(col(ScoreSheet.meeting_id).in_(ids), col(ScoreSheet.submitted_at).is_not(None))
            .group_by(col(ScoreSheet.meeting_id))
        ).all()
    }
    recusals = dict(
        session.execute(
            select(col(MeetingFinalist.meeting_id), func.count())
            .join(
                ConflictDeclaration,
                col(ConflictDeclaration.finalist_id) == col(MeetingFinalist.finalist_id),
            )
            .where(
                col(MeetingFinalist.meeting_id).in_(ids),
                col(ConflictDeclaration.has_conflict).is_(True),
            )
            .group_by(col(MeetingFinalist.meeting_id))
        ).all()
    )
    by_campaign: dict[int, list[MeetingStep]] = {}
    action = STEP_EVENTS["meeting"][0]
    for meeting in meetings:
        n_sheets, judges = sheets.get(meeting.id, (0, 0))
        by_campaign.setdefault(meeting.campaign_id, []).append(
            MeetingStep(
                checkpoint=coverage.of_seq(seqs.get((action, str(meeting.id)))),
                number=meeting.number,
                held_on=meeting.held_on,
                closed_at=meeting.closed_at,
                finalists=int(scope.get(meeting.id, 0)),
                judges=judges,
                recusals=int(recusals.get(meeting.id, 0)),
                sheets=n_sheets,
            )
        )
    return by_campaign


def _criteria(session: Session) -> dict[int, list[CriterionLine]]:
    rows = session.exec(
        select(Criterion).order_by(
            col(Criterion.campaign_id), col(Criterion.position), col(Criterion.id)
        )
    ).all()
    totals: dict[int, float] = {}
    for c in rows:
        totals[c.campaign_id] = totals.get(c.campaign_id, 0.0) + c.weight
    lines: dict[int, list[CriterionLine]] = {}
    for c in rows:
        total = totals[c.campaign_id]
        lines.setdefault(c.campaign_id, []).append(
            CriterionLine(
                name_es=c.name_es,
                name_en=c.name_en,
                share_percent=round(100 * c.weight / total, 1) if total else 0.0,
                scale_min=c.scale_min,
                scale_max=c.scale_max,
            )
        )
    return lines


def transparency_page(
    session: Session, *, public_key: audit_chain.PublicKey, now: datetime
) -> TransparencyPage:
    checkpoints = audit_chain.checkpoints(session)
    coverage = _Coverage(checkpoints)
    seqs = _step_seqs(session)
    campaigns = list(session.exec(select(Campaign).order_by(col(Campaign.year).desc())).all())
    ids = [c.id for c in campaigns if c.id is not None]
    windows = {
        cid: (opens, closes)
        for cid, opens, closes in session.execute(
            select(
                col(Theme.campaign_id),
                func.min(col(Theme.opens_at)),
                func.max(col(Theme.closes_at)),
            ).group_by(col(Theme.campaign_id))
        ).all()
    }
    counts = _counts(session, ids)
    meetings = _meetings(session, coverage, seqs)
    criteria = _criteria(session)
    revisions = session.exec(
        select(ResultsRevision)
        .where(ResultsRevision.status == RevisionStatus.published)
        .order_by(col(ResultsRevision.campaign_id), col(ResultsRevision.number))
    ).all()
    # The first checkpoint of each head (checkpoints come oldest first).
    by_head = {c.head_hash: c for c in reversed(checkpoints)}
    call_checkpoints = {
        c.edition: c for c in checkpoints if c.reason is CheckpointReason.call_closed
    }
    editions = []
    for campaign in campaigns:
        assert campaign.id is not None
        opens_at, closes_at = windows.get(campaign.id, (None, None))
        steps = [
            RevisionStep(
                checkpoint=(by_head.get(r.chain_head) if r.chain_head else None)
                or coverage.of_seq(seqs.get((STEP_EVENTS["revision"][0], str(r.id)))),
                number=r.number,
                published_at=r.published_at,
                reason=r.reason,
                chain_head=r.chain_head,
                winners=sum(len(theme["winners"]) for theme in json.loads(r.content)["themes"]),
            )
            for r in revisions
            if r.campaign_id == campaign.id
        ]
        announced = campaign.finalists_announced_at
        # Announcing the finalists ends the call, even before the themes' windows close.
        ended_early = announced is not None and (closes_at is None or announced < closes_at)
        if ended_early:
            closes_at = announced
        figures = counts[campaign.id]
        editions.append(
            Edition(
                campaign=campaign,
                call_opens_at=opens_at,
                call_closes_at=closes_at,
                call_closed=Covered(
                    call_checkpoints.get(campaign.year)
                    or (
                        coverage.of_seq(seqs.get((STEP_EVENTS["finalists"][0], str(campaign.id))))
                        if ended_early
                        else None
                    )
                )
                if closes_at is not None and closes_at <= now
                else None,
                nominations=figures["nominations"],
                eligible=figures["eligible"],
                candidates=figures["candidates"],
                finalists=figures["finalists"] if announced else None,
                finalists_announced=Covered(
                    coverage.of_seq(seqs.get((STEP_EVENTS["finalists"][0], str(campaign.id))))
                )
                if announced
                else None,
                criteria=criteria.get(campaign.id, []),
                meetings=meetings.get(campaign.id, []),
                revisions=steps,
            )
        )
    return TransparencyPage(
        public_key=public_key,
        checkpoints=sorted(checkpoints, key=lambda c: c.id or 0, reverse=True),
        editions=editions,
        head_anchors={c.id for c in by_head.values() if c.id is not None},
    )
