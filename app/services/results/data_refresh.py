"""The scheduled open-data refresh: a thread per server process that makes a new release of the
current edition when its data changed, at most once per OPEN_DATA_REFRESH_SECONDS.

Pages and the API read the stored release, never the live tables; this thread is what keeps
it fresh while the call is open. The age of the latest release is read from the database and
the work is done under a lease, so several processes (or machines) refresh once between them.
"""

import logging
import threading
from datetime import datetime, timedelta

from sqlalchemy import Engine
from sqlmodel import Session

from app.db import WRITE
from app.models import utcnow
from app.services import leases
from app.services.campaigns.campaigns import get_current_campaign
from app.services.results.data_releases import (
    ReleaseOutcome,
    make_release,
    prepare_release,
    releases_of,
)

log = logging.getLogger("app.open_data")

LEASE = "open-data-refresh"
STOP_WAIT_SECONDS = 5.0


def refresh_due(
    engine: Engine, *, min_count: int, interval: float, now: datetime, holder: str
) -> ReleaseOutcome | None:
    """A new release of the current edition if its latest is older than `interval` and the
    data changed; None when there was nothing to do (or another process was doing it). The
    datasets are built in a read transaction; only storing them takes the write lock."""
    writer = engine.execution_options(**WRITE)
    with Session(writer, expire_on_commit=False) as session:
        campaign = get_current_campaign(session)
        if campaign is None or campaign.id is None:
            return None
        latest = releases_of(session, campaign_id=campaign.id)[:1]
        if latest and latest[0].created_at > now - timedelta(seconds=interval):
            return None
        if not leases.acquire(
            session, name=LEASE, holder=holder, until=now + timedelta(minutes=10), now=now
        ):
            return None
        session.commit()
    try:
        with Session(engine, expire_on_commit=False) as reader:
            prepared = prepare_release(reader, campaign=campaign, min_count=min_count)
        with Session(writer, expire_on_commit=False) as session:
            outcome = make_release(
                session,
                campaign=campaign,
                min_count=min_count,
                made_by="schedule",
                now=now,
                prepared=prepared,
            )
            session.commit()
    finally:
        with Session(writer) as session:
            leases.release(session, name=LEASE, holder=holder)
            session.commit()
    return outcome


class OpenDataRefresher:
    def __init__(self, engine: Engine, *, min_count: int, interval: float) -> None:
        self.engine = engine
        self.min_count = min_count
        self.interval = interval
        self.holder = leases.new_holder()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="open-data", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(STOP_WAIT_SECONDS)

    def _loop(self) -> None:
        # A check at most every few minutes: the interval is measured from the latest
        # release in the database, whichever process made it.
        pause = max(1.0, min(self.interval, 300.0))
        checked: datetime | None = None
        while not self._stopping.is_set():
            now = utcnow()
            if checked is not None and now - checked < timedelta(seconds=self.interval):
                # This process looked within the interval and found nothing new to release.
                self._stopping.wait(pause)
                continue
            checked = now
            try:
                outcome = refresh_due(
                    self.engine,
                    min_count=self.min_count,
                    interval=self.interval,
                    now=now,
                    holder=self.holder,
                )
                if outcome is not None and outcome.release is not None:
                    log.info(
                        "open data %s: release %s",
                        outcome.campaign.year,
                        outcome.release.number,
                    )
            except Exception:
                log.exception("the open-data refresh failed; it tries again later")
            self._stopping.wait(pause)
