"""A staff list given a filter it cannot apply says so on the page, instead of silently showing
everything (issue 20)."""

from fastapi.testclient import TestClient
from sqlmodel import Session

from app.models import Role
from tests.factories import make_account, make_open_campaign, sign_in
from tests.test_staff_audit import add_events
from tests.test_staff_nominations import add_nomination, names_in

NOT_APPLIED = "Some filters are not valid and were not applied"


def signed_in(client: TestClient, session: Session, role: Role) -> None:
    sign_in(client, session, make_account(session, role))
    client.get("/?lang=en")


def test_queue_search_too_long_is_named_as_not_applied(
    client: TestClient, session: Session
) -> None:
    _, youth, _ = make_open_campaign(session)
    add_nomination(session, youth, nominee_name="Ana Pérez Gómez")
    add_nomination(session, youth, nominee_name="Beto Ruiz")
    session.commit()
    signed_in(client, session, Role.staff)

    page = client.get("/staff/nominations?q=" + "a" * 201 + "&status=bogus&theme=youth")

    assert page.status_code == 200
    assert NOT_APPLIED in page.text
    notice = page.text.split(NOT_APPLIED, 1)[1].split("</p>", 1)[0]
    assert "Nominee or institution" in notice and "Status" in notice
    assert "Theme" not in notice
    assert sorted(names_in(page.text)) == ["Ana Pérez Gómez", "Beto Ruiz"]


def test_queue_with_valid_filters_has_no_notice(client: TestClient, session: Session) -> None:
    _, youth, _ = make_open_campaign(session)
    add_nomination(session, youth, nominee_name="Ana Pérez Gómez")
    session.commit()
    signed_in(client, session, Role.staff)

    page = client.get("/staff/nominations?q=" + "a" * 200 + "&status=received&sort=oldest")

    assert page.status_code == 200
    assert NOT_APPLIED not in page.text


def test_audit_bad_actor_is_named_as_not_applied(client: TestClient, session: Session) -> None:
    signed_in(client, session, Role.admin)
    add_events(session, 3, actor=None, action="login.failed")

    page = client.get("/staff/audit?actor=1%20OR%201=1&action=login.failed")
    fine = client.get("/staff/audit?actor=anonymous&action=login.failed")

    assert page.status_code == 200
    assert NOT_APPLIED in page.text
    notice = page.text.split(NOT_APPLIED, 1)[1].split("</p>", 1)[0]
    assert "Who" in notice and "Action" not in notice
    assert "3 events" in page.text
    assert NOT_APPLIED not in fine.text
