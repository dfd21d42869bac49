"""What the public vote's tests share: a vote set up on a theme, a ballot cast through the real
form, and the confirmation link read from the e-mail it sent."""

import re
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from httpx import Response
from sqlmodel import Session, col, select

from app.models import (
    Campaign,
    Finalist,
    OutboxMessage,
    Role,
    Theme,
    ThemeVote,
    utcnow,
)
from tests.factories import csrf_token_from, make_account, make_finalist, make_open_campaign

CONFIRM_LINK = re.compile(r"/vote/confirm/([A-Za-z0-9_-]{20,100})")


def announce(session: Session, campaign: Campaign) -> None:
    campaign.finalists_announced_at = utcnow()
    session.add(campaign)
    session.commit()


def make_vote(session: Session, theme: Theme, **overrides: Any) -> ThemeVote:
    now = utcnow()
    staff = make_account(session, Role.staff)
    values: dict[str, Any] = {
        "theme_id": theme.id,
        "opens_at": now - timedelta(hours=1),
        "closes_at": now + timedelta(days=7),
        "created_by_id": staff.id,
        **overrides,
    }
    vote = ThemeVote(**values)
    session.add(vote)
    session.commit()
    return vote


def voting_world(
    session: Session, **vote: Any
) -> tuple[Campaign, Theme, ThemeVote, list[Finalist]]:
    """The campaign with its finalists announced and a vote open on the youth theme."""
    campaign, youth, _ = make_open_campaign(session)
    finalists = [
        make_finalist(session, youth, public_name="Ana Finalista Uno"),
        make_finalist(session, youth, public_name="Beto Finalista Dos"),
    ]
    announce(session, campaign)
    return campaign, youth, make_vote(session, youth, **vote), finalists


def ballot_token(client: TestClient, slug: str = "youth") -> str:
    page = client.get(f"/vote/{slug}")
    assert page.status_code == 200, page.text
    return csrf_token_from(page)


def cast(
    client: TestClient,
    finalist: Finalist | int,
    email: str,
    slug: str = "youth",
    **extra: str,
) -> Response:
    finalist_id = finalist if isinstance(finalist, int) else finalist.id
    data = {
        "csrf_token": ballot_token(client, slug),
        "finalist": str(finalist_id),
        "email": email,
        **extra,
    }
    return client.post(f"/vote/{slug}", data=data, follow_redirects=False)


def confirm_tokens(session: Session, to: str | None = None) -> list[str]:
    """The confirmation links' tokens mailed so far (to one address), oldest first."""
    session.rollback()  # a fresh snapshot on SQLite
    query = select(OutboxMessage).order_by(col(OutboxMessage.id))
    if to is not None:
        query = query.where(OutboxMessage.to_address == to)
    tokens = []
    for message in session.exec(query).all():
        found = CONFIRM_LINK.search(message.body)
        if found:
            tokens.append(found.group(1))
    return tokens


def confirm(client: TestClient, token: str) -> Response:
    page = client.get(f"/vote/confirm/{token}")
    assert page.status_code == 200, page.text
    return client.post(
        f"/vote/confirm/{token}",
        data={"csrf_token": csrf_token_from(page)},
        follow_redirects=False,
    )


def cast_and_confirm(
    client: TestClient, session: Session, finalist: Finalist, email: str
) -> Response:
    sent = cast(client, finalist, email)
    assert sent.status_code == 303, sent.text
    token = confirm_tokens(session, email)[-1]
    confirmed = confirm(client, token)
    assert confirmed.status_code == 303, confirmed.text
    return confirmed
