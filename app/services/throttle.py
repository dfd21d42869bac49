import hashlib
import hmac
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func
from sqlmodel import Session, col, select

from app.db import insert_row
from app.errors import TooManyRequests
from app.i18n import N_
from app.models import RateLimitHit

WINDOW = timedelta(hours=1)


def client_bucket(key: bytes, action: str, client: str) -> str:
    """A bucket per action and client, keyed so the stored value does not reveal the address."""
    digest = hmac.new(key, client.encode(), hashlib.sha256).hexdigest()[:32]
    return f"{action}:{digest}"


def check_rate(session: Session, *, bucket: str, limit: int, now: datetime) -> None:
    """Refuses when the bucket already had `limit` hits in the last hour; a limit of 0 is none."""
    if limit <= 0:
        return
    since = now - WINDOW
    count, oldest = session.exec(
        select(func.count(), func.min(RateLimitHit.created_at)).where(
            RateLimitHit.bucket == bucket, col(RateLimitHit.created_at) > since
        )
    ).one()
    if count >= limit:
        retry = int((oldest + WINDOW - now).total_seconds()) + 1 if oldest else 3600
        raise TooManyRequests(
            N_(
                "You have sent many nominations in the last hour. Please try again in"
                " %(minutes)s min."
            ),
            retry_after=max(retry, 1),
            minutes=max(retry // 60, 1),
        )


# When this process last dropped hits older than the window.
_last_sweep = datetime.min.replace(tzinfo=UTC)
SWEEP_EVERY = timedelta(minutes=1)


def record_hit(session: Session, *, bucket: str, now: datetime) -> None:
    """Counts one action. Hits older than the window are dropped on the way, at most once a
    minute per process (not on every hit of a spike): the table holds little more than the
    last hour, and `check_rate` counts only that hour."""
    global _last_sweep
    if now - _last_sweep >= SWEEP_EVERY:
        _last_sweep = now
        session.execute(delete(RateLimitHit).where(col(RateLimitHit.created_at) <= now - WINDOW))
    insert_row(session, RateLimitHit(bucket=bucket, created_at=now))
