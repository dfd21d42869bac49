"""Accounts (/staff/users): admins invite people, change roles and deactivate accounts."""

import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response
from sqlmodel import Session, col, func, select

from app.models import (
    Account,
    AccountToken,
    AuditEvent,
    OutboxMessage,
    Role,
    TokenPurpose,
    UserSession,
    utcnow,
)
from app.services.accounts import accounts
from tests.factories import csrf_token_from, make_account, sign_in

ROUTES = [
    ("GET", "/staff/users"),
    ("POST", "/staff/users/invite"),
    ("POST", "/staff/users/1/role"),
    ("POST", "/staff/users/1/deactivate"),
    ("POST", "/staff/users/1/reactivate"),
    ("POST", "/staff/users/1/resend"),
]


@pytest.fixture(autouse=True)
def cheap_hashing(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(
        accounts, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )
    accounts._dummy_hash.cache_clear()
    yield
    accounts._dummy_hash.cache_clear()


@pytest.fixture
def admin(client: TestClient, session: Session) -> Account:
    account = make_account(session, Role.admin, name="Ana Admin")
    sign_in(client, session, account)
    client.get("/?lang=en")
    return account


def fresh(session: Session) -> None:
    """Ends the test's read transaction, so the next query sees what the app committed."""
    session.rollback()


def events(session: Session, action: str) -> list[AuditEvent]:
    fresh(session)
    return list(
        session.exec(
            select(AuditEvent).where(AuditEvent.action == action).order_by(col(AuditEvent.id))
        ).all()
    )


def post(client: TestClient, path: str, data: dict[str, str] | None = None) -> Response:
    page = client.get("/staff/users")
    return client.post(
        path,
        data={"csrf_token": csrf_token_from(page), **(data or {})},
        follow_redirects=False,
    )


def invite_data(**overrides: str) -> dict[str, str]:
    return {
        "name": "Julia Jueza",
        "email": "Julia@Example.org",
        "role": "judge",
        "locale": "es",
        **overrides,
    }


# Who may come in


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_users_staff_member_is_refused_and_audited(
    client: TestClient, session: Session, method: str, path: str
) -> None:
    staff = make_account(session, Role.staff)
    target = make_account(session, Role.judge)
    sign_in(client, session, staff)

    response = client.request(method, path.replace("/1/", f"/{target.id}/"), follow_redirects=False)

    assert response.status_code == 403
    denied = events(session, "access.denied")
    assert [event.actor_id for event in denied] == [staff.id]
    session.refresh(target)
    assert target.is_active and target.role == Role.judge
    assert session.exec(select(func.count()).select_from(Account)).one() == 2


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_users_anonymous_is_sent_to_login(client: TestClient, method: str, path: str) -> None:
    response = client.request(method, path, follow_redirects=False)

    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?next=")


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_users_judge_is_refused(
    client: TestClient, session: Session, method: str, path: str
) -> None:
    sign_in(client, session, make_account(session, Role.judge))

    assert client.request(method, path, follow_redirects=False).status_code == 403


# The list


def test_users_list_shows_every_account(
    client: TestClient, session: Session, admin: Account
) -> None:
    judge = make_account(session, Role.judge, name="Jorge <Juez>", last_login_at=utcnow())
    gone = make_account(session, Role.staff, name="Sergio Staff", is_active=False)

    page = client.get("/staff/users")

    assert page.status_code == 200
    assert "no-store" in page.headers["cache-control"]
    for account in (admin, judge, gone):
        assert account.email in page.text
    assert "Jorge &lt;Juez&gt;" in page.text  # escaped
    assert "Deactivated" in page.text
    assert "Never" in page.text  # the ones that never signed in
    assert f'action="/staff/users/{judge.id}/deactivate"' in page.text
    assert f'action="/staff/users/{gone.id}/reactivate"' in page.text
    # No controls against oneself.
    assert f'action="/staff/users/{admin.id}/deactivate"' not in page.text
    assert f'action="/staff/users/{admin.id}/role"' not in page.text


# Invitations


def test_invite_creates_account_and_mails_a_seven_day_link(
    client: TestClient, session: Session, admin: Account
) -> None:
    response = post(client, "/staff/users/invite", invite_data(locale="en"))

    assert response.status_code == 303
    assert response.headers["location"] == "/staff/users?done=invited"
    assert "The invitation is on its way" in client.get(response.headers["location"]).text
    fresh(session)
    invited = session.exec(select(Account).where(Account.email == "julia@example.org")).one()
    assert (invited.name, invited.role, invited.locale) == ("Julia Jueza", Role.judge, "en")
    assert invited.password_hash == "" and invited.is_active
    token = session.exec(select(AccountToken)).one()
    assert token.purpose == TokenPurpose.set_password
    assert timedelta(days=6, hours=23) < token.expires_at - utcnow() <= timedelta(days=7)
    mail = session.exec(select(OutboxMessage)).one()
    assert mail.to_address == "julia@example.org"
    assert mail.subject == "Integrity Icon: your invitation to the portal"
    assert "Ana Admin" in mail.body and "Judge" in mail.body
    link = re.search(r"http://testserver(/account/set-password/\S+)", mail.body)
    assert link and client.get(link.group(1)).status_code == 200
    invited_events = events(session, "account.invited")
    assert [(e.actor_id, e.object_id) for e in invited_events] == [(admin.id, str(invited.id))]
    assert '"role": "judge"' in invited_events[0].after


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"email": "not an address"}, "email", "valid e-mail address"),
        ({"name": ""}, "name", "This field is required."),
        ({"role": "superuser"}, "role", "Choose one of the options."),
    ],
)
def test_invite_invalid_is_refused_and_keeps_input(
    client: TestClient,
    session: Session,
    admin: Account,
    overrides: dict[str, str],
    field: str,
    message: str,
) -> None:
    response = post(client, "/staff/users/invite", invite_data(**overrides))

    assert response.status_code == 422
    assert message in response.text
    assert f'id="error-{field}"' in response.text
    if field != "name":
        assert 'value="Julia Jueza"' in response.text
    fresh(session)
    assert session.exec(select(func.count()).select_from(Account)).one() == 1
    assert session.exec(select(OutboxMessage)).all() == []
    assert events(session, "account.invited") == []


def test_invite_existing_email_is_refused(
    client: TestClient, session: Session, admin: Account
) -> None:
    make_account(session, Role.staff, email="julia@example.org")

    response = post(client, "/staff/users/invite", invite_data())

    assert response.status_code == 422
    assert "An account with this e-mail address already exists." in response.text
    fresh(session)
    assert session.exec(select(OutboxMessage)).all() == []


def test_invite_without_csrf_is_forbidden(
    client: TestClient, session: Session, admin: Account
) -> None:
    response = client.post("/staff/users/invite", data=invite_data(), follow_redirects=False)

    assert response.status_code == 403
    fresh(session)
    assert session.exec(select(func.count()).select_from(Account)).one() == 1


# Roles


def test_change_role_is_audited_and_signs_the_account_out(
    app: FastAPI, client: TestClient, session: Session, admin: Account
) -> None:
    staff = make_account(session, Role.staff)
    with TestClient(app) as their_browser:
        sign_in(their_browser, session, staff)

        response = post(client, f"/staff/users/{staff.id}/role", {"role": "admin"})

        assert their_browser.get("/staff/users", follow_redirects=False).status_code == 303
    assert response.status_code == 303
    fresh(session)
    session.refresh(staff)
    assert staff.role == Role.admin
    changed = events(session, "account.role_changed")
    assert [(e.actor_id, e.object_id) for e in changed] == [(admin.id, str(staff.id))]
    assert changed[0].before == '{"role": "staff"}'
    assert changed[0].after == '{"role": "admin"}'


def test_change_role_admin_cannot_demote_themself(
    client: TestClient, session: Session, admin: Account
) -> None:
    response = post(client, f"/staff/users/{admin.id}/role", {"role": "staff"})

    assert response.status_code == 403
    assert "You cannot remove your own administrator role." in response.text
    fresh(session)
    session.refresh(admin)
    assert admin.role == Role.admin
    assert events(session, "account.role_changed") == []


def test_change_role_unknown_role_is_refused(
    client: TestClient, session: Session, admin: Account
) -> None:
    staff = make_account(session, Role.staff)

    response = post(client, f"/staff/users/{staff.id}/role", {"role": "owner"})

    assert response.status_code == 422
    assert "Choose one of the roles." in response.text
    fresh(session)
    session.refresh(staff)
    assert staff.role == Role.staff


def test_change_role_unknown_account_is_not_found(
    client: TestClient, session: Session, admin: Account
) -> None:
    response = post(client, "/staff/users/9999/role", {"role": "staff"})

    assert response.status_code == 404
    assert events(session, "account.role_changed") == []


# Deactivation


def test_deactivate_signs_the_account_out_at_once(
    app: FastAPI, client: TestClient, session: Session, admin: Account
) -> None:
    staff = make_account(session, Role.staff)
    with TestClient(app) as their_browser:
        sign_in(their_browser, session, staff)
        assert their_browser.get("/account/password").status_code == 200

        response = post(client, f"/staff/users/{staff.id}/deactivate")

        next_request = their_browser.get("/account/password", follow_redirects=False)
        assert next_request.status_code == 303
        assert next_request.headers["location"].startswith("/login")
    assert response.status_code == 303
    fresh(session)
    session.refresh(staff)
    assert not staff.is_active
    assert (
        session.exec(
            select(func.count()).where(
                UserSession.account_id == staff.id, col(UserSession.ended_at).is_(None)
            )
        ).one()
        == 0
    )
    deactivated = events(session, "account.deactivated")
    assert [(e.actor_id, e.object_id) for e in deactivated] == [(admin.id, str(staff.id))]
    assert deactivated[0].before == '{"is_active": true}'
    assert deactivated[0].after == '{"is_active": false}'


def test_deactivate_admin_cannot_deactivate_themself(
    client: TestClient, session: Session, admin: Account
) -> None:
    response = post(client, f"/staff/users/{admin.id}/deactivate")

    assert response.status_code == 403
    fresh(session)
    session.refresh(admin)
    assert admin.is_active
    assert client.get("/staff/users").status_code == 200


def test_reactivate_lets_the_account_sign_in_again(
    client: TestClient, session: Session, admin: Account
) -> None:
    staff = make_account(session, Role.staff, is_active=False)

    response = post(client, f"/staff/users/{staff.id}/reactivate")

    assert response.status_code == 303
    fresh(session)
    session.refresh(staff)
    assert staff.is_active
    reactivated = events(session, "account.reactivated")
    assert reactivated[0].before == '{"is_active": false}'
    assert reactivated[0].after == '{"is_active": true}'


def test_deactivate_twice_records_one_change(
    client: TestClient, session: Session, admin: Account
) -> None:
    staff = make_account(session, Role.staff)

    post(client, f"/staff/users/{staff.id}/deactivate")
    post(client, f"/staff/users/{staff.id}/deactivate")

    assert len(events(session, "account.deactivated")) == 1


def test_deactivate_after_an_idle_admin_minute_works(
    client: TestClient, session: Session, admin: Account
) -> None:
    staff = make_account(session, Role.staff)
    page = client.get("/staff/users")
    for row in session.exec(select(UserSession)).all():
        row.last_seen_at = utcnow() - timedelta(minutes=10)
        session.add(row)
    session.commit()

    response = client.post(
        f"/staff/users/{staff.id}/deactivate",
        data={"csrf_token": csrf_token_from(page)},
        follow_redirects=False,
    )

    assert response.status_code == 303
