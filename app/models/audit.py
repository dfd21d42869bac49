from datetime import datetime

from sqlalchemy import Index, Text
from sqlmodel import Field, SQLModel

from app.models.base import timestamp


class AuditEvent(SQLModel, table=True):
    """Who did what, when, with the state before and after. Rows are only ever inserted: the
    migration adds triggers that refuse UPDATE and DELETE on both engines."""

    __tablename__ = "audit_event"
    __table_args__ = (
        Index("ix_audit_event_object", "object_type", "object_id"),
        Index("ix_audit_event_created_at", "created_at"),
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
