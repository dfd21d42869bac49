"""Tables only; every module is imported here so the metadata knows all of them."""

from app.models.account import Account, AccountToken, Role, TokenPurpose, UserSession
from app.models.audit import AuditEvent
from app.models.base import metadata, utcnow
from app.models.campaign import Campaign, Theme
from app.models.candidate import (
    Candidate,
    CheckKind,
    CheckResult,
    Finalist,
    VettingCheck,
    VettingStatus,
)
from app.models.judging import (
    ConflictDeclaration,
    Criterion,
    JudgeAssignment,
    Meeting,
    MeetingFinalist,
    MeetingStatus,
    Score,
    ScoreSheet,
)
from app.models.nomination import (
    MEXICAN_STATES,
    EvidenceFile,
    Gender,
    GovernmentLevel,
    Nomination,
    NominationDraft,
    NominationNote,
    NominationStatus,
    Relationship,
)
from app.models.outbox import Lease, OutboxMessage
from app.models.results import ResultsRevision, RevisionStatus, Winner
from app.models.sanctions import (
    CandidateIdentity,
    EntryType,
    ListFormat,
    MatchStatus,
    SanctionEntry,
    SanctionListVersion,
    SanctionMatch,
    SanctionNameKey,
    SanctionScreening,
    SanctionSource,
)
from app.models.throttle import RateLimitHit

__all__ = [
    "MEXICAN_STATES",
    "Account",
    "AccountToken",
    "AuditEvent",
    "Campaign",
    "Candidate",
    "CandidateIdentity",
    "CheckKind",
    "CheckResult",
    "ConflictDeclaration",
    "Criterion",
    "EntryType",
    "EvidenceFile",
    "Finalist",
    "Gender",
    "GovernmentLevel",
    "JudgeAssignment",
    "Lease",
    "ListFormat",
    "MatchStatus",
    "Meeting",
    "MeetingFinalist",
    "MeetingStatus",
    "Nomination",
    "NominationDraft",
    "NominationNote",
    "NominationStatus",
    "OutboxMessage",
    "RateLimitHit",
    "Relationship",
    "ResultsRevision",
    "RevisionStatus",
    "Role",
    "SanctionEntry",
    "SanctionListVersion",
    "SanctionMatch",
    "SanctionNameKey",
    "SanctionScreening",
    "SanctionSource",
    "Score",
    "ScoreSheet",
    "Theme",
    "TokenPurpose",
    "UserSession",
    "VettingCheck",
    "VettingStatus",
    "Winner",
    "metadata",
    "utcnow",
]
