"""What must stay private does: judge B's comment, and the nominator's name and e-mail, appear
nowhere that judge A, a recused judge or the public can read (pages, downloads, JSON/CSV
results, e-mails addressed to them) nor in the app's logs."""

import logging

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.config import Settings
from app.models import OutboxMessage
from app.services.mail import notifications, outbox
from tests.factories import csrf_token_from
from tests.test_authz_matrix import (
    JUDGE_B_MARKER,
    NOMINATOR_EMAIL,
    NOMINATOR_NAME,
    ROUTES,
    World,
    build_world,
    signed_in_client,
)

MARKERS = (JUDGE_B_MARKER, NOMINATOR_NAME, NOMINATOR_EMAIL)
LOGGERS = ("", "app", "uvicorn", "uvicorn.error", "uvicorn.access")


def leaks(response: httpx.Response) -> list[str]:
    text = response.content.decode("utf-8", "replace").lower()
    headers = " ".join(f"{k}: {v}" for k, v in response.headers.items()).lower()
    return [marker for marker in MARKERS if marker.lower() in text or marker.lower() in headers]


def crawl(client: TestClient, world: World, actor: str) -> list[str]:
    """Every GET route with this world's ids, for each finalist of the meeting."""
    found = []
    finalists = (world.finalist, world.neighbour, world.other_theme)
    for method, template in ROUTES:
        if method != "GET":
            continue
        paths = {world.url(template, finalist_id=f.id) for f in finalists}
        for path in sorted(paths):
            response = client.get(path, follow_redirects=True)
            found += [f"{actor}: GET {path} shows {marker}" for marker in leaks(response)]
    return found


@pytest.fixture
def captured(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    for name in LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name or None)
    return caplog


def test_markers_never_reach_judge_a_the_recused_judge_the_public_or_the_logs(
    client: TestClient, session: Session, settings: Settings, captured: pytest.LogCaptureFixture
) -> None:
    world = build_world(client, session)
    session.rollback()
    # E-mails the judges receive: the meeting opened and closed, a password reset.
    notifications.notify_meeting_opened(session, world.meeting, base_url=settings.base_url)
    notifications.notify_meeting_closed(session, world.meeting, base_url=settings.base_url)
    session.commit()
    client.cookies.clear()
    for account in (world.judge_a, world.recused):
        token = csrf_token_from(client.get("/password-reset"))
        sent = client.post(
            "/password-reset",
            data={"csrf_token": token, "email": account.email},
            follow_redirects=False,
        )
        assert sent.status_code in (200, 303)
    outbox.deliver_outbox(client.app.state.engine, smtp_url=None, sender="portal@example.org")  # type: ignore[attr-defined]

    problems: list[str] = []
    for actor in ("anonymous", "judge_a", "recused"):
        signed_in_client(client, session, world, actor)
        problems += crawl(client, world, actor)

    session.rollback()
    addresses = {world.judge_a.email, world.recused.email}
    messages = session.exec(
        select(OutboxMessage).where(OutboxMessage.to_address.in_(addresses))  # type: ignore[attr-defined]
    ).all()
    assert {m.to_address for m in messages} == addresses
    for message in messages:
        problems += [
            f"e-mail to {message.to_address} ({message.subject}) contains {marker}"
            for marker in MARKERS
            if marker.lower() in f"{message.subject}\n{message.body}".lower()
        ]

    logged = "\n".join(
        f"{record.name} {record.getMessage()} {record.exc_text or ''}"
        for record in captured.records
    ).lower()
    problems += [f"the logs contain {marker}" for marker in MARKERS if marker.lower() in logged]

    assert problems == []


def test_judge_b_still_reads_their_own_comment(client: TestClient, session: Session) -> None:
    # The check above is not vacuous: the comment is stored and shown to its author.
    world = build_world(client, session)
    signed_in_client(client, session, world, "judge_b")

    page = client.get(f"/judges/meetings/{world.meeting.id}/finalists/{world.finalist.id}")

    assert JUDGE_B_MARKER in page.text


def test_staff_still_reads_the_nominator(client: TestClient, session: Session) -> None:
    world = build_world(client, session)
    signed_in_client(client, session, world, "staff")

    page = client.get(f"/staff/nominations/{world.nomination.id}")

    assert NOMINATOR_NAME in page.text
