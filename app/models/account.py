from datetime import datetime
from enum import StrEnum

from sqlmodel import Field, SQLModel

from app.models.base import enum_field, timestamp


class Role(StrEnum):
    staff = "staff"
    judge = "judge"
    admin = "admin"
    # Enters nominations gathered off the web and sees only its own entries (issue 15).
    volunteer = "volunteer"


class Account(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=254, unique=True)
    name: str = Field(max_length=200)
    role: Role = enum_field(Role)
    # Argon2id; empty until the person sets a password through a one-time link.
    password_hash: str = Field(default="", max_length=200)
    is_active: bool = True
    locale: str = Field(default="es", max_length=5)
    created_at: datetime = timestamp(default_now=True)
    last_login_at: datetime | None = timestamp(nullable=True)
    password_changed_at: datetime | None = timestamp(nullable=True)


class TokenPurpose(StrEnum):
    set_password = "set_password"  # noqa: S105 - a purpose, not a password
    reset_password = "reset_password"  # noqa: S105 - a purpose, not a password


class AccountToken(SQLModel, table=True):
    """A one-time link (set or reset a password); only the token's hash is kept."""

    __tablename__ = "account_token"

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="account.id", index=True)
    purpose: TokenPurpose = enum_field(TokenPurpose)
    token_hash: str = Field(max_length=64, unique=True)
    expires_at: datetime = timestamp()
    used_at: datetime | None = timestamp(nullable=True)
    created_at: datetime = timestamp(default_now=True)


class UserSession(SQLModel, table=True):
    """A signed-in browser. The cookie holds a random token; only its hash is stored here."""

    __tablename__ = "user_session"

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="account.id", index=True)
    token_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = timestamp(default_now=True)
    last_seen_at: datetime = timestamp(default_now=True)
    ended_at: datetime | None = timestamp(nullable=True)
