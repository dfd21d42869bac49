"""What the portal decides before anything else (app.web.edge): only its own hosts, the real
client behind a trusted proxy and nobody else's say-so, and trailing-slash redirects that stay
relative."""

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.config import Settings
from app.main import create_app
from app.models import AuditEvent
from app.services.accounts.login import client_hash
from app.web.edge import forwarded_client
from tests.conftest import make_settings
from tests.factories import make_open_campaign, post_nomination

PROD_SECRET = "a-production-secret-" + "x" * 40


def portal(settings: Settings, **changes: object) -> FastAPI:
    return create_app(make_settings(settings.data_dir, settings.database_url, **changes))


@pytest.fixture
def prod_app(app: FastAPI, settings: Settings) -> Iterator[FastAPI]:
    # `app` (unused) empties the PostgreSQL tables and keeps the schema ready for this one.
    application = portal(
        settings,
        environment="prod",
        secret_key=PROD_SECRET,
        base_url="https://portal.example.org",
    )
    yield application
    application.state.engine.dispose()


# Only our own hosts


def test_host_foreign_gets_400_before_anything_else_in_production(prod_app: FastAPI) -> None:
    with TestClient(prod_app, base_url="https://evil.example") as browser:
        response = browser.get("/login")

    assert response.status_code == 400
    assert "set-cookie" not in response.headers  # nothing ran: not even the CSRF cookie
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "strict-transport-security" in response.headers


@pytest.mark.parametrize(
    "host", ["portal.example.org", "PORTAL.example.org:443", "portal.example.org."]
)
def test_host_of_base_url_is_served_in_production(prod_app: FastAPI, host: str) -> None:
    with TestClient(prod_app, base_url="https://portal.example.org") as browser:
        response = browser.get("/login", headers={"Host": host})

    assert response.status_code == 200


def test_host_loopback_is_refused_in_production_and_served_in_dev(
    prod_app: FastAPI, app: FastAPI
) -> None:
    with TestClient(prod_app, base_url="https://127.0.0.1:8000") as browser:
        assert browser.get("/healthz").status_code == 400
    with TestClient(app, base_url="http://localhost:8000") as browser:
        assert browser.get("/healthz").status_code == 200


def test_host_allowed_hosts_replaces_the_default(settings: Settings) -> None:
    application = portal(settings, allowed_hosts="portal.example.org,www.portal.example.org")
    with TestClient(application, base_url="http://www.portal.example.org") as browser:
        assert browser.get("/healthz").status_code == 200
        assert browser.get("/healthz", headers={"Host": "testserver"}).status_code == 400
    application.state.engine.dispose()


def test_host_missing_gets_400(app: FastAPI) -> None:
    with TestClient(app) as browser:
        response = browser.get("/healthz", headers={"Host": ""})

    assert response.status_code == 400


# The real client behind a trusted proxy

PROXY = ("127.0.0.1", 50123)


@pytest.fixture
def behind_proxy(settings: Settings, session: Session) -> Iterator[FastAPI]:
    make_open_campaign(session)
    application = portal(settings, trusted_proxies="127.0.0.1", nomination_rate_limit=1)
    yield application
    application.state.engine.dispose()


def nominate(application: FastAPI, peer: tuple[str, int], **headers: str) -> int:
    """One nomination from a new browser reaching the app from `peer`: its status."""
    with TestClient(application, client=peer) as browser:
        return post_nomination(browser, headers=headers).status_code


def test_proxy_forwarded_addresses_are_limited_separately(behind_proxy: FastAPI) -> None:
    first = nominate(behind_proxy, PROXY, **{"X-Forwarded-For": "203.0.113.1"})
    again = nominate(behind_proxy, PROXY, **{"X-Forwarded-For": "203.0.113.1"})
    other = nominate(behind_proxy, PROXY, **{"X-Forwarded-For": "203.0.113.2"})

    assert (first, again, other) == (303, 429, 303)


def test_proxy_rfc7239_forwarded_header_is_believed(behind_proxy: FastAPI) -> None:
    first = nominate(behind_proxy, PROXY, Forwarded='for="[2001:db8::1]:4711";proto=https')
    again = nominate(behind_proxy, PROXY, Forwarded="for=[2001:db8::1]")
    other = nominate(behind_proxy, PROXY, Forwarded="for=198.51.100.4")

    assert (first, again, other) == (303, 429, 303)


def test_proxy_forged_header_from_an_untrusted_peer_changes_nothing(
    behind_proxy: FastAPI,
) -> None:
    stranger = ("198.51.100.9", 40000)
    first = nominate(behind_proxy, stranger, **{"X-Forwarded-For": "203.0.113.1"})
    forged = nominate(
        behind_proxy, stranger, **{"X-Forwarded-For": "203.0.113.2", "Forwarded": "for=1.2.3.4"}
    )

    assert (first, forged) == (303, 429)


def test_proxy_client_is_the_nearest_hop_not_a_proxy(settings: Settings, session: Session) -> None:
    application = portal(settings, trusted_proxies="127.0.0.1,10.0.0.0/8")
    with TestClient(application, client=PROXY) as browser:
        page = browser.get("/login")
        token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
        # The citizen wrote the first address; our two proxies appended the others.
        browser.post(
            "/login",
            data={"csrf_token": token, "email": "nadie@example.org", "password": "x"},
            headers={"X-Forwarded-For": "1.2.3.4, 203.0.113.7, 10.1.2.3"},
        )
    application.state.engine.dispose()

    session.rollback()
    event = session.exec(select(AuditEvent).where(AuditEvent.action == "login.failed")).one()
    assert event.client_hash == client_hash(settings.signing_key, "203.0.113.7")


NETWORKS = Settings(_env_file=None, trusted_proxies="127.0.0.1,10.0.0.0/8").proxy_networks  # type: ignore[call-arg]


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ([(b"x-forwarded-for", b"203.0.113.7")], ("203.0.113.7", None)),
        ([(b"x-forwarded-for", b"1.1.1.1, 203.0.113.7:443")], ("203.0.113.7", None)),
        (
            [(b"x-forwarded-for", b"203.0.113.7"), (b"x-forwarded-proto", b"https")],
            ("203.0.113.7", "https"),
        ),
        ([(b"x-forwarded-for", b"10.0.0.1, 10.0.0.2")], ("10.0.0.1", None)),
        ([(b"x-forwarded-for", b"unknown")], (None, None)),
        ([(b"x-forwarded-proto", b"gopher")], (None, None)),
        (
            [(b"forwarded", b'for="[2001:db8::7]:80";proto=https, for=10.0.0.3')],
            ("2001:db8::7", "https"),
        ),
        ([(b"forwarded", b"for=_hidden")], (None, None)),
        # X-Forwarded-For wins: a proxy that sets it may pass a client's own Forwarded on.
        (
            [(b"forwarded", b"for=1.2.3.4"), (b"x-forwarded-for", b"203.0.113.7")],
            ("203.0.113.7", None),
        ),
    ],
)
def test_forwarded_client_reads_the_proxies_headers(
    headers: list[tuple[bytes, bytes]], expected: tuple[str | None, str | None]
) -> None:
    assert forwarded_client(headers, NETWORKS) == expected


# Trailing slashes


def test_trailing_slash_redirect_is_relative_whatever_the_proxy_says(
    settings: Settings, session: Session
) -> None:
    application = portal(settings, trusted_proxies="127.0.0.1")
    with TestClient(application, client=PROXY) as browser:
        response = browser.get(
            "/about/?lang=en",
            headers={"X-Forwarded-Proto": "http", "X-Forwarded-Host": "evil.example"},
            follow_redirects=False,
        )
    application.state.engine.dispose()

    assert response.status_code == 307
    assert response.headers["location"] == "/about?lang=en"


def test_trailing_slash_is_added_for_a_get(client: TestClient) -> None:
    response = client.get("/staff/", follow_redirects=False)

    assert response.status_code == 307
    assert response.headers["location"] == "/staff"


def test_trailing_slash_post_is_not_redirected(client: TestClient) -> None:
    response = client.post("/login/", data={"email": "a"}, follow_redirects=False)

    assert response.status_code == 404


def test_trailing_slash_missing_static_file_is_404_without_a_loop(client: TestClient) -> None:
    assert client.get("/static/missing.css", follow_redirects=False).status_code == 404
    assert client.get("/static/missing.css/", follow_redirects=False).status_code == 404
