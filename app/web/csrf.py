"""CSRF tokens for forms that anonymous citizens fill in.

A random cookie identifies the browser; each form carries a token signed over that cookie, the
form's name, a nonce and the time it was issued. The nonce doubles as the submission's
idempotency key and the time as the start of the minimum fill time.
"""

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

COOKIE_NAME = "ii_csrf"


class CsrfError(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason  # "missing", "invalid", "expired"


@dataclass(frozen=True)
class FormToken:
    nonce: str
    issued_at: datetime


def new_cookie_value() -> str:
    return secrets.token_urlsafe(32)


def _signature(key: bytes, *parts: str) -> str:
    digest = hmac.new(key, "|".join(parts).encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def issue_token(key: bytes, *, cookie: str, form: str, now: datetime) -> str:
    nonce = secrets.token_urlsafe(18)
    issued = str(int(now.timestamp()))
    return f"{nonce}.{issued}.{_signature(key, form, cookie, nonce, issued)}"


@dataclass(frozen=True)
class FormOrigin:
    """The first showing of a form that came back with errors, perhaps several times: its
    first token's nonce (the form's own key across showings) and when it was issued."""

    nonce: str
    started_at: datetime


def sign_origin(key: bytes, *, cookie: str, form: str, origin: FormOrigin) -> str:
    started = str(int(origin.started_at.timestamp()))
    signature = _signature(key, "origin", form, cookie, origin.nonce, started)
    return f"{origin.nonce}.{started}.{signature}"


def check_origin(
    key: bytes, *, cookie: str | None, form: str, value: str | None, now: datetime
) -> FormOrigin | None:
    """The origin a re-shown form carries, if its signature holds (None otherwise: a forged or
    missing one counts for nothing, and the form's own token stands for its origin)."""
    if not cookie or not value or not value.isascii() or len(value) > 200:
        return None
    parts = value.split(".")
    if len(parts) != 3 or not parts[1].isdigit():
        return None
    nonce, started, signature = parts
    expected = _signature(key, "origin", form, cookie, nonce, started)
    if not hmac.compare_digest(signature, expected):
        return None
    started_at = datetime.fromtimestamp(int(started), UTC)
    if started_at - now > timedelta(minutes=5):
        return None
    return FormOrigin(nonce=nonce, started_at=started_at)


def check_token(
    key: bytes,
    *,
    cookie: str | None,
    form: str,
    token: str | None,
    now: datetime,
    max_age: timedelta,
) -> FormToken:
    if not cookie or not token:
        raise CsrfError("missing")
    parts = token.split(".")
    # isascii: str.isdigit() also accepts "²" and "٣", and compare_digest refuses non-ASCII str.
    if len(parts) != 3 or not token.isascii() or not parts[1].isdigit() or len(token) > 200:
        raise CsrfError("invalid")
    nonce, issued, signature = parts
    if not hmac.compare_digest(signature, _signature(key, form, cookie, nonce, issued)):
        raise CsrfError("invalid")
    issued_at = datetime.fromtimestamp(int(issued), UTC)
    if now - issued_at > max_age or issued_at - now > timedelta(minutes=5):
        raise CsrfError("expired")
    return FormToken(nonce=nonce, issued_at=issued_at)
