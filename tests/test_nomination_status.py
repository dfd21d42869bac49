"""Anyone holding a nomination's reference can look up where it stands, and nothing more
(issue 21 item 9)."""

from fastapi.testclient import TestClient
from httpx import Response
from sqlmodel import Session, select

from app.models import Nomination, NominationStatus
from tests.factories import csrf_token_from, make_open_campaign, post_nomination


def look_up(client: TestClient, reference: str) -> Response:
    page = client.get("/nominations/status")
    assert page.status_code == 200
    return client.post(
        "/nominations/status",
        data={"csrf_token": csrf_token_from(page), "reference": reference},
    )


def test_status_by_reference_shows_the_stage_and_nothing_confidential(
    client: TestClient, session: Session
) -> None:
    make_open_campaign(session)
    receipt = post_nomination(client)
    reference = receipt.headers["location"].rsplit("/", 1)[1]
    nomination = session.exec(select(Nomination)).one()
    nomination.status = NominationStatus.ineligible
    nomination.status_reason = "Motivo interno que solo ve el equipo"
    session.add(nomination)
    session.commit()

    response = look_up(client, reference)

    assert response.status_code == 200
    text = response.text
    assert "No aceptada" in text
    assert "Jóvenes" in text
    for secret in ("María Fernanda", "Roberto Sánchez", "roberto@example.org", "Motivo interno"):
        assert secret not in text


def test_status_of_an_unknown_reference_says_so(client: TestClient, session: Session) -> None:
    make_open_campaign(session)

    response = look_up(client, "x" * 22)

    assert response.status_code == 404
    assert "No encontramos ninguna nominación con este folio" in response.text
