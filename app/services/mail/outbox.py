import logging
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from urllib.parse import parse_qs, unquote, urlsplit

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from app.db import WRITE, insert_row
from app.models import OutboxMessage, utcnow

log = logging.getLogger("app.mail")
MAX_ATTEMPTS = 10


def queue_mail(session: Session, *, to: str, subject: str, body: str) -> OutboxMessage:
    """Writes the e-mail in the caller's transaction: it is sent only if that change is kept."""
    message = OutboxMessage(to_address=to, subject=subject[:300], body=body)
    insert_row(session, message)
    return message


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
            target.host, target.port, timeout=30, context=ssl.create_default_context()
        )
    else:
        client = smtplib.SMTP(target.host, target.port, timeout=30)
        if target.starttls:
            client.starttls(context=ssl.create_default_context())
    if target.username:
        client.login(target.username, target.password or "")
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


@dataclass(frozen=True)
class Delivery:
    sent: int
    failed: int
    waiting: int


def deliver_outbox(
    engine: Engine, *, smtp_url: str | None, sender: str, batch: int = 200
) -> Delivery:
    """Sends what waits in the outbox, one commit per message so nothing is sent twice."""
    with Session(engine) as session:
        pending = list(
            session.exec(
                select(OutboxMessage.id)
                .where(col(OutboxMessage.sent_at).is_(None))
                .where(OutboxMessage.attempts < MAX_ATTEMPTS)
                .order_by(col(OutboxMessage.id))
                .limit(batch)
            ).all()
        )
    if not smtp_url:
        # Only identifiers are logged: addresses and texts are personal data.
        log.info(
            "SMTP_URL is not set: %d e-mail(s) wait in the outbox, ids %s", len(pending), pending
        )
        return Delivery(sent=0, failed=0, waiting=len(pending))
    target = parse_smtp_url(smtp_url)
    sent = failed = 0
    if not pending:
        return Delivery(sent=0, failed=0, waiting=0)
    try:
        client = _connect(target)
    except (smtplib.SMTPException, OSError) as error:
        log.error("cannot reach the SMTP server %s:%s: %s", target.host, target.port, error)
        return Delivery(sent=0, failed=0, waiting=len(pending))
    try:
        for message_id in pending:
            with Session(engine, expire_on_commit=False) as session:
                session.connection(execution_options=WRITE)
                query = select(OutboxMessage).where(
                    OutboxMessage.id == message_id, col(OutboxMessage.sent_at).is_(None)
                )
                if engine.dialect.name == "postgresql":
                    # Several senders may run at once; each message goes to one of them.
                    query = query.with_for_update(skip_locked=True)
                message = session.exec(query).first()
                if message is None:
                    continue
                try:
                    client.send_message(_as_email(message, sender))
                except (smtplib.SMTPException, OSError) as error:
                    message.attempts += 1
                    message.last_error = f"{type(error).__name__}: {error}"[:500]
                    failed += 1
                    log.warning("e-mail %s not sent: %s", message.id, type(error).__name__)
                else:
                    message.sent_at = utcnow()
                    message.attempts += 1
                    sent += 1
                session.add(message)
                session.commit()
    finally:
        try:
            client.quit()
        except (smtplib.SMTPException, OSError):
            log.debug("the SMTP server closed the connection first")
    return Delivery(sent=sent, failed=failed, waiting=len(pending) - sent)
