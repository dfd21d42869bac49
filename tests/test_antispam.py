"""Anti-spam without third parties: honeypot (in test_nominate), fill time and a rate limit kept
in the database, so every process of the portal sees the same count."""

import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

from app.config import Settings
from app.main import create_app
from app.models import Nomination, RateLimitHit, utcnow
from app.web.csrf import COOKIE_NAME, issue_token
from tests.factories import (
    csrf_token_from,
    form_token,
    make_open_campaign,
    make_pdf,
    nomination_data,
    post_nomination,
)


def client_with(settings: Settings, **changes: object) -> TestClient:
    return TestClient(create_app(settings.model_copy(update=changes)), base_url="http://testserver")


@pytest.fixture
def campaign(session: Session) -> None:
    make_open_campaign(session)


def nominations(session: Session) -> int:
    session.expire_all()
    return int(session.exec(select(func.count()).select_from(Nomination)).one())


@pytest.fixture
def limited(settings: Settings, campaign: None) -> Iterator[TestClient]:
    with client_with(settings, nomination_rate_limit=2) as client:
        yield client


def test_rate_limit_refuses_the_third_nomination_in_an_hour_with_429(
    limited: TestClient, session: Session
) -> None:
    assert post_nomination(limited).status_code == 303
    assert post_nomination(limited).status_code == 303

    third = post_nomination(limited)

    assert third.status_code == 429
    assert int(third.headers["retry-after"]) > 0
    assert "min." in third.text
    assert "Enviaste muchas nominaciones" in third.text
    assert nominations(session) == 2


def test_rate_limit_answer_shows_the_form_again_with_everything_typed(
    limited: TestClient, session: Session
) -> None:
    post_nomination(limited)
    post_nomination(limited)

    third = post_nomination(limited)

    assert third.status_code == 429
    assert "María Fernanda López Ruiz" in third.text  # what they typed is kept
    assert "Denunció un desvío de fondos" in third.text
    assert 'name="csrf_token"' in third.text  # and can be sent again once the wait is over
    assert "Enviaste muchas nominaciones" in third.text
    assert nominations(session) == 2


def test_rate_limit_holds_across_app_processes(
    settings: Settings, limited: TestClient, session: Session
) -> None:
    post_nomination(limited)
    post_nomination(limited)
    with client_with(settings, nomination_rate_limit=2) as another_process:
        refused = post_nomination(another_process)

    assert refused.status_code == 429
    assert nominations(session) == 2


def test_a_repeat_of_a_stored_form_past_the_rate_limit_gets_its_receipt(
    limited: TestClient, session: Session
) -> None:
    token = form_token(limited, "youth")
    first = post_nomination(limited, token=token)
    post_nomination(limited)

    # The limit is reached; the browser sends the first form again (back button, retry).
    again = post_nomination(limited, token=token)

    assert first.status_code == again.status_code == 303
    assert again.headers["location"] == first.headers["location"]
    assert post_nomination(limited).status_code == 429
    assert nominations(session) == 2


def test_rate_limit_does_not_store_client_address(limited: TestClient, session: Session) -> None:
    post_nomination(limited)

    bucket = session.exec(select(RateLimitHit)).one().bucket
    assert "testclient" not in bucket
    assert "127.0.0.1" not in bucket


def test_rate_limit_zero_turns_it_off(settings: Settings, campaign: None, session: Session) -> None:
    with client_with(settings, nomination_rate_limit=0) as client:
        statuses = [post_nomination(client).status_code for _ in range(4)]

    assert statuses == [303] * 4


def test_form_sent_faster_than_a_person_can_is_shown_again(
    settings: Settings, campaign: None, session: Session
) -> None:
    with client_with(settings, form_min_seconds=60) as client:
        response = post_nomination(client)

    assert response.status_code == 422
    assert "María Fernanda López Ruiz" in response.text  # what they typed is kept
    assert nominations(session) == 0


def test_form_token_expired_form_comes_back_filled(
    settings: Settings, campaign: None, session: Session
) -> None:
    with client_with(settings, form_max_age_hours=0) as client:
        token = form_token(client, "youth")
        response = post_nomination(client, token=token)

    assert response.status_code == 403
    assert "María Fernanda López Ruiz" in response.text
    assert 'name="csrf_token"' in response.text
    assert nominations(session) == 0


def test_a_corrected_form_sent_quickly_after_an_error_is_not_too_fast(
    settings: Settings, campaign: None, session: Session
) -> None:
    with client_with(settings, form_min_seconds=60) as client:
        client.get("/nominate/youth")
        # The form was first shown two minutes ago; it comes back with an error...
        shown = utcnow() - timedelta(minutes=2)
        token = issue_token(
            settings.signing_key,
            cookie=client.cookies[COOKIE_NAME],
            form="nominate:youth",
            now=shown,
        )
        refused = post_nomination(client, data=nomination_data(nominee_name=""), token=token)
        assert refused.status_code == 422
        # ... and the corrected form is sent again at once.
        corrected = nomination_data(form_origin=hidden_value(refused.text, "form_origin"))
        response = post_nomination(client, data=corrected, token=csrf_token_from(refused))

    assert response.status_code == 303
    assert nominations(session) == 1


def test_a_forged_form_origin_does_not_shorten_the_minimum_time(
    settings: Settings, campaign: None, session: Session
) -> None:
    with client_with(settings, form_min_seconds=60) as client:
        origin = f"abc.{int((utcnow() - timedelta(hours=1)).timestamp())}.forged"
        response = post_nomination(client, data=nomination_data(form_origin=origin))

    assert response.status_code == 422
    assert nominations(session) == 0


def hidden_value(page: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]+)"', page)
    assert match, f"the page has no {name}"
    return match.group(1)


def test_refused_forms_whose_files_are_kept_count_against_the_rate_limit(
    limited: TestClient, session: Session
) -> None:
    pdf = make_pdf()
    for i in range(2):
        refused = post_nomination(
            limited,
            data=nomination_data(nominee_name=""),
            files=[("evidence", ("oficio.pdf", pdf + bytes([i]), "application/pdf"))],
        )
        assert refused.status_code == 422  # its file kept for the form, on disk

    # The limit is reached: even a form refused anyway gets the 429, and so does a valid one.
    assert post_nomination(limited, data=nomination_data(nominee_name="")).status_code == 429
    assert post_nomination(limited).status_code == 429
    assert nominations(session) == 0


def test_browser_limit_holds_one_browser_tighter_than_its_address(
    settings: Settings, campaign: None, session: Session
) -> None:
    application = create_app(
        settings.model_copy(update={"nomination_rate_limit": 100, "nomination_browser_limit": 2})
    )
    with TestClient(application, base_url="http://testserver") as browser:
        statuses = [post_nomination(browser).status_code for _ in range(3)]
    # Another phone behind the same address (a mobile carrier's) is not held back.
    with TestClient(application, base_url="http://testserver") as neighbour:
        neighbours = post_nomination(neighbour).status_code

    assert statuses == [303, 303, 429]
    assert neighbours == 303
    assert nominations(session) == 3
