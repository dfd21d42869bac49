import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from sqlmodel import Session, select

from app.errors import Conflict, InvalidInput, NotFound
from app.i18n import N_
from app.models import Account, AccountToken, Role, TokenPurpose

MIN_PASSWORD_LENGTH = 10
SET_PASSWORD_LIFETIME = timedelta(days=7)
_hasher = PasswordHasher()
# A short list of the passwords people choose most; a longer one arrives with the login pages.
COMMON_PASSWORDS = frozenset(
    {
        "1234567890",
        "12345678910",
        "0123456789",
        "qwertyuiop",
        "password123",
        "contraseña",
        "contrasena",
        "contraseña1",
        "contrasena123",
        "iloveyou12",
        "administrador",
        "passw0rd123",
        "qwerty1234",
        "1q2w3e4r5t",
        "abc1234567",
        "mexico2024",
        "mexico2025",
        "mexico2026",
        "1111111111",
        "0000000000",
        "password1234",
        "integrityicon",
    }
)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password_rules(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(
            N_("The password must have at least %(count)s characters."), count=MIN_PASSWORD_LENGTH
        )
    if password.lower() in COMMON_PASSWORDS:
        raise InvalidInput(N_("This password is among the most common ones; choose another."))


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class NewAccount:
    account: Account
    set_password_token: str | None


def create_account(
    session: Session,
    *,
    email: str,
    name: str,
    role: Role,
    password: str | None,
    now: datetime,
) -> NewAccount:
    """An account with a password, or one that gets a one-time link to choose it."""
    email = email.strip().lower()
    if session.exec(select(Account).where(Account.email == email)).first() is not None:
        raise Conflict(N_("An account with this e-mail address already exists."))
    if password is not None:
        check_password_rules(password)
    account = Account(
        email=email,
        name=name.strip(),
        role=role,
        password_hash=hash_password(password) if password is not None else "",
        created_at=now,
    )
    session.add(account)
    session.flush()
    token = None
    if password is None:
        assert account.id is not None
        token = secrets.token_urlsafe(32)
        session.add(
            AccountToken(
                account_id=account.id,
                purpose=TokenPurpose.set_password,
                token_hash=_token_hash(token),
                expires_at=now + SET_PASSWORD_LIFETIME,
                created_at=now,
            )
        )
        session.flush()
    return NewAccount(account=account, set_password_token=token)


def set_demo_password(session: Session, *, account: Account, password: str) -> None:
    account.password_hash = hash_password(password)
    session.add(account)
    session.flush()


def _valid_token(session: Session, *, token: str, now: datetime) -> AccountToken:
    found = None
    if 20 <= len(token) <= 100:
        found = session.exec(
            select(AccountToken).where(AccountToken.token_hash == _token_hash(token))
        ).first()
    if found is None or found.used_at is not None or found.expires_at <= now:
        raise NotFound(N_("This link is not valid any more. Ask the campaign team for a new one."))
    return found


def account_for_token(session: Session, *, token: str, now: datetime) -> Account:
    """The account a one-time link was made for, while the link is unused and unexpired."""
    account = session.get(Account, _valid_token(session, token=token, now=now).account_id)
    if account is None or not account.is_active:
        raise NotFound(N_("This link is not valid any more. Ask the campaign team for a new one."))
    return account


def set_password_with_token(
    session: Session, *, token: str, password: str, now: datetime
) -> Account:
    """Sets the password of the link's account and spends the link."""
    link = _valid_token(session, token=token, now=now)
    account = account_for_token(session, token=token, now=now)
    check_password_rules(password)
    account.password_hash = hash_password(password)
    link.used_at = now
    session.add_all([account, link])
    session.flush()
    return account
