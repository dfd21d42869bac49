"""Server-side sessions: the cookie holds a random token, the database its hash."""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlmodel import Session, col, select

from app.models import Account, UserSession

IDLE_TIMEOUT = timedelta(hours=2)
ABSOLUTE_TIMEOUT = timedelta(hours=12)
# last_seen_at is written at most this often, so most signed-in pages stay read-only.
TOUCH_EVERY = timedelta(minutes=1)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(session: Session, *, account: Account, now: datetime) -> str:
    """A new session and its token; a login always gets a fresh one (no fixation)."""
    assert account.id is not None
    token = secrets.token_urlsafe(32)
    session.add(
        UserSession(
            account_id=account.id, token_hash=token_hash(token), created_at=now, last_seen_at=now
        )
    )
    account.last_login_at = now
    session.add(account)
    session.flush()
    return token


@dataclass(frozen=True)
class SignedIn:
    account: Account
    session_id: int
    needs_touch: bool


def find_signed_in(session: Session, *, token: str, now: datetime) -> SignedIn | None:
    """The account of a live session: not ended, not idle too long, not too old, active."""
    if not 20 <= len(token) <= 100:
        return None
    row = session.exec(
        select(UserSession, Account)
        .join(Account, col(Account.id) == UserSession.account_id)
        .where(UserSession.token_hash == token_hash(token))
    ).first()
    if row is None:
        return None
    user_session, account = row
    if (
        user_session.ended_at is not None
        or now - user_session.last_seen_at > IDLE_TIMEOUT
        or now - user_session.created_at > ABSOLUTE_TIMEOUT
        or not account.is_active
    ):
        return None
    assert user_session.id is not None
    return SignedIn(
        account=account,
        session_id=user_session.id,
        needs_touch=now - user_session.last_seen_at > TOUCH_EVERY,
    )


def touch_session(session: Session, *, session_id: int, now: datetime) -> None:
    session.execute(
        update(UserSession).where(col(UserSession.id) == session_id).values(last_seen_at=now)
    )


def end_session(session: Session, *, token: str, now: datetime) -> None:
    session.execute(
        update(UserSession)
        .where(
            col(UserSession.token_hash) == token_hash(token), col(UserSession.ended_at).is_(None)
        )
        .values(ended_at=now)
    )


def end_all_sessions(session: Session, *, account_id: int, now: datetime) -> None:
    """Ends every session of an account: on password change, deactivation or role change."""
    session.execute(
        update(UserSession)
        .where(col(UserSession.account_id) == account_id, col(UserSession.ended_at).is_(None))
        .values(ended_at=now)
    )
