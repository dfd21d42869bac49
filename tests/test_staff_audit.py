"""The audit trail (/staff/audit): admins read it; nobody, not even the app, can change it."""

import json
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, delete, update
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, col, select

from app.models import Account, AuditEvent, Role, utcnow
from app.services import audit
from tests.factories import make_account, sign_in


@pytest.fixture
def admin(client: TestClient, session: Session) -> Account:
    account = make_account(session, Role.admin, name="Ana Admin")
    sign_in(client, session, account)
    client.get("/?lang=en")
    return account


def add_events(session: Session, count: int, *, actor: Account | None, action: str) -> None:
    start = utcnow() - timedelta(days=1)
    for number in range(count):
        event = audit.record(
            session, actor=actor, action=action, object_type="nomination", object_id=number
        )
        event.created_at = start + timedelta(seconds=number)
    session.commit()


def test_audit_staff_member_is_refused_and_audited(client: TestClient, session: Session) -> None:
    staff = make_account(session, Role.staff)
    sign_in(client, session, staff)

    response = client.get("/staff/audit", follow_redirects=False)

    assert response.status_code == 403
    session.rollback()
    denied = session.exec(select(AuditEvent).where(AuditEvent.action == "access.denied")).all()
    assert [event.actor_id for event in denied] == [staff.id]


def test_audit_anonymous_is_sent_to_login(client: TestClient) -> None:
    response = client.get("/staff/audit", follow_redirects=False)

    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Fstaff%2Faudit"


def test_audit_judge_is_refused(client: TestClient, session: Session) -> None:
    sign_in(client, session, make_account(session, Role.judge))

    assert client.get("/staff/audit", follow_redirects=False).status_code == 403


def test_audit_shows_who_when_what_and_changes_escaped(
    client: TestClient, session: Session, admin: Account
) -> None:
    target = make_account(session, Role.staff, email="sergio@example.org")
    audit.record(
        session,
        actor=admin,
        action="account.role_changed",
        object_type="account",
        object_id=target.id,
        before={"role": "staff", "note": "<script>alert(1)</script>"},
        after={"role": "admin"},
    )
    session.commit()

    page = client.get("/staff/audit")

    assert page.status_code == 200
    assert "no-store" in page.headers["cache-control"]
    assert f"{admin.email} (admin)" in page.text
    assert "account.role_changed" in page.text
    assert "sergio@example.org" in page.text  # the object, by its current e-mail
    assert "Mexico City time" in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert "<script>alert" not in page.text
    pretty = json.dumps({"role": "admin"}, indent=2).replace('"', "&#34;")
    assert pretty in page.text


def test_audit_lists_newest_first_fifty_per_page(
    client: TestClient, session: Session, admin: Account
) -> None:
    add_events(session, 120, actor=admin, action="nomination.status_changed")

    first = client.get("/staff/audit?action=nomination.status_changed")
    third = client.get("/staff/audit?action=nomination.status_changed&page=3")

    assert first.text.count("<tr>") - 1 == 50
    assert third.text.count("<tr>") - 1 == 20
    assert "120 events" in first.text
    assert "Page 1 of 3" in first.text
    assert "page=2" in first.text and "action=nomination.status_changed" in first.text
    first_objects = [int(n) for n in _objects(first.text)]
    assert first_objects == list(range(119, 69, -1))
    assert [int(n) for n in _objects(third.text)] == list(range(19, -1, -1))


def _objects(html: str) -> list[str]:
    import re

    return re.findall(r"<td>nomination (\d+)", html)


def test_audit_filters_by_action_and_actor(
    client: TestClient, session: Session, admin: Account
) -> None:
    staff = make_account(session, Role.staff, name="Sergio Staff")
    add_events(session, 2, actor=staff, action="nomination.status_changed")
    add_events(session, 3, actor=admin, action="candidate.merged")
    add_events(session, 4, actor=None, action="login.failed")

    by_action = client.get("/staff/audit?action=candidate.merged")
    by_actor = client.get(f"/staff/audit?actor={staff.id}")
    anonymous = client.get("/staff/audit?actor=anonymous")
    both = client.get(f"/staff/audit?actor={admin.id}&action=nomination.status_changed")

    assert "3 events" in by_action.text
    assert "2 events" in by_actor.text
    assert "4 events" in anonymous.text
    assert "0 events" in both.text and "No events match these filters." in both.text
    assert f'<option value="{staff.id}" selected>' in by_actor.text


@pytest.mark.parametrize(
    "query", ["page=0", "page=abc", "actor=1%20OR%201=1", "action=" + "x" * 99]
)
def test_audit_ignores_malformed_filters(
    client: TestClient, session: Session, admin: Account, query: str
) -> None:
    add_events(session, 3, actor=admin, action="candidate.merged")

    response = client.get(f"/staff/audit?{query}")

    assert response.status_code == 200
    assert "3 events" in response.text


def test_audit_page_beyond_the_last_is_empty_not_an_error(
    client: TestClient, session: Session, admin: Account
) -> None:
    response = client.get("/staff/audit?page=99")

    assert response.status_code == 200
    assert "No events match these filters." in response.text


# The database itself refuses changes to the trail, on SQLite and on PostgreSQL.


def test_audit_event_update_is_refused_by_the_database(engine: Engine) -> None:
    with Session(engine) as session:
        audit.record(session, actor=None, action="login.failed")
        session.commit()

    with Session(engine) as session, pytest.raises(DBAPIError, match="append-only"):
        session.execute(update(AuditEvent).values(action="nothing.happened"))
        session.commit()

    with Session(engine) as session:
        assert session.exec(select(AuditEvent.action)).all() == ["login.failed"]


def test_audit_event_orm_change_is_refused_by_the_database(engine: Engine) -> None:
    with Session(engine) as session:
        event = audit.record(session, actor=None, action="login.failed", after={"a": 1})
        session.commit()
        event.after = "{}"
        session.add(event)
        with pytest.raises(DBAPIError, match="append-only"):
            session.commit()


def test_audit_event_delete_is_refused_by_the_database(engine: Engine) -> None:
    with Session(engine) as session:
        audit.record(session, actor=None, action="login.failed")
        session.commit()

    with Session(engine) as session, pytest.raises(DBAPIError, match="append-only"):
        session.execute(delete(AuditEvent).where(col(AuditEvent.id) > 0))
        session.commit()

    with Session(engine) as session:
        assert len(session.exec(select(AuditEvent)).all()) == 1
