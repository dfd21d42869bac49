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
