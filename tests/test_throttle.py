"""The rate limiter shared by the nomination form and signing in (app.services.throttle)."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, select

from app.errors import TooManyRequests
from app.models import RateLimitHit
from app.services import throttle

NOW = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)
KEY = b"k" * 32


def hit(session: Session, bucket: str, at: datetime) -> None:
    session.add(RateLimitHit(bucket=bucket, created_at=at))
    session.flush()


def buckets(session: Session) -> list[str]:
    return sorted(h.bucket for h in session.exec(select(RateLimitHit)).all())


def test_throttle_waits_until_every_bucket_is_under_its_limit(session: Session) -> None:
    short = throttle.Limit("a:1", 2, timedelta(minutes=15))
    long = throttle.Limit("b:1", 1, timedelta(hours=1))
    hit(session, "a:1", NOW - timedelta(minutes=10))
    hit(session, "a:1", NOW - timedelta(minutes=5))
    hit(session, "b:1", NOW - timedelta(minutes=30))

    # "a" is free again in 5 min, "b" in 30: the longer wait counts.
    assert throttle.wait_seconds(session, limits=[short, long], now=NOW) == 30 * 60 + 1
    assert throttle.wait_seconds(session, limits=[short], now=NOW) == 5 * 60 + 1
    assert throttle.wait_seconds(session, limits=[short, long], now=NOW + timedelta(hours=1)) == 0


def test_throttle_check_refuses_with_the_wait_in_minutes_rounded_up(session: Session) -> None:
    limit = throttle.Limit("a:1", 1, timedelta(hours=1))
    hit(session, "a:1", NOW - timedelta(minutes=30, seconds=30))

    with pytest.raises(TooManyRequests) as refused:
        throttle.check(session, limits=[limit], now=NOW, message="Wait %(minutes)s min.")

    assert refused.value.retry_after == 29 * 60 + 31
    assert refused.value.params == {"minutes": 30}


def test_throttle_limit_of_zero_is_no_limit(session: Session) -> None:
    limit = throttle.Limit("a:1", 0, timedelta(hours=1))
    throttle.record_hits(session, limits=[limit], now=NOW)

    throttle.check(session, limits=[limit], now=NOW, message="never")

    assert buckets(session) == ["a:1"]


def test_throttle_sweep_drops_old_hits_of_the_action_recorded_only(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(throttle, "_last_sweep", {})
    hit(session, "login-client:old", NOW - timedelta(minutes=20))
    hit(session, "login-client:recent", NOW - timedelta(minutes=10))
    hit(session, "nominate:old", NOW - timedelta(minutes=20))
    login = throttle.Limit("login-client:new", 20, timedelta(minutes=15))

    throttle.record_hits(session, limits=[login], now=NOW)

    # The nomination's hit is within its own hour: another action's window does not apply.
    assert buckets(session) == ["login-client:new", "login-client:recent", "nominate:old"]


def test_throttle_forget_drops_one_bucket(session: Session) -> None:
    hit(session, "a:1", NOW)
    hit(session, "a:2", NOW)

    throttle.forget(session, bucket="a:1")

    assert buckets(session) == ["a:2"]


def test_throttle_keyed_bucket_names_the_action_not_the_value() -> None:
    bucket = throttle.keyed_bucket(KEY, "nominate", "192.0.2.1")

    assert bucket.startswith("nominate:") and "192.0.2.1" not in bucket
    assert bucket == throttle.keyed_bucket(KEY, "nominate", "192.0.2.1")
    assert bucket != throttle.keyed_bucket(KEY, "nominate", "192.0.2.2")
    assert len(bucket) <= 100  # the column's length


def test_throttle_growing_delays_double_after_the_free_hits(session: Session) -> None:
    limit = throttle.Limit(
        "p:1", 2, timedelta(hours=1), delay=timedelta(minutes=1), longest=timedelta(minutes=5)
    )
    hit(session, "p:1", NOW - timedelta(minutes=30))
    assert throttle.wait_seconds(session, limits=[limit], now=NOW) == 0

    hit(session, "p:1", NOW)
    first = throttle.wait_seconds(session, limits=[limit], now=NOW)
    hit(session, "p:1", NOW)
    second = throttle.wait_seconds(session, limits=[limit], now=NOW)
    for _ in range(5):
        hit(session, "p:1", NOW)
    longest = throttle.wait_seconds(session, limits=[limit], now=NOW)

    # Counted from the latest hit, not the oldest: 1 min, then 2, then at most 5.
    assert (first, second, longest) == (61, 121, 301)
    assert throttle.wait_seconds(session, limits=[limit], now=NOW + timedelta(minutes=5)) == 0
