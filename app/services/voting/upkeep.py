"""What the server does by itself for the public vote: freezes the count of each vote at its
close, and deletes voters' addresses VOTE_RETENTION_DAYS after it (with the confirmation
e-mails that went to them and the networks kept for review).

A thread per server process runs it at start and then every minute; every step is guarded by
the rows it changes, so several processes (or machines) running it at once do it once.
"""

import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, String, cast, delete, literal, update
from sqlmodel import Session, col, select

from app.db import WRITE
from app.models import OutboxMessage, ThemeVote, Vote, VoteRefusal, utcnow
from app.services import audit
from app.services.voting.counting import freeze_closed_votes

log = logging.getLogger("app.vote")

INTERVAL_SECONDS = 60.0
STOP_WAIT_SECONDS = 5.0


def delete_addresses(session: Session, *, now: datetime, retention_days: int) -> int:
    """Deletes the addresses of every vote closed more than `retention_days` ago; returns how
    many votes lost theirs. A vote that counts keeps counting, under a key of its own."""
    due = session.exec(
        select(ThemeVote).where(
            col(ThemeVote.closes_at) <= now - timedelta(days=retention_days),
            col(ThemeVote.addresses_deleted_at).is_(None),
        )
    ).all()
    deleted = 0
    for vote in due:
        mails = select(Vote.outbox_message_id).where(
            Vote.theme_vote_id == vote.id, col(Vote.outbox_message_id).is_not(None)
        )
        session.execute(delete(OutboxMessage).where(col(OutboxMessage.id).in_(mails)))
        session.execute(
            update(Vote)
            .where(col(Vote.theme_vote_id) == vote.id, col(Vote.counted_key).is_not(None))
            .values(counted_key=literal("deleted:") + cast(Vote.id, String))
        )
        result = session.execute(
            update(Vote)
            .where(col(Vote.theme_vote_id) == vote.id)
            .values(address="", client_hash="", network="", token_hash=None, outbox_message_id=None)
        )
        session.execute(delete(VoteRefusal).where(col(VoteRefusal.theme_vote_id) == vote.id))
        count = int(getattr(result, "rowcount", 0) or 0)
        vote.addresses_deleted_at = now
        session.add(vote)
        audit.record(
            session,
            actor=None,
            action="vote.addresses_deleted",
            object_type="theme_vote",
            object_id=vote.id,
            after={"votes": count, "retention_days": retention_days},
        )
        deleted += count
    session.flush()
    return deleted


@dataclass(frozen=True)
class Upkeep:
    frozen: int
    addresses_deleted: int


def run_upkeep(engine: Engine, *, now: datetime, retention_days: int) -> Upkeep:
    """One round, in a short write transaction of its own, taken only when there is work (an
    idle server does not take SQLite's write lock every minute)."""
    with Session(engine) as reader:
        due = reader.exec(
            select(ThemeVote.id).where(
                (col(ThemeVote.closes_at) <= now) & col(ThemeVote.frozen_at).is_(None)
                | (col(ThemeVote.closes_at) <= now - timedelta(days=retention_days))
                & col(ThemeVote.addresses_deleted_at).is_(None)
            )
        ).first()
    if due is None:
        return Upkeep(0, 0)
    with Session(engine.execution_options(**WRITE), expire_on_commit=False) as session:
        frozen = freeze_closed_votes(session, now=now)
        deleted = delete_addresses(session, now=now, retention_days=retention_days)
        session.commit()
    return Upkeep(frozen, deleted)


class VoteKeeper:
    def __init__(self, engine: Engine, *, retention_days: int) -> None:
        self.engine = engine
        self.retention_days = retention_days
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="vote-keeper", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(STOP_WAIT_SECONDS)

    def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                done = run_upkeep(self.engine, now=utcnow(), retention_days=self.retention_days)
            except Exception:
                log.exception("the vote's upkeep failed; it tries again in %s s", INTERVAL_SECONDS)
            else:
                if done.frozen or done.addresses_deleted:
                    log.info(
                        "vote: %d count(s) frozen, %d address(es) deleted",
                        done.frozen,
                        done.addresses_deleted,
                    )
            self._stopping.wait(INTERVAL_SECONDS)
