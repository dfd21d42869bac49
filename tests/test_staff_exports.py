import csv
import io
import json
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response
from openpyxl import load_workbook
from sqlalchemy import Engine, event
from sqlmodel import Session, select

from app.models import (
    AuditEvent,
    Candidate,
    EvidenceFile,
    Nomination,
    NominationStatus,
    Role,
    Theme,
    utcnow,
)
from app.services.nominations.exports import ExportTurns
from app.services.text import search_text
from tests.factories import make_account, make_open_campaign, nomination_data, sign_in

FORMULAS = ['=HYPERLINK("http://x","y")', "+1+2", "-3", "@SUM(A1)", "\tTab", "=1+1"]


def add_nomination(session: Session, theme: Theme, **overrides: Any) -> Nomination:
    """A stored nomination, straight into the table (the public form is tested elsewhere)."""
    data: dict[str, Any] = {
        k: v for k, v in nomination_data().items() if k not in ("privacy_consent", "may_contact")
    }
    now = utcnow()
    values: dict[str, Any] = {
        **data,
        "years_of_service": 8,
        "nominee_age": 31,
        "may_contact": True,
        "reference": secrets.token_urlsafe(16),
        "submission_key": secrets.token_urlsafe(16),
        "theme_id": theme.id,
        "privacy_consent_at": now,
        "submitted_at": now,
        **overrides,
    }
    values.setdefault(
        "search_text", search_text(values["nominee_name"], values["nominee_institution"])
    )
    nomination = Nomination(**values)
    session.add(nomination)
    session.commit()
    return nomination


@pytest.fixture
def themes(session: Session) -> tuple[Theme, Theme]:
    _, youth, sustainability = make_open_campaign(session)
    return youth, sustainability


@pytest.fixture
def staff(client: TestClient, session: Session) -> TestClient:
    sign_in(client, session, make_account(session, Role.staff))
    client.get("/?lang=en")
    return client


def read_csv(response: Response) -> list[list[str]]:
    assert response.content.startswith(b"\xef\xbb\xbf"), "the CSV has no UTF-8 byte-order mark"
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


def read_xlsx(response: Response) -> list[list[Any]]:
    workbook = load_workbook(io.BytesIO(response.content))
    sheet = workbook.worksheets[0]
    for row in sheet.iter_rows():
        for cell in row:
            assert cell.data_type != "f", f"cell {cell.coordinate} is a formula"
    return [[cell.value for cell in row] for row in sheet.iter_rows()]


def export_events(session: Session) -> list[AuditEvent]:
    session.expire_all()
    query = select(AuditEvent).where(AuditEvent.action == "export").order_by(AuditEvent.id)
    return list(session.exec(query).all())


@contextmanager
def counting_queries(engine: Engine) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


def test_exports_page_carries_queue_filters_into_download_links(
    staff: TestClient, session: Session, themes: tuple[Theme, Theme]
) -> None:
    youth, _ = themes
    add_nomination(session, youth, nominee_name="Ana Eligible", status=NominationStatus.eligible)
    add_nomination(session, youth, nominee_name="Beto Received")

    page = staff.get("/staff/exports?theme=youth&status=eligible&q=ana&sort=oldest&page=3")

    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    for path in ("nominations.csv", "nominations.xlsx", "candidates.csv", "candidates.xlsx"):
        match = re.search(rf'href="/staff/exports/{re.escape(path)}\?([^"]+)"', page.text)
        assert match, f"no link to {path}"
        query = match.group(1).replace("&amp;", "&")
        assert set(query.split("&")) == {"theme=youth", "status=eligible", "q=ana", "sort=oldest"}
    assert "1 nomination matches these filters." in page.text


def test_exports_page_without_filters_links_plain_downloads(
    staff: TestClient, themes: tuple[Theme, Theme]
) -> None:
    page = staff.get("/staff/exports")

    assert 'href="/staff/exports/nominations.csv"' in page.text
    assert "0 nominations match these filters." in page.text


def test_nominations_csv_download_headers_bom_and_mexico_city_time(
    staff: TestClient, session: Session, themes: tuple[Theme, Theme]
) -> None:
    youth, _ = themes
    add_nomination(session, youth)

    response = staff.get("/staff/exports/nominations.csv")

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    disposition = response.headers["content-disposition"]
    assert re.fullmatch(r'attachment; filename="nominaciones-\d{4}-\d{2}-\d{2}\.csv"', disposition)
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-content-type-options"] == "nosniff"
    rows = read_csv(response)
    submitted = rows[1][1]
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}-0[56]:00", submitted)


def test_nominations_csv_has_every_column_with_translated_headers(
    staff: TestClient, session: Session, themes: tuple[Theme, Theme]
) -> None:
    youth, _ = themes
    nomination = add_nomination(
        session, youth, status=NominationStatus.ineligible, status_reason="Fuera de plazo"
    )
    for position in range(2):
        session.add(
            EvidenceFile(
                nomination_id=nomination.id,
                position=position,
                sha256=f"{position}" * 64,
                content_type="application/pdf",
                size=10,
                original_name=f"prueba{position}.pdf",
            )
        )
    session.commit()

    rows = read_csv(staff.get("/staff/exports/nominations.csv"))

    header, row = rows
    record = dict(zip(header, row, strict=True))
    assert header[:4] == ["ID", "Submitted at", "Theme", "Status"]
    assert record["ID"] == str(nomination.id)
    assert record["Theme"] == "youth"
    assert record["Status"] == "ineligible"
    assert record["Reason for the status"] == "Fuera de plazo"
    assert record["Nominee"] == "María Fernanda López Ruiz"
    assert record["What did they do?"].startswith("Denunció un desvío")
    assert record["Second reference: phone or e-mail"] == "'+52 228 555 0101"
    assert record["Nominator: name"] == "Roberto Sánchez"
    assert record["Nominator: e-mail"] == "roberto@example.org"
    assert record["Nominator: phone"] == "'+52 55 5555 0000"
    assert record["Nominator: relationship with the nominee"] == "colleague"
    assert record["Nominator may be contacted"] == "Yes"
    assert record["Nominee may learn who nominated them"] == "No"
    assert record["Evidence files"] == "2"
    assert nomination.reference not in staff.get("/staff/exports/nominations.csv").text


def test_nominations_csv_headers_are_spanish_by_default(
    client: TestClient, session: Session, themes: tuple[Theme, Theme]
) -> None:
    sign_in(client, session, make_account(session, Role.staff))

    rows = read_csv(client.get("/staff/exports/nominations.csv"))

    assert "Categoría" in rows[0]
    assert "Archivos de evidencia" in rows[0]
    assert "Theme" not in rows[0]


def test_nominations_export_respects_theme_status_and_q_filters(
    staff: TestClient, session: Session, themes: tuple[Theme, Theme]
) -> None:
    youth, sustainability = themes
    wanted = add_nomination(
        session, youth, nominee_name="Ana Torres", status=NominationStatus.eligible
    )
    add_nomination(session, youth, nominee_name="Ana Ruiz")  # received
    add_nomination(
        session, sustainability, nominee_name="Ana Gómez", status=NominationStatus.eligible
    )
    add_nomination(session, youth, nominee_name="Beto Torres", status=NominationStatus.eligible)
    query = "theme=youth&status=eligible&q=ana"

    csv_rows = read_csv(staff.get(f"/staff/exports/nominations.csv?{query}"))
    xlsx_rows = read_xlsx(staff.get(f"/staff/exports/nominations.xlsx?{query}"))
    everything = read_csv(staff.get("/staff/exports/nominations.csv"))

    assert [row[0] for row in csv_rows[1:]] == [str(wanted.id)]
    assert [row[0] for row in xlsx_rows[1:]] == [wanted.id]
    assert len(everything) == 1 + 4


def test_nominations_export_follows_queue_sort(
    staff: TestClient, session: Session, themes: tuple[Theme, Theme]
) -> None:
    youth, _ = themes
    now = utcnow()
    first = add_nomination(session, youth, submitted_at=now - timedelta(days=2))
    second = add_nomination(session, youth, submitted_at=now - timedelta(days=1))

    newest = read_csv(staff.get("/staff/exports/nominations.csv"))
    oldest = read_csv(staff.get("/staff/exports/nominations.csv?sort=oldest"))

    assert [r[0] for r in newest[1:]] == [str(second.id), str(first.id)]
    assert [r[0] for r in oldest[1:]] == [str(first.id), str(second.id)]


def test_nominations_csv_neutralises_formulas(
    staff: TestClient, session: Session, themes: tuple[Theme, Theme]
) -> None:
    youth, _ = themes
    # A carriage return survives in CSV (in XLSX it becomes a line feed, so it is only here).
    names = [*FORMULAS, "\rReturn"]
    for name in names:
        add_nomination(session, youth, nominee_name=name, nominator_name=name)

    rows = read_csv(staff.get("/staff/exports/nominations.csv?sort=oldest"))

    header = rows[0]
    nominees = [row[header.index("Nominee")] for row in rows[1:]]
    nominators = [row[header.index("Nominator: name")] for row in rows[1:]]
    assert nominees == ["'" + name for name in names]
    assert nominators == nominees


def test_nominations_xlsx_writes_formulas_as_plain_text(
    staff: TestClient, session: Session, themes: tuple[Theme, Theme]
) -> None:
    youth, _ = themes
    for name in [*FORMULAS, "#N/A"]:
        add_nomination(session, youth, nominee_name=name, how_known=name)

    response = staff.get("/staff/exports/nominations.xlsx?sort=oldest")

    assert response.status_code == 200
    assert response.headers["content-type"] == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert re.fullmatch(
        r'attachment; filename="nominaciones-\d{4}-\d{2}-\d{2}\.xlsx"',
        response.headers["content-disposition"],
    )
    rows = read_xlsx(response)  # asserts that no cell is a formula
    workbook = load_workbook(io.BytesIO(response.content))
    types = {cell.data_type for row in workbook.worksheets[0].iter_rows() for cell in row}
    assert "f" not in types
    assert "e" not in types
    header = rows[0]
    assert [row[header.index("Nominee")] for row in rows[1:]] == [*FORMULAS, "#N/A"]
    assert [row[header.index("How do you know about it?")] for row in rows[1:]] == [
        *FORMULAS,
        "#N/A",
    ]


def test_export_is_recorded_in_audit_with_filters_and_row_count(
    staff: TestClient, session: Session, themes: tuple[Theme, Theme]
) -> None:
    youth, sustainability = themes
    add_nomination(session, youth)
    add_nomination(session, youth)
    add_nomination(session, sustainability)

    staff.get("/staff/exports/nominations.csv?theme=youth&q=maria")
    staff.get("/staff/exports/nominations.xlsx")
    staff.get("/staff/exports/candidates.csv?theme=sustainability")

    events = export_events(session)
    assert [(e.object_type, json.loads(e.after)["format"]) for e in events] == [
        ("nominations", "csv"),
        ("nominations", "xlsx"),
        ("candidates", "csv"),
    ]
    first, second, third = (json.loads(e.after) for e in events)
    assert first["rows"] == 2
    assert first["filters"]["theme"] == "youth"
    assert first["filters"]["q"] == "maria"
    assert second["rows"] == 3
    assert second["filters"]["theme"] is None
    assert third == {
        "format": "csv",
        "filters": {"theme": "sustainability", "state": None},
        "rows": 0,
    }
    assert all(e.actor_id is not None for e in events)
    assert all("roberto@example.org" not in e.after for e in events)


def test_export_without_campaign_is_not_found_and_not_recorded(
    staff: TestClient, session: Session
) -> None:
    response = staff.get("/staff/exports/nominations.csv")

    assert response.status_code == 404
    assert export_events(session) == []
    assert staff.get("/staff/exports").status_code == 200


def test_candidates_export_counts_nominations_and_independent_nominators(
    staff: TestClient, session: Session, themes: tuple[Theme, Theme]
) -> None:
    youth, sustainability = themes
    ana = Candidate(
        campaign_id=youth.campaign_id,
        theme_id=youth.id,
        name="Ana Torres",
        institution="IMSS",
        state="JAL",
    )
    other = Candidate(
        campaign_id=sustainability.campaign_id,
        theme_id=sustainability.id,
        name="=cmd|' /C calc'!A0",
        state="VER",
    )
    session.add_all([ana, other])
    session.commit()
    add_nomination(session, youth, candidate_id=ana.id, nominator_email="Lucia@Example.org")
    add_nomination(session, youth, candidate_id=ana.id, nominator_email=" lucia@example.org ")
    add_nomination(session, youth, candidate_id=ana.id, nominator_email="pedro@example.org")
    add_nomination(
        session,
        youth,
        candidate_id=ana.id,
        nominator_email="tere@example.org",
        status=NominationStatus.withdrawn,
    )

    rows = read_csv(staff.get("/staff/exports/candidates.csv"))
    xlsx = read_xlsx(staff.get("/staff/exports/candidates.xlsx?theme=youth"))

    assert rows[0] == [
        "ID",
        "Name",
        "Institution",
        "State",
        "Theme",
        "Vetting status",
        "Nominations",
        "Independent nominators",
    ]
    assert rows[1] == [str(ana.id), "Ana Torres", "IMSS", "JAL", "youth", "pending", "4", "2"]
    calc = "'=cmd|' /C calc'!A0"
    assert rows[2] == [str(other.id), calc, "", "VER", "sustainability", "pending", "0", "0"]
    assert xlsx[1:] == [[ana.id, "Ana Torres", "IMSS", "JAL", "youth", "pending", 4, 2]]


def test_nominations_export_uses_the_same_queries_whatever_the_row_count(
    staff: TestClient, session: Session, engine: Engine, themes: tuple[Theme, Theme]
) -> None:
    youth, _ = themes
    add_nomination(session, youth)
    with counting_queries(engine) as few:
        staff.get("/staff/exports/nominations.xlsx")
    for _ in range(30):
        nomination = add_nomination(session, youth)
        session.add(
            EvidenceFile(
                nomination_id=nomination.id,
                position=0,
                sha256="a" * 64,
                content_type="application/pdf",
                size=1,
                original_name="a.pdf",
            )
        )
    session.commit()

    with counting_queries(engine) as many:
        response = staff.get("/staff/exports/nominations.xlsx")

    assert len(read_xlsx(response)) == 1 + 31
    assert len(many) == len(few)


EXPORT_ROUTES = [
    "/staff/exports",
    "/staff/exports/nominations.csv",
    "/staff/exports/nominations.xlsx",
    "/staff/exports/candidates.csv",
    "/staff/exports/candidates.xlsx",
]


@pytest.mark.parametrize("path", EXPORT_ROUTES)
def test_export_route_anonymous_is_sent_to_login_without_file(
    client: TestClient, session: Session, themes: tuple[Theme, Theme], path: str
) -> None:
    add_nomination(session, themes[0])

    response = client.get(path, follow_redirects=False)

    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?next=")
    assert "roberto@example.org" not in response.text
    assert export_events(session) == []


@pytest.mark.parametrize("path", EXPORT_ROUTES)
def test_export_route_judge_is_refused_without_file(
    client: TestClient, session: Session, themes: tuple[Theme, Theme], path: str
) -> None:
    add_nomination(session, themes[0])
    sign_in(client, session, make_account(session, Role.judge))

    response = client.get(path, follow_redirects=False)

    assert response.status_code == 403
    assert "roberto@example.org" not in response.text
    assert "content-disposition" not in response.headers
    assert export_events(session) == []


# -- long exports take turns; the XLSX file itself ------------------------------------------


@pytest.fixture
def turns(app: FastAPI) -> ExportTurns:
    """This worker's turn, with every export of more than one row counted as long."""
    app.state.export_turns = ExportTurns(long_rows=1)
    return app.state.export_turns  # type: ignore[no-any-return]


@contextmanager
def another_export_running(turns: ExportTurns) -> Iterator[None]:
    with turns.turn(turns.long_rows + 1) as ours:
        assert ours
        yield


def test_long_export_waits_its_turn_with_a_page_that_asks_again(
    staff: TestClient, session: Session, themes: tuple[Theme, Theme], turns: ExportTurns
) -> None:
    youth, _ = themes
    add_nomination(session, youth)
    add_nomination(session, youth)

    with another_export_running(turns):
        response = staff.get("/staff/exports/nominations.xlsx?theme=youth")

    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
    assert "content-disposition" not in response.headers
    assert '<meta http-equiv="refresh" content="5">' in response.text
    assert "Another large export is being prepared" in response.text
    assert 'href="/staff/exports/nominations.xlsx?theme=youth"' in response.text
    assert "roberto@example.org" not in response.text
    assert export_events(session) == []


def test_long_export_runs_once_the_turn_is_free(
    staff: TestClient, session: Session, themes: tuple[Theme, Theme], turns: ExportTurns
) -> None:
    youth, _ = themes
    add_nomination(session, youth)
    add_nomination(session, youth)
    with another_export_running(turns):
        assert staff.get("/staff/exports/candidates.csv").status_code == 200  # no candidates
        assert staff.get("/staff/exports/nominations.csv").status_code == 503

    response = staff.get("/staff/exports/nominations.csv")

    assert response.status_code == 200
    assert len(read_csv(response)) == 3
    assert len(export_events(session)) == 2


def test_short_export_does_not_wait_for_a_long_one(
    staff: TestClient, session: Session, themes: tuple[Theme, Theme], turns: ExportTurns
) -> None:
    youth, _ = themes
    add_nomination(session, youth)

    with another_export_running(turns):
        response = staff.get("/staff/exports/nominations.xlsx")

    assert response.status_code == 200
    assert len(read_xlsx(response)) == 2


def test_nominations_xlsx_keeps_values_types_and_text(
    staff: TestClient, session: Session, themes: tuple[Theme, Theme]
) -> None:
    youth, _ = themes
    story = "Línea uno & <dos>\nLínea «tres»\x07 con un carácter de control"
    nomination = add_nomination(
        session,
        youth,
        nominee_name="  Ana  López  ",
        achievement=story,
        nominator_phone="",
        years_of_service=12,
    )

    response = staff.get("/staff/exports/nominations.xlsx")

    workbook = load_workbook(io.BytesIO(response.content))
    sheet = workbook.worksheets[0]
    assert sheet.title == "Nominations"
    assert sheet.freeze_panes == "A2"
    header = [cell.value for cell in sheet[1]]
    assert all(cell.font.b for cell in sheet[1])
    row = {name: cell.value for name, cell in zip(header, sheet[2], strict=True)}
    assert row["ID"] == nomination.id
    assert row["Years in public service"] == 12
    assert row["Evidence files"] == 0
    assert row["Nominee"] == "  Ana  López  "
    assert row["What did they do?"] == story.replace("\x07", "")
    assert row["Nominator: phone"] is None
    assert row["Status"] == "received"
    assert row["Nominator may be contacted"] == "Yes"
