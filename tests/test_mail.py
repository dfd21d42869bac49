"""The outbox is delivered by `send-mail` to a real SMTP server on loopback."""

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from app.models import OutboxMessage
from app.services.mail.outbox import deliver_outbox, parse_smtp_url, queue_mail
from tests.factories import make_open_campaign, post_nomination
from tests.smtp import Inbox, free_port
from tests.smtp import smtp_server as serve_smtp


@pytest.fixture
def smtp_server() -> Iterator[tuple[str, Inbox]]:
    with serve_smtp() as served:
        yield served


def test_send_mail_delivers_nomination_receipt_in_spanish(
    client: TestClient, session: Session, engine: Engine, smtp_server: tuple[str, Inbox]
) -> None:
    make_open_campaign(session)
    post_nomination(client, "youth")
    url, inbox = smtp_server

    result = deliver_outbox(engine, smtp_url=url, sender="Integrity Icon <no-reply@example.org>")

    assert (result.sent, result.failed, result.waiting) == (1, 0, 0)
    [received] = inbox.messages
    assert received["To"] == "roberto@example.org"
    assert "nominación" in received["Subject"]
    body = received.get_body().get_content()  # type: ignore[union-attr]
    assert "María Fernanda López Ruiz" in body
    assert "http://testserver/nominations/" in body
    session.expire_all()
    assert session.exec(select(OutboxMessage)).one().sent_at is not None


def test_send_mail_in_english_for_an_english_nominator(
    client: TestClient, session: Session, engine: Engine, smtp_server: tuple[str, Inbox]
) -> None:
    make_open_campaign(session)
    client.get("/?lang=en")
    post_nomination(client, "youth")
    url, inbox = smtp_server

    deliver_outbox(engine, smtp_url=url, sender="no-reply@example.org")

    assert "we received your nomination" in inbox.messages[0]["Subject"]


def test_send_mail_twice_sends_each_message_once(
    session: Session, engine: Engine, smtp_server: tuple[str, Inbox]
) -> None:
    queue_mail(session, to="a@example.org", subject="Uno", body="Hola")
    queue_mail(session, to="b@example.org", subject="Dos", body="Hola")
    session.commit()
    url, inbox = smtp_server

    first = deliver_outbox(engine, smtp_url=url, sender="no-reply@example.org")
    second = deliver_outbox(engine, smtp_url=url, sender="no-reply@example.org")

    assert first.sent == 2
    assert second.sent == 0
    assert sorted(m["To"] for m in inbox.messages) == ["a@example.org", "b@example.org"]


def test_send_mail_without_smtp_url_keeps_messages_waiting(
    session: Session, engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    queue_mail(session, to="secret-person@example.org", subject="Uno", body="Hola")
    session.commit()

    result = deliver_outbox(engine, smtp_url=None, sender="no-reply@example.org")

    assert (result.sent, result.waiting) == (1 - 1, 1)
    session.expire_all()
    assert session.exec(select(OutboxMessage)).one().sent_at is None
    assert "secret-person" not in caplog.text


def test_send_mail_with_server_down_keeps_messages_waiting(
    session: Session, engine: Engine
) -> None:
    queue_mail(session, to="a@example.org", subject="Uno", body="Hola")
    session.commit()

    result = deliver_outbox(
        engine, smtp_url=f"smtp://127.0.0.1:{free_port()}", sender="no-reply@example.org"
    )

    assert result.sent == 0
    assert result.waiting == 1
    session.expire_all()
    assert session.exec(select(OutboxMessage)).one().sent_at is None


def test_smtp_url_parses_credentials_and_tls() -> None:
    target = parse_smtp_url("smtps://user%40org:p%2Fss@mail.example.org")
    assert (target.host, target.port, target.tls) == ("mail.example.org", 465, True)
    assert (target.username, target.password) == ("user@org", "p/ss")
    assert parse_smtp_url("smtp://mail.example.org:587?starttls=true").starttls is True
    with pytest.raises(ValueError):
        parse_smtp_url("http://mail.example.org")
