"""Numbers that name no row of ours, in a path or in a form, get a clear 4xx and never a 500, on
SQLite (whose integers end at 2^63) as on PostgreSQL (whose `integer` ends at 2^31 - 1).

Every route of the app's route table is requested with its path parameters set to such numbers,
by a user of the role the route needs, so the answer comes from the route itself and not from
the login page; then every form field that names a row is sent one."""

import re

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.forms.base import MAX_ROW_ID
from app.models import Role
from tests.factories import (
    csrf_token_from,
    make_account,
    make_finalist,
    make_judge,
    make_meeting,
    make_open_campaign,
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


BIG = "99999999999999999999"


def test_form_fields_naming_rows_refuse_ids_outside_ours(
    client: TestClient, session: Session
) -> None:
    campaign, youth, _ = make_open_campaign(session)
    finalist = make_finalist(session, youth)
    judge = make_judge(session, youth)
    meeting = make_meeting(session, campaign, [finalist])
    sign_in(client, session, make_account(session, Role.staff))
    token = csrf_token_from(client.get("/account/password"))
    today = meeting.held_on.isoformat()
    sent = [
        ("/staff/candidates", {"nomination_id": BIG}),
        ("/staff/candidates", {"nomination_id": "1", "with_nomination_id": BIG}),
        ("/staff/candidates/group", {"candidate_id": BIG, "nomination_id": BIG}),
        (f"/staff/candidates/{finalist.candidate_id}/nominations", {"nomination_id": BIG}),
        (f"/staff/candidates/{finalist.candidate_id}/merge", {"other_id": BIG}),
        ("/staff/finalists", {"candidate_id": BIG}),
        (
            "/staff/judges/invite",
            {"name": "Rosa", "email": "rosa@example.org", "locale": "es", "themes": BIG},
        ),
        ("/staff/judges/assign", {"judge_id": BIG, "themes": str(youth.id)}),
        ("/staff/judges/assign", {"judge_id": str(judge.id), "themes": BIG}),
        (f"/staff/judges/{judge.id}/themes", {"themes": BIG}),
        ("/staff/judges/conflicts", {"judge_id": BIG, "finalist_id": BIG, "description": "x"}),
        ("/staff/meetings", {"number": "2", "held_on": today, "themes": BIG}),
        ("/staff/meetings", {"number": "2", "held_on": today, "source_meeting_id": BIG}),
        (f"/staff/meetings/{meeting.id}/scope/add", {"finalist_id": BIG}),
        (f"/staff/meetings/{meeting.id}/scope/remove", {"finalist_id": BIG}),
        (f"/staff/meetings/{meeting.id}/results", {"advanced": BIG}),
        (f"/staff/publishing/winners/{youth.id}", {"winner": BIG}),
    ]
    before = table_counts(session)

    wrong = []
    for path, data in sent:
        response = client.post(path, data={"csrf_token": token, **data}, follow_redirects=False)
        if not 400 <= response.status_code < 500:
            wrong.append(f"{path} {data} -> {response.status_code}")

    assert wrong == []
    assert table_counts(session) == before


def test_form_id_past_our_ids_is_shown_beside_its_field(
    client: TestClient, session: Session
) -> None:
    make_open_campaign(session)
    sign_in(client, session, make_account(session, Role.staff))
    token = csrf_token_from(client.get("/account/password"))

    response = client.post("/staff/finalists", data={"csrf_token": token, "candidate_id": BIG})

    assert response.status_code == 422
    assert f"Escribe un número no mayor que {MAX_ROW_ID}." in response.text
