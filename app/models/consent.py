from datetime import datetime
from enum import StrEnum

from sqlalchemy import Text
from sqlmodel import Field, SQLModel

from app.models.base import enum_field, timestamp


class ConsentStatus(StrEnum):
    # Asked (a link mailed) and not answered yet.
    requested = "requested"
    given = "given"
    declined = "declined"
    withdrawn = "withdrawn"


class ConsentChannel(StrEnum):
    link = "link"
    phone = "phone"
    letter = "letter"


class FinalistConsent(SQLModel, table=True):
    """A finalist's answer to being named in public, item by item: one row per finalist,
    changed in place as they answer or withdraw (the audit trail keeps every step)."""

    __tablename__ = "finalist_consent"

    id: int | None = Field(default=None, primary_key=True)
    finalist_id: int = Field(foreign_key="finalist.id", unique=True)
    status: ConsentStatus = enum_field(ConsentStatus, default=ConsentStatus.requested)
    name_and_position: bool = False
    photo: bool = False
    story: bool = False
    # Changes the nominee asks for; staff apply them to the profile, then mark them handled.
    requested_name: str = Field(default="", max_length=200)
    requested_position: str = Field(default="", max_length=200)
    requested_note: str = Field(default="", sa_type=Text)
    changes_handled_at: datetime | None = timestamp(nullable=True)
    channel: ConsentChannel | None = enum_field(ConsentChannel, default=None, nullable=True)
    # Staff who recorded a phone or letter answer; empty when the nominee answered by link.
    recorded_by_id: int | None = Field(default=None, foreign_key="account.id")
    answered_at: datetime | None = timestamp(nullable=True)
    # A signed letter or a note of the call, stored like evidence files (by content hash).
    evidence_sha256: str = Field(default="", max_length=64)
    evidence_name: str = Field(default="", max_length=200)
    evidence_type: str = Field(default="", max_length=100)
    # The mailed one-time link: only its hash is kept.
    token_hash: str | None = Field(default=None, max_length=64, unique=True)
    token_expires_at: datetime | None = timestamp(nullable=True)
    email: str = Field(default="", max_length=254)
    locale: str = Field(default="es", max_length=5)
    requested_at: datetime | None = timestamp(nullable=True)
    withdrawn_at: datetime | None = timestamp(nullable=True)
    created_at: datetime = timestamp(default_now=True)
    updated_at: datetime = timestamp(default_now=True)

    @property
    def requested_changes(self) -> bool:
        return bool(self.requested_name or self.requested_position or self.requested_note)
