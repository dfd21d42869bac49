"""Tables only; every module is imported here so the metadata knows all of them."""

from app.models.account import Account, AccountToken, Role, TokenPurpose
from app.models.base import metadata, utcnow
from app.models.campaign import Campaign, Theme
from app.models.nomination import (
    MEXICAN_STATES,
    EvidenceFile,
    Gender,
    GovernmentLevel,
    Nomination,
    NominationStatus,
    Relationship,
)
from app.models.outbox import OutboxMessage
from app.models.throttle import RateLimitHit

__all__ = [
    "MEXICAN_STATES",
    "Account",
    "AccountToken",
    "Campaign",
    "EvidenceFile",
    "Gender",
    "GovernmentLevel",
    "Nomination",
    "NominationStatus",
    "OutboxMessage",
    "RateLimitHit",
    "Relationship",
    "Role",
    "Theme",
    "TokenPurpose",
    "metadata",
    "utcnow",
]
