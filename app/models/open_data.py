from datetime import datetime

from sqlalchemy import LargeBinary, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.models.base import timestamp


class DataRelease(SQLModel, table=True):
    """One snapshot of an edition's open data (issue 16): its files never change; a newer
    snapshot, or a correction with its note, is a new release, and earlier ones stay listed."""

    __tablename__ = "data_release"
    __table_args__ = (UniqueConstraint("campaign_id", "number"),)

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id", index=True)
    number: int
    created_at: datetime = timestamp(default_now=True)
    # Why it was made: empty for a scheduled refresh, the staff's words for a correction.
    note: str = Field(default="", sa_type=Text)
    # Who made it: "schedule", "command" or "staff".
    made_by: str = Field(default="schedule", max_length=20)
    # The SHA-256 of its files' names and hashes: equal for equal data, so an unchanged
    # edition makes no new release.
    fingerprint: str = Field(max_length=64)
    # What changed since the previous release, as JSON: rows per file, added and removed.
    changes: str = Field(default="", sa_type=Text)


class DataReleaseFile(SQLModel, table=True):
    """A file of a release, its bytes kept in the database: every process and every backup
    serves the same bytes, with the checksum the catalogue states."""

    __tablename__ = "data_release_file"
    __table_args__ = (UniqueConstraint("release_id", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    release_id: int = Field(foreign_key="data_release.id", index=True)
    name: str = Field(max_length=80)
    media_type: str = Field(max_length=60)
    sha256: str = Field(max_length=64)
    byte_size: int
    rows: int
    content: bytes = Field(sa_type=LargeBinary)
