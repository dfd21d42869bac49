import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.config import Settings
from app.main import create_app
from tests.factories import make_open_campaign


@pytest.fixture
def campaign(session: Session) -> None:
    make_open_campaign(session)


def test_home_shows_campaign_themes_dates_and_links_in_spanish(
    client: TestClient, campaign: None
) -> None:
    page = client.get("/")

    assert page.status_code == 200
    assert '<html lang="es-MX">' in page.text
    assert "Jóvenes" in page.text
    assert "Sustentabilidad" in page.text
    assert 'href="/nominate/youth"' in page.text
    assert 'href="/nominate/sustainability"' in page.text
    assert "<script" not in page.text


def test_home_in_english_from_accept_language(client: TestClient, campaign: None) -> None:
    page = client.get("/", headers={"accept-language": "en-GB,en;q=0.9"})

    assert '<html lang="en">' in page.text
    assert "Youth" in page.text
    assert "Nominate under Youth" in page.text


def test_language_switch_is_remembered(client: TestClient, campaign: None) -> None:
    switched = client.get("/about?lang=en")
    later = client.get("/privacy")

    assert '<html lang="en">' in switched.text
    assert '<html lang="en">' in later.text
    assert 'href="/privacy?lang=es"' in later.text


def test_home_without_campaign_says_so(client: TestClient) -> None:
    page = client.get("/")

    assert page.status_code == 200
    assert "no hay" in page.text.lower()


def test_about_explains_the_whole_process(client: TestClient, campaign: None) -> None:
    page = client.get("/about")

    assert page.status_code == 200
    for step in ("conflicto", "finalistas", "verifica", "criterios"):
        assert step in page.text.lower()


def test_privacy_notice_names_the_responsible_organisation_from_settings(
    settings: Settings,
) -> None:
    custom = settings.model_copy(
        update={"org_name": "Fundación Ejemplo A.C.", "org_email": "datos@fundacion.example"}
    )
    with TestClient(create_app(custom)) as client:
        page = client.get("/privacy")

    assert page.status_code == 200
    assert "Fundación Ejemplo A.C." in page.text
    assert "datos@fundacion.example" in page.text
    for required in ("ARCO", "sensibles", "transferencia", "cookies"):
        assert required.lower() in page.text.lower()


def test_healthz_answers_when_database_answers(client: TestClient) -> None:
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.text == "ok"


def test_unknown_page_is_a_spanish_404_page(client: TestClient) -> None:
    page = client.get("/no-such-page")

    assert page.status_code == 404
    assert "<h1>" in page.text
    assert '<html lang="es-MX">' in page.text


def test_pages_carry_security_headers(client: TestClient, campaign: None) -> None:
    for path in ("/", "/nominate/youth", "/no-such-page", "/static/site.css"):
        headers = client.get(path).headers
        assert "object-src 'none'" in headers["content-security-policy"]
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "no-referrer"


def test_csrf_cookie_is_httponly_and_samesite(client: TestClient, campaign: None) -> None:
    response = client.get("/nominate/youth")

    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
