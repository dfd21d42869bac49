"""A nominator's cancellation also deletes the evidence files their sensitive-data consent
covered, and at their request the stories (issue 20)."""

import hashlib

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.config import Settings
from app.models import EvidenceFile, Nomination, Role, Theme
from app.services.files import FileStore
from tests.factories import (
    make_account,
    make_open_campaign,
    make_pdf,
    nomination_data,
    post_nomination,
    sign_in,
)
from tests.test_staff_arco import EMAIL, events, post, refresh

SHARED = make_pdf("el mismo oficio, enviado por dos personas")


@pytest.fixture
def themes(session: Session) -> tuple[Theme, Theme]:
    _, youth, sustainability = make_open_campaign(session)
    return youth, sustainability


@pytest.fixture
def staff(client: TestClient, session: Session) -> TestClient:
    sign_in(client, session, make_account(session, Role.staff))
    client.get("/?lang=en")
    return client


def nominate_with_files(client: TestClient, *, email: str, files: dict[str, bytes]) -> None:
    response = post_nomination(
        client,
        data=nomination_data(nominator_email=email, sensitive_consent="yes"),
        files=[("evidence", (name, data, "application/pdf")) for name, data in files.items()],
    )
    assert response.status_code == 303, response.text


def stored_names(session: Session) -> list[str]:
    refresh(session)
    return sorted(f.original_name for f in session.exec(select(EvidenceFile)).all())


def test_arco_cancel_deletes_the_evidence_files_but_not_content_others_sent(
    staff: TestClient, session: Session, settings: Settings, themes: tuple[Theme, Theme]
) -> None:
    own = make_pdf("solo de Roberto")
    nominate_with_files(staff, email=EMAIL, files={"propio.pdf": own, "compartido.pdf": SHARED})
    nominate_with_files(staff, email="otra@example.org", files={"de-otra.pdf": SHARED})
    store = FileStore(settings.files_dir)
    own_path = store.path_for(sha256_of(own))
    assert own_path.exists()

    response = post(staff, "/staff/arco/cancel", email=EMAIL, confirm="yes")

    assert response.status_code == 303
    assert stored_names(session) == ["de-otra.pdf"]
    assert not own_path.exists()
    assert store.path_for(sha256_of(SHARED)).exists()
    [event] = events(session, "arco.cancel")
    assert event["evidence_files_deleted"] == 2
    refresh(session)
    mine = session.exec(select(Nomination).where(Nomination.nominator_email != "otra@example.org"))
    assert [n.achievement for n in mine] == [nomination_data()["achievement"]]


def test_arco_cancel_with_redaction_blanks_the_stories(
    staff: TestClient, session: Session, themes: tuple[Theme, Theme]
) -> None:
    nominate_with_files(staff, email=EMAIL, files={"propio.pdf": make_pdf("uno")})

    response = post(staff, "/staff/arco/cancel", email=EMAIL, confirm="yes", redact_stories="yes")

    assert response.status_code == 303
    refresh(session)
    nomination = session.exec(select(Nomination)).one()
    stories = (nomination.achievement, nomination.impact, nomination.obstacles)
    assert stories == ("", "", "") and nomination.how_known == ""
    assert nomination.nominee_name == nomination_data()["nominee_name"]
    [event] = events(session, "arco.cancel")
    assert {"achievement", "impact", "obstacles", "how_known"} <= set(event["fields"])
    assert "Denunció" not in str(event)


def test_arco_page_offers_to_redact_the_stories(
    staff: TestClient, themes: tuple[Theme, Theme]
) -> None:
    post_nomination(staff)

    page = post(staff, "/staff/arco", email=EMAIL)

    assert 'name="redact_stories"' in page.text
    assert "the evidence files they sent are deleted" in page.text


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
