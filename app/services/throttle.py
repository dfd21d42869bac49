"""The one rate limiter: actions counted per bucket in the database (RateLimitHit), so every
app process sees the same counts.

A bucket is an action and who does it, keyed (`keyed_bucket`) so that the stored name reveals
neither a client's address nor a typed e-mail. A `Limit` allows a bucket so many hits in a
sliding window, or, with a `delay`, makes each hit past that many wait longer than the one
before. A caller asks how long to wait before acting (`wait_seconds`, or `check`, which
refuses), counts the action when it should count (`record_hits`), and may forget a bucket's
hits (`forget`).
"""

import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func
from sqlmodel import Session, col, select

from app.db import insert_row
from app.errors import TooManyRequests
from app.models import RateLimitHit


@dataclass(frozen=True)
class Limit:
    """At most `hits` counted actions in any `window` in `bucket`; 0 (or less) is no limit.

    With a `delay`, growing delays instead: once `hits` actions are counted in the window, the
    next waits `delay` after the latest, and each one more doubles it, up to `longest`."""

    bucket: str
    hits: int
    window: timedelta
    delay: timedelta | None = None
    longest: timedelta | None = None

    @property
    def action(self) -> str:
        return self.bucket.partition(":")[0]


def keyed_bucket(key: bytes, action: str, value: str) -> str:
    """The bucket of an action by one client, address or account (`value`), keyed so the
    stored name does not reveal the value."""
    digest = hmac.new(key, value.encode(), hashlib.sha256).hexdigest()[:32]
    return f"{action}:{digest}"


def wait_seconds(session: Session, *, limits: Iterable[Limit], now: datetime) -> int:
    """Seconds until every bucket is under its limit again; 0 when none is at its limit."""
    wait = 0
    for limit in limits:
        if limit.hits <= 0:
            continue
        count, oldest, latest = session.exec(
            select(
                func.count(), func.min(RateLimitHit.created_at), func.max(RateLimitHit.created_at)
            ).where(
                RateLimitHit.bucket == limit.bucket,
                col(RateLimitHit.created_at) > now - limit.window,
            )
        ).one()
        if count < limit.hits:
            continue
        if limit.delay is None:
            until = (oldest or now) + limit.window
        else:
            # Past 2**20 the cap has long applied; the exponent stays small.
            growing = limit.delay * 2 ** min(count - limit.hits, 20)
            until = (latest or now) + min(growing, limit.longest or limit.window)
        if until > now:
            wait = max(wait, int((until - now).total_seconds()) + 1)
    return wait


def too_many(message: str, wait: int) -> TooManyRequests:
    """The refusal (429) for a wait of `wait` seconds; `message` may show it as %(minutes)s,
    rounded up."""
    return TooManyRequests(message, retry_after=max(wait, 1), minutes=max((wait + 59) // 60, 1))


def check(session: Session, *, limits: Iterable[Limit], now: datetime, message: str) -> None:
    """Refuses (TooManyRequests, with `message`) while any bucket is at its limit."""
    wait = wait_seconds(session, limits=limits, now=now)
    if wait:
        raise too_many(message, wait)


# When this process last dropped the old hits of each action.
_last_sweep: dict[str, datetime] = {}
SWEEP_EVERY = timedelta(minutes=1)


def record_hits(session: Session, *, limits: Iterable[Limit], now: datetime) -> None:
    """Counts one action in each limit's bucket. Hits older than their window are dropped on
    the way, at most once a minute per action and process (not on every hit of a spike): the
    table holds little more than the windows, and `wait_seconds` counts only inside them."""
    for limit in limits:
        if now - _last_sweep.get(limit.action, datetime.min.replace(tzinfo=UTC)) >= SWEEP_EVERY:
            _last_sweep[limit.action] = now
            session.execute(
                delete(RateLimitHit).where(
                    col(RateLimitHit.bucket).startswith(limit.action + ":", autoescape=True),
                    col(RateLimitHit.created_at) <= now - limit.window,
                )
            )
        insert_row(session, RateLimitHit(bucket=limit.bucket, created_at=now))


def forget(session: Session, *, bucket: str) -> None:
    """Drops every hit of a bucket: what was counted there no longer counts."""
    session.execute(delete(RateLimitHit).where(col(RateLimitHit.bucket) == bucket))
