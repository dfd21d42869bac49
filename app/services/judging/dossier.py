"""What a judge reads about a finalist: the public profile, the nominations and the names of
their references, the vetting summary and the evidence files.

Judges score; staff vet. So a judge sees what the nominations say, never how to reach anyone:
the queries below never select the nominee's contact or the references' phones and e-mails
(staff use them to vet, and record the outcome as a check), nor a nominator's name, e-mail,
phone or relationship, nor how they know the nominee (their own words about themselves). The
views hold no table object a template could read them from. The number of independent
nominators is counted in the database without reading who they are.
"""

from dataclasses import dataclass
from datetime import date

from sqlalchemy import ColumnElement, and_, func, select
from sqlmodel import Session, col

from app.errors import NotFound
from app.models import (
    Candidate,
    CheckKind,
    CheckResult,
    EvidenceFile,
    Finalist,
    GovernmentLevel,
    Nomination,
    NominationStatus,
    Theme,
    VettingCheck,
    VettingStatus,
)

# Nominations that are not part of the dossier: withdrawn by their nominator, or screened out.
EXCLUDED = (NominationStatus.withdrawn, NominationStatus.ineligible)


@dataclass(frozen=True)
class FileSummary:
    id: int
    name: str
    content_type: str
    size: int


@dataclass(frozen=True)
class NominationSummary:
    theme: Theme
    submitted_at: date
    nominee_name: str
    nominee_position: str
    nominee_institution: str
    government_level: GovernmentLevel
    state: str
    years_of_service: int
    nominee_age: int | None
    achievement: str
    impact: str
    obstacles: str
    # The references' names only: staff contacted them (the vetting checks say so).
    references: tuple[str, ...]
    files: tuple[FileSummary, ...]


@dataclass(frozen=True)
class CheckSummary:
    kind: CheckKind
    result: CheckResult
    checked_on: date


@dataclass(frozen=True)
class Dossier:
    finalist: Finalist
    theme: Theme
    nominators: int
    nominations: list[NominationSummary]
    vetting_status: VettingStatus
    checks: list[CheckSummary]


def _dossier_nominations(finalist: Finalist) -> list[ColumnElement[bool]]:
    return [
        col(Nomination.candidate_id) == finalist.candidate_id,
        col(Nomination.status).not_in(EXCLUDED),
    ]


def build_dossier(session: Session, *, finalist: Finalist, theme: Theme) -> Dossier:
    nominations = session.execute(
        select(
            col(Nomination.id),
            Theme,
            col(Nomination.submitted_at),
            col(Nomination.nominee_name),
            col(Nomination.nominee_position),
            col(Nomination.nominee_institution),
            col(Nomination.government_level),
            col(Nomination.state),
            col(Nomination.years_of_service),
            col(Nomination.nominee_age),
            col(Nomination.achievement),
            col(Nomination.impact),
            col(Nomination.obstacles),
            col(Nomination.reference1_name),
            col(Nomination.reference2_name),
        )
        .join(Theme, col(Theme.id) == Nomination.theme_id)
        .where(*_dossier_nominations(finalist))
        .order_by(col(Nomination.submitted_at), col(Nomination.id))
    ).all()
    files: dict[int, list[FileSummary]] = {}
    for nomination_id, file_id, name, content_type, size in session.execute(
        select(
            col(EvidenceFile.nomination_id),
            col(EvidenceFile.id),
            col(EvidenceFile.original_name),
            col(EvidenceFile.content_type),
            col(EvidenceFile.size),
        )
        .join(Nomination, col(Nomination.id) == EvidenceFile.nomination_id)
        .where(*_dossier_nominations(finalist))
        .order_by(col(EvidenceFile.nomination_id), col(EvidenceFile.position))
    ):
        files.setdefault(nomination_id, []).append(
            FileSummary(id=file_id, name=name, content_type=content_type, size=size)
        )
    # Independent nominators: the same e-mail nominating twice is one person.
    nominators = session.execute(
        select(func.count(func.distinct(func.lower(col(Nomination.nominator_email))))).where(
            *_dossier_nominations(finalist)
        )
    ).scalar_one()
    vetting_status = session.execute(
        select(col(Candidate.vetting_status)).where(col(Candidate.id) == finalist.candidate_id)
    ).scalar_one()
    checks = [
        CheckSummary(kind=kind, result=result, checked_on=checked_on)
        for kind, result, checked_on in session.execute(
            select(col(VettingCheck.kind), col(VettingCheck.result), col(VettingCheck.checked_on))
            .where(col(VettingCheck.candidate_id) == finalist.candidate_id)
            .order_by(col(VettingCheck.checked_on), col(VettingCheck.id))
        )
    ]
    return Dossier(
        finalist=finalist,
        theme=theme,
        nominators=int(nominators),
        nominations=[
            NominationSummary(
                theme=row[1],
                submitted_at=row[2],
                nominee_name=row[3],
                nominee_position=row[4],
                nominee_institution=row[5],
                government_level=row[6],
                state=row[7],
                years_of_service=row[8],
                nominee_age=row[9],
                achievement=row[10],
                impact=row[11],
                obstacles=row[12],
                references=tuple(name for name in (row[13], row[14]) if name),
                files=tuple(files.get(row[0], ())),
            )
            for row in nominations
        ],
        vetting_status=VettingStatus(vetting_status),
        checks=checks,
    )


@dataclass(frozen=True)
class StoredFile:
    name: str
    content_type: str
    sha256: str


def dossier_file(session: Session, *, finalist: Finalist, file_id: int) -> StoredFile:
    """One evidence file of the finalist's dossier; any other file is a 404."""
    found = session.execute(
        select(
            col(EvidenceFile.original_name),
            col(EvidenceFile.content_type),
            col(EvidenceFile.sha256),
        )
        .join(
            Nomination,
            and_(col(Nomination.id) == EvidenceFile.nomination_id, *_dossier_nominations(finalist)),
        )
        .where(col(EvidenceFile.id) == file_id)
    ).first()
    if found is None:
        raise NotFound()
    name, content_type, sha256 = found
    return StoredFile(name=name, content_type=content_type, sha256=sha256)
