"""A double click on "announce" or "publish" (or a browser's retry of the same POST) shows the
success, and does the act once: one audit event, one round of e-mails."""

from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

from app.models import OutboxMessage, ResultsRevision, RevisionStatus
from tests.factories import csrf_token_from
from tests.test_publishing import (
    audit_actions,
    confirm,
    fresh,
    make_cycle,
    prepare,
    staff_client,
)


def previewed_form(client: TestClient, path: str) -> dict[str, str]:
    page = client.get(path)
    previewed = page.text.split('name="previewed" value="', 1)[1].split('"', 1)[0]
    return {"csrf_token": csrf_token_from(page), "previewed": previewed}


def outbox_count(session: Session) -> int:
    fresh(session)
    return session.exec(select(func.count()).select_from(OutboxMessage)).one()


def test_announce_sent_twice_from_one_preview_shows_the_success(
    client: TestClient, session: Session
) -> None:
    cycle = make_cycle(session)
    staff_client(client, session, cycle)
    form = previewed_form(client, "/staff/publishing/finalists")

    first = client.post("/staff/publishing/finalists/announce", data=form, follow_redirects=False)
    mails = outbox_count(session)
    second = client.post("/staff/publishing/finalists/announce", data=form)

    assert first.status_code == 303
    assert second.status_code == 200
    assert "The finalists were announced" in second.text
    assert audit_actions(session).count("finalists.announced") == 1
    assert outbox_count(session) == mails


def test_publish_sent_twice_from_one_preview_shows_the_success(
    client: TestClient, session: Session
) -> None:
    cycle = make_cycle(session)
    staff_client(client, session, cycle)
    confirm(client, cycle.youth, [cycle.ana])
    confirm(client, cycle.sustainability, [cycle.carla])
    client.post(
        "/staff/publishing/finalists/announce",
        data=previewed_form(client, "/staff/publishing/finalists"),
    )
    prepare(client)
    form = previewed_form(client, "/staff/publishing/revisions/1")

    first = client.post("/staff/publishing/revisions/1/publish", data=form, follow_redirects=False)
    mails = outbox_count(session)
    second = client.post("/staff/publishing/revisions/1/publish", data=form)

    assert first.status_code == 303
    assert second.status_code == 200
    assert "The results were published." in second.text
    assert audit_actions(session).count("results.published") == 1
    assert outbox_count(session) == mails
    fresh(session)
    assert session.exec(select(ResultsRevision)).one().status is RevisionStatus.published
