"""The headers every response carries (pages, error pages, downloads, static files), pages that
must never be kept by a cache, and what production hides: API docs, tracebacks, TRACE."""

from collections.abc import Iterator

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.config import Settings
from app.main import create_app
from app.models import Role
from app.services.campaigns import rubric
from tests.conftest import make_settings
from tests.factories import (
    make_account,
    make_criteria,
    make_finalist,
    make_judge,
    make_meeting,
    make_open_campaign,
    post_nomination,
    sign_in,
)
from tests.routes import app_routes

PROD_SECRET = "p" * 40


def assert_security_headers(response: httpx.Response) -> None:
    headers = response.headers
    csp = {
        part.strip().split(" ", 1)[0]: part.strip()
        for part in headers.get("content-security-policy", "").split(";")
        if part.strip()
    }
    where = f"{response.request.method} {response.request.url.path} -> {response.status_code}"
    assert csp, where
    assert "'unsafe-inline'" not in headers["content-security-policy"], where
    assert "'unsafe-eval'" not in headers["content-security-policy"], where
    assert csp.get("object-src") == "object-src 'none'", where
    assert csp.get("base-uri") == "base-uri 'none'", where
    assert csp.get("frame-ancestors") == "frame-ancestors 'none'", where
    script = csp.get("script-src") or csp.get("default-src", "")
    assert "'self'" in script or "'none'" in script, where
    assert headers.get("x-content-type-options") == "nosniff", where
    assert headers.get("referrer-policy") == "no-referrer", where
    assert headers.get("x-frame-options") == "DENY", where


def assert_no_store(response: httpx.Response) -> None:
    where = f"{response.request.method} {response.request.url.path} -> {response.status_code}"
    assert "no-store" in response.headers.get("cache-control", ""), where


@pytest.fixture
def prod_settings(settings: Settings) -> Settings:
    return make_settings(
        settings.data_dir,
        settings.database_url,
        environment="prod",
        secret_key=PROD_SECRET,
        base_url="https://testserver",
    )


@pytest.fixture
def prod_client(app: FastAPI, prod_settings: Settings) -> Iterator[TestClient]:
    # `app` (unused) empties the PostgreSQL tables and keeps the schema ready for this one.
    application = create_app(prod_settings)
    with TestClient(
        application, base_url="https://testserver", raise_server_exceptions=False
    ) as test_client:
        yield test_client
    application.state.engine.dispose()


def test_public_pages_error_pages_and_static_files_carry_security_headers(
    client: TestClient, session: Session
) -> None:
    make_open_campaign(session)
    responses = [
        client.get("/"),
        client.get("/about"),
        client.get("/nominate/youth"),
        client.get("/login"),
        client.get("/no-such-page"),
        client.post("/about"),
        client.get("/nominate/no-such-theme"),
        client.post("/login", data={}),
        client.get("/static/site.css"),
        client.get("/healthz"),
        client.get("/results/1999.json"),
        client.get("/results/1999.csv"),
    ]
    for response in responses:
        assert_security_headers(response)


def test_downloads_and_signed_in_pages_carry_security_headers_and_no_store(
    client: TestClient, session: Session
) -> None:
    make_open_campaign(session)
    assert post_nomination(client).status_code == 303
    sign_in(client, session, make_account(session, Role.admin))
    for path in (
        "/staff/exports/nominations.csv",
        "/staff/exports/candidates.csv",
        "/staff/exports/nominations.xlsx",
        "/staff/exports/candidates.xlsx",
    ):
        response = client.get(path)
        assert response.status_code == 200, path
        assert_security_headers(response)
        assert_no_store(response)


def test_form_pages_and_receipt_are_not_stored_by_caches(
    client: TestClient, session: Session
) -> None:
    make_open_campaign(session)
    sent = post_nomination(client)
    assert sent.status_code == 303
    receipt = client.get(sent.headers["location"])
    assert receipt.status_code == 200
    responses = [
        receipt,
        client.get("/nominate/youth"),
        client.get("/login"),
        client.get("/password-reset"),
        client.get("/password-reset/sent"),
        client.get("/account/set-password/not-a-real-token"),
    ]
    for response in responses:
        assert_security_headers(response)
        assert_no_store(response)


def test_every_staff_and_judges_page_is_not_stored_by_caches(
    client: TestClient, session: Session
) -> None:
    campaign, youth, _ = make_open_campaign(session)
    make_criteria(session, campaign)
    finalist = make_finalist(session, youth)
    judge = make_judge(session, youth)
    meeting = make_meeting(session, campaign, [finalist])
    admin = make_account(session, Role.admin)
    ids = {"meeting": meeting.id, "finalist": finalist.id}
    assert rubric.current_campaign(session).id == campaign.id

    def concrete(path: str) -> str:
        path = path.replace("/finalists/1", f"/finalists/{ids['finalist']}")
        return path.replace("/meetings/1", f"/meetings/{ids['meeting']}")

    for account, prefix in ((admin, "/staff"), (judge, "/judges")):
        client.cookies.clear()
        sign_in(client, session, account)
        for method, path in app_routes(prefix):
            if method != "GET":
                continue
            response = client.get(concrete(path), follow_redirects=False)
            assert_security_headers(response)
            assert_no_store(response)
    client.cookies.clear()
    sign_in(client, session, admin)
    for path in ("/account/password", "/logout"):
        response = client.get(path, follow_redirects=False)
        assert_security_headers(response)
        assert_no_store(response)


def test_production_has_no_api_docs(prod_client: TestClient) -> None:
    for path in ("/docs", "/redoc", "/openapi.json", "/docs/oauth2-redirect"):
        response = prod_client.get(path)
        assert response.status_code == 404, path
        assert '"openapi"' not in response.text, path
        assert "swagger" not in response.text.lower(), path
        assert "redoc" not in response.text.replace(f"{path}?", "").lower(), path
        assert_security_headers(response)


def test_production_responses_carry_hsts(prod_client: TestClient) -> None:
    for path in ("/", "/no-such-page", "/static/site.css"):
        response = prod_client.get(path)
        assert "max-age=" in response.headers.get("strict-transport-security", ""), path


def test_production_error_page_shows_no_traceback(
    prod_client: TestClient, monkeypatch: pytest.MonkeyPatch, session: Session
) -> None:
    make_open_campaign(session)

    def explode(*args: object, **kwargs: object) -> None:
        raise RuntimeError("secret-internal-detail-42 in /srv/app/thing.py")

    monkeypatch.setattr(rubric, "current_campaign", explode)
    sign_in(prod_client, session, make_judge(session))
    response = prod_client.get("/judges/conflicts")

    assert response.status_code == 500
    assert "Traceback" not in response.text
    assert "secret-internal-detail-42" not in response.text
    assert "RuntimeError" not in response.text
    assert "thing.py" not in response.text
    assert_security_headers(response)
    assert_no_store(response)


@pytest.mark.parametrize("method", ["TRACE", "TRACK"])
@pytest.mark.parametrize("path", ["/", "/login", "/staff", "/static/site.css", "/no-such-page"])
def test_production_trace_is_refused_without_echo(
    prod_client: TestClient, method: str, path: str
) -> None:
    prod_client.cookies.set("ii_probe", "c00kie")
    response = prod_client.request(method, path, headers={"X-Echo-Probe": "echo-me-7f3a"})

    assert response.status_code in (405, 501)
    assert "echo-me-7f3a" not in response.text
    assert "c00kie" not in response.text
    assert "message/http" not in response.headers.get("content-type", "")
    assert_security_headers(response)


def test_trace_is_refused_in_development_too(client: TestClient) -> None:
    response = client.request("TRACE", "/", headers={"X-Echo-Probe": "echo-me-7f3a"})

    assert response.status_code in (405, 501)
    assert "echo-me-7f3a" not in response.text


def test_development_error_page_shows_no_traceback_either(
    app: FastAPI, monkeypatch: pytest.MonkeyPatch, session: Session
) -> None:
    make_open_campaign(session)

    def explode(*args: object, **kwargs: object) -> None:
        raise RuntimeError("secret-internal-detail-42")

    monkeypatch.setattr(rubric, "current_campaign", explode)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        sign_in(test_client, session, make_judge(session))
        response = test_client.get("/judges/conflicts")

    assert response.status_code == 500
    assert "Traceback" not in response.text
    assert "secret-internal-detail-42" not in response.text
    assert_security_headers(response)
