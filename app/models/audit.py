from datetime import datetime
from enum import StrEnum

from sqlalchemy import Index, Text
from sqlmodel import Field, SQLModel

from app.models.base import enum_field, timestamp


class AuditEvent(SQLModel, table=True):
    """Who did what, when, with the state before and after. Rows are only ever inserted: the
    migration adds triggers that refuse UPDATE and DELETE on both engines.

    Each row is a link of a hash chain (app/services/audit.py): `hash` is the SHA-256 of
    `prev_hash` and of the row's own fields, `seq` its place in the chain, in commit order."""

    __tablename__ = "audit_event"
    __table_args__ = (
        Index("ix_audit_event_object", "object_type", "object_id"),
        Index("ix_audit_event_created_at", "created_at"),
        Index("ix_audit_event_seq", "seq", unique=True),
    )

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = timestamp(default_now=True)
    # No foreign key: the trail outlives accounts and must never block their changes.
    actor_id: int | None = Field(default=None, index=True)
    # The actor as they were then (e-mail and role), or "anonymous".
    actor_label: str = Field(default="", max_length=300)
    action: str = Field(max_length=60, index=True)
    object_type: str = Field(default="", max_length=40)
    object_id: str = Field(default="", max_length=40)
    before: str = Field(default="", sa_type=Text)
    after: str = Field(default="", sa_type=Text)
    # A keyed hash of the client address, to tell clients apart without keeping addresses.
    client_hash: str = Field(default="", max_length=64)
    # Set when the transaction commits (1 for the first event, no gaps).
    seq: int = 0
    prev_hash: str = Field(default="", max_length=64)
    hash: str = Field(default="", max_length=64)


class AuditChainHead(SQLModel, table=True):
    """The chain's last link, one row: writers lock it for the moment they link their events,
    just before they commit. A copy of the last event's `seq` and `hash`, nothing more."""

    __tablename__ = "audit_chain_head"

    id: int | None = Field(default=None, primary_key=True)
    event_count: int = 0
    head_hash: str = Field(default="", max_length=64)


class CheckpointReason(StrEnum):
    daily = "daily"
    call_closed = "call_closed"
    finalists_announced = "finalists_announced"
    meeting_closed = "meeting_closed"
    results_published = "results_published"


class AuditCheckpoint(SQLModel, table=True):
    """The chain's head at one moment, signed with the installation's Ed25519 key and published
    at /transparency. Append-only, like the trail (triggers in the migration)."""

    __tablename__ = "audit_checkpoint"

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = timestamp(default_now=True)
    event_count: int
    head_hash: str = Field(max_length=64)
    reason: CheckpointReason = enum_field(CheckpointReason)
    # The edition (campaign year) whose stage changed, and which step ("meeting 2",
    # "revision 1"); None and "" for the daily checkpoint.
    edition: int | None = None
    subject: str = Field(default="", max_length=60)
    # The first 16 hex digits of the SHA-256 of the raw public key that signed it.
    key_id: str = Field(max_length=16)
    # Base64 of the 64-byte Ed25519 signature of `signed_message` (app/services/audit_chain.py).
    signature: str = Field(max_length=88)
