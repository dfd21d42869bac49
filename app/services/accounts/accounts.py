"""Accounts of staff, admins and judges: passwords, one-time links, invitations and roles."""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import update
from sqlmodel import Session, col, select

from app.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from app.i18n import N_
from app.models import Account, AccountToken, Role, TokenPurpose
from app.services import audit
from app.services.accounts.sessions import end_all_sessions
from app.services.mail.compose import render_mail
from app.services.mail.outbox import queue_mail

MIN_PASSWORD_LENGTH = 10
SET_PASSWORD_LIFETIME = timedelta(days=7)
RESET_PASSWORD_LIFETIME = timedelta(hours=1)
COMMON_PASSWORDS_FILE = Path(__file__).resolve().parents[2] / "data" / "common-passwords.txt"
ROLE_LABELS = {
    Role.staff: N_("Staff"),
    Role.admin: N_("Administrator"),
    Role.judge: N_("Judge"),
    Role.volunteer: N_("Volunteer"),
}
LINK_NOT_VALID = N_("This link is not valid any more. Ask the campaign team for a new one.")
_hasher = PasswordHasher()


def _load_common_passwords(path: Path) -> frozenset[str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return frozenset(
        line.strip().lower() for line in lines if line.strip() and not line.startswith("#")
    )


COMMON_PASSWORDS = _load_common_passwords(COMMON_PASSWORDS_FILE)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


@cache
def _dummy_hash() -> str:
    return _hasher.hash(secrets.token_urlsafe(16))


def verify_password(password_hash: str, password: str) -> bool:
    """Whether `password` matches; an account without a password is checked against a dummy
    hash, so the answer takes as long as for a real one."""
    try:
        matches = _hasher.verify(password_hash or _dummy_hash(), password)
    except (VerificationError, InvalidHashError):
        return False
    return matches and bool(password_hash)


def needs_rehash(password_hash: str) -> bool:
    """True for a hash made with weaker parameters than today's (upgraded at the next login)."""
    try:
        return _hasher.check_needs_rehash(password_hash)
    except (InvalidHashError, ValueError):
        return False


def check_password_rules(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(
            N_("The password must have at least %(count)s characters."), count=MIN_PASSWORD_LENGTH
        )
    if password.strip().lower() in COMMON_PASSWORDS:
        raise InvalidInput(N_("This password is among the most common ones; choose another."))


def set_password(session: Session, *, account: Account, password: str, now: datetime) -> None:
    """A new password, checked against the rules; every session of the account ends."""
    check_password_rules(password)
    account.password_hash = hash_password(password)
    account.password_changed_at = now
    session.add(account)
    assert account.id is not None
    end_all_sessions(session, account_id=account.id, now=now)
    session.flush()


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(
    session: Session, *, account: Account, purpose: TokenPurpose, lifetime: timedelta, now: datetime
) -> str:
    """A one-time link token; only its hash is stored."""
    assert account.id is not None
    token = secrets.token_urlsafe(32)
    session.add(
        AccountToken(
            account_id=account.id,
            purpose=purpose,
            token_hash=_token_hash(token),
            expires_at=now + lifetime,
            created_at=now,
        )
    )
    session.flush()
    return token


def set_password_link(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/account/set-password/{token}"


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
    locale: str = "es",
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
        locale=locale,
        created_at=now,
        password_changed_at=now if password is not None else None,
    )
    session.add(account)
    session.flush()
    token = None
    if password is None:
        token = issue_token(
            session,
            account=account,
            purpose=TokenPurpose.set_password,
            lifetime=SET_PASSWORD_LIFETIME,
            now=now,
        )
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
        raise NotFound(LINK_NOT_VALID)
    return found


def account_for_token(session: Session, *, token: str, now: datetime) -> Account:
    """The account a one-time link was made for, while the link is unused and unexpired."""
    account = session.get(Account, _valid_token(session, token=token, now=now).account_id)
    if account is None or not account.is_active:
        raise NotFound(LINK_NOT_VALID)
    return account


def set_password_with_token(
    session: Session, *, token: str, password: str, now: datetime, client_hash: str = ""
) -> Account:
    """Sets the password of the link's account and spends the link, with every other open link
    of the account; whoever was signed in as this account is signed out."""
    link = _valid_token(session, token=token, now=now)
    account = account_for_token(session, token=token, now=now)
    set_password(session, account=account, password=password, now=now)
    session.execute(
        update(AccountToken)
        .where(col(AccountToken.account_id) == account.id, col(AccountToken.used_at).is_(None))
        .values(used_at=now)
    )
    audit.record(
        session,
        actor=account,
        action="password.set",
        object_type="account",
        object_id=account.id,
        after={"purpose": str(link.purpose)},
        client_hash=client_hash,
    )
    session.flush()
    return account


# Administration of accounts (/staff/users).


def list_accounts(session: Session) -> list[Account]:
    return list(session.exec(select(Account).order_by(col(Account.name), col(Account.id))).all())


def invite_account(
    session: Session,
    *,
    actor: Account,
    email: str,
    name: str,
    role: Role,
    locale: str,
    now: datetime,
    base_url: str,
) -> Account:
    """An account without a password; its one-time link to choose one goes out by e-mail."""
    new = create_account(
        session, email=email, name=name, role=role, password=None, now=now, locale=locale
    )
    account = new.account
    assert new.set_password_token is not None
    subject, body = render_mail(
        "invitation",
        account.locale,
        person=account.name,
        inviter=actor.name,
        role=ROLE_LABELS[account.role],
        link=set_password_link(base_url, new.set_password_token),
        login_url=f"{base_url.rstrip('/')}/login",
        days=SET_PASSWORD_LIFETIME.days,
    )
    queue_mail(session, to=account.email, subject=subject, body=body)
    audit.record(
        session,
        actor=actor,
        action="account.invited",
        object_type="account",
        object_id=account.id,
        after={"role": str(account.role), "is_active": account.is_active},
    )
    session.flush()
    return account


def _get_account(session: Session, account_id: int) -> Account:
    account = session.get(Account, account_id)
    if account is None:
        raise NotFound()
    return account


def change_role(
    session: Session, *, actor: Account, account_id: int, role: Role, now: datetime
) -> Account:
    """A new role takes effect at once: the account's sessions end, so it signs in again."""
    account = _get_account(session, account_id)
    if account.id == actor.id and role is not Role.admin:
        raise PermissionDenied(N_("You cannot remove your own administrator role."))
    if account.role == role:
        return account
    before = {"role": str(account.role)}
    account.role = role
    session.add(account)
    end_all_sessions(session, account_id=account_id, now=now)
    audit.record(
        session,
        actor=actor,
        action="account.role_changed",
        object_type="account",
        object_id=account_id,
        before=before,
        after={"role": str(role)},
    )
    session.flush()
    return account


def set_active(
    session: Session, *, actor: Account, account_id: int, active: bool, now: datetime
) -> Account:
    """Deactivating signs the account out everywhere at once; reactivating lets it sign in."""
    account = _get_account(session, account_id)
    if account.id == actor.id and not active:
        raise PermissionDenied(N_("You cannot deactivate your own account."))
    if account.is_active == active:
        return account
    account.is_active = active
    session.add(account)
    if not active:
        end_all_sessions(session, account_id=account_id, now=now)
    audit.record(
        session,
        actor=actor,
        action="account.reactivated" if active else "account.deactivated",
        object_type="account",
        object_id=account_id,
        before={"is_active": not active},
        after={"is_active": active},
    )
    session.flush()
    return account


def resend_link(
    session: Session, *, actor: Account, account_id: int, now: datetime, base_url: str
) -> TokenPurpose:
    """Sends a person a fresh link: the invitation again while they never chose a password,
    otherwise a one-time link to choose a new one (valid one hour). Their older unused links
    stop working. Returns which kind went."""
    account = _get_account(session, account_id)
    if not account.is_active:
        raise Conflict(N_("This account is deactivated: reactivate it before sending a link."))
    session.execute(
        update(AccountToken)
        .where(col(AccountToken.account_id) == account.id, col(AccountToken.used_at).is_(None))
        .values(used_at=now)
    )
    invited = not account.password_hash
    purpose = TokenPurpose.set_password if invited else TokenPurpose.reset_password
    lifetime = SET_PASSWORD_LIFETIME if invited else RESET_PASSWORD_LIFETIME
    token = issue_token(session, account=account, purpose=purpose, lifetime=lifetime, now=now)
    link = set_password_link(base_url, token)
    if invited:
        subject, body = render_mail(
            "invitation",
            account.locale,
            person=account.name,
            inviter=actor.name,
            role=ROLE_LABELS[account.role],
            link=link,
            login_url=f"{base_url.rstrip('/')}/login",
            days=SET_PASSWORD_LIFETIME.days,
        )
    else:
        subject, body = render_mail(
            "password_reset",
            account.locale,
            person=account.name,
            link=link,
            reset_url=f"{base_url.rstrip('/')}/password-reset",
            minutes=int(RESET_PASSWORD_LIFETIME.total_seconds() // 60),
        )
    queue_mail(session, to=account.email, subject=subject, body=body)
    audit.record(
        session,
        actor=actor,
        action="account.link_resent",
        object_type="account",
        object_id=account.id,
        after={"purpose": str(purpose)},
    )
    session.flush()
    return purpose
