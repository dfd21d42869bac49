from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from app.models.base import timestamp


class RateLimitHit(SQLModel, table=True):
    """One counted action of one client, kept in the database so every process sees it."""

    __tablename__ = "rate_limit_hit"

    __table_args__ = (Index("ix_rate_limit_hit_bucket_created_at", "bucket", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    # e.g. "nominate:" + a keyed hash of the client address; never the address itself.
    bucket: str = Field(max_length=100)
    created_at: datetime = timestamp(default_now=True)
