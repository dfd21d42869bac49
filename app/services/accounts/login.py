"""Signing in and out, changing and resetting passwords, and the throttles that guard them.

Failed sign-ins are counted by the rate limiter (app.services.throttle) so that nobody can lock
an owner out by failing with their address:

- per address and client: after FREE_FAILURES failures with one address from one client, that
  client waits before its next try with that address, longer after each further failure. The
  owner, from a client that has not been failing, still gets in with the right password;
- per client, whatever the address (password spraying): FAILED_LOGINS_PER_CLIENT in WINDOW;
- per address, from anywhere: ATTACK_FAILURES in ATTACK_WINDOW is an attack. The owner is told
  by e-mail (at most once per ALERT_EVERY), and while it lasts each client gets one free failure
  with that address instead of FREE_FAILURES, so that many clients guess slowly too.

Buckets are keyed on the address typed, not on an account: an address without an account is
throttled exactly like one with an account, and the answers never tell them apart.
"""

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import func
from sqlmodel import Session, col, select

from app.errors import InvalidInput
from app.i18n import N_
from app.models import Account, AccountToken, Role, TokenPurpose
from app.services import audit, throttle
from app.services.accounts import accounts
from app.services.accounts.sessions import end_session, find_signed_in, start_session
from app.services.mail.compose import render_mail
from app.services.mail.outbox import queue_mail

FREE_FAILURES = 5
FIRST_WAIT = timedelta(minutes=1)
LONGEST_WAIT = timedelta(minutes=15)
# How long a client's failures with one address are remembered, for the delays to grow.
PAIR_WINDOW = timedelta(hours=1)
WINDOW = timedelta(minutes=15)
FAILED_LOGINS_PER_CLIENT = 20
ATTACK_FAILURES = 10
ATTACK_WINDOW = timedelta(hours=1)
ALERT_EVERY = timedelta(hours=24)
RESETS_PER_CLIENT = 5
# Reset e-mails one address can receive per hour, so nobody can flood someone's mailbox.
RESET_MAILS_PER_ACCOUNT = 3
ROLE_HOMES = {
    Role.staff: "/staff",
    Role.admin: "/staff",
    Role.judge: "/judges",
    Role.volunteer: "/staff/intake",
}
THROTTLED = N_(
    "Too many failed attempts to sign in. For your security, please wait %(minutes)s min and"
    " try again."
)
RESET_THROTTLED = N_(
    "Too many requests for a new password from your connection. Please wait %(minutes)s min"
    " and try again."
)


def client_hash(key: bytes, client: str) -> str:
    """Tells clients apart in the audit trail without keeping their addresses."""
    return hmac.new(key, ("client:" + client).encode(), hashlib.sha256).hexdigest()


def _pair_limit(key: bytes, email: str, client: str, *, free: int) -> throttle.Limit:
    """Failed sign-ins with one (normalised) address from one client: growing delays."""
    # A newline cannot be typed in the address field's single line, nor be part of a client.
    bucket = throttle.keyed_bucket(key, "login-pair", f"{email}\n{client}")
    return throttle.Limit(bucket, free, PAIR_WINDOW, delay=FIRST_WAIT, longest=LONGEST_WAIT)


def _account_limit(key: bytes, email: str) -> throttle.Limit:
    """Failed sign-ins with one address from anywhere: counted to notice an attack, never to
    refuse (that would let anyone lock the owner out)."""
    bucket = throttle.keyed_bucket(key, "login-account", email)
    return throttle.Limit(bucket, ATTACK_FAILURES, ATTACK_WINDOW)


def _alert_limit(key: bytes, account: Account) -> throttle.Limit:
    """The e-mails telling an owner that their account is attacked: one per ALERT_EVERY."""
    bucket = throttle.keyed_bucket(key, "login-alert", str(account.id))
    return throttle.Limit(bucket, 1, ALERT_EVERY)


def _client_limit(key: bytes, client: str) -> throttle.Limit:
    """Failed sign-ins from one client, whatever the address."""
    bucket = throttle.keyed_bucket(key, "login-client", client)
    return throttle.Limit(bucket, FAILED_LOGINS_PER_CLIENT, WINDOW)


def _reset_limit(key: bytes, client: str) -> throttle.Limit:
    """Password reset requests from one client."""
    bucket = throttle.keyed_bucket(key, "reset-client", client)
    return throttle.Limit(bucket, RESETS_PER_CLIENT, WINDOW)


def _login_limits(
    session: Session, *, key: bytes, email: str, client: str, now: datetime
) -> tuple[throttle.Limit, throttle.Limit, throttle.Limit]:
    """The pair's, the client's and the address's limits of one attempt; the pair gets one free
    failure instead of FREE_FAILURES while the address is attacked."""
    account_limit = _account_limit(key, email)
    attacked = throttle.wait_seconds(session, limits=[account_limit], now=now) > 0
    pair = _pair_limit(key, email, client, free=1 if attacked else FREE_FAILURES)
    return pair, _client_limit(key, client), account_limit


def normalise_email(email: str) -> str:
    return email.strip().lower()


def role_home(role: Role) -> str:
    return ROLE_HOMES[role]


def safe_next(target: str | None) -> str | None:
    """A path on this site to return to after signing in, or None for anything else: another
    site (`//host`, `/\\host`, `https:`), control characters, or something too long."""
    if not target or len(target) > 1000 or not target.startswith("/"):
        return None
    if target.startswith(("//", "/\\")) or "\\" in target:
        return None
    if any(ord(char) < 32 or ord(char) == 127 for char in target):
        return None
    return target


def valid_address(email: str) -> str | None:
    """The address, normalised, if `email` is one. Only such a value of an attempted login goes
    to the audit trail: a password typed in the e-mail field by mistake must never land there,
    as the trail can never be edited."""
    try:
        return validate_email(email[:254], check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        return None


class WrongPassword(InvalidInput):
    default_message = N_("This is not your current password.")


def _attempt_details(email: str) -> dict[str, str] | None:
    address = valid_address(email)
    return {"email": address} if address else None


class LoginOutcome(StrEnum):
    signed_in = "signed_in"
    failed = "failed"


@dataclass(frozen=True)
class LoginResult:
    outcome: LoginOutcome
    account: Account | None = None
    token: str | None = None


def log_in(
    session: Session,
    *,
    email: str,
    password: str,
    client: str,
    key: bytes,
    now: datetime,
    base_url: str,
    previous_token: str | None = None,
) -> LoginResult:
    """Checks the password and starts a new session (a new token at every login).

    Raises TooManyRequests, after writing the refusal to the audit trail, when this client
    must wait (its failures with this address, or its failures in all); the caller commits
    before showing it. Failures with an address from anywhere only tell its owner by e-mail,
    at `base_url`'s pages."""
    email = normalise_email(email)
    pair_limit, client_limit, account_limit = _login_limits(
        session, key=key, email=email, client=client, now=now
    )
    fingerprint = client_hash(key, client)
    wait = throttle.wait_seconds(session, limits=[pair_limit, client_limit], now=now)
    # No address has control characters, and PostgreSQL refuses a NUL in a query: unknown.
    typed_controls = any(ord(c) < 32 or ord(c) == 127 for c in email)
    account = (
        None
        if typed_controls
        else session.exec(select(Account).where(Account.email == email)).first()
    )
    if wait:
        audit.record(
            session,
            actor=None,
            action="login.throttled",
            object_type="account" if account else "",
            object_id=account.id if account else None,
            after=_attempt_details(email),
            client_hash=fingerprint,
        )
        session.flush()
        raise throttle.too_many(THROTTLED, wait)

    # Always one Argon2 verification, against a dummy hash when there is no account, so the
    # time taken does not tell whether the address has one.
    matches = accounts.verify_password(account.password_hash if account else "", password)
    if account is None or not matches or not account.is_active:
        throttle.record_hits(session, limits=[pair_limit, client_limit, account_limit], now=now)
        audit.record(
            session,
            actor=None,
            action="login.failed",
            object_type="account" if account else "",
            object_id=account.id if account else None,
            after=_attempt_details(email),
            client_hash=fingerprint,
        )
        if account is not None and account.is_active:
            _tell_owner_if_attacked(
                session, account=account, limit=account_limit, key=key, now=now, base_url=base_url
            )
        session.flush()
        return LoginResult(outcome=LoginOutcome.failed)

    if accounts.needs_rehash(account.password_hash):
        account.password_hash = accounts.hash_password(password)
    # The owner got in from this client: its failures with the address no longer count (the
    # client's in all, and the address's from elsewhere, still do).
    throttle.forget(session, bucket=pair_limit.bucket)
    if previous_token:
        end_session(session, token=previous_token, now=now)
    token = start_session(session, account=account, now=now)
    audit.record(
        session,
        actor=account,
        action="login",
        object_type="account",
        object_id=account.id,
        client_hash=fingerprint,
    )
    session.flush()
    return LoginResult(outcome=LoginOutcome.signed_in, account=account, token=token)


def _tell_owner_if_attacked(
    session: Session,
    *,
    account: Account,
    limit: throttle.Limit,
    key: bytes,
    now: datetime,
    base_url: str,
) -> None:
    """After a failure with the account's address: once the address has ATTACK_FAILURES, an
    e-mail to the owner (through the outbox, at most one per ALERT_EVERY)."""
    if throttle.wait_seconds(session, limits=[limit], now=now) == 0:
        return
    alert = _alert_limit(key, account)
    if throttle.wait_seconds(session, limits=[alert], now=now) > 0:
        return
    base = base_url.rstrip("/")
    subject, body = render_mail(
        "login_attacked",
        account.locale,
        person=account.name,
        failures=limit.hits,
        minutes=int(limit.window.total_seconds() // 60),
        change_url=f"{base}/account/password",
        reset_url=f"{base}/password-reset",
    )
    queue_mail(session, to=account.email, subject=subject, body=body)
    throttle.record_hits(session, limits=[alert], now=now)
    audit.record(
        session,
        actor=None,
        action="login.attack_alert",
        object_type="account",
        object_id=account.id,
    )


def log_out(session: Session, *, token: str, key: bytes, client: str, now: datetime) -> None:
    """Ends this browser's session; the logout of a live session goes to the audit trail."""
    signed_in = find_signed_in(session, token=token, now=now) if token else None
    if token:
        end_session(session, token=token, now=now)
    if signed_in is not None:
        audit.record(
            session,
            actor=signed_in.account,
            action="logout",
            object_type="account",
            object_id=signed_in.account.id,
            client_hash=client_hash(key, client),
        )
    session.flush()


def change_password(
    session: Session,
    *,
    account: Account,
    current: str,
    new: str,
    key: bytes,
    client: str,
    now: datetime,
) -> str:
    """Sets a new password once the current one is given; every session of the account ends
    and a fresh one starts for this browser, whose new token is returned.

    Wrong current passwords count as failed logins of the address from this client, so a
    session left open on a shared computer cannot be used to guess the password; for this
    client only, so nobody else's failures keep the owner from changing it."""
    pair_limit, _, _ = _login_limits(
        session, key=key, email=normalise_email(account.email), client=client, now=now
    )
    limits = [pair_limit]
    throttle.check(session, limits=limits, now=now, message=THROTTLED)
    if not accounts.verify_password(account.password_hash, current):
        throttle.record_hits(session, limits=limits, now=now)
        session.flush()
        raise WrongPassword()
    accounts.set_password(session, account=account, password=new, now=now)
    token = start_session(session, account=account, now=now)
    audit.record(
        session,
        actor=account,
        action="password.changed",
        object_type="account",
        object_id=account.id,
        client_hash=client_hash(key, client),
    )
    session.flush()
    return token


def request_password_reset(
    session: Session,
    *,
    email: str,
    client: str,
    key: bytes,
    now: datetime,
    base_url: str,
) -> None:
    """Sends a one-time link (valid one hour) to an active account's address, and nothing to
    any other address; the caller answers the same either way."""
    limits = [_reset_limit(key, client)]
    throttle.check(session, limits=limits, now=now, message=RESET_THROTTLED)
    throttle.record_hits(session, limits=limits, now=now)
    account = session.exec(select(Account).where(Account.email == normalise_email(email))).first()
    if account is None or not account.is_active:
        session.flush()
        return
    sent_lately = session.exec(
        select(func.count()).where(
            AccountToken.account_id == account.id,
            AccountToken.purpose == TokenPurpose.reset_password,
            col(AccountToken.created_at) > now - timedelta(hours=1),
        )
    ).one()
    if sent_lately >= RESET_MAILS_PER_ACCOUNT:
        session.flush()
        return
    token = accounts.issue_token(
        session,
        account=account,
        purpose=TokenPurpose.reset_password,
        lifetime=accounts.RESET_PASSWORD_LIFETIME,
        now=now,
    )
    subject, body = render_mail(
        "password_reset",
        account.locale,
        person=account.name,
        link=accounts.set_password_link(base_url, token),
        reset_url=f"{base_url.rstrip('/')}/password-reset",
        minutes=int(accounts.RESET_PASSWORD_LIFETIME.total_seconds() // 60),
    )
    queue_mail(session, to=account.email, subject=subject, body=body)
    audit.record(
        session,
        actor=None,
        action="password.reset_requested",
        object_type="account",
        object_id=account.id,
        client_hash=client_hash(key, client),
    )
    session.flush()
