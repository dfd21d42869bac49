"""The retention period: nominations that never became candidates are deleted, with their evidence
files and notes, NOMINATION_RETENTION_DAYS after their edition's results day.

A nomination that became a candidate stays: it is part of how that edition chose its finalists
and winners (a cancellation request still anonymises its nominator). The server does the purge
itself, at start and every hour after (`RetentionPurger`, started by app/main.py like the mail
sender), so nobody has to remember a cron job. One process at a time purges, whatever the number
of processes and machines: it holds the lease "retention" (app/services/leases.py) and renews it
with each batch. Each batch is one short transaction with its own audit event ("retention.purged",
by nobody signed in, naming the nominations' ids, never their contents); the files go after its
commit (erasure.remove_files). An idle check takes no lease and writes nothing.
"""

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from app.db import WRITE
from app.i18n import TIMEZONE
from app.models import Campaign, Nomination, Theme, utcnow
from app.services import audit, leases
from app.services.files import FileStore
from app.services.privacy import erasure

log = logging.getLogger("app.retention")

LEASE = "retention"
# Renewed with every batch, which takes well under a second.
LEASE_TIME = timedelta(minutes=5)
BATCH = 500
# How often the server looks again after its check at start.
INTERVAL_SECONDS = 3600.0
STOP_WAIT_SECONDS = 5.0


def retention_cutoff(*, today: date, days: int) -> date:
    """Editions whose results day came before this date are past their retention period."""
    return today - timedelta(days=days)


def expired_nomination_ids(session: Session, *, today: date, days: int, limit: int) -> list[int]:
    """Nominations that never became candidates, of editions past the retention period."""
    query = (
        select(Nomination.id)
        .join(Theme, col(Theme.id) == Nomination.theme_id)
        .join(Campaign, col(Campaign.id) == Theme.campaign_id)
        .where(
            col(Nomination.candidate_id).is_(None),
            col(Campaign.results_on) < retention_cutoff(today=today, days=days),
        )
        .order_by(col(Nomination.id))
        .limit(limit)
    )
    return [nomination_id for nomination_id in session.exec(query).all() if nomination_id]


@dataclass
class Purge:
    nominations: int = 0
    evidence_files: int = 0
    removed_files: list[str] = field(default_factory=list)
    # Another process holds the lease and is at it.
    busy: bool = False


@contextmanager
def _writing(engine: Engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as session:
        session.connection(execution_options=WRITE)
        yield session
        session.commit()


def purge_expired(
    engine: Engine,
    store: FileStore,
    *,
    days: int,
    clock: Callable[[], datetime] = utcnow,
    holder: str | None = None,
    batch: int = BATCH,
    should_stop: Callable[[], bool] = lambda: False,
) -> Purge:
    """Deletes every nomination past the retention period (`days`; 0 keeps them all)."""
    done = Purge()
    if days <= 0:
        return done
    today = clock().astimezone(TIMEZONE).date()
    with Session(engine) as session:
        if not expired_nomination_ids(session, today=today, days=days, limit=1):
            return done
    holder = holder or leases.new_holder()
    with _writing(engine) as session:
        now = clock()
        taken = leases.acquire(session, name=LEASE, holder=holder, until=now + LEASE_TIME, now=now)
    if not taken:
        done.busy = True
        return done
    lost = False
    try:
        while not should_stop():
            with _writing(engine) as session:
                ids = expired_nomination_ids(session, today=today, days=days, limit=batch)
                if not ids:
                    break
                if not leases.renew(session, name=LEASE, holder=holder, until=clock() + LEASE_TIME):
                    # It ran out and another process took it: that one carries on.
                    lost = True
                    session.rollback()
                    break
                files, hashes = erasure.delete_nominations(session, nomination_ids=ids)
                audit.record(
                    session,
                    actor=None,
                    action="retention.purged",
                    object_type="nomination",
                    after={
                        "nominations": ids,
                        "evidence_files_deleted": files,
                        "retention_days": days,
                        "results_before": retention_cutoff(today=today, days=days).isoformat(),
                    },
                )
            done.nominations += len(ids)
            done.evidence_files += files
            done.removed_files += erasure.remove_files(engine, store, hashes)
    finally:
        if not lost:
            with _writing(engine) as session:
                leases.release(session, name=LEASE, holder=holder)
    return done


class RetentionPurger:
    """A thread per server process that runs `purge_expired` at start and every interval."""

    def __init__(
        self, engine: Engine, store: FileStore, *, days: int, interval: float = INTERVAL_SECONDS
    ) -> None:
        self.engine = engine
        self.store = store
        self.days = days
        self.interval = interval
        self.holder = leases.new_holder()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="retention", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(STOP_WAIT_SECONDS)

    def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                done = purge_expired(
                    self.engine,
                    self.store,
                    days=self.days,
                    holder=self.holder,
                    should_stop=self._stopping.is_set,
                )
            except Exception:
                # A database that does not answer, say: the next round tries again.
                log.exception("the retention purge failed; it tries again in %s s", self.interval)
            else:
                if done.nominations:
                    log.info(
                        "retention: deleted %d nomination(s) and %d evidence file(s)",
                        done.nominations,
                        done.evidence_files,
                    )
            self._stopping.wait(self.interval)
