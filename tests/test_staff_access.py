"""Every /staff URL, taken from the app's route table so a new route cannot be forgotten:
anonymous visitors are sent to the login page, judges are refused, nothing changes."""

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

from app.models import AuditEvent, Role, metadata
from tests.factories import make_account, make_open_campaign, sign_in
from tests.routes import app_routes

ROUTES = app_routes("/staff")


def table_counts(session: Session) -> dict[str, int]:
    # A fresh transaction: on SQLite an open one would keep showing its old snapshot.
    session.rollback()
    return {
        table.name: int(session.exec(select(func.count()).select_from(table)).one())
        for table in metadata.sorted_tables
        if table.name not in ("audit_event", "rate_limit_hit")
    }


def test_staff_route_table_is_not_empty() -> None:
    assert ("GET", "/staff") in ROUTES


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_staff_route_anonymous_is_sent_to_login(
    client: TestClient, session: Session, method: str, path: str
) -> None:
    make_open_campaign(session)
    before = table_counts(session)

    response = client.request(method, path, follow_redirects=False)

    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?next=")
    assert table_counts(session) == before


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_staff_route_judge_is_refused_and_audited(
    client: TestClient, session: Session, method: str, path: str
) -> None:
    make_open_campaign(session)
    judge = make_account(session, Role.judge)
    sign_in(client, session, judge)
    before = table_counts(session)

    response = client.request(method, path, follow_redirects=False)

    assert response.status_code == 403
    assert table_counts(session) == before
    session.rollback()
    denied = session.exec(select(AuditEvent).where(AuditEvent.action == "access.denied")).all()
    assert [event.actor_id for event in denied] == [judge.id]
