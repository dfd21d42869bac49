from datetime import datetime

from sqlalchemy import Text
from sqlmodel import Field, SQLModel

from app.models.base import timestamp


class OutboxMessage(SQLModel, table=True):
    """An e-mail written in the transaction of the change it reports; the server's sender (or
    `send-mail`) sends it, retrying with growing pauses, and gives up after a permanent refusal
    or too many attempts (`failed_at`), until staff send it again."""

    __tablename__ = "outbox_message"

    id: int | None = Field(default=None, primary_key=True)
    to_address: str = Field(max_length=254)
    subject: str = Field(max_length=300)
    body: str = Field(sa_type=Text)
    created_at: datetime = timestamp(default_now=True)
    sent_at: datetime | None = timestamp(nullable=True, index=True)
    attempts: int = 0
    last_error: str = Field(default="", max_length=500)
    # Not sent before this time (a pause after a failed attempt); unset: as soon as possible.
    next_attempt_at: datetime | None = timestamp(nullable=True)
    failed_at: datetime | None = timestamp(nullable=True, index=True)


class Lease(SQLModel, table=True):
    """Work that one process at a time may do, across processes and machines (the outbox's
    sender): held by `holder` until `expires_at`, renewed while the work goes on, so a holder
    that died is replaced once its lease runs out."""

    __tablename__ = "lease"

    name: str = Field(primary_key=True, max_length=50)
    holder: str = Field(max_length=200)
    expires_at: datetime = timestamp()
