"""The outbox delivered by the server itself, against real SMTP servers on loopback that accept,
refuse, defer or disappear mid-send: retries wait, failures show at /staff/outbox, staff send
them again, one sender works at a time, and nothing is sent twice or lost."""

import re
import threading
from collections.abc import Callable
from datetime import datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from app.config import Settings
from app.main import create_app
from app.models import AuditEvent, OutboxMessage, Role, utcnow
from app.services import leases
from app.services.mail.outbox import LEASE, MAX_ATTEMPTS, deliver_outbox, queue_mail
from tests.factories import (
    csrf_token_from,
    make_account,
    make_open_campaign,
    nomination_data,
    post_nomination,
    sign_in,
)
from tests.server import PortalProcess
from tests.smtp import Inbox, smtp_server

SENDER = "Integrity Icon <no-reply@example.org>"
# Long enough for a test to fail rather than hang; nothing waits this long when all is well.
PATIENCE = 60.0


def at(moment: datetime) -> Callable[[], datetime]:
    return lambda: moment


def later(hours: float = 24) -> Callable[[], datetime]:
    return at(utcnow() + timedelta(hours=hours))


def stored(session: Session) -> list[OutboxMessage]:
    session.rollback()
    session.expire_all()
    return list(session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id))).all())


def queue(session: Session, *subjects: str) -> None:
    for subject in subjects:
        queue_mail(session, to=f"{subject.lower()}@example.org", subject=subject, body="Hola")
    session.commit()


def staff_client(client: TestClient, session: Session) -> TestClient:
    return sign_in(client, session, make_account(session, Role.staff))


def test_outbox_refused_recipient_fails_at_once_and_staff_see_why(
    client: TestClient, session: Session, engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    queue(session, "Recibo")

    with smtp_server(Inbox("refuse")) as (url, _inbox):
        result = deliver_outbox(engine, smtp_url=url, sender=SENDER)

    assert (result.sent, result.failed, result.waiting) == (0, 1, 0)
    [message] = stored(session)
    assert message.sent_at is None and message.failed_at is not None
    assert message.last_error == "550 5.1.1 <recibo@example.org>: mailbox unavailable"
    assert "recibo@" not in caplog.text
    page = staff_client(client, session).get("/staff/outbox")
    assert page.status_code == 200
    assert "550 5.1.1 &lt;recibo@example.org&gt;: mailbox unavailable" in page.text
    assert f'action="/staff/outbox/{message.id}/resend"' in page.text


def test_outbox_deferred_recipient_waits_then_is_sent(session: Session, engine: Engine) -> None:
    queue(session, "Recibo")

    with smtp_server(Inbox("defer")) as (url, _inbox):
        first = deliver_outbox(engine, smtp_url=url, sender=SENDER)
        at_once = deliver_outbox(engine, smtp_url=url, sender=SENDER)
    [message] = stored(session)
    with smtp_server() as (url, inbox):
        too_soon = deliver_outbox(engine, smtp_url=url, sender=SENDER)
        due = deliver_outbox(engine, smtp_url=url, sender=SENDER, clock=later())

    assert (first.failed, first.waiting) == (1, 1)
    assert (at_once.sent, at_once.failed) == (0, 0)
    assert message.attempts == 1 and message.failed_at is None
    assert message.last_error.startswith("451")
    assert message.next_attempt_at is not None and message.next_attempt_at > utcnow()
    assert (too_soon.sent, due.sent, due.waiting) == (0, 1, 0)
    assert [m["Subject"] for m in inbox.messages] == ["Recibo"]


def test_outbox_server_vanishing_mid_send_loses_nothing_and_repeats_nothing(
    session: Session, engine: Engine
) -> None:
    queue(session, "Uno", "Dos", "Tres")

    with smtp_server(Inbox("vanish", vanish_after=1)) as (url, first_inbox):
        cut = deliver_outbox(engine, smtp_url=url, sender=SENDER)
    after_cut = stored(session)
    with smtp_server() as (url, second_inbox):
        resumed = deliver_outbox(engine, smtp_url=url, sender=SENDER, clock=later())
        again = deliver_outbox(engine, smtp_url=url, sender=SENDER, clock=later(48))

    assert (cut.sent, cut.failed, cut.waiting) == (1, 2, 2)
    one, two, three = after_cut
    assert one.sent_at is not None
    assert two.sent_at is None and "Disconnected" in two.last_error
    assert three.sent_at is None and "cannot reach the SMTP server" in three.last_error
    assert all(m.next_attempt_at is not None for m in (two, three))
    assert (resumed.sent, resumed.waiting, again.sent) == (2, 0, 0)
    assert [m["Subject"] for m in first_inbox.messages] == ["Uno"]
    assert [m["Subject"] for m in second_inbox.messages] == ["Dos", "Tres"]


def test_outbox_gives_up_after_the_last_attempt(session: Session, engine: Engine) -> None:
    queue(session, "Recibo")
    start = utcnow()

    with smtp_server(Inbox("defer")) as (url, _inbox):
        for day in range(MAX_ATTEMPTS + 2):
            deliver_outbox(engine, smtp_url=url, sender=SENDER, clock=at(start + timedelta(day)))

    [message] = stored(session)
    assert message.attempts == MAX_ATTEMPTS
    assert message.failed_at is not None and message.sent_at is None


def test_outbox_unreachable_server_counts_an_attempt_and_waits(
    session: Session, engine: Engine
) -> None:
    queue(session, "Recibo")
    with smtp_server() as (url, _inbox):
        pass  # the port is free again: nothing listens there

    result = deliver_outbox(engine, smtp_url=url, sender=SENDER)

    [message] = stored(session)
    assert (result.sent, result.failed, result.waiting) == (0, 1, 1)
    assert message.attempts == 1 and message.next_attempt_at is not None
    assert message.last_error.startswith("cannot reach the SMTP server")


def test_outbox_staff_resend_sends_a_failed_message_again_and_is_audited(
    client: TestClient, session: Session, engine: Engine
) -> None:
    queue(session, "Recibo")
    with smtp_server(Inbox("refuse")) as (url, _inbox):
        deliver_outbox(engine, smtp_url=url, sender=SENDER)
    [message] = stored(session)
    page = staff_client(client, session).get("/staff/outbox")

    response = client.post(
        f"/staff/outbox/{message.id}/resend",
        data={"csrf_token": csrf_token_from(page)},
        follow_redirects=False,
    )

    assert response.status_code == 303
    assert response.headers["location"] == "/staff/outbox?done=resent"
    [again] = stored(session)
    assert (again.attempts, again.failed_at, again.next_attempt_at) == (0, None, None)
    [event] = session.exec(select(AuditEvent).where(AuditEvent.action == "outbox.resend")).all()
    assert event.object_id == str(message.id)
    assert '"failed": true' in event.before and "recibo@" not in event.before + event.after
    with smtp_server() as (url, inbox):
        deliver_outbox(engine, smtp_url=url, sender=SENDER)
    assert [m["Subject"] for m in inbox.messages] == ["Recibo"]


def test_outbox_staff_resend_all_failed_leaves_sent_mail_alone(
    client: TestClient, session: Session, engine: Engine
) -> None:
    queue(session, "Uno", "Dos")
    with smtp_server(Inbox("refuse")) as (url, _inbox):
        deliver_outbox(engine, smtp_url=url, sender=SENDER)
    queue(session, "Tres")
    with smtp_server() as (url, _inbox):
        deliver_outbox(engine, smtp_url=url, sender=SENDER)
    page = staff_client(client, session).get("/staff/outbox")

    response = client.post(
        "/staff/outbox/resend-failed",
        data={"csrf_token": csrf_token_from(page)},
        follow_redirects=False,
    )

    assert response.headers["location"] == "/staff/outbox?done=resent-all"
    one, two, three = stored(session)
    assert one.failed_at is None and two.failed_at is None
    assert three.sent_at is not None and three.attempts == 1
    events = session.exec(select(AuditEvent).where(AuditEvent.action == "outbox.resend")).all()
    assert sorted(e.object_id for e in events) == [str(one.id), str(two.id)]


def test_outbox_staff_resend_of_a_sent_message_is_refused(
    client: TestClient, session: Session, engine: Engine
) -> None:
    queue(session, "Recibo")
    with smtp_server() as (url, _inbox):
        deliver_outbox(engine, smtp_url=url, sender=SENDER)
    [message] = stored(session)
    page = staff_client(client, session).get("/staff/outbox")

    response = client.post(
        f"/staff/outbox/{message.id}/resend", data={"csrf_token": csrf_token_from(page)}
    )

    assert response.status_code == 409
    assert stored(session)[0].attempts == 1
    assert not session.exec(select(AuditEvent).where(AuditEvent.action == "outbox.resend")).all()


def test_outbox_page_says_when_no_mail_server_is_set_up(
    client: TestClient, session: Session
) -> None:
    queue(session, "Recibo")

    page = staff_client(client, session).get("/staff/outbox")

    assert "SMTP_URL" in page.text
    assert "recibo@example.org" in page.text


def test_outbox_lease_held_by_another_sender_sends_nothing_until_it_runs_out(
    session: Session, engine: Engine
) -> None:
    queue(session, "Recibo")
    now = utcnow()
    assert leases.acquire(
        session, name=LEASE, holder="elsewhere", until=now + timedelta(minutes=2), now=now
    )
    session.commit()

    with smtp_server() as (url, inbox):
        held = deliver_outbox(engine, smtp_url=url, sender=SENDER)
        ran_out = deliver_outbox(engine, smtp_url=url, sender=SENDER, clock=later(1))

    assert (held.busy, held.sent, held.waiting) == (True, 0, 1)
    assert (ran_out.busy, ran_out.sent) == (False, 1)
    assert len(inbox.messages) == 1


def test_outbox_senders_at_once_send_each_message_once(session: Session, engine: Engine) -> None:
    subjects = [f"Mensaje {n}" for n in range(30)]
    queue(session, *subjects)

    with smtp_server() as (url, inbox):
        senders = [
            threading.Thread(
                target=deliver_outbox, args=(engine,), kwargs={"smtp_url": url, "sender": SENDER}
            )
            for _ in range(4)
        ]
        for sender in senders:
            sender.start()
        for sender in senders:
            sender.join()
        # Whoever lost the race for the lease left the work to the winner, who did all of it.
        deliver_outbox(engine, smtp_url=url, sender=SENDER)

    assert sorted(m["Subject"] for m in inbox.messages) == sorted(subjects)


def test_outbox_mail_queued_in_process_wakes_the_sender(
    settings: Settings, engine: Engine, session: Session
) -> None:
    make_open_campaign(session)
    with smtp_server() as (url, inbox):
        # An interval of an hour: only the wake-up on commit can deliver within the test.
        served = settings.model_copy(update={"smtp_url": url, "mail_interval_seconds": 3600})
        app: FastAPI = create_app(served)
        try:
            with TestClient(app, base_url="http://testserver") as browser:
                assert post_nomination(browser, "youth").status_code == 303
                received = inbox.wait_for(1, timeout=PATIENCE)
        finally:
            app.state.engine.dispose()

    assert [m["To"] for m in received] == ["roberto@example.org"]
    assert stored(session)[0].sent_at is not None


def test_outbox_receipts_reach_smtp_from_a_real_server_without_send_mail(
    settings: Settings, engine: Engine, session: Session
) -> None:
    make_open_campaign(session)
    count = 6
    with smtp_server() as (url, inbox):
        env = {"SMTP_URL": url, "MAIL_INTERVAL_SECONDS": "3600"}
        server = PortalProcess(settings, workers=2, env=env).start()
        try:
            with httpx.Client(base_url=server.url) as browser:
                for n in range(count):
                    form = browser.get("/nominate/youth")
                    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
                    assert token
                    data = nomination_data(nominator_email=f"persona{n}@example.org")
                    response = browser.post(
                        "/nominate/youth", data={**data, "csrf_token": token.group(1)}
                    )
                    assert response.status_code == 303
            inbox.wait_for(count, timeout=PATIENCE)
        finally:
            # Stopping waits for each worker's sender: a second copy would have arrived by now.
            server.stop()

    assert sorted(m["To"] for m in inbox.messages) == [
        f"persona{n}@example.org" for n in range(count)
    ]
    assert all("nominación" in m["Subject"] for m in inbox.messages)
    assert all(m.sent_at is not None for m in stored(session))
