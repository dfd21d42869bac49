"""What /staff/sanctions and the candidate's page show: the lists and their versions, whether
the edition is screened against them, and the possible matches to adjudicate."""

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, col, select

from app.errors import NotFound
from app.i18n import N_
from app.models import (
    Campaign,
    Candidate,
    CandidateIdentity,
    MatchStatus,
    SanctionEntry,
    SanctionListVersion,
    SanctionScreening,
    SanctionSource,
)
from app.services.campaigns.campaigns import get_current_campaign
from app.services.candidates.sanctions.matches import MatchGroup, match_groups
from app.services.candidates.sanctions.screening import has_entries, stale_subjects


@dataclass(frozen=True)
class ListSummary:
    source: SanctionSource
    # Newest first; the first is the version in force.
    versions: list[SanctionListVersion]
    current_entries: int


@dataclass(frozen=True)
class SanctionsPage:
    campaign: Campaign | None
    lists: list[ListSummary]
    groups: list[MatchGroup]
    counts: dict[str, int]
    # Nominees of the edition not yet screened against the lists as they are now.
    pending: int
    has_entries: bool


def list_summaries(session: Session) -> list[ListSummary]:
    sources = session.exec(select(SanctionSource).order_by(col(SanctionSource.name))).all()
    versions = session.exec(
        select(SanctionListVersion).order_by(col(SanctionListVersion.id).desc())
    ).all()
    counts = dict(
        session.execute(
            select(SanctionEntry.source_id, func.count())
            .where(col(SanctionEntry.removed_version_id).is_(None))
            .group_by(col(SanctionEntry.source_id))
        ).all()
    )
    return [
        ListSummary(
            source=source,
            versions=[v for v in versions if v.source_id == source.id],
            current_entries=int(counts.get(source.id, 0)),
        )
        for source in sources
    ]


def sanctions_page(session: Session, *, status: MatchStatus | None) -> SanctionsPage:
    campaign = get_current_campaign(session)
    groups: list[MatchGroup] = []
    counts: Counter[str] = Counter()
    pending = 0
    entries = has_entries(session)
    if campaign is not None and campaign.id is not None:
        every = match_groups(session, campaign_id=campaign.id)
        counts.update(group.status.value for group in every)
        groups = [g for g in every if status is None or g.status is status]
        if entries:
            pending = len(stale_subjects(session, campaign_id=campaign.id))
    return SanctionsPage(
        campaign=campaign,
        lists=list_summaries(session),
        groups=groups,
        counts={s.value: counts.get(s.value, 0) for s in MatchStatus},
        pending=pending,
        has_entries=entries,
    )


@dataclass(frozen=True)
class CandidateSanctions:
    candidate: Candidate
    identity: CandidateIdentity | None
    groups: list[MatchGroup]
    screened_at: datetime | None
    has_entries: bool

    @property
    def open(self) -> list[MatchGroup]:
        return [g for g in self.groups if g.status is MatchStatus.open]


def candidate_sanctions(session: Session, *, candidate_id: int) -> CandidateSanctions:
    """The candidate's possible matches (its own and its nominations'), and its identifiers."""
    candidate = session.get(Candidate, candidate_id) if 0 < candidate_id < 2**31 else None
    if candidate is None:
        raise NotFound(N_("There is no candidate with this number."))
    assert candidate.id is not None
    screened = session.exec(
        select(SanctionScreening.screened_at).where(SanctionScreening.candidate_id == candidate.id)
    ).first()
    return CandidateSanctions(
        candidate=candidate,
        identity=session.get(CandidateIdentity, candidate.id),
        groups=match_groups(session, campaign_id=candidate.campaign_id, candidate_id=candidate.id),
        screened_at=screened,
        has_entries=has_entries(session),
    )
