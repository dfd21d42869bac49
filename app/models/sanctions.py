"""Sanction registries: the lists as published, each imported version, their entries, and the
possible matches between entries and the edition's nominees.

An entry row is one version of one listed person as published: when a newer file changes it, the
row is closed (`removed_version_id`) and a new row added, so every imported version can still be
read back (`added_version_id <= version < removed_version_id`) and a decision stays tied to the
exact text it was made on.
"""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.models.base import enum_field, timestamp
from app.models.candidate import CheckResult


class ListFormat(StrEnum):
    ofac_sdn = "ofac-sdn"
    pdn_s3 = "pdn-s3"
    sat_69b = "sat-69b"
    csv = "csv"


class EntryType(StrEnum):
    person = "person"
    organisation = "organisation"
    # Vessels and aircraft (OFAC): kept as published, never compared with a nominee.
    other = "other"


class MatchStatus(StrEnum):
    open = "open"
    confirmed = "confirmed"
    dismissed = "dismissed"


class SanctionSource(SQLModel, table=True):
    """One list: OFAC's SDN, the PDN's sanctioned public servants, SAT's 69-B, or a CSV list."""

    __tablename__ = "sanction_source"

    id: int | None = Field(default=None, primary_key=True)
    format: ListFormat = enum_field(ListFormat)
    name: str = Field(max_length=120, unique=True)
    created_at: datetime = timestamp(default_now=True)


class SanctionListVersion(SQLModel, table=True):
    """One imported file of a list, and what it changed against the version before."""

    __tablename__ = "sanction_list_version"

    id: int | None = Field(default=None, primary_key=True)
    source_id: int = Field(foreign_key="sanction_source.id", index=True)
    file_name: str = Field(max_length=255)
    # Of the aliases file too (OFAC's ALT.CSV), when there is one.
    aliases_file_name: str = Field(default="", max_length=255)
    sha256: str = Field(max_length=64)
    aliases_sha256: str = Field(default="", max_length=64)
    size: int = 0
    imported_at: datetime = timestamp(default_now=True)
    imported_by_id: int | None = Field(default=None, foreign_key="account.id")
    # Who imported it as shown: an account's e-mail, or "command line".
    imported_by: str = Field(max_length=300)
    entry_count: int = 0
    added: int = 0
    changed: int = 0
    removed: int = 0


class SanctionEntry(SQLModel, table=True):
    __tablename__ = "sanction_entry"
    __table_args__ = (
        Index("ix_sanction_entry_source_current", "source_id", "removed_version_id", "external_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    source_id: int = Field(foreign_key="sanction_source.id")
    # The registry's own id (OFAC's ent_num, the PDN record's id, the RFC on SAT's list...).
    external_id: str = Field(max_length=120)
    added_version_id: int = Field(foreign_key="sanction_list_version.id")
    removed_version_id: int | None = Field(
        default=None, foreign_key="sanction_list_version.id", index=True
    )
    # Of every field below: an entry whose hash is unchanged in a newer file is the same entry.
    content_sha256: str = Field(max_length=64)
    entry_type: EntryType = enum_field(EntryType)
    name: str = Field(max_length=500)
    # JSON list of the aliases as published.
    aliases: str = Field(default="[]", sa_type=Text)
    rfc: str = Field(default="", max_length=13, index=True)
    curp: str = Field(default="", max_length=18, index=True)
    # As published (OFAC's "DOB 05 Jan 1970"), and the years it allows, for comparing.
    birth_date: str = Field(default="", max_length=120)
    birth_year_from: int | None = None
    birth_year_to: int | None = None
    gender: str = Field(default="", max_length=1)
    position: str = Field(default="", max_length=500)
    institution: str = Field(default="", max_length=500)
    sanction_type: str = Field(default="", sa_type=Text)
    # The dates a reviewer needs: resolution, sanction from and to, publication.
    dates: str = Field(default="", sa_type=Text)
    program: str = Field(default="", max_length=300)
    remarks: str = Field(default="", sa_type=Text)
    url: str = Field(default="", max_length=1000)


class SanctionNameKey(SQLModel, table=True):
    """Blocking keys of the current entries: one nominee is compared only with the entries that
    share a key with one of its names (an indexed look-up, not a pass over the whole list)."""

    __tablename__ = "sanction_name_key"

    key: str = Field(max_length=120, primary_key=True)
    entry_id: int = Field(foreign_key="sanction_entry.id", primary_key=True, index=True)


class CandidateIdentity(SQLModel, table=True):
    """Identifiers staff record while vetting a candidate, compared with the lists first."""

    __tablename__ = "candidate_identity"

    candidate_id: int = Field(foreign_key="candidate.id", primary_key=True, ondelete="CASCADE")
    # The full name as on official documents, when it differs from the one nominators wrote.
    full_name: str = Field(default="", max_length=200)
    rfc: str = Field(default="", max_length=13)
    curp: str = Field(default="", max_length=18)
    updated_at: datetime = timestamp(default_now=True)


class SanctionMatch(SQLModel, table=True):
    """A possible match of a nominee with an entry: of a nomination (its name as written) or of
    a candidate (the name staff gave it, and its identifiers)."""

    __tablename__ = "sanction_match"
    __table_args__ = (
        UniqueConstraint("nomination_id", "entry_id"),
        UniqueConstraint("candidate_id", "entry_id"),
        CheckConstraint("(nomination_id IS NULL) <> (candidate_id IS NULL)", name="one_subject"),
        Index("ix_sanction_match_status_score", "status", "score"),
    )

    id: int | None = Field(default=None, primary_key=True)
    nomination_id: int | None = Field(default=None, foreign_key="nomination.id", index=True)
    candidate_id: int | None = Field(
        default=None, foreign_key="candidate.id", index=True, ondelete="CASCADE"
    )
    entry_id: int = Field(foreign_key="sanction_entry.id", index=True)
    score: int
    # The nominee's name (or identifier) that matched, and the reasons as JSON.
    matched_name: str = Field(max_length=300)
    reasons: str = Field(default="[]", sa_type=Text)
    status: MatchStatus = enum_field(MatchStatus, default=MatchStatus.open)
    # For a confirmed match: what the vetting check recorded.
    result: CheckResult | None = enum_field(CheckResult, default=None, nullable=True)
    decision_note: str = Field(default="", sa_type=Text)
    decided_by_id: int | None = Field(default=None, foreign_key="account.id")
    decided_at: datetime | None = timestamp(nullable=True)
    vetting_check_id: int | None = Field(default=None, foreign_key="vetting_check.id")
    created_at: datetime = timestamp(default_now=True)
    updated_at: datetime = timestamp(default_now=True)


class SanctionScreening(SQLModel, table=True):
    """When a nominee was last screened, and which names and identifiers that was for."""

    __tablename__ = "sanction_screening"
    __table_args__ = (
        CheckConstraint("(nomination_id IS NULL) <> (candidate_id IS NULL)", name="one_subject"),
    )

    id: int | None = Field(default=None, primary_key=True)
    nomination_id: int | None = Field(default=None, foreign_key="nomination.id", unique=True)
    candidate_id: int | None = Field(
        default=None, foreign_key="candidate.id", unique=True, ondelete="CASCADE"
    )
    fingerprint: str = Field(max_length=64)
    screened_at: datetime = timestamp()
