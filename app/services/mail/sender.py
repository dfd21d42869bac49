"""The server's own mail sender: a thread per server process that delivers the outbox.

It runs at start, then whenever this process commits new mail, and otherwise every
MAIL_INTERVAL_SECONDS (for mail queued by other processes, and retries that came due). Between
runs it sleeps on an event, so an idle server does no work; the outbox's lease lets one sender
at a time work, whatever the number of processes and machines. `send-mail` from cron takes the
same lease and can run beside it.
"""

import logging
import threading

from sqlalchemy import Engine

from app.services import leases
from app.services.mail.outbox import deliver_outbox, wake_on_commit

log = logging.getLogger("app.mail")

# After a wake-up that found another sender at work: look again this soon rather than after the
# whole interval, since that sender may have finished just before our mail was committed.
BUSY_RETRY_SECONDS = 2.0
# How long the server's shutdown waits for a message being sent.
STOP_WAIT_SECONDS = 5.0


class MailSender:
    def __init__(self, engine: Engine, *, smtp_url: str, sender: str, interval: float) -> None:
        self.engine = engine
        self.smtp_url = smtp_url
        self.sender = sender
        self.interval = interval
        self.holder = leases.new_holder()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="mail-sender", daemon=True)

    def start(self) -> None:
        wake_on_commit(self.engine, self._wake)
        self._thread.start()

    def stop(self) -> None:
        wake_on_commit(self.engine, None)
        self._stopping.set()
        self._wake.set()
        self._thread.join(STOP_WAIT_SECONDS)

    def _loop(self) -> None:
        while not self._stopping.is_set():
            self._wake.clear()
            wait = self.interval
            try:
                result = deliver_outbox(
                    self.engine,
                    smtp_url=self.smtp_url,
                    sender=self.sender,
                    holder=self.holder,
                    should_stop=self._stopping.is_set,
                )
            except Exception:
                # A database that does not answer, say: the next run tries again.
                log.exception("the mail sender failed; it tries again in %s s", self.interval)
            else:
                if result.sent or result.failed:
                    log.info(
                        "mail: sent %d, failed %d, waiting %d",
                        result.sent,
                        result.failed,
                        result.waiting,
                    )
                if result.busy:
                    wait = min(wait, BUSY_RETRY_SECONDS)
            self._wake.wait(wait)
