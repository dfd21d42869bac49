"""Tables only; every module is imported here so the metadata knows all of them."""

from app.models.account import Account, AccountToken, Role, TokenPurpose, UserSession
from app.models.audit import AuditChainHead, AuditCheckpoint, AuditEvent, CheckpointReason
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
    NominationNote,
    NominationStatus,
    Relationship,
)
from app.models.outbox import OutboxMessage
from app.models.results import ResultsRevision, RevisionStatus, Winner
from app.models.throttle import RateLimitHit

__all__ = [
    "MEXICAN_STATES",
    "Account",
    "AccountToken",
    "AuditChainHead",
    "AuditCheckpoint",
    "AuditEvent",
    "Campaign",
    "Candidate",
    "CheckKind",
    "CheckResult",
    "CheckpointReason",
    "ConflictDeclaration",
    "Criterion",
    "EvidenceFile",
    "Finalist",
    "Gender",
    "GovernmentLevel",
    "JudgeAssignment",
    "Meeting",
    "MeetingFinalist",
    "MeetingStatus",
    "Nomination",
    "NominationNote",
    "NominationStatus",
    "OutboxMessage",
    "RateLimitHit",
    "Relationship",
    "ResultsRevision",
    "RevisionStatus",
    "Role",
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
