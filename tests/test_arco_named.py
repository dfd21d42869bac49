"""Requests by the people a nomination names, its nominee and its references: found by name or by
the contact the nominator gave, answered like a nominator's (issue 20)."""

import json

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlmodel import Session, func, select

from app.config import Settings
from app.models import AuditEvent, EvidenceFile, Nomination, Role, Theme
from tests.factories import (
    csrf_token_from,
    make_account,
    make_candidate,
    make_open_campaign,
    make_pdf,
    nomination_data,
    post_nomination,
    sign_in,
)

NOMINATOR = ("Roberto Sánchez", "roberto@example.org", "+52 55 5555 0000")


@pytest.fixture
def themes(session: Session) -> tuple[Theme, Theme]:
    _, youth, sustainability = make_open_campaign(session)
    return youth, sustainability


@pytest.fixture
def staff(client: TestClient, session: Session) -> TestClient:
    sign_in(client, session, make_account(session, Role.staff, email="staff.x@example.org"))
    client.get("/?lang=en")
    return client


def post(client: TestClient, path: str, **fields: str | list[str]) -> Response:
    token = csrf_token_from(client.get("/staff/arco"))
    return client.post(path, data={"csrf_token": token, **fields}, follow_redirects=False)


def fresh(session: Session) -> None:
    session.commit()
    session.expire_all()


def nominations(session: Session) -> list[Nomination]:
    fresh(session)
    return list(session.exec(select(Nomination).order_by(Nomination.id)).all())


def events(session: Session, action: str) -> list[dict[str, object]]:
    fresh(session)
    found = session.exec(select(AuditEvent).where(AuditEvent.action == action)).all()
    return [json.loads(event.after) for event in found]


@pytest.fixture
def named(staff: TestClient, session: Session, themes: tuple[Theme, Theme]) -> list[int]:
    """Two nominations of María Fernanda (one with a file) naming Carlos as a reference, and one
    of someone else naming another Carlos."""
    post_nomination(
        staff,
        data=nomination_data(sensitive_consent="yes"),
        files=[("evidence", ("oficio.pdf", make_pdf("maría"), "application/pdf"))],
    )
    post_nomination(staff, "sustainability")
    post_nomination(
        staff,
        data=nomination_data(
            nominee_name="Pedro Otro",
            nominee_contact="",
            reference1_name="Carlos Méndez Otro",
            reference1_contact="carlos.otro@example.org",
        ),
    )
    return [n.id for n in nominations(session) if n.id is not None]


def test_named_search_by_contact_or_name_ignores_accents_and_never_shows_the_nominator(
    staff: TestClient, named: list[int]
) -> None:
    by_email = post(staff, "/staff/arco/named", query="CARLOS@example.org")
    by_name = post(staff, "/staff/arco/named", query="maria fernanda lopez")

    assert by_email.status_code == 200
    assert "2 places name this person" in by_email.text
    assert f'value="{named[0]}:reference1"' in by_email.text
    assert f'value="{named[2]}:reference1"' not in by_email.text
    assert "2 places name this person" in by_name.text
    assert f'value="{named[1]}:nominee"' in by_name.text
    for page in (by_email, by_name):
        assert all(secret not in page.text for secret in NOMINATOR)
    assert by_email.headers["cache-control"] == "no-store"


def test_named_search_too_short_is_422(staff: TestClient, named: list[int]) -> None:
    response = post(staff, "/staff/arco/named", query="ca")

    assert response.status_code == 422
    assert 'value="ca"' in response.text


def test_named_export_gives_what_the_places_say_and_is_audited(
    staff: TestClient, session: Session, named: list[int]
) -> None:
    response = post(
        staff,
        "/staff/arco/named/export",
        query="María",
        place=[f"{named[0]}:nominee", f"{named[0]}:reference1"],
    )

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    places = response.json()["places"]
    assert [(p["role"], p["name"]) for p in places] == [
        ("nominee", "María Fernanda López Ruiz"),
        ("reference1", "Carlos Méndez"),
    ]
    assert places[0]["achievement"].startswith("Denunció")
    assert "achievement" not in places[1]
    assert all(secret not in response.text for secret in NOMINATOR)
    assert events(session, "arco.named_access") == [
        {"places": [[named[0], "nominee"], [named[0], "reference1"]]}
    ]


def test_named_rectify_sets_name_and_contact_in_the_ticked_places(
    staff: TestClient, session: Session, named: list[int]
) -> None:
    response = post(
        staff,
        "/staff/arco/named/rectify",
        query="carlos@example.org",
        place=[f"{named[0]}:reference1", f"{named[1]}:reference1"],
        name="Carlos Méndez Ríos",
        contact="+52 228 000 0000",
    )

    assert response.status_code == 303
    stored = nominations(session)
    assert {(n.reference1_name, n.reference1_contact) for n in stored[:2]} == {
        ("Carlos Méndez Ríos", "+52 228 000 0000")
    }
    assert stored[2].reference1_name == "Carlos Méndez Otro"
    [event] = events(session, "arco.named_rectify")
    assert "000 0000" not in json.dumps(event)


def test_named_cancel_of_a_reference_blanks_only_that_reference(
    staff: TestClient, session: Session, named: list[int]
) -> None:
    response = post(
        staff,
        "/staff/arco/named/cancel",
        query="carlos@example.org",
        place=[f"{named[0]}:reference1"],
        confirm="yes",
    )

    assert response.status_code == 303
    first, second, third = nominations(session)
    assert (first.reference1_name, first.reference1_contact) == ("", "")
    assert first.reference2_name == "Lucía Pérez" and first.nominee_name.startswith("María")
    assert second.reference1_name == "Carlos Méndez"
    assert third.reference1_name == "Carlos Méndez Otro"


def test_named_cancel_of_the_nominee_deletes_what_never_became_a_candidate(
    staff: TestClient,
    session: Session,
    settings: Settings,
    themes: tuple[Theme, Theme],
    named: list[int],
) -> None:
    youth, _ = themes
    candidate = make_candidate(session, youth)
    grouped = session.get(Nomination, named[1])
    assert grouped is not None
    grouped.candidate_id = candidate.id
    session.add(grouped)
    session.commit()

    response = post(
        staff,
        "/staff/arco/named/cancel",
        query="María Fernanda",
        place=[f"{named[0]}:nominee", f"{named[1]}:nominee"],
        confirm="yes",
    )

    assert response.status_code == 303
    assert "handle the candidate by hand" in staff.get(response.headers["location"]).text
    remaining = {n.id: n for n in nominations(session)}
    assert named[0] not in remaining
    kept = remaining[named[1]]
    assert (kept.nominee_contact, kept.nominee_age, kept.nominee_gender) == ("", None, None)
    assert kept.nominee_name.startswith("María") and kept.achievement
    assert session.exec(select(func.count()).select_from(EvidenceFile)).one() == 0
    assert [p for p in settings.files_dir.rglob("*") if p.is_file()] == []
    [event] = events(session, "arco.named_cancel")
    assert event["nominations_deleted"] == [named[0]] and event["nominees_blanked"] == [named[1]]
    assert "María" not in json.dumps(event)


def test_named_cancel_without_confirmation_or_places_is_422_and_changes_nothing(
    staff: TestClient, session: Session, named: list[int]
) -> None:
    unconfirmed = post(
        staff, "/staff/arco/named/cancel", query="Carlos", place=[f"{named[0]}:reference1"]
    )
    unticked = post(staff, "/staff/arco/named/cancel", query="Carlos", confirm="yes")

    assert unconfirmed.status_code == 422
    assert "Tick the box to confirm" in unconfirmed.text
    assert f'value="{named[0]}:reference1" id="place-1" checked' in unconfirmed.text
    assert unticked.status_code == 422
    assert "Tick the places where this person is named." in unticked.text
    assert [n.reference1_name for n in nominations(session)][:2] == ["Carlos Méndez"] * 2
    assert events(session, "arco.named_cancel") == []


@pytest.mark.parametrize("place", ["99999999999:reference1", "0:nominee", "1:nominator", "x"])
def test_named_place_that_is_not_a_nomination_of_ours_is_422(
    staff: TestClient, session: Session, named: list[int], place: str
) -> None:
    response = post(staff, "/staff/arco/named/cancel", query="Carlos", place=[place], confirm="yes")

    assert response.status_code == 422
    assert events(session, "arco.named_cancel") == []
