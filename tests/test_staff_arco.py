import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import text
from sqlmodel import Session, col, func, select

from app.models import (
    Account,
    AuditEvent,
    Candidate,
    Nomination,
    NominationNote,
    OutboxMessage,
    Role,
    Theme,
    utcnow,
)
from tests.factories import (
    csrf_token_from,
    make_account,
    make_open_campaign,
    nomination_data,
    post_nomination,
    sign_in,
)
from tests.test_staff_exports import add_nomination, read_csv

EMAIL = "roberto@example.org"


@pytest.fixture
def themes(session: Session) -> tuple[Theme, Theme]:
    _, youth, sustainability = make_open_campaign(session)
    return youth, sustainability


@pytest.fixture
def staff_account(session: Session) -> Account:
    return make_account(session, Role.staff, email="staff.person@example.org")


@pytest.fixture
def staff(client: TestClient, session: Session, staff_account: Account) -> TestClient:
    sign_in(client, session, staff_account)
    client.get("/?lang=en")
    return client


def post(client: TestClient, path: str, **fields: str) -> Response:
    token = csrf_token_from(client.get("/staff/arco"))
    return client.post(path, data={"csrf_token": token, **fields}, follow_redirects=False)


def refresh(session: Session) -> None:
    """Ends the test session's read transaction (on SQLite it would keep seeing an old
    snapshot) and forgets loaded rows, so what the app committed is read afresh."""
    session.commit()
    session.expire_all()


def nominations_by(session: Session, email: str) -> list[Nomination]:
    refresh(session)
    # In the order the service lists them (without one, PostgreSQL's is the rows' placement).
    query = select(Nomination).where(Nomination.nominator_email == email)
    return list(
        session.exec(query.order_by(col(Nomination.submitted_at), col(Nomination.id))).all()
    )


def audit_text(session: Session) -> str:
    """Every column of every audit event, as one text to search."""
    refresh(session)
    rows = session.exec(select(AuditEvent)).all()
    return "\n".join(json.dumps(row.model_dump(mode="json"), ensure_ascii=False) for row in rows)


def events(session: Session, action: str) -> list[dict[str, Any]]:
    refresh(session)
    found = session.exec(select(AuditEvent).where(AuditEvent.action == action)).all()
    return [json.loads(event.after) for event in found]


@pytest.fixture
def nominated(client: TestClient, session: Session, themes: tuple[Theme, Theme]) -> list[int]:
    """Two nominations by Roberto through the public form (with their e-mail receipts), one of
    them already sent, and one by somebody else."""
    post_nomination(client, "youth")
    post_nomination(
        client, "sustainability", data=nomination_data(nominee_name="Julia Campos Ortiz")
    )
    post_nomination(
        client,
        "youth",
        data=nomination_data(
            nominee_name="Pedro Otro",
            nominator_name="Otra Persona",
            nominator_email="otra@example.org",
        ),
    )
    first = session.exec(select(OutboxMessage).order_by(OutboxMessage.id)).first()
    assert first is not None
    first.sent_at = utcnow()
    session.add(first)
    session.commit()
    return [n.id for n in nominations_by(session, EMAIL) if n.id is not None]


def test_arco_search_finds_nominations_case_insensitively(
    staff: TestClient, session: Session, nominated: list[int]
) -> None:
    response = post(staff, "/staff/arco", email="  Roberto@EXAMPLE.org ")

    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    page = response.text
    assert "2 nominations sent from this address" in page
    assert "María Fernanda López Ruiz" in page
    assert "Julia Campos Ortiz" in page
    assert "Pedro Otro" not in page
    assert "Roberto Sánchez" in page
    assert "+52 55 5555 0000" in page
    assert "Denunció un desvío de fondos" in page
    assert "Accepted the privacy notice" in page
    assert "E-mails written to this address" in page
    assert "Not sent yet" in page
    assert "This address appears nowhere else." in page


def test_arco_search_is_a_post_form_and_ignores_an_address_in_the_url(
    staff: TestClient, nominated: list[int]
) -> None:
    page = staff.get(f"/staff/arco?email={EMAIL}")

    assert page.status_code == 200
    assert '<form method="post" action="/staff/arco"' in page.text
    assert "María Fernanda López Ruiz" not in page.text


def test_arco_search_without_csrf_token_is_refused(staff: TestClient, nominated: list[int]) -> None:
    response = staff.post("/staff/arco", data={"email": EMAIL})

    assert response.status_code == 403
    assert "María Fernanda López Ruiz" not in response.text


def test_arco_search_with_invalid_address_is_422_with_message(
    staff: TestClient, nominated: list[int]
) -> None:
    response = post(staff, "/staff/arco", email="not an address")

    assert response.status_code == 422
    assert "Enter a valid e-mail address" in response.text
    assert 'value="not an address"' in response.text


def test_arco_search_unknown_address_says_nothing_is_held(
    staff: TestClient, nominated: list[int]
) -> None:
    response = post(staff, "/staff/arco", email="nadie@example.org")

    assert response.status_code == 200
    assert "We hold no data about this e-mail address." in response.text


def test_arco_search_shows_where_else_the_address_appears(
    staff: TestClient, session: Session, themes: tuple[Theme, Theme], staff_account: Account
) -> None:
    youth, _ = themes
    named = add_nomination(
        session,
        youth,
        nominator_email="otra@example.org",
        reference1_contact="Tel. o ROBERTO@example.org",
    )
    session.add(
        NominationNote(nomination_id=named.id, author_id=staff_account.id, body=f"Llamar a {EMAIL}")
    )
    make_account(session, Role.judge, email=EMAIL, name="Roberto Juez")

    page = post(staff, "/staff/arco", email=EMAIL).text

    assert "Roberto Juez (judge)" in page
    assert f"Nomination {named.id} gives this address as a contact" in page
    assert f"A staff note on nomination {named.id} mentions this address." in page
    assert "entry of the audit trail mentions this address" not in page


def test_arco_export_json_contains_everything_and_is_audited(
    staff: TestClient, session: Session, nominated: list[int]
) -> None:
    response = post(staff, "/staff/arco/export", email="ROBERTO@example.org", format="json")

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.headers["content-disposition"].startswith(
        'attachment; filename="datos-personales-'
    )
    assert EMAIL not in response.headers["content-disposition"]
    assert response.headers["cache-control"] == "no-store"
    document = response.json()
    assert document["email"] == EMAIL
    assert [n["id"] for n in document["nominations"]] == nominated
    first = document["nominations"][0]
    assert first["nominee_name"] == "María Fernanda López Ruiz"
    assert first["nominator_phone"] == "+52 55 5555 0000"
    assert first["achievement"].startswith("Denunció")
    assert first["privacy_consent_at"]
    assert first["may_contact"] is True
    assert "reference" not in first
    assert len(document["emails"]) == 2
    assert document["emails"][0]["sent_at"]
    assert document["emails"][1]["sent_at"] == ""
    assert "Roberto Sánchez" in document["emails"][0]["body"]
    assert events(session, "arco.access") == [
        {"format": "json", "nominations": nominated, "emails": 2}
    ]


def test_arco_export_csv_lists_every_value(
    staff: TestClient, session: Session, nominated: list[int]
) -> None:
    response = post(staff, "/staff/arco/export", email=EMAIL, format="csv")

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    rows = read_csv(response)
    assert rows[0] == ["section", "item", "field", "value"]
    values = {(r[0], r[1], r[2]): r[3] for r in rows[1:]}
    assert values[("nominations", "2", "nominee_name")] == "Julia Campos Ortiz"
    assert values[("nominations", "1", "nominator_phone")] == "'+52 55 5555 0000"
    assert values[("email", "", "")] == EMAIL
    assert len(events(session, "arco.access")) == 1


def test_arco_cancel_anonymises_nominator_and_keeps_the_nomination(
    staff: TestClient, session: Session, nominated: list[int]
) -> None:
    before = {n.id: n.model_dump() for n in nominations_by(session, EMAIL)}

    response = post(staff, "/staff/arco/cancel", email="Roberto@Example.org", confirm="yes")

    assert response.status_code == 303
    assert response.headers["location"] == "/staff/arco?done=cancelled"
    assert "anonymised" in staff.get(response.headers["location"]).text
    assert nominations_by(session, EMAIL) == []
    refresh(session)
    for nomination_id in nominated:
        after = session.get(Nomination, nomination_id)
        assert after is not None
        assert after.nominator_name == ""
        assert after.nominator_email == f"anonimizado+{nominated[0]}@invalid"
        assert after.nominator_phone == ""
        assert after.may_contact is False
        assert after.reveal_identity is False
        old = before[nomination_id]
        for field in (
            "nominee_name",
            "nominee_position",
            "nominee_institution",
            "achievement",
            "impact",
            "obstacles",
            "how_known",
            "reference1_name",
            "reference1_contact",
            "reference2_contact",
            "nominator_relationship",
            "privacy_consent_at",
            "status",
        ):
            assert getattr(after, field) == old[field], field
    messages = session.exec(select(OutboxMessage).order_by(OutboxMessage.id)).all()
    # Roberto's unsent receipt is gone; his sent one keeps only its subject and date.
    assert [m.to_address for m in messages] == ["", "otra@example.org"]
    assert messages[0].body == ""
    assert messages[0].sent_at is not None
    assert "María Fernanda López Ruiz" in messages[0].subject
    other = nominations_by(session, "otra@example.org")
    assert [n.nominator_name for n in other] == ["Otra Persona"]


def test_arco_cancel_audit_holds_ids_and_fields_but_no_personal_values(
    staff: TestClient, session: Session, nominated: list[int]
) -> None:
    post(staff, "/staff/arco/export", email=EMAIL, format="json")
    post(staff, "/staff/arco/rectify", email=EMAIL, nominator_name="Roberto S.", nominator_phone="")

    post(staff, "/staff/arco/cancel", email=EMAIL, confirm="yes")

    assert events(session, "arco.cancel") == [
        {
            "nominations": nominated,
            "fields": [
                "may_contact",
                "nominator_email",
                "nominator_name",
            ],
            "emails_deleted": 1,
            "emails_blanked": 1,
            "evidence_files_deleted": 0,
        }
    ]
    trail = audit_text(session).lower()
    for personal in (EMAIL, "roberto", "sánchez", "5555 0000", "roberto s."):
        assert personal not in trail
    assert "staff.person@example.org" in trail  # the actor is named, as for any change
    raw = session.connection().execute(text("SELECT * FROM audit_event")).all()
    assert EMAIL not in repr(raw).lower()


def test_arco_search_after_cancel_finds_nothing(
    staff: TestClient, session: Session, nominated: list[int]
) -> None:
    post(staff, "/staff/arco/cancel", email=EMAIL, confirm="yes")

    page = post(staff, "/staff/arco", email=EMAIL).text

    assert "We hold no data about this e-mail address." in page
    assert "María Fernanda López Ruiz" not in page
    again = post(staff, "/staff/arco/cancel", email=EMAIL, confirm="yes")
    assert again.status_code == 404


def test_arco_cancel_without_confirmation_is_422_and_changes_nothing(
    staff: TestClient, session: Session, nominated: list[int]
) -> None:
    before = [n.model_dump() for n in nominations_by(session, EMAIL)]
    messages_before = session.exec(select(func.count()).select_from(OutboxMessage)).one()
    refresh(session)

    response = post(staff, "/staff/arco/cancel", email=EMAIL)

    assert response.status_code == 422
    assert "Tick the box to confirm" in response.text
    assert "María Fernanda López Ruiz" in response.text
    assert [n.model_dump() for n in nominations_by(session, EMAIL)] == before
    refresh(session)
    assert session.exec(select(func.count()).select_from(OutboxMessage)).one() == messages_before
    assert events(session, "arco.cancel") == []


def test_arco_cancel_keeps_candidates_count_of_independent_nominators(
    staff: TestClient, session: Session, themes: tuple[Theme, Theme]
) -> None:
    youth, _ = themes
    candidate = Candidate(campaign_id=youth.campaign_id, theme_id=youth.id, name="Ana Torres")
    session.add(candidate)
    session.commit()
    for email in (EMAIL, "Roberto@example.org", "otra@example.org"):
        add_nomination(session, youth, candidate_id=candidate.id, nominator_email=email)

    post(staff, "/staff/arco/cancel", email=EMAIL, confirm="yes")

    rows = read_csv(staff.get("/staff/exports/candidates.csv"))
    assert rows[1][-2:] == ["3", "2"]


def test_arco_rectify_changes_name_and_phone_and_audits_field_names(
    staff: TestClient, session: Session, nominated: list[int]
) -> None:
    response = post(
        staff,
        "/staff/arco/rectify",
        email=EMAIL,
        nominator_name="Roberto Sánchez Díaz",
        nominator_phone="+52 55 1234 5678",
    )

    assert response.status_code == 303
    stored = nominations_by(session, EMAIL)
    assert {(n.nominator_name, n.nominator_phone) for n in stored} == {
        ("Roberto Sánchez Díaz", "+52 55 1234 5678")
    }
    assert events(session, "arco.rectify") == [
        {"nominations": nominated, "fields": ["nominator_name", "nominator_phone"]}
    ]
    assert "1234 5678" not in audit_text(session)


def test_arco_rectify_with_invalid_phone_is_422_and_changes_nothing(
    staff: TestClient, session: Session, nominated: list[int]
) -> None:
    response = post(
        staff, "/staff/arco/rectify", email=EMAIL, nominator_name="", nominator_phone="abc"
    )

    assert response.status_code == 422
    assert "This field is required." in response.text
    assert "Enter a phone number" in response.text
    assert 'value="abc"' in response.text
    assert {n.nominator_name for n in nominations_by(session, EMAIL)} == {"Roberto Sánchez"}
    assert events(session, "arco.rectify") == []


ARCO_ROUTES = [
    ("GET", "/staff/arco"),
    ("POST", "/staff/arco"),
    ("POST", "/staff/arco/export"),
    ("POST", "/staff/arco/cancel"),
    ("POST", "/staff/arco/rectify"),
]


@pytest.mark.parametrize(("method", "path"), ARCO_ROUTES)
def test_arco_route_anonymous_is_sent_to_login(
    client: TestClient, session: Session, nominated: list[int], method: str, path: str
) -> None:
    fields = {"email": EMAIL, "confirm": "yes", "format": "json", "nominator_name": "X"}

    response = client.request(method, path, data=fields, follow_redirects=False)

    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?next=")
    assert len(nominations_by(session, EMAIL)) == 2
    assert {n.nominator_name for n in nominations_by(session, EMAIL)} == {"Roberto Sánchez"}


@pytest.mark.parametrize(("method", "path"), ARCO_ROUTES)
def test_arco_route_judge_is_refused(
    client: TestClient, session: Session, nominated: list[int], method: str, path: str
) -> None:
    sign_in(client, session, make_account(session, Role.judge))
    fields = {"email": EMAIL, "confirm": "yes", "format": "json"}

    response = client.request(method, path, data=fields, follow_redirects=False)

    assert response.status_code == 403
    assert "María Fernanda López Ruiz" not in response.text
    assert {n.nominator_name for n in nominations_by(session, EMAIL)} == {"Roberto Sánchez"}
    assert [e for e in ("arco.access", "arco.cancel", "arco.rectify") if events(session, e)] == []
