"""The one-time link printed by `create-user` lets the person choose a password, once."""

import re
from datetime import timedelta

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.models import Account, AccountToken, Role, utcnow
from app.services.accounts.accounts import create_account


@pytest.fixture
def link(session: Session) -> str:
    new = create_account(
        session, email="juez@example.org", name="Juez", role=Role.judge, password=None, now=utcnow()
    )
    session.commit()
    assert new.set_password_token
    return f"/account/set-password/{new.set_password_token}"


def post_password(client: TestClient, link: str, password: str, again: str | None = None):  # type: ignore[no-untyped-def]
    page = client.get(link)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token, page.text
    return client.post(
        link,
        data={
            "csrf_token": token.group(1),
            "password": password,
            "password_again": again or password,
        },
        follow_redirects=False,
    )


def stored_hash(session: Session) -> str:
    session.expire_all()
    return session.exec(select(Account)).one().password_hash


def test_set_password_link_sets_argon2_password_once(
    client: TestClient, session: Session, link: str
) -> None:
    response = post_password(client, link, "tres palabras sueltas")

    assert response.status_code == 303
    assert PasswordHasher().verify(stored_hash(session), "tres palabras sueltas")
    assert client.get(link).status_code == 404  # spent
    assert session.exec(select(AccountToken)).one().used_at is not None


@pytest.mark.parametrize(
    ("password", "again", "message"),
    [
        ("corta", None, "10"),
        ("1234567890", None, "comunes"),
        ("una frase larga", "otra", "iguales"),
    ],
)
def test_set_password_refuses_weak_or_mismatched(
    client: TestClient, session: Session, link: str, password: str, again: str | None, message: str
) -> None:
    response = post_password(client, link, password, again)

    assert response.status_code == 422
    assert message in response.text
    assert password not in response.text.split("<form", 1)[1]  # never echoed back
    assert stored_hash(session) == ""


def test_set_password_expired_link_is_not_found(
    client: TestClient, session: Session, link: str
) -> None:
    token = session.exec(select(AccountToken)).one()
    token.expires_at = utcnow() - timedelta(minutes=1)
    session.add(token)
    session.commit()

    assert client.get(link).status_code == 404


def test_set_password_without_csrf_is_forbidden(
    client: TestClient, session: Session, link: str
) -> None:
    client.get(link)
    response = client.post(link, data={"password": "tres palabras sueltas"})

    assert response.status_code == 403
    assert stored_hash(session) == ""


def test_set_password_unknown_link_is_not_found(client: TestClient) -> None:
    assert client.get("/account/set-password/" + "x" * 43).status_code == 404
