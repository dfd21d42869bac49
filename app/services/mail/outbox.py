"""The outbox: e-mails written in the transaction of the change they report, and their delivery.

One sender at a time delivers, across processes and machines: it holds the lease "outbox"
(app/services/leases.py) and renews it after each message. It reads each message outside any
write transaction and records the outcome in a short one, so SQLite's single writer is never
held while the SMTP server answers. A failed attempt waits before the next, twice as long each
time; a permanent refusal (5xx) or the tenth failure marks the message failed, for staff to see
at /staff/outbox and send again. A sender that dies between the SMTP server's "OK" and its own
record sends that one message twice, not zero times.
"""

import logging
import smtplib
import ssl
import threading
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from sqlalchemy import Engine, event, func, or_, update
from sqlalchemy.pool import Pool
from sqlmodel import Session, col, select

from app.db import WRITE, insert_row
from app.errors import Conflict, NotFound
from app.i18n import N_
from app.models import Account, OutboxMessage, Vote, utcnow
from app.services import audit, leases

log = logging.getLogger("app.mail")

MAX_ATTEMPTS = 10
# Pauses after failed attempts: 1, 2, 4 … minutes, at most 4 hours; the tenth failure, about
# 8 hours after the first, gives up.
FIRST_PAUSE = timedelta(minutes=1)
LONGEST_PAUSE = timedelta(hours=4)
LEASE = "outbox"
# Renewed after every message; longer than one message can take (SMTP_TIMEOUT per step).
LEASE_TIME = timedelta(minutes=2)
SMTP_TIMEOUT = 30

# Set on a session by queue_mail; its commit wakes this process's sender.
_QUEUED = "outbox_queued"
# Each engine's sender, by the engine's pool (shared by the engine's execution_options copies).
_wakers: "weakref.WeakKeyDictionary[Pool, threading.Event]" = weakref.WeakKeyDictionary()


def queue_mail(session: Session, *, to: str, subject: str, body: str) -> OutboxMessage:
    """Writes the e-mail in the caller's transaction: it is sent only if that change is kept."""
    message = OutboxMessage(to_address=to, subject=subject[:300], body=body)
    insert_row(session, message)
    session.info[_QUEUED] = True
    return message


def queue_mails(session: Session, messages: list[tuple[str, str, str]]) -> None:
    """Several e-mails (to, subject, body) in one statement: a batch import's receipts."""
    if not messages:
        return
    table = OutboxMessage.__table__  # type: ignore[attr-defined]
    columns = OutboxMessage(to_address="", subject="", body="").model_dump(exclude={"id"})
    session.execute(
        table.insert(),
        [
            {**columns, "to_address": to, "subject": subject[:300], "body": body}
            for to, subject, body in messages
        ],
    )
    session.info[_QUEUED] = True


def wake_on_commit(engine: Engine, waker: threading.Event | None) -> None:
    """`waker` is set whenever a session of `engine` commits new mail (None: no longer)."""
    if waker is None:
        _wakers.pop(engine.pool, None)
    else:
        _wakers[engine.pool] = waker


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    if session.info.pop(_QUEUED, False) and _wakers:
        waker = _wakers.get(session.get_bind().pool)  # type: ignore[union-attr]
        if waker is not None:
            waker.set()


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_QUEUED, None)


@dataclass(frozen=True)
class SmtpTarget:
    host: str
    port: int
    tls: bool
    starttls: bool
    username: str | None
    password: str | None


def parse_smtp_url(url: str) -> SmtpTarget:
    """smtp://[user:password@]host[:port][?starttls=true] or smtps://… for TLS from the start."""
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise ValueError("SMTP_URL must look like smtp://host:port or smtps://user:pass@host")
    query = parse_qs(parts.query)
    tls = parts.scheme == "smtps"
    return SmtpTarget(
        host=parts.hostname,
        port=parts.port or (465 if tls else 25),
        tls=tls,
        starttls=(query.get("starttls") or ["false"])[0].lower() in ("1", "true", "yes"),
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
    )


def _connect(target: SmtpTarget) -> smtplib.SMTP:
    if target.tls:
        client: smtplib.SMTP = smtplib.SMTP_SSL(
            target.host, target.port, timeout=SMTP_TIMEOUT, context=ssl.create_default_context()
        )
    else:
        client = smtplib.SMTP(target.host, target.port, timeout=SMTP_TIMEOUT)
    try:
        if target.starttls:
            client.starttls(context=ssl.create_default_context())
        if target.username:
            client.login(target.username, target.password or "")
    except BaseException:
        client.close()
        raise
    return client


def _as_email(message: OutboxMessage, sender: str) -> EmailMessage:
    email = EmailMessage()
    email["From"] = sender
    email["To"] = message.to_address
    email["Subject"] = message.subject
    email["Date"] = formatdate(localtime=False)
    email["Message-ID"] = make_msgid(domain="integrity-icon.invalid")
    email.set_content(message.body)
    return email


def pause_after(attempts: int) -> timedelta:
    """How long a message waits after its `attempts`-th failed attempt."""
    return min(FIRST_PAUSE * 2 ** max(attempts - 1, 0), LONGEST_PAUSE)


def _waiting() -> Any:
    return col(OutboxMessage.sent_at).is_(None) & col(OutboxMessage.failed_at).is_(None)


def _due(now: datetime) -> Any:
    return _waiting() & or_(
        col(OutboxMessage.next_attempt_at).is_(None), col(OutboxMessage.next_attempt_at) <= now
    )


def count_waiting(session: Session) -> int:
    return int(session.exec(select(func.count()).where(_waiting())).one())


def _due_ids(engine: Engine, now: datetime, *, limit: int) -> list[int]:
    with Session(engine) as session:
        query = select(OutboxMessage.id).where(_due(now)).order_by(col(OutboxMessage.id))
        return [id_ for id_ in session.exec(query.limit(limit)).all() if id_ is not None]


@contextmanager
def _writing(engine: Engine) -> Iterator[Session]:
    """A short write transaction of its own, committed on the way out."""
    with Session(engine, expire_on_commit=False) as session:
        session.connection(execution_options=WRITE)
        yield session
        session.commit()


@dataclass(frozen=True)
class Failure:
    error: str
    # A refusal the server says is final (5xx): no more attempts.
    permanent: bool = False


def _describe(error: BaseException) -> Failure:
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _text in error.recipients.values()]
        texts = [
            f"{code} {text.decode(errors='replace') if isinstance(text, bytes) else text}"
            for code, text in error.recipients.values()
        ]
        return Failure("; ".join(texts)[:500], permanent=all(500 <= c < 600 for c in codes))
    if isinstance(error, smtplib.SMTPResponseException):
        text = error.smtp_error
        text = text.decode(errors="replace") if isinstance(text, bytes) else str(text)
        return Failure(f"{error.smtp_code} {text}"[:500], permanent=500 <= error.smtp_code < 600)
    return Failure(f"{type(error).__name__}: {error}"[:500])


def _record(
    session: Session, message_id: int, attempts: int, now: datetime, *, failure: Failure | None
) -> None:
    """Writes one attempt's outcome, unless the message was sent or erased meanwhile."""
    values: dict[str, Any] = {"attempts": attempts + 1}
    if failure is None:
        values.update(sent_at=now, next_attempt_at=None, last_error="")
    elif failure.permanent or attempts + 1 >= MAX_ATTEMPTS:
        values.update(failed_at=now, next_attempt_at=None, last_error=failure.error)
    else:
        values.update(next_attempt_at=now + pause_after(attempts + 1), last_error=failure.error)
    session.execute(
        update(OutboxMessage)
        .where(col(OutboxMessage.id) == message_id, col(OutboxMessage.sent_at).is_(None))
        .values(**values)
    )


@dataclass(frozen=True)
class Delivery:
    sent: int
    failed: int
    waiting: int
    # Another sender held the outbox: this one sent nothing.
    busy: bool = False


@dataclass
class _Run:
    engine: Engine
    target: SmtpTarget
    sender: str
    holder: str
    clock: Callable[[], datetime]
    should_stop: Callable[[], bool]
    sent: int = 0
    failed: int = 0
    # The lease ran out and another sender took it: stop at once.
    lost: bool = False

    def renew(self, session: Session) -> None:
        until = self.clock() + LEASE_TIME
        if not leases.renew(session, name=LEASE, holder=self.holder, until=until):
            log.warning("the outbox's lease ran out; another sender carries on")
            self.lost = True

    def batch(self, pending: list[int]) -> None:
        try:
            client = _connect(self.target)
        except (smtplib.SMTPException, OSError) as error:
            # Each message waiting for this server counts one failed attempt: after hours of
            # an unreachable server they show as failed at /staff/outbox.
            log.error(
                "cannot reach the SMTP server %s:%s: %s", self.target.host, self.target.port, error
            )
            failure = Failure(f"cannot reach the SMTP server: {_describe(error).error}"[:500])
            with _writing(self.engine) as session:
                rows = session.exec(
                    select(OutboxMessage.id, OutboxMessage.attempts).where(
                        col(OutboxMessage.id).in_(pending), _waiting()
                    )
                ).all()
                for message_id, attempts in rows:
                    _record(session, message_id or 0, attempts, self.clock(), failure=failure)
                self.renew(session)
            self.failed += len(rows)
            return
        try:
            for message_id in pending:
                if self.lost or self.should_stop() or not self.one(client, message_id):
                    break
        finally:
            try:
                client.quit()
            except (smtplib.SMTPException, OSError):
                log.debug("the SMTP server closed the connection first")

    def one(self, client: smtplib.SMTP, message_id: int) -> bool:
        """Sends one message; False when the connection is no longer usable."""
        with Session(self.engine) as session:
            message = session.get(OutboxMessage, message_id)
            if message is None or message.sent_at is not None or message.failed_at is not None:
                return True  # erased, or sent again by staff's hand meanwhile
            email = _as_email(message, self.sender)
            attempts = message.attempts
        usable = True
        failure = None
        try:
            client.send_message(email)
        except (smtplib.SMTPRecipientsRefused, smtplib.SMTPResponseException) as error:
            failure = _describe(error)
            # 421: the server closes the connection (smtplib closes its end too).
            usable = getattr(error, "smtp_code", 0) != 421
            # Only identifiers and codes are logged: a server's answer may quote the address.
            log.warning("e-mail %s refused: %s", message_id, failure.error[:3])
        except (smtplib.SMTPException, OSError) as error:
            failure = _describe(error)
            usable = False
            log.warning("e-mail %s not sent: %s", message_id, type(error).__name__)
        if failure is None:
            self.sent += 1
        else:
            self.failed += 1
        with _writing(self.engine) as session:
            _record(session, message_id, attempts, self.clock(), failure=failure)
            self.renew(session)
        return usable


def deliver_outbox(
    engine: Engine,
    *,
    smtp_url: str | None,
    sender: str,
    batch: int = 200,
    clock: Callable[[], datetime] = utcnow,
    holder: str | None = None,
    should_stop: Callable[[], bool] = lambda: False,
) -> Delivery:
    """Sends every message that is due, unless another sender is at it (`busy`)."""
    if not smtp_url:
        pending = _due_ids(engine, clock(), limit=batch)
        # Only identifiers are logged: addresses and texts are personal data.
        log.info(
            "SMTP_URL is not set: %d e-mail(s) wait in the outbox, ids %s", len(pending), pending
        )
        return Delivery(sent=0, failed=0, waiting=_count(engine))
    target = parse_smtp_url(smtp_url)
    if not _due_ids(engine, clock(), limit=1):
        # Nothing to do: no lease taken, so an idle server writes nothing.
        return Delivery(sent=0, failed=0, waiting=_count(engine))
    holder = holder or leases.new_holder()
    with _writing(engine) as session:
        now = clock()
        taken = leases.acquire(session, name=LEASE, holder=holder, until=now + LEASE_TIME, now=now)
    if not taken:
        return Delivery(sent=0, failed=0, waiting=_count(engine), busy=True)
    run = _Run(engine, target, sender, holder, clock, should_stop)
    try:
        while not (run.lost or should_stop()):
            pending = _due_ids(engine, clock(), limit=batch)
            if not pending:
                break
            run.batch(pending)
    finally:
        if not run.lost:
            with _writing(engine) as session:
                leases.release(session, name=LEASE, holder=holder)
    return Delivery(sent=run.sent, failed=run.failed, waiting=_count(engine))


def _count(engine: Engine) -> int:
    with Session(engine) as session:
        return count_waiting(session)


# What staff see at /staff/outbox.

LISTED = 100


@dataclass(frozen=True)
class OutboxOverview:
    waiting: list[OutboxMessage]
    failed: list[OutboxMessage]
    waiting_count: int
    failed_count: int
    sent_last_day: int
    # Messages to voters of the public vote: their addresses are not shown (issue 18).
    to_voters: frozenset[int] = frozenset()


def outbox_overview(session: Session, *, now: datetime) -> OutboxOverview:
    """Mail that waits (oldest first) and mail given up on (newest first), with counts."""
    failed_filter = col(OutboxMessage.sent_at).is_(None) & col(OutboxMessage.failed_at).is_not(None)
    waiting = session.exec(
        select(OutboxMessage).where(_waiting()).order_by(col(OutboxMessage.id)).limit(LISTED)
    ).all()
    failed = session.exec(
        select(OutboxMessage)
        .where(failed_filter)
        .order_by(col(OutboxMessage.failed_at).desc(), col(OutboxMessage.id).desc())
        .limit(LISTED)
    ).all()
    sent = session.exec(
        select(func.count()).where(col(OutboxMessage.sent_at) >= now - timedelta(days=1))
    ).one()
    listed = [m.id for m in [*waiting, *failed] if m.id is not None]
    to_voters = session.exec(
        select(Vote.outbox_message_id).where(col(Vote.outbox_message_id).in_(listed))
    ).all()
    return OutboxOverview(
        waiting=list(waiting),
        failed=list(failed),
        waiting_count=count_waiting(session),
        failed_count=int(session.exec(select(func.count()).where(failed_filter)).one()),
        sent_last_day=int(sent),
        to_voters=frozenset(i for i in to_voters if i is not None),
    )


def resend(session: Session, *, actor: Account, message_id: int | None) -> int:
    """Sends again at once, with a fresh count of attempts: one unsent message, or (without
    `message_id`) every failed one. Returns how many; the sender wakes on commit."""
    query = select(OutboxMessage).where(col(OutboxMessage.sent_at).is_(None))
    if message_id is None:
        query = query.where(col(OutboxMessage.failed_at).is_not(None))
    else:
        message = session.get(OutboxMessage, message_id)
        if message is None:
            raise NotFound()
        if message.sent_at is not None:
            raise Conflict(N_("This e-mail was already sent."))
        query = query.where(OutboxMessage.id == message_id)
    messages = session.exec(query.order_by(col(OutboxMessage.id))).all()
    for message in messages:
        # Nothing personal in the trail: which message, and how its sending stood.
        audit.record(
            session,
            actor=actor,
            action="outbox.resend",
            object_type="outbox_message",
            object_id=message.id,
            before={"attempts": message.attempts, "failed": message.failed_at is not None},
            after={"attempts": 0, "failed": False},
        )
        message.attempts = 0
        message.failed_at = None
        message.next_attempt_at = None
        session.add(message)
    session.flush()
    if messages:
        session.info[_QUEUED] = True
    return len(messages)
