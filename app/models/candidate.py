from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Text
from sqlmodel import Field, SQLModel

from app.models.base import enum_field, timestamp


class VettingStatus(StrEnum):
    pending = "pending"
    cleared = "cleared"
    flagged = "flagged"


class Candidate(SQLModel, table=True):
    """One public servant, counted once, whatever the number of nominations naming them."""

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id", index=True)
    theme_id: int = Field(foreign_key="theme.id", index=True)
    name: str = Field(max_length=200)
    institution: str = Field(default="", max_length=200)
    state: str = Field(default="", max_length=3)
    # The name folded (case, accents, word order) for suggesting matches.
    match_key: str = Field(default="", max_length=300, index=True)
    vetting_status: VettingStatus = enum_field(VettingStatus, default=VettingStatus.pending)
    vetting_note: str = Field(default="", sa_type=Text)
    created_at: datetime = timestamp(default_now=True)
    updated_at: datetime = timestamp(default_now=True)


class CheckKind(StrEnum):
    references = "references"
    press = "press"
    public_records = "public_records"
    sanctions = "sanctions"
    other = "other"


class CheckResult(StrEnum):
    clear = "clear"
    concern = "concern"
    disqualifying = "disqualifying"
    inconclusive = "inconclusive"


class VettingCheck(SQLModel, table=True):
    __tablename__ = "vetting_check"

    id: int | None = Field(default=None, primary_key=True)
    candidate_id: int = Field(foreign_key="candidate.id", index=True)
    kind: CheckKind = enum_field(CheckKind)
    result: CheckResult = enum_field(CheckResult)
    note: str = Field(default="", sa_type=Text)
    checked_on: date
    author_id: int = Field(foreign_key="account.id")
    created_at: datetime = timestamp(default_now=True)


class Finalist(SQLModel, table=True):
    """A candidate chosen as finalist of a theme, with the public profile shown once announced."""

    id: int | None = Field(default=None, primary_key=True)
    candidate_id: int = Field(foreign_key="candidate.id", unique=True)
    theme_id: int = Field(foreign_key="theme.id", index=True)
    public_name: str = Field(max_length=200)
    public_position: str = Field(default="", max_length=200)
    public_institution: str = Field(default="", max_length=200)
    citation_es: str = Field(default="", sa_type=Text)
    citation_en: str = Field(default="", sa_type=Text)
    # The cleaned photo, stored like evidence files; empty when there is none.
    photo_sha256: str = Field(default="", max_length=64)
    created_at: datetime = timestamp(default_now=True)
    updated_at: datetime = timestamp(default_now=True)
