"""Every /judges URL, from the app's route table: anonymous visitors go to the login page,
staff without the judge role are refused, and nothing changes."""

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.models import Role
from tests.factories import make_account, make_open_campaign, sign_in
from tests.routes import app_routes
from tests.test_staff_access import table_counts

ROUTES = app_routes("/judges")


def test_judges_route_table_is_not_empty() -> None:
    assert ("GET", "/judges") in ROUTES


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_judges_route_anonymous_is_sent_to_login(
    client: TestClient, session: Session, method: str, path: str
) -> None:
    make_open_campaign(session)
    before = table_counts(session)

    response = client.request(method, path, follow_redirects=False)

    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?next=")
    assert table_counts(session) == before


@pytest.mark.parametrize("role", [Role.staff, Role.admin])
@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_judges_route_staff_without_judge_role_is_refused(
    client: TestClient, session: Session, method: str, path: str, role: Role
) -> None:
    make_open_campaign(session)
    sign_in(client, session, make_account(session, role))
    before = table_counts(session)

    response = client.request(method, path, follow_redirects=False)

    assert response.status_code == 403
    assert table_counts(session) == before
