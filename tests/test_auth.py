"""Signing in and out, passwords, password resets, and the throttles that guard them."""

import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response
from sqlmodel import Session, col, func, select

from app.config import Environment
from app.models import (
    Account,
    AccountToken,
    AuditEvent,
    OutboxMessage,
    RateLimitHit,
    Role,
    TokenPurpose,
    UserSession,
    utcnow,
)
from app.services.accounts import accounts, login
from app.services.accounts.accounts import (
    COMMON_PASSWORDS,
    MIN_PASSWORD_LENGTH,
    check_password_rules,
)
from app.web import csrf
from app.web.deps import SESSION_COOKIE
from tests.factories import DEFAULT_PASSWORD, csrf_token_from, make_account, sign_in

NEW_PASSWORD = "otra frase nueva y larga"


@pytest.fixture(autouse=True)
def cheap_hashing(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Argon2 with tiny parameters: the throttle tests sign in dozens of times, and the real
    parameters take most of a second per hash on a small machine."""
    monkeypatch.setattr(
        accounts, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )
    accounts._dummy_hash.cache_clear()
    yield
    accounts._dummy_hash.cache_clear()


def post_login(
    client: TestClient, email: str, password: str, next_path: str | None = None, **kwargs: Any
) -> Response:
    page = client.get("/login")
    data = {"csrf_token": csrf_token_from(page), "email": email, "password": password}
    if next_path is not None:
        data["next"] = next_path
    return client.post("/login", data=data, follow_redirects=False, **kwargs)


def reload(session: Session, *accounts: Account) -> None:
    """Ends the test's read transaction (SQLite keeps its snapshot) and reads `accounts` anew."""
    session.rollback()
    for account in accounts:
        session.refresh(account)


def events(session: Session, action: str) -> list[AuditEvent]:
    reload(session)
    return list(
        session.exec(
            select(AuditEvent).where(AuditEvent.action == action).order_by(col(AuditEvent.id))
        ).all()
    )


def live_sessions(session: Session, account: Account) -> int:
    reload(session)
    return int(
        session.exec(
            select(func.count()).where(
                UserSession.account_id == account.id, col(UserSession.ended_at).is_(None)
            )
        ).one()
    )


def set_cookie_header(response: Response) -> str:
    cookies = [v for k, v in response.headers.multi_items() if k == "set-cookie"]
    found = [c for c in cookies if c.removeprefix("__Host-").startswith(f"{SESSION_COOKIE}=")]
    assert found, cookies
    return found[0]


# Signing in


def test_login_page_shows_form_with_reset_link(client: TestClient) -> None:
    client.get("/?lang=en")

    page = client.get("/login")

    assert page.status_code == 200
    assert 'name="email"' in page.text and 'name="password"' in page.text
    assert 'href="/password-reset"' in page.text


def test_login_staff_goes_to_staff_area_with_secure_cookie(
    client: TestClient, session: Session
) -> None:
    staff = make_account(session, Role.staff, email="ana@example.org")

    response = post_login(client, "Ana@Example.org ", DEFAULT_PASSWORD)

    assert response.status_code == 303
    assert response.headers["location"] == "/staff"
    cookie = set_cookie_header(response).lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "path=/" in cookie
    assert "secure" not in cookie  # not in production: tests run over plain http
    assert live_sessions(session, staff) == 1
    assert [event.actor_id for event in events(session, "login")] == [staff.id]
    reload(session, staff)
    assert staff.last_login_at is not None


def test_login_judge_goes_to_judges_area(client: TestClient, session: Session) -> None:
    judge = make_account(session, Role.judge)

    response = post_login(client, judge.email, DEFAULT_PASSWORD)

    assert response.headers["location"] == "/judges"


def test_login_cookie_is_secure_in_production(app: FastAPI, session: Session) -> None:
    staff = make_account(session, Role.staff)
    app.state.settings = app.state.settings.model_copy(update={"environment": Environment.prod})
    with TestClient(app, base_url="https://testserver") as secure_client:
        response = post_login(secure_client, staff.email, DEFAULT_PASSWORD)

    assert response.status_code == 303
    assert "secure" in set_cookie_header(response).lower()


def test_login_gives_new_token_each_time_and_ends_the_old_one(
    client: TestClient, session: Session
) -> None:
    staff = make_account(session, Role.staff)
    page = client.get("/login")
    data = {"csrf_token": csrf_token_from(page), "email": staff.email, "password": DEFAULT_PASSWORD}
    first = client.post("/login", data=data, follow_redirects=False)
    # Signing in renewed the CSRF cookie: the second login is a form drawn after it (as the
    # login page would, but it sends a signed-in browser home).
    key = client.app.state.settings.signing_key  # type: ignore[attr-defined]
    cookie = client.cookies[csrf.COOKIE_NAME]
    data["csrf_token"] = csrf.issue_token(key, cookie=cookie, form="login", now=utcnow())

    second = client.post("/login", data=data, follow_redirects=False)

    first_token = set_cookie_header(first).split(";")[0]
    assert first.status_code == second.status_code == 303
    assert set_cookie_header(second).split(";")[0] != first_token
    assert live_sessions(session, staff) == 1  # the browser's earlier session ended


def test_login_ignores_a_session_token_planted_by_someone_else(
    client: TestClient, session: Session
) -> None:
    staff = make_account(session, Role.staff)
    planted = "p" * 43
    client.cookies.set(SESSION_COOKIE, planted)

    response = post_login(client, staff.email, DEFAULT_PASSWORD)

    assert set_cookie_header(response).split(";")[0] != f"{SESSION_COOKIE}={planted}"


def test_login_signed_in_client_reaches_staff_area(client: TestClient, session: Session) -> None:
    staff = make_account(session, Role.admin)
    post_login(client, staff.email, DEFAULT_PASSWORD)

    response = client.get("/staff/users", follow_redirects=False)

    assert response.status_code == 200


def test_login_wrong_password_and_unknown_account_answer_alike(
    client: TestClient, session: Session
) -> None:
    staff = make_account(session, Role.staff, email="ana@example.org")
    client.get("/?lang=en")

    wrong = post_login(client, "ana@example.org", "not the password at all")
    unknown = post_login(client, "nadie@example.org", "not the password at all")

    assert wrong.status_code == unknown.status_code == 422
    assert "The e-mail address or the password is not correct." in wrong.text
    strip = lambda text: re.sub(r'value="[^"]*"', "", text)  # noqa: E731 - tokens, typed e-mail
    assert strip(wrong.text) == strip(unknown.text)
    assert SESSION_COOKIE not in client.cookies
    assert "not the password" not in wrong.text  # the password is never echoed
    assert 'value="ana@example.org"' in wrong.text  # the e-mail is kept
    failed = events(session, "login.failed")
    assert [(e.actor_id, e.object_id) for e in failed] == [(None, str(staff.id)), (None, "")]
    assert '"nadie@example.org"' in failed[1].after


def test_login_failed_audit_keeps_no_password_typed_as_email(
    client: TestClient, session: Session
) -> None:
    post_login(client, "mi clave secreta", "x")

    failed = events(session, "login.failed")
    assert len(failed) == 1
    assert "secreta" not in failed[0].after


def test_login_unknown_account_verifies_a_dummy_hash(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    verified: list[str] = []
    real_verify = PasswordHasher.verify

    def spy(self: PasswordHasher, hash: str, password: str) -> bool:
        verified.append(hash)
        return real_verify(self, hash, password)

    monkeypatch.setattr(PasswordHasher, "verify", spy)

    result = login.log_in(
        session,
        email="nadie@example.org",
        password="x",
        client="c",
        key=b"k",
        now=utcnow(),
        base_url="http://testserver",
    )

    assert result.outcome is login.LoginOutcome.failed
    assert len(verified) == 1 and verified[0].startswith("$argon2")


def test_login_inactive_account_is_refused(client: TestClient, session: Session) -> None:
    staff = make_account(session, Role.staff, is_active=False)

    response = post_login(client, staff.email, DEFAULT_PASSWORD)

    assert response.status_code == 422
    assert live_sessions(session, staff) == 0
    assert events(session, "login") == []


def test_login_account_without_password_is_refused(client: TestClient, session: Session) -> None:
    invited = make_account(session, Role.judge, password_hash="")

    response = post_login(client, invited.email, "")

    assert response.status_code == 422
    assert live_sessions(session, invited) == 0


def test_login_rehashes_a_weak_hash(client: TestClient, session: Session) -> None:
    weak = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash(DEFAULT_PASSWORD)
    staff = make_account(session, Role.staff, password_hash=weak)

    post_login(client, staff.email, DEFAULT_PASSWORD)

    reload(session, staff)
    assert staff.password_hash != weak
    assert not accounts.needs_rehash(staff.password_hash)
    assert accounts.verify_password(staff.password_hash, DEFAULT_PASSWORD)


def test_login_without_csrf_is_forbidden(client: TestClient, session: Session) -> None:
    staff = make_account(session, Role.staff)
    client.get("/login")

    response = client.post("/login", data={"email": staff.email, "password": DEFAULT_PASSWORD})

    assert response.status_code == 403
    assert live_sessions(session, staff) == 0


def test_login_empty_fields_are_required(client: TestClient, session: Session) -> None:
    client.get("/?lang=en")

    response = post_login(client, "", "")

    assert response.status_code == 422
    assert "Enter your e-mail address." in response.text
    assert "Enter your password." in response.text
    assert events(session, "login.failed") == []


@pytest.mark.parametrize(
    ("next_path", "expected"),
    [
        ("/staff/nominations?status=new", "/staff/nominations?status=new"),
        ("/staff/users", "/staff/users"),
        ("//evil.example/x", "/staff"),
        ("/\\evil.example", "/staff"),
        ("https://evil.example/", "/staff"),
        ("javascript:alert(1)", "/staff"),
        ("/staff\r\nSet-Cookie: x=1", "/staff"),
        ("/staff\x00", "/staff"),
        ("", "/staff"),
        ("staff", "/staff"),
    ],
)
def test_login_next_accepts_local_paths_only(
    client: TestClient, session: Session, next_path: str, expected: str
) -> None:
    staff = make_account(session, Role.admin)

    response = post_login(client, staff.email, DEFAULT_PASSWORD, next_path=next_path)

    assert response.status_code == 303
    assert response.headers["location"] == expected


def test_login_next_from_protected_page_round_trip(client: TestClient, session: Session) -> None:
    staff = make_account(session, Role.admin)
    sent = client.get("/staff/audit?action=login", follow_redirects=False)
    assert sent.headers["location"] == "/login?next=%2Fstaff%2Faudit"

    page = client.get(sent.headers["location"])
    response = client.post(
        "/login",
        data={
            "csrf_token": csrf_token_from(page),
            "email": staff.email,
            "password": DEFAULT_PASSWORD,
            "next": "/staff/audit",
        },
        follow_redirects=False,
    )

    assert 'name="next" value="/staff/audit"' in page.text
    assert response.headers["location"] == "/staff/audit"


def test_login_page_when_signed_in_goes_home(client: TestClient, session: Session) -> None:
    sign_in(client, session, make_account(session, Role.staff))

    response = client.get("/login", follow_redirects=False)

    assert response.status_code == 303
    assert response.headers["location"] == "/staff"


# Throttling


def test_login_throttles_an_address_from_one_client_after_five_failures(
    client: TestClient, session: Session
) -> None:
    staff = make_account(session, Role.staff)
    client.get("/?lang=en")
    for _ in range(login.FREE_FAILURES):
        assert post_login(client, staff.email, "wrong password here").status_code == 422

    response = post_login(client, staff.email, DEFAULT_PASSWORD)

    assert response.status_code == 429
    assert "Too many failed attempts to sign in" in response.text
    assert int(response.headers["retry-after"]) > 0
    assert live_sessions(session, staff) == 0
    throttled = events(session, "login.throttled")
    assert [(e.actor_id, e.object_id) for e in throttled] == [(None, str(staff.id))]


def test_login_throttle_page_is_the_same_for_unknown_accounts(
    client: TestClient, session: Session
) -> None:
    staff = make_account(session, Role.staff, email="ana@example.org")
    for email in (staff.email, "nadie@example.org"):
        for _ in range(login.FREE_FAILURES):
            post_login(client, email, "wrong password here")

    known = post_login(client, staff.email, "wrong password here")
    unknown = post_login(client, "nadie@example.org", "wrong password here")

    assert known.status_code == unknown.status_code == 429
    strip = lambda text: re.sub(r"\d+ min", "", text)  # noqa: E731 - the wait may differ by a tick
    assert strip(known.text) == strip(unknown.text)


def test_login_success_clears_the_accounts_failures(client: TestClient, session: Session) -> None:
    staff = make_account(session, Role.staff)
    for _ in range(login.FREE_FAILURES - 1):
        post_login(client, staff.email, "wrong password here")
    assert post_login(client, staff.email, DEFAULT_PASSWORD).status_code == 303
    client.cookies.clear()

    for _ in range(login.FREE_FAILURES - 1):
        post_login(client, staff.email, "wrong password here")

    assert post_login(client, staff.email, DEFAULT_PASSWORD).status_code == 303


def test_login_throttle_ends_after_the_wait(client: TestClient, session: Session) -> None:
    staff = make_account(session, Role.staff)
    for _ in range(login.FREE_FAILURES):
        post_login(client, staff.email, "wrong password here")
    for hit in session.exec(select(RateLimitHit)).all():
        hit.created_at -= login.FIRST_WAIT + timedelta(seconds=1)
        session.add(hit)
    session.commit()

    assert post_login(client, staff.email, DEFAULT_PASSWORD).status_code == 303


def fail_many(client: TestClient, count: int, **kwargs: Any) -> None:
    for number in range(count):
        response = post_login(client, f"persona{number}@example.org", "wrong password", **kwargs)
        assert response.status_code == 422


def test_login_throttles_a_client_across_accounts(client: TestClient, session: Session) -> None:
    staff = make_account(session, Role.staff)
    fail_many(client, login.FAILED_LOGINS_PER_CLIENT)

    response = post_login(client, staff.email, DEFAULT_PASSWORD)

    assert response.status_code == 429
    assert live_sessions(session, staff) == 0


def test_login_client_throttle_ignores_forwarded_for(client: TestClient, session: Session) -> None:
    staff = make_account(session, Role.staff)
    for number in range(login.FAILED_LOGINS_PER_CLIENT):
        headers = {"X-Forwarded-For": f"203.0.113.{number}", "X-Real-IP": f"198.51.100.{number}"}
        post_login(client, f"persona{number}@example.org", "wrong password", headers=headers)

    response = post_login(
        client, staff.email, DEFAULT_PASSWORD, headers={"X-Forwarded-For": "192.0.2.99"}
    )

    assert response.status_code == 429


def test_login_client_throttle_spares_other_clients(app: FastAPI, session: Session) -> None:
    staff = make_account(session, Role.staff)
    with TestClient(app, client=("192.0.2.1", 4000)) as attacker:
        fail_many(attacker, login.FAILED_LOGINS_PER_CLIENT)
        assert post_login(attacker, staff.email, DEFAULT_PASSWORD).status_code == 429

    with TestClient(app, client=("192.0.2.2", 4000)) as colleague:
        assert post_login(colleague, staff.email, DEFAULT_PASSWORD).status_code == 303


def test_login_throttle_keeps_no_addresses(client: TestClient, session: Session) -> None:
    post_login(client, "ana@example.org", "wrong password")

    buckets = [hit.bucket for hit in session.exec(select(RateLimitHit)).all()]
    assert len(buckets) == 3  # the address from this client, this client, the address
    assert not any("ana" in bucket or "testclient" in bucket for bucket in buckets)


# No lock-out by strangers


def fail_as(app: FastAPI, address: str, email: str, times: int) -> list[int]:
    """`times` wrong passwords for `email` from the client at `address`: their statuses."""
    with TestClient(app, client=(address, 4000)) as stranger:
        return [post_login(stranger, email, "wrong password").status_code for _ in range(times)]


def test_login_strangers_wrong_passwords_do_not_stop_the_owner(
    app: FastAPI, session: Session
) -> None:
    staff = make_account(session, Role.staff)
    strangers = [f"203.0.113.{n}" for n in range(1, 4)]
    for address in strangers:
        statuses = fail_as(app, address, staff.email, login.FREE_FAILURES + 1)
        # Each stranger is held back once past its free failures...
        assert statuses[-1] == 429

    # ...and the owner, from a client that has not been failing, gets in.
    with TestClient(app, client=("198.51.100.7", 4000)) as owner:
        response = post_login(owner, staff.email, DEFAULT_PASSWORD)

    assert response.status_code == 303
    assert live_sessions(session, staff) == 1


def test_login_owner_can_change_password_while_strangers_fail(
    app: FastAPI, client: TestClient, session: Session
) -> None:
    staff = make_account(session, Role.staff)
    fail_as(app, "203.0.113.1", staff.email, login.FREE_FAILURES + 1)
    sign_in(client, session, staff)

    response = post_change(client, DEFAULT_PASSWORD, NEW_PASSWORD)

    assert response.status_code == 303
    reload(session, staff)
    assert PasswordHasher().verify(staff.password_hash, NEW_PASSWORD)


def test_login_delays_grow_with_each_failure_of_one_client(
    client: TestClient, session: Session
) -> None:
    staff = make_account(session, Role.staff)
    waits = []
    for _ in range(3):
        statuses = [
            post_login(client, staff.email, "wrong password").status_code
            for _ in range(login.FREE_FAILURES if not waits else 1)
        ]
        assert statuses[-1] == 422
        refused = post_login(client, staff.email, DEFAULT_PASSWORD)
        assert refused.status_code == 429
        waits.append(int(refused.headers["retry-after"]))
        # The wait passes (the failures are moved back by it).
        for hit in session.exec(select(RateLimitHit)).all():
            hit.created_at -= timedelta(seconds=waits[-1])
            session.add(hit)
        session.commit()

    assert waits[0] <= login.FIRST_WAIT.total_seconds() + 1
    assert waits[0] < waits[1] < waits[2]
    assert post_login(client, staff.email, DEFAULT_PASSWORD).status_code == 303


def test_login_attack_mails_the_owner_once(app: FastAPI, session: Session) -> None:
    staff = make_account(session, Role.staff, email="ana@example.org")
    for n in range(login.ATTACK_FAILURES + 3):
        fail_as(app, f"203.0.113.{n}", staff.email, 1)

    reload(session)
    mails = session.exec(select(OutboxMessage)).all()
    assert [mail.to_address for mail in mails] == ["ana@example.org"]
    assert "intentando entrar" in mails[0].subject  # Spanish, the account's language
    assert "/account/password" in mails[0].body
    assert [e.object_id for e in events(session, "login.attack_alert")] == [str(staff.id)]


def test_login_unknown_address_attacked_mails_nobody(app: FastAPI, session: Session) -> None:
    for n in range(login.ATTACK_FAILURES + 1):
        fail_as(app, f"203.0.113.{n}", "nadie@example.org", 1)

    reload(session)
    assert session.exec(select(OutboxMessage)).all() == []


def test_login_attacked_address_gives_each_client_one_free_failure(
    app: FastAPI, session: Session
) -> None:
    staff = make_account(session, Role.staff)
    for n in range(login.ATTACK_FAILURES):
        fail_as(app, f"203.0.113.{n}", staff.email, 1)

    # A new client guessing during the attack waits after its first failure...
    assert fail_as(app, "192.0.2.50", staff.email, 2) == [422, 429]
    # ...while the owner's right password from another client still gets in.
    with TestClient(app, client=("198.51.100.7", 4000)) as owner:
        assert post_login(owner, staff.email, DEFAULT_PASSWORD).status_code == 303


def test_login_renews_the_csrf_cookie(client: TestClient, session: Session) -> None:
    staff = make_account(session, Role.staff)
    client.get("/login")
    before = client.cookies[csrf.COOKIE_NAME]

    response = post_login(client, staff.email, DEFAULT_PASSWORD)

    assert response.status_code == 303
    after = client.cookies[csrf.COOKIE_NAME]
    assert after != before
    assert client.get("/account/password").status_code == 200  # its forms use the new one
    assert post_change(client, DEFAULT_PASSWORD, NEW_PASSWORD).status_code == 303


def test_login_cookies_are_host_cookies_in_production(app: FastAPI, session: Session) -> None:
    staff = make_account(session, Role.staff)
    app.state.settings = app.state.settings.model_copy(update={"environment": Environment.prod})
    with TestClient(app, base_url="https://testserver") as secure_client:
        page = secure_client.get("/login?lang=en")
        response = post_login(secure_client, staff.email, DEFAULT_PASSWORD)

    cookies = [v for r in (page, response) for k, v in r.headers.multi_items() if k == "set-cookie"]
    names = {cookie.split("=", 1)[0] for cookie in cookies}
    assert names == {"__Host-ii_lang", "__Host-ii_csrf", "__Host-ii_session"}
    for cookie in cookies:
        flags = cookie.lower()
        assert "; secure" in flags and "; path=/" in flags and "domain" not in flags


# Signing out


def test_logout_ends_the_session_and_clears_the_cookie(
    client: TestClient, session: Session
) -> None:
    staff = make_account(session, Role.staff)
    sign_in(client, session, staff)
    page = client.get("/logout")

    response = client.post(
        "/logout", data={"csrf_token": csrf_token_from(page)}, follow_redirects=False
    )

    assert response.status_code == 303
    assert response.headers["location"].startswith("/login")
    assert "max-age=0" in set_cookie_header(response).lower()
    assert live_sessions(session, staff) == 0
    assert [e.actor_id for e in events(session, "logout")] == [staff.id]
    assert client.get("/account/password", follow_redirects=False).status_code == 303


def test_logout_a_stolen_cookie_no_longer_works(client: TestClient, session: Session) -> None:
    staff = make_account(session, Role.staff)
    sign_in(client, session, staff)
    token = client.cookies[SESSION_COOKIE]
    page = client.get("/logout")
    client.post("/logout", data={"csrf_token": csrf_token_from(page)})

    client.cookies.clear()
    client.cookies.set(SESSION_COOKIE, token)

    assert client.get("/account/password", follow_redirects=False).status_code == 303


def test_logout_without_csrf_is_forbidden(client: TestClient, session: Session) -> None:
    staff = make_account(session, Role.staff)
    sign_in(client, session, staff)

    response = client.post("/logout", data={"csrf_token": "forged"}, follow_redirects=False)

    assert response.status_code == 403
    assert live_sessions(session, staff) == 1


def test_logout_anonymous_is_sent_to_login(client: TestClient) -> None:
    response = client.get("/logout", follow_redirects=False)

    assert response.status_code == 303
    assert response.headers["location"] == "/login"


def test_logout_of_an_expired_session_still_signs_out(client: TestClient, session: Session) -> None:
    staff = make_account(session, Role.staff)
    sign_in(client, session, staff)
    page = client.get("/logout")  # a page left open with its sign-out button
    for row in session.exec(select(UserSession)).all():
        row.last_seen_at = utcnow() - timedelta(hours=3)
        session.add(row)
    session.commit()

    response = client.post(
        "/logout", data={"csrf_token": csrf_token_from(page)}, follow_redirects=False
    )

    assert response.status_code == 303
    assert response.headers["location"].startswith("/login")
    assert events(session, "logout") == []


def test_logout_after_idle_minute_still_works(client: TestClient, session: Session) -> None:
    staff = make_account(session, Role.staff)
    sign_in(client, session, staff)
    page = client.get("/logout")
    for row in session.exec(select(UserSession)).all():
        row.last_seen_at = utcnow() - timedelta(minutes=30)
        session.add(row)
    session.commit()

    response = client.post(
        "/logout", data={"csrf_token": csrf_token_from(page)}, follow_redirects=False
    )

    assert response.status_code == 303
    assert live_sessions(session, staff) == 0


# Password rules


def test_common_passwords_list_is_real() -> None:
    assert len(COMMON_PASSWORDS) >= 500
    for password in ("contraseña", "mexico123", "qwerty", "12345678", "teamo123", "1234567890"):
        assert password in COMMON_PASSWORDS
    assert sum(len(p) >= MIN_PASSWORD_LENGTH for p in COMMON_PASSWORDS) >= 100


@pytest.mark.parametrize("password", ["Contraseña123", "QWERTYUIOP", "mexico2024", "1234567890"])
def test_password_rules_refuse_common_passwords(password: str) -> None:
    with pytest.raises(accounts.InvalidInput):
        check_password_rules(password)


@pytest.mark.parametrize("password", ["corta", "a" * (MIN_PASSWORD_LENGTH - 1)])
def test_password_rules_refuse_short_passwords(password: str) -> None:
    with pytest.raises(accounts.InvalidInput):
        check_password_rules(password)


def test_password_rules_accept_a_long_phrase_without_symbols() -> None:
    check_password_rules("una frase larga sin simbolos")


# Changing one's password


def post_change(client: TestClient, current: str, new: str, again: str | None = None) -> Response:
    page = client.get("/account/password")
    assert page.status_code == 200
    return client.post(
        "/account/password",
        data={
            "csrf_token": csrf_token_from(page),
            "current_password": current,
            "password": new,
            "password_again": new if again is None else again,
        },
        follow_redirects=False,
    )


def test_change_password_anonymous_is_sent_to_login(client: TestClient) -> None:
    response = client.get("/account/password", follow_redirects=False)
    posted = client.post("/account/password", follow_redirects=False)

    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Faccount%2Fpassword"
    assert posted.status_code == 303
    assert posted.headers["location"].startswith("/login")


@pytest.mark.parametrize("role", [Role.staff, Role.admin, Role.judge])
def test_change_password_works_for_every_role(
    app: FastAPI, client: TestClient, session: Session, role: Role
) -> None:
    account = make_account(session, role)
    old_cookie = set_cookie_header(post_login(client, account.email, DEFAULT_PASSWORD))
    with TestClient(app) as other_device:
        sign_in(other_device, session, account)

        response = post_change(client, DEFAULT_PASSWORD, NEW_PASSWORD)

        assert response.status_code == 303
        assert other_device.get("/account/password", follow_redirects=False).status_code == 303
    new_cookie = set_cookie_header(response)
    assert new_cookie.split(";")[0] != old_cookie.split(";")[0]
    assert "httponly" in new_cookie.lower()
    assert client.get("/account/password").status_code == 200  # this browser stays signed in
    assert live_sessions(session, account) == 1
    reload(session, account)
    assert PasswordHasher().verify(account.password_hash, NEW_PASSWORD)
    assert account.password_changed_at is not None
    assert [e.actor_id for e in events(session, "password.changed")] == [account.id]


def test_change_password_wrong_current_changes_nothing(
    client: TestClient, session: Session
) -> None:
    staff = make_account(session, Role.staff)
    sign_in(client, session, staff)
    client.get("/?lang=en")

    response = post_change(client, "not my password", NEW_PASSWORD)

    assert response.status_code == 422
    assert "This is not your current password." in response.text
    assert NEW_PASSWORD not in response.text
    reload(session, staff)
    assert PasswordHasher().verify(staff.password_hash, DEFAULT_PASSWORD)
    assert events(session, "password.changed") == []


@pytest.mark.parametrize(
    ("new", "again", "message"),
    [
        ("corta", None, "at least 10 characters"),
        ("contraseña123", None, "most common"),
        (NEW_PASSWORD, "otra distinta", "not the same"),
    ],
)
def test_change_password_refuses_weak_or_mismatched(
    client: TestClient, session: Session, new: str, again: str | None, message: str
) -> None:
    staff = make_account(session, Role.staff)
    sign_in(client, session, staff)
    client.get("/?lang=en")

    response = post_change(client, DEFAULT_PASSWORD, new, again)

    assert response.status_code == 422
    assert message in response.text
    reload(session, staff)
    assert PasswordHasher().verify(staff.password_hash, DEFAULT_PASSWORD)
    assert live_sessions(session, staff) == 1


def test_change_password_guessing_is_throttled(client: TestClient, session: Session) -> None:
    staff = make_account(session, Role.staff)
    sign_in(client, session, staff)
    for _ in range(login.FREE_FAILURES):
        assert post_change(client, "a guess at it", NEW_PASSWORD).status_code == 422

    response = post_change(client, DEFAULT_PASSWORD, NEW_PASSWORD)

    assert response.status_code == 429
    reload(session, staff)
    assert PasswordHasher().verify(staff.password_hash, DEFAULT_PASSWORD)


# Resetting a forgotten password


def post_reset(client: TestClient, email: str, **kwargs: Any) -> Response:
    page = client.get("/password-reset")
    return client.post(
        "/password-reset",
        data={"csrf_token": csrf_token_from(page), "email": email},
        follow_redirects=False,
        **kwargs,
    )


def reset_link(session: Session) -> str:
    reload(session)
    mail = session.exec(select(OutboxMessage)).one()
    match = re.search(r"http://testserver(/account/set-password/[A-Za-z0-9_-]+)", mail.body)
    assert match, mail.body
    return match.group(1)


def test_password_reset_unknown_and_known_answer_alike(
    client: TestClient, session: Session
) -> None:
    staff = make_account(session, Role.staff, email="ana@example.org")
    client.get("/?lang=en")

    unknown = post_reset(client, "nadie@example.org")
    known = post_reset(client, "ana@example.org")

    assert unknown.status_code == known.status_code == 303
    assert unknown.headers["location"] == known.headers["location"] == "/password-reset/sent"
    page = client.get("/password-reset/sent")
    assert "If an account exists for this address" in page.text
    mail = session.exec(select(OutboxMessage)).one()
    assert mail.to_address == staff.email


def test_password_reset_mails_a_one_hour_link_in_the_accounts_language(
    client: TestClient, session: Session
) -> None:
    staff = make_account(session, Role.staff, locale="en")

    post_reset(client, staff.email)

    mail = session.exec(select(OutboxMessage)).one()
    assert mail.subject == "Integrity Icon: choose a new password"
    link = reset_link(session)
    token = session.exec(select(AccountToken)).one()
    assert token.purpose == TokenPurpose.reset_password
    assert token.account_id == staff.id
    assert link.rsplit("/", 1)[1] not in token.token_hash  # only the hash is stored
    expires_in = token.expires_at - utcnow()
    assert timedelta(minutes=55) < expires_in <= timedelta(hours=1)


def test_password_reset_mail_follows_the_account_not_the_browser(
    client: TestClient, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    staff = make_account(session, Role.staff, locale="es")
    locales: list[str] = []
    real_render = login.render_mail

    def spy(name: str, locale: str, **context: object) -> tuple[str, str]:
        locales.append(locale)
        return real_render(name, locale, **context)

    monkeypatch.setattr(login, "render_mail", spy)
    client.get("/?lang=en")

    post_reset(client, staff.email)

    assert locales == ["es"]


def test_password_reset_inactive_account_gets_nothing(client: TestClient, session: Session) -> None:
    staff = make_account(session, Role.staff, is_active=False)

    response = post_reset(client, staff.email)

    assert response.status_code == 303
    assert session.exec(select(OutboxMessage)).all() == []
    assert session.exec(select(AccountToken)).all() == []


def test_password_reset_link_sets_password_once_and_signs_out_everywhere(
    app: FastAPI, client: TestClient, session: Session
) -> None:
    staff = make_account(session, Role.staff)
    with TestClient(app) as signed_in_elsewhere:
        sign_in(signed_in_elsewhere, session, staff)
        post_reset(client, staff.email)
        link = reset_link(session)
        page = client.get(link)

        response = client.post(
            link,
            data={
                "csrf_token": csrf_token_from(page),
                "password": NEW_PASSWORD,
                "password_again": NEW_PASSWORD,
            },
            follow_redirects=False,
        )

        assert response.status_code == 303
        elsewhere = signed_in_elsewhere.get("/account/password", follow_redirects=False)
        assert elsewhere.status_code == 303
    assert client.get(link).status_code == 404
    assert live_sessions(session, staff) == 0
    reload(session, staff)
    assert PasswordHasher().verify(staff.password_hash, NEW_PASSWORD)
    assert [e.actor_id for e in events(session, "password.set")] == [staff.id]
    assert post_login(client, staff.email, NEW_PASSWORD).status_code == 303


def test_password_reset_link_expires_after_an_hour(client: TestClient, session: Session) -> None:
    staff = make_account(session, Role.staff)
    post_reset(client, staff.email)
    link = reset_link(session)
    token = session.exec(select(AccountToken)).one()
    token.expires_at = utcnow() - timedelta(seconds=1)
    session.add(token)
    session.commit()

    assert client.get(link).status_code == 404


def test_password_reset_invalid_email_is_refused(client: TestClient, session: Session) -> None:
    client.get("/?lang=en")

    response = post_reset(client, "not an address")

    assert response.status_code == 422
    assert "Enter a valid e-mail address" in response.text
    assert 'value="not an address"' in response.text


def test_password_reset_is_throttled_per_client(client: TestClient, session: Session) -> None:
    staff = make_account(session, Role.staff)
    client.get("/?lang=en")
    for number in range(login.RESETS_PER_CLIENT):
        assert post_reset(client, f"persona{number}@example.org").status_code == 303

    response = post_reset(client, staff.email, headers={"X-Forwarded-For": "192.0.2.7"})

    assert response.status_code == 429
    assert "Too many requests for a new password" in response.text
    assert session.exec(select(OutboxMessage)).all() == []


def test_password_reset_mails_one_address_a_few_times_an_hour_at_most(
    app: FastAPI, session: Session
) -> None:
    staff = make_account(session, Role.staff)
    for number in range(login.RESET_MAILS_PER_ACCOUNT + 2):
        with TestClient(app, client=(f"192.0.2.{number}", 4000)) as someone:
            assert post_reset(someone, staff.email).status_code == 303

    assert len(session.exec(select(OutboxMessage)).all()) == login.RESET_MAILS_PER_ACCOUNT


def test_password_reset_without_csrf_is_forbidden(client: TestClient, session: Session) -> None:
    staff = make_account(session, Role.staff)
    client.get("/password-reset")

    response = client.post("/password-reset", data={"email": staff.email})

    assert response.status_code == 403
    assert session.exec(select(OutboxMessage)).all() == []


def test_invitation_link_spends_every_open_link(client: TestClient, session: Session) -> None:
    new = accounts.create_account(
        session, email="juez@example.org", name="Juez", role=Role.judge, password=None, now=utcnow()
    )
    session.commit()
    post_reset(client, "juez@example.org")
    invitation = f"/account/set-password/{new.set_password_token}"
    page = client.get(invitation)

    client.post(
        invitation,
        data={
            "csrf_token": csrf_token_from(page),
            "password": NEW_PASSWORD,
            "password_again": NEW_PASSWORD,
        },
    )

    assert client.get(reset_link(session)).status_code == 404
    reload(session)
    assert all(token.used_at for token in session.exec(select(AccountToken)).all())
