"""Numbers that name no row of ours, in a path or in a form, get a clear 4xx and never a 500, on
SQLite (whose integers end at 2^63) as on PostgreSQL (whose `integer` ends at 2^31 - 1).

Every route of the app's route table is requested with its path parameters set to such numbers,
by a user of the role the route needs, so the answer comes from the route itself and not from
the login page."""

import re

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.forms.base import MAX_ROW_ID
from app.models import Role
from tests.factories import (
    csrf_token_from,
    make_account,
    sign_in,
)
from tests.routes import route_templates
from tests.test_staff_access import table_counts

BAD_IDS = ("99999999999999999999999", str(MAX_ROW_ID + 1), "0", "-1", "1.0", "١")
# Path parameters that are words, not numbers: a theme's slug, a receipt's reference, a token.
WORDS = {"slug", "reference", "token"}
ROUTES = [(method, template) for method, template in route_templates() if "{" in template]


def role_for(template: str) -> Role | None:
    if template.startswith(("/staff/users", "/staff/audit")):
        return Role.admin
    if template.startswith("/staff/"):
        return Role.staff
    if template.startswith("/judges/"):
        return Role.judge
    return None


def test_route_table_has_numbered_routes_of_every_area() -> None:
    templates = {template for _, template in ROUTES}
    assert "/staff/nominations/{nomination_id}" in templates
    assert "/judges/meetings/{meeting_id}/finalists/{finalist_id}" in templates
    assert "/media/finalists/{finalist_id}.jpg" in templates
    assert {role_for(template) for template in templates} == {
        None,
        Role.staff,
        Role.admin,
        Role.judge,
    }


@pytest.mark.parametrize("role", [None, Role.staff, Role.admin, Role.judge], ids=str)
def test_path_numbers_outside_our_ids_are_not_found(
    client: TestClient, session: Session, role: Role | None
) -> None:
    if role is None:
        token = csrf_token_from(client.get("/login"))
    else:
        sign_in(client, session, make_account(session, role))
        token = csrf_token_from(client.get("/account/password"))
    before = table_counts(session)

    wrong = []
    for method, template in ROUTES:
        if role_for(template) is not role:
            continue
        numbered = not set(re.findall(r"\{([^}]+)\}", template)) & WORDS
        for bad in BAD_IDS:
            path = re.sub(r"\{[^}]+\}", bad, template)
            if method == "GET":
                response = client.get(path, follow_redirects=False)
            else:
                response = client.post(path, data={"csrf_token": token}, follow_redirects=False)
            expected = response.status_code == 404 if numbered else response.status_code < 500
            if not expected:
                wrong.append(f"{method} {path} -> {response.status_code}")

    assert wrong == []
    assert table_counts(session) == before
