"""The screening queue, one nomination's page, its evidence files, and staff's decisions."""

import hashlib
import json
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from typing import Any
from urllib.parse import unquote

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event
from sqlmodel import Session, func, select

from app.config import Settings
from app.models import (
    Account,
    AuditEvent,
    EvidenceFile,
    GovernmentLevel,
    Nomination,
    NominationNote,
    NominationStatus,
    Relationship,
    Role,
    Theme,
    utcnow,
)
from app.services.files import FileStore
from app.services.nominations.screening import download_name
from app.services.text import search_text
from tests.factories import (
    csrf_token_from,
    make_account,
    make_campaign,
    make_open_campaign,
    make_pdf,
    make_theme,
    nomination_data,
    post_nomination,
    sign_in,
)

PDF = make_pdf()


def add_nomination(session: Session, theme: Theme, **overrides: Any) -> Nomination:
    """A stored nomination, as the public form would have left it."""
    values: dict[str, Any] = {
        "reference": secrets.token_urlsafe(16),
        "submission_key": secrets.token_hex(16),
        "theme_id": theme.id,
        "nominee_name": "Ana Pérez Gómez",
        "nominee_position": "Directora de Auditoría",
        "nominee_institution": "Comisión Estatal del Agua",
        "government_level": GovernmentLevel.state,
        "state": "JAL",
        "years_of_service": 6,
        "achievement": "Detuvo una compra amañada.\nY lo documentó.",
        "impact": "Se recuperaron recursos.",
        "obstacles": "Amenazas.",
        "how_known": "Trabajamos juntas.",
        "reference1_name": "Carlos Méndez",
        "reference1_contact": "carlos@example.org",
        "reference2_name": "Lucía Pérez",
        "reference2_contact": "+52 228 555 0101",
        "nominator_name": "Rosa Nominadora",
        "nominator_email": "rosa@example.org",
        "nominator_phone": "+52 33 5555 0000",
        "nominator_relationship": Relationship.colleague,
        "privacy_consent_at": utcnow(),
        "submitted_at": utcnow(),
        **overrides,
    }
    values.setdefault(
        "search_text", search_text(values["nominee_name"], values["nominee_institution"])
    )
    nomination = Nomination(**values)
    session.add(nomination)
    session.flush()
    return nomination


@pytest.fixture
def themes(session: Session) -> tuple[Theme, Theme]:
    _, youth, sustainability = make_open_campaign(session)
    return youth, sustainability


@pytest.fixture
def staff(session: Session) -> Account:
    return make_account(session, Role.staff, name="Sara Screener")


@pytest.fixture
def staff_client(client: TestClient, session: Session, staff: Account) -> TestClient:
    sign_in(client, session, staff)
    client.get("/?lang=en")
    return client


def names_in(page: str) -> list[str]:
    """The nominees listed in the queue, in order."""
    return re.findall(r'<a href="/staff/nominations/\d+">([^<]+)</a>', page)


def stored(session: Session, nomination_id: int | None) -> Nomination:
    session.expire_all()
    found = session.get(Nomination, nomination_id)
    assert found is not None
    return found


def audit_events(session: Session, action: str) -> list[AuditEvent]:
    session.expire_all()
    return list(session.exec(select(AuditEvent).where(AuditEvent.action == action)).all())


@contextmanager
def counted_statements(engine: Engine) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(args[2])

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


# The queue


def test_queue_lists_nominations_with_their_details_and_no_reference(
    staff_client: TestClient, session: Session, themes: tuple[Theme, Theme]
) -> None:
    youth, _ = themes
    nomination = add_nomination(session, youth, state="OAX")
    session.commit()

    page = staff_client.get("/staff/nominations")

    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    assert names_in(page.text) == ["Ana Pérez Gómez"]
    row = page.text.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    for shown in (
        "Youth",
        "Directora de Auditoría",
        "Comisión Estatal del Agua",
        "OAX",
        "Received",
    ):
        assert shown in row
    assert nomination.reference not in page.text
    assert "rosa@example.org" not in page.text


def test_queue_filter_by_theme_lists_only_that_theme(
    staff_client: TestClient, session: Session, themes: tuple[Theme, Theme]
) -> None:
    youth, sustainability = themes
    add_nomination(session, youth, nominee_name="Joven Uno")
    add_nomination(session, sustainability, nominee_name="Verde Dos")
    session.commit()

    page = staff_client.get("/staff/nominations?theme=sustainability")

    assert names_in(page.text) == ["Verde Dos"]
    assert '<option value="sustainability" selected>' in page.text


def test_queue_filter_by_status_lists_only_that_status(
    staff_client: TestClient, session: Session, themes: tuple[Theme, Theme]
) -> None:
    youth, _ = themes
    add_nomination(session, youth, nominee_name="Recibida")
    add_nomination(session, youth, nominee_name="Elegible", status=NominationStatus.eligible)
    add_nomination(
        session,
        youth,
        nominee_name="No Elegible",
        status=NominationStatus.ineligible,
        status_reason="No es servidora pública.",
    )
    session.commit()

    assert names_in(staff_client.get("/staff/nominations?status=eligible").text) == ["Elegible"]
    assert names_in(staff_client.get("/staff/nominations?status=ineligible").text) == [
        "No Elegible"
    ]


def test_queue_filter_by_state_lists_only_that_state(
    staff_client: TestClient, session: Session, themes: tuple[Theme, Theme]
) -> None:
    youth, _ = themes
    add_nomination(session, youth, nominee_name="De Oaxaca", state="OAX")
    add_nomination(session, youth, nominee_name="De Jalisco", state="JAL")
    session.commit()

    assert names_in(staff_client.get("/staff/nominations?state=OAX").text) == ["De Oaxaca"]


@pytest.mark.parametrize("query", ["lopez", "LÓPEZ", "  López  ", "lopez xalapa", "XALAPA"])
def test_queue_search_ignores_case_and_accents(
    staff_client: TestClient, session: Session, themes: tuple[Theme, Theme], query: str
) -> None:
    youth, _ = themes
    add_nomination(
        session,
        youth,
        nominee_name="María Fernanda López Ruiz",
        nominee_institution="Ayuntamiento de Xalapa",
    )
    add_nomination(session, youth, nominee_name="Jorge Lozano", nominee_institution="IMSS")
    session.commit()

    page = staff_client.get("/staff/nominations", params={"q": query})

    assert names_in(page.text) == ["María Fernanda López Ruiz"]


def test_queue_search_treats_wildcards_as_text(
    staff_client: TestClient, session: Session, themes: tuple[Theme, Theme]
) -> None:
    youth, _ = themes
    add_nomination(session, youth, nominee_name="Ana Pérez")
    session.commit()

    for query in ("%", "_", "a%z"):
        page = staff_client.get("/staff/nominations", params={"q": query})
        assert names_in(page.text) == []
        assert "No nomination matches these filters." in page.text


def test_queue_filters_combine(
    staff_client: TestClient, session: Session, themes: tuple[Theme, Theme]
) -> None:
    youth, sustainability = themes
    add_nomination(session, youth, nominee_name="Ana López", state="OAX")
    add_nomination(session, youth, nominee_name="Bea López", state="JAL")
    add_nomination(session, sustainability, nominee_name="Cira López", state="OAX")
    add_nomination(
        session, youth, nominee_name="Dora López", state="OAX", status=NominationStatus.eligible
    )
    session.commit()

    page = staff_client.get(
        "/staff/nominations", params={"theme": "youth", "state": "OAX", "status": "received"}
    )

    assert names_in(page.text) == ["Ana López"]


def test_queue_unknown_filter_values_are_ignored(
    staff_client: TestClient, session: Session, themes: tuple[Theme, Theme]
) -> None:
    youth, _ = themes
    add_nomination(session, youth)
    session.commit()

    page = staff_client.get("/staff/nominations?status=bogus&sort=sideways&page=-3&state=TOOLONG")

    assert page.status_code == 200
    assert names_in(page.text) == ["Ana Pérez Gómez"]


def test_queue_sorts_by_date_nominee_and_state(
    staff_client: TestClient, session: Session, themes: tuple[Theme, Theme]
) -> None:
    youth, _ = themes
    now = utcnow()
    add_nomination(session, youth, nominee_name="Zoe Álvarez", state="AGU", submitted_at=now)
    add_nomination(
        session,
        youth,
        nominee_name="Ángel Zárate",
        state="ZAC",
        submitted_at=now - timedelta(days=2),
    )
    add_nomination(
        session, youth, nominee_name="Mario Ruiz", state="MOR", submitted_at=now - timedelta(days=1)
    )
    session.commit()

    def order(sort: str) -> list[str]:
        return names_in(staff_client.get(f"/staff/nominations?sort={sort}").text)

    assert order("newest") == ["Zoe Álvarez", "Mario Ruiz", "Ángel Zárate"]
    assert order("oldest") == ["Ángel Zárate", "Mario Ruiz", "Zoe Álvarez"]
    # By the folded name: "Ángel" sorts with the A's, not after the Z's.
    assert order("nominee") == ["Ángel Zárate", "Mario Ruiz", "Zoe Álvarez"]
    assert order("state") == ["Zoe Álvarez", "Mario Ruiz", "Ángel Zárate"]


def test_queue_pages_hold_50_and_links_keep_the_filters(
    staff_client: TestClient, session: Session, themes: tuple[Theme, Theme]
) -> None:
    youth, sustainability = themes
    start = utcnow()
    for number in range(120):
        add_nomination(
            session,
            youth,
            nominee_name=f"Persona {number:03d}",
            state="OAX",
            submitted_at=start - timedelta(minutes=number),
        )
    add_nomination(session, sustainability, nominee_name="Otro Tema", state="OAX")
    session.commit()

    first = staff_client.get("/staff/nominations?theme=youth&state=OAX&sort=oldest")
    next_link = re.search(r'href="/staff/nominations\?([^"]+)" rel="next"', first.text)
    assert next_link is not None
    second = staff_client.get("/staff/nominations?" + next_link.group(1).replace("&amp;", "&"))
    third = staff_client.get("/staff/nominations?theme=youth&state=OAX&sort=oldest&page=3")
    beyond = staff_client.get("/staff/nominations?theme=youth&state=OAX&sort=oldest&page=99")

    assert names_in(first.text) == [f"Persona {n:03d}" for n in range(119, 69, -1)]
    assert "120 nominations" in first.text
    assert "Page 1 of 3" in first.text
    assert sorted(next_link.group(1).replace("&amp;", "&").split("&")) == [
        "page=2",
        "sort=oldest",
        "state=OAX",
        "theme=youth",
    ]
    assert names_in(second.text) == [f"Persona {n:03d}" for n in range(69, 19, -1)]
    assert names_in(third.text) == [f"Persona {n:03d}" for n in range(19, -1, -1)]
    assert 'rel="next"' not in third.text
    assert names_in(beyond.text) == names_in(third.text)


def test_queue_shows_the_number_of_evidence_files(
    staff_client: TestClient, session: Session, themes: tuple[Theme, Theme]
) -> None:
    youth, _ = themes
    now = utcnow()
    with_files = add_nomination(session, youth, nominee_name="Con Archivos", submitted_at=now)
    add_nomination(
        session, youth, nominee_name="Sin Archivos", submitted_at=now - timedelta(hours=1)
    )
    assert with_files.id is not None
    for position in range(3):
        session.add(
            EvidenceFile(
                nomination_id=with_files.id,
                position=position,
                sha256=hashlib.sha256(bytes([position])).hexdigest(),
                content_type="application/pdf",
                size=10,
                original_name=f"{position}.pdf",
            )
        )
    session.commit()

    page = staff_client.get("/staff/nominations")

    rows = page.text.split("<tbody>", 1)[1].split("</tr>")
    assert "Con Archivos" in rows[0] and rows[0].rstrip().endswith("<td>3</td>")
    assert "Sin Archivos" in rows[1] and rows[1].rstrip().endswith("<td>0</td>")


def test_queue_issues_the_same_few_statements_for_few_or_many_rows(
    staff_client: TestClient, session: Session, engine: Engine, themes: tuple[Theme, Theme]
) -> None:
    youth, _ = themes

    def add(count: int) -> None:
        for _ in range(count):
            nomination = add_nomination(session, youth)
            assert nomination.id is not None
            session.add(
                EvidenceFile(
                    nomination_id=nomination.id,
                    position=0,
                    sha256="a" * 64,
                    content_type="application/pdf",
                    size=10,
                    original_name="a.pdf",
                )
            )
        session.commit()

    add(2)
    staff_client.get("/staff/nominations")  # a first request warms caches
    with counted_statements(engine) as few:
        small = staff_client.get("/staff/nominations")
    add(58)
    with counted_statements(engine) as many:
        large = staff_client.get("/staff/nominations")

    assert len(names_in(small.text)) == 2
    assert len(names_in(large.text)) == 50
    assert len(many) == len(few)
    assert len(many) <= 10


def test_queue_without_campaign_says_so(client: TestClient, session: Session) -> None:
    sign_in(client, session, make_account(session, Role.staff))
    client.get("/?lang=en")

    page = client.get("/staff/nominations")

    assert page.status_code == 200
    assert "There is no campaign yet" in page.text


def test_queue_lists_only_the_current_campaign(
    staff_client: TestClient, session: Session, themes: tuple[Theme, Theme]
) -> None:
    youth, _ = themes
    earlier = make_campaign(session, year=date.today().year - 1)
    old_theme = make_theme(
        session,
        earlier,
        slug="youth",
        opens_at=utcnow() - timedelta(days=400),
        closes_at=utcnow() - timedelta(days=300),
    )
    add_nomination(session, old_theme, nominee_name="Del Año Pasado")
    add_nomination(session, youth, nominee_name="De Este Año")
    session.commit()

    assert names_in(staff_client.get("/staff/nominations").text) == ["De Este Año"]


# One nomination


def test_nomination_page_shows_every_field_and_the_nominator_to_staff(
    staff_client: TestClient, session: Session, themes: tuple[Theme, Theme]
) -> None:
    response = post_nomination(staff_client, data=nomination_data(nominee_age="31"))
    assert response.status_code == 303
    nomination = session.exec(select(Nomination)).one()

    page = staff_client.get(f"/staff/nominations/{nomination.id}")

    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    for shown in (
        "María Fernanda López Ruiz",
        "Directora de Agua Potable",
        "Ayuntamiento de Xalapa",
        "Municipal government",
        "Veracruz de Ignacio de la Llave",
        "Denunció un desvío de fondos",
        "Carlos Méndez",
        "carlos@example.org",
        "Lucía Pérez",
        "Roberto Sánchez",
        "roberto@example.org",
        "+52 55 5555 0000",
        "Colleague",
        "agua@xalapa.example",
        "Privacy notice accepted",
    ):
        assert shown in page.text, shown


def test_nomination_page_escapes_what_citizens_typed(
    staff_client: TestClient, session: Session, themes: tuple[Theme, Theme]
) -> None:
    youth, _ = themes
    nomination = add_nomination(session, youth, achievement="<script>alert(1)</script>")
    session.commit()

    page = staff_client.get(f"/staff/nominations/{nomination.id}")

    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text


@pytest.mark.parametrize("bad_id", ["999", "0", "abc", "-1", "1.5", "99999999999", "١"])
def test_nomination_page_unknown_id_is_not_found(
    staff_client: TestClient, session: Session, themes: tuple[Theme, Theme], bad_id: str
) -> None:
    add_nomination(session, themes[0])
    session.commit()

    assert staff_client.get(f"/staff/nominations/{bad_id}").status_code == 404


# Evidence files


@pytest.fixture
def with_pdf(
    staff_client: TestClient, session: Session, themes: tuple[Theme, Theme]
) -> tuple[Nomination, EvidenceFile]:
    response = post_nomination(
        staff_client,
        data=nomination_data(sensitive_consent="yes"),
        files=[("evidence", ("Informe López: ¿final?.pdf", PDF, "application/pdf"))],
    )
    assert response.status_code == 303
    nomination = session.exec(select(Nomination)).one()
    file = session.exec(select(EvidenceFile)).one()
    return nomination, file


def test_nomination_page_lists_files_with_download_links(
    staff_client: TestClient, with_pdf: tuple[Nomination, EvidenceFile]
) -> None:
    nomination, file = with_pdf

    page = staff_client.get(f"/staff/nominations/{nomination.id}")

    assert f'href="/staff/nominations/{nomination.id}/files/{file.id}"' in page.text
    assert "Informe López: ¿final?.pdf" in page.text
    assert "application/pdf" in page.text


def test_file_download_is_an_attachment_with_safe_headers_and_the_bytes(
    staff_client: TestClient, with_pdf: tuple[Nomination, EvidenceFile]
) -> None:
    nomination, file = with_pdf

    response = staff_client.get(f"/staff/nominations/{nomination.id}/files/{file.id}")

    assert response.status_code == 200
    assert response.content == PDF
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["content-security-policy"] == "sandbox; default-src 'none'"
    assert response.headers["cache-control"] == "no-store"
    disposition = response.headers["content-disposition"]
    assert disposition.startswith("attachment;")
    fallback = re.search(r'filename="([^"]*)"', disposition)
    encoded = re.search(r"filename\*=UTF-8''(\S+)", disposition)
    assert fallback is not None and encoded is not None
    assert fallback.group(1) == "Informe Lopez_ final_.pdf"
    assert unquote(encoded.group(1)) == "Informe López_ ¿final_.pdf"


def test_file_download_name_ends_with_the_real_type(
    staff_client: TestClient, session: Session, with_pdf: tuple[Nomination, EvidenceFile]
) -> None:
    nomination, file = with_pdf
    file.original_name = "../../pagina.html"
    session.add(file)
    session.commit()

    response = staff_client.get(f"/staff/nominations/{nomination.id}/files/{file.id}")

    disposition = response.headers["content-disposition"]
    assert 'filename="_.._pagina.html.pdf"' in disposition
    assert "/" not in unquote(disposition)


@pytest.mark.parametrize(
    ("original", "content_type", "expected"),
    [
        ('a "quoted"\r\nname.pdf', "application/pdf", "a _quoted___name.pdf"),
        ("foto.JPEG", "image/jpeg", "foto.JPEG"),
        ("foto.png", "image/jpeg", "foto.png.jpg"),
        ("script.js", "image/webp", "script.js.webp"),
        ("...", "application/pdf", "evidence-1.pdf"),
        ("informe\u202efdp.exe", "application/pdf", "informe_fdp.exe.pdf"),
    ],
)
def test_download_name_is_safe_and_says_what_the_file_is(
    original: str, content_type: str, expected: str
) -> None:
    file = EvidenceFile(
        nomination_id=1,
        position=0,
        sha256="a" * 64,
        content_type=content_type,
        size=1,
        original_name=original,
    )

    assert download_name(file) == expected


def test_file_of_another_nomination_is_not_found(
    staff_client: TestClient,
    session: Session,
    themes: tuple[Theme, Theme],
    with_pdf: tuple[Nomination, EvidenceFile],
) -> None:
    _, file = with_pdf
    other = add_nomination(session, themes[0])
    session.commit()

    response = staff_client.get(f"/staff/nominations/{other.id}/files/{file.id}")

    assert response.status_code == 404
    assert response.content != PDF


@pytest.mark.parametrize("file_path", ["999", "abc", "99999999999"])
def test_file_unknown_id_is_not_found(
    staff_client: TestClient, with_pdf: tuple[Nomination, EvidenceFile], file_path: str
) -> None:
    nomination, _ = with_pdf

    assert (
        staff_client.get(f"/staff/nominations/{nomination.id}/files/{file_path}").status_code == 404
    )


def test_file_missing_from_disk_is_not_found(
    staff_client: TestClient, settings: Settings, with_pdf: tuple[Nomination, EvidenceFile]
) -> None:
    nomination, file = with_pdf
    FileStore(settings.files_dir).remove(file.sha256)

    response = staff_client.get(f"/staff/nominations/{nomination.id}/files/{file.id}")

    assert response.status_code == 404


def test_file_download_refused_to_anonymous_and_judges(
    staff_client: TestClient, session: Session, with_pdf: tuple[Nomination, EvidenceFile]
) -> None:
    nomination, file = with_pdf
    url = f"/staff/nominations/{nomination.id}/files/{file.id}"
    staff_client.cookies.clear()

    anonymous = staff_client.get(url, follow_redirects=False)
    sign_in(staff_client, session, make_account(session, Role.judge))
    judge = staff_client.get(url, follow_redirects=False)

    assert anonymous.status_code == 303
    assert anonymous.headers["location"].startswith("/login?next=")
    assert judge.status_code == 403
    assert PDF not in anonymous.content and PDF not in judge.content
    assert "content-disposition" not in judge.headers


# Decisions


def decide(client: TestClient, nomination_id: int | None, **fields: str) -> Any:
    page = client.get(f"/staff/nominations/{nomination_id}")
    return client.post(
        f"/staff/nominations/{nomination_id}/status",
        data={"csrf_token": csrf_token_from(page), **fields},
        follow_redirects=False,
    )


def test_mark_eligible_changes_status_and_audits_actor_and_statuses(
    staff_client: TestClient, session: Session, staff: Account, themes: tuple[Theme, Theme]
) -> None:
    nomination = add_nomination(session, themes[0])
    session.commit()

    response = decide(staff_client, nomination.id, action="eligible", reason="")

    assert response.status_code == 303
    assert response.headers["location"] == f"/staff/nominations/{nomination.id}"
    assert stored(session, nomination.id).status is NominationStatus.eligible
    [event] = audit_events(session, "nomination.status")
    assert event.actor_id == staff.id
    assert (event.object_type, event.object_id) == ("nomination", str(nomination.id))
    assert json.loads(event.before) == {"status": "received"}
    assert json.loads(event.after)["status"] == "eligible"
    page = staff_client.get(response.headers["location"])
    assert '<span class="badge eligible">Eligible</span>' in page.text
    assert "status changed from Received to Eligible" in page.text


def test_mark_not_eligible_keeps_the_reason_and_audits(
    staff_client: TestClient, session: Session, staff: Account, themes: tuple[Theme, Theme]
) -> None:
    nomination = add_nomination(session, themes[0])
    session.commit()

    response = decide(
        staff_client, nomination.id, action="ineligible", reason="  Trabaja en una empresa.  "
    )

    assert response.status_code == 303
    saved = stored(session, nomination.id)
    assert saved.status is NominationStatus.ineligible
    assert saved.status_reason == "Trabaja en una empresa."
    [event] = audit_events(session, "nomination.status")
    assert event.actor_id == staff.id
    assert json.loads(event.before) == {"status": "received"}
    assert json.loads(event.after) == {
        "status": "ineligible",
        "changed": ["status", "status_reason"],
    }
    assert "Trabaja en una empresa." in staff_client.get(f"/staff/nominations/{nomination.id}").text


def test_mark_not_eligible_without_reason_is_refused_beside_the_field(
    staff_client: TestClient, session: Session, themes: tuple[Theme, Theme]
) -> None:
    nomination = add_nomination(session, themes[0])
    session.commit()

    response = decide(staff_client, nomination.id, action="ineligible", reason="   ")

    assert response.status_code == 422
    error = response.text.split('id="error-reason"', 1)[1].split("</p>", 1)[0]
    assert "Write why this nomination is not eligible." in error
    assert '<option value="ineligible" selected>' in response.text
    saved = stored(session, nomination.id)
    assert (saved.status, saved.status_reason) == (NominationStatus.received, "")
    assert audit_events(session, "nomination.status") == []


def test_mark_withdrawn_needs_no_reason(
    staff_client: TestClient, session: Session, staff: Account, themes: tuple[Theme, Theme]
) -> None:
    nomination = add_nomination(session, themes[0], status=NominationStatus.eligible)
    session.commit()

    response = decide(staff_client, nomination.id, action="withdrawn", reason="")

    assert response.status_code == 303
    assert stored(session, nomination.id).status is NominationStatus.withdrawn
    [event] = audit_events(session, "nomination.status")
    assert (json.loads(event.before), json.loads(event.after)["status"]) == (
        {"status": "eligible"},
        "withdrawn",
    )
    assert event.actor_id == staff.id


def test_mark_eligible_after_not_eligible_clears_the_reason(
    staff_client: TestClient, session: Session, themes: tuple[Theme, Theme]
) -> None:
    nomination = add_nomination(
        session, themes[0], status=NominationStatus.ineligible, status_reason="Error de captura."
    )
    session.commit()

    decide(staff_client, nomination.id, action="eligible")

    saved = stored(session, nomination.id)
    assert (saved.status, saved.status_reason) == (NominationStatus.eligible, "")
    [event] = audit_events(session, "nomination.status")
    assert json.loads(event.before) == {"status": "ineligible"}
    assert "Error de captura." not in event.before + event.after


def test_same_decision_twice_is_recorded_once(
    staff_client: TestClient, session: Session, themes: tuple[Theme, Theme]
) -> None:
    nomination = add_nomination(session, themes[0])
    session.commit()

    first = decide(staff_client, nomination.id, action="eligible")
    second = decide(staff_client, nomination.id, action="eligible")

    assert first.status_code == second.status_code == 303
    assert len(audit_events(session, "nomination.status")) == 1


@pytest.mark.parametrize(
    "fields",
    [
        {"action": "received"},
        {"action": "approved"},
        {"action": ""},
        {},
        {"action": "eligible", "status": "eligible"},
        {"action": "withdrawn", "reason": "x" * 2001},
    ],
)
def test_invalid_decision_is_refused_and_changes_nothing(
    staff_client: TestClient, session: Session, themes: tuple[Theme, Theme], fields: dict[str, str]
) -> None:
    nomination = add_nomination(session, themes[0])
    session.commit()

    response = decide(staff_client, nomination.id, **fields)

    assert response.status_code == 422
    assert "Please correct the following" in response.text
    assert stored(session, nomination.id).status is NominationStatus.received
    assert audit_events(session, "nomination.status") == []


def test_decision_without_csrf_token_is_refused(
    staff_client: TestClient, session: Session, themes: tuple[Theme, Theme]
) -> None:
    nomination = add_nomination(session, themes[0])
    session.commit()

    response = staff_client.post(
        f"/staff/nominations/{nomination.id}/status",
        data={"action": "eligible"},
        follow_redirects=False,
    )

    assert response.status_code == 403
    assert stored(session, nomination.id).status is NominationStatus.received
    assert audit_events(session, "nomination.status") == []


@pytest.mark.parametrize("bad_id", ["999", "abc", "99999999999"])
def test_decision_on_unknown_nomination_is_not_found(
    staff_client: TestClient, session: Session, themes: tuple[Theme, Theme], bad_id: str
) -> None:
    nomination = add_nomination(session, themes[0])
    session.commit()
    token = csrf_token_from(staff_client.get(f"/staff/nominations/{nomination.id}"))

    response = staff_client.post(
        f"/staff/nominations/{bad_id}/status",
        data={"csrf_token": token, "action": "eligible"},
        follow_redirects=False,
    )

    assert response.status_code == 404
    assert audit_events(session, "nomination.status") == []


# Notes


def test_note_is_kept_with_author_and_date_and_audited(
    staff_client: TestClient, session: Session, staff: Account, themes: tuple[Theme, Theme]
) -> None:
    nomination = add_nomination(session, themes[0])
    session.commit()
    token = csrf_token_from(staff_client.get(f"/staff/nominations/{nomination.id}"))

    response = staff_client.post(
        f"/staff/nominations/{nomination.id}/notes",
        data={"csrf_token": token, "body": "Llamé a la primera referencia: confirma."},
        follow_redirects=False,
    )

    assert response.status_code == 303
    session.expire_all()
    note = session.exec(select(NominationNote)).one()
    assert (note.nomination_id, note.author_id) == (nomination.id, staff.id)
    assert note.body == "Llamé a la primera referencia: confirma."
    [event] = audit_events(session, "nomination.note")
    assert event.actor_id == staff.id
    assert json.loads(event.after) == {"note_id": note.id}
    page = staff_client.get(f"/staff/nominations/{nomination.id}")
    notes = page.text.split('id="notes"', 1)[1]
    assert "Llamé a la primera referencia: confirma." in notes
    assert "Sara Screener" in notes


def test_empty_note_is_refused_beside_the_field(
    staff_client: TestClient, session: Session, themes: tuple[Theme, Theme]
) -> None:
    nomination = add_nomination(session, themes[0])
    session.commit()
    token = csrf_token_from(staff_client.get(f"/staff/nominations/{nomination.id}"))

    response = staff_client.post(
        f"/staff/nominations/{nomination.id}/notes",
        data={"csrf_token": token, "body": "  \n "},
        follow_redirects=False,
    )

    assert response.status_code == 422
    assert 'id="error-body"' in response.text
    assert session.exec(select(func.count()).select_from(NominationNote)).one() == 0
    assert audit_events(session, "nomination.note") == []


def test_notes_are_listed_newest_first(
    staff_client: TestClient, session: Session, staff: Account, themes: tuple[Theme, Theme]
) -> None:
    nomination = add_nomination(session, themes[0])
    assert nomination.id is not None and staff.id is not None
    now = utcnow()
    for hours, body in ((2, "Nota antigua"), (1, "Nota reciente")):
        session.add(
            NominationNote(
                nomination_id=nomination.id,
                author_id=staff.id,
                body=body,
                created_at=now - timedelta(hours=hours),
            )
        )
    session.commit()

    page = staff_client.get(f"/staff/nominations/{nomination.id}").text

    assert page.index("Nota reciente") < page.index("Nota antigua")


def test_bulk_decision_decides_the_ticked_nominations_with_one_reason_each_audited(
    staff_client: TestClient, session: Session, staff: Account, themes: tuple[Theme, Theme]
) -> None:
    one, two, left = (add_nomination(session, themes[0], nominee_name=n) for n in "ABC")
    session.commit()
    page = staff_client.get("/staff/nominations?theme=" + themes[0].slug)
    assert 'action="/staff/nominations/bulk?theme=' in page.text

    response = staff_client.post(
        f"/staff/nominations/bulk?theme={themes[0].slug}",
        data={
            "csrf_token": csrf_token_from(page),
            "nominations": [str(one.id), str(two.id)],
            "action": "ineligible",
            "reason": "Trabajan en una empresa privada.",
        },
        follow_redirects=False,
    )

    assert response.status_code == 303
    assert response.headers["location"] == f"/staff/nominations?theme={themes[0].slug}"
    for nomination in (one, two):
        saved = stored(session, nomination.id)
        assert saved.status is NominationStatus.ineligible
        assert saved.status_reason == "Trabajan en una empresa privada."
    assert stored(session, left.id).status is NominationStatus.received
    trail = audit_events(session, "nomination.status")
    assert sorted(e.object_id for e in trail) == sorted([str(one.id), str(two.id)])
    assert {e.actor_id for e in trail} == {staff.id}


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"action": "eligible"}, "nominations", "Tick at least one."),
        ({"action": "ineligible", "tick": "yes"}, "reason", "Write why this nomination"),
    ],
)
def test_bulk_decision_refused_keeps_the_ticks_and_changes_nothing(
    staff_client: TestClient,
    session: Session,
    themes: tuple[Theme, Theme],
    fields: dict[str, str],
    field: str,
    message: str,
) -> None:
    nomination = add_nomination(session, themes[0])
    session.commit()
    page = staff_client.get("/staff/nominations")
    data: dict[str, Any] = {"csrf_token": csrf_token_from(page), "action": fields["action"]}
    if fields.get("tick"):
        data["nominations"] = [str(nomination.id)]

    response = staff_client.post("/staff/nominations/bulk", data=data, follow_redirects=False)

    assert response.status_code == 422
    assert message in response.text
    assert f'href="#field-{field}"' in response.text
    if fields.get("tick"):
        assert f'value="{nomination.id}" id="select-{nomination.id}"' in response.text
        assert "checked" in response.text.split(f'id="select-{nomination.id}"')[1][:200]
    assert stored(session, nomination.id).status is NominationStatus.received
    assert audit_events(session, "nomination.status") == []
