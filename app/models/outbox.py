from datetime import datetime

from sqlalchemy import Text
from sqlmodel import Field, SQLModel

from app.models.base import timestamp


class OutboxMessage(SQLModel, table=True):
    """An e-mail written in the transaction of the change it reports; `send-mail` sends it."""

    __tablename__ = "outbox_message"

    id: int | None = Field(default=None, primary_key=True)
    to_address: str = Field(max_length=254)
    subject: str = Field(max_length=300)
    body: str = Field(sa_type=Text)
    created_at: datetime = timestamp(default_now=True)
    sent_at: datetime | None = timestamp(nullable=True, index=True)
    attempts: int = 0
    last_error: str = Field(default="", max_length=500)
