from datetime import datetime
from enum import StrEnum

from sqlalchemy import Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.models.base import enum_field, timestamp


class Winner(SQLModel, table=True):
    """A finalist confirmed by staff as a winner of their theme, with the written rationale."""

    __table_args__ = (UniqueConstraint("finalist_id"),)

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id", index=True)
    theme_id: int = Field(foreign_key="theme.id", index=True)
    finalist_id: int = Field(foreign_key="finalist.id")
    # Required when staff choose differently from the final meeting's ranking.
    rationale: str = Field(default="", sa_type=Text)
    confirmed_by_id: int = Field(foreign_key="account.id")
    confirmed_at: datetime = timestamp(default_now=True)


class RevisionStatus(StrEnum):
    draft = "draft"
    published = "published"


class ResultsRevision(SQLModel, table=True):
    """What the public results page shows, frozen when published: a correction is a new
    revision with its reason, and earlier ones stay readable."""

    __tablename__ = "results_revision"
    __table_args__ = (UniqueConstraint("campaign_id", "number"),)

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id", index=True)
    number: int
    status: RevisionStatus = enum_field(RevisionStatus, default=RevisionStatus.draft)
    # Why this revision replaces the previous one; empty for the first.
    reason: str = Field(default="", sa_type=Text)
    # The published content as JSON: winners with their profiles and "how they were chosen".
    content: str = Field(default="", sa_type=Text)
    # Empty for a revision the portal published itself: a finalist withdrew by their link.
    created_by_id: int | None = Field(default=None, foreign_key="account.id")
    created_at: datetime = timestamp(default_now=True)
    published_at: datetime | None = timestamp(nullable=True)
    # The audit chain's head hash once publishing committed: the signed checkpoint with this
    # head covers the publication (app/services/results/transparency.py). None for drafts.
    chain_head: str | None = Field(default=None, max_length=64)
