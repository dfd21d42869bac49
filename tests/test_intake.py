"""Assisted and batch intake (issue 15): nominations entered by staff and volunteers, CSV
batches from the import page, the template and the command line, all marked with their channel."""

import csv
import io
import re
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlmodel import Session, col, func, select

from app.config import Settings
from app.models import (
    Account,
    AuditEvent,
    Channel,
    ConsentMethod,
    EvidenceFile,
    Nomination,
    NominationImport,
    OutboxMessage,
    Role,
    Theme,
    utcnow,
)
from app.services.nominations.batch import COLUMNS
from tests.factories import (
    csrf_token_from,
    make_account,
    make_open_campaign,
    nomination_data,
    post_nomination,
    sign_in,
)
from tests.test_cli import run_cli


@pytest.fixture
def themes(session: Session) -> tuple[Theme, Theme]:
    _, youth, sustainability = make_open_campaign(session)
    return youth, sustainability


def count(session: Session, model: type, *where: object) -> int:
    session.expire_all()
    session.rollback()
    query = select(func.count()).select_from(model)
    for condition in where:
        query = query.where(condition)  # type: ignore[arg-type]
    return int(session.exec(query).one())


def png_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (60, 40), (20, 120, 200)).save(out, format="PNG")
    return out.getvalue()


def intake_data(**overrides: str) -> dict[str, str]:
    today = utcnow().date().isoformat()
    values = nomination_data(
        nominator_email="",
        nominator_phone="",
        channel="paper",
        received_on=today,
        collected_by="Brigada Xalapa",
        consent_method="signed_paper",
        privacy_consent="yes",
    )
    values.update(overrides)
    return {key: value for key, value in values.items() if value is not None}


def open_form(client: TestClient, slug: str = "youth") -> dict[str, str]:
    """The intake form's hidden values: its CSRF token and its submission key."""
    page = client.get(f"/staff/intake/new/{slug}")
    assert page.status_code == 200, page.text
    key = re.search(r'name="submission_key" value="([^"]*)"', page.text)
    assert key is not None
    return {"csrf_token": csrf_token_from(page), "submission_key": key.group(1)}


def enter(
    client: TestClient,
    data: dict[str, str],
    *,
    slug: str = "youth",
    files: list[tuple[str, tuple[str, bytes, str]]] | None = None,
    hidden: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> object:
    fields = {**(hidden or open_form(client, slug)), **data}
    return client.post(
        f"/staff/intake/new/{slug}",
        data=fields,
        files=files,
        follow_redirects=False,
        headers=headers,
    )


def signed_in(client: TestClient, session: Session, role: Role, **overrides: object) -> Account:
    account = make_account(session, role, **overrides)
    sign_in(client, session, account)
    return account


# -- assisted intake ---------------------------------------------------------------------------


def test_intake_volunteer_enters_paper_nomination_with_scan_and_no_contact_reference_shown(
    client: TestClient, session: Session, themes: tuple[Theme, Theme]
) -> None:
    volunteer = signed_in(client, session, Role.volunteer, name="Vera Voluntaria")

    response = enter(
        client,
        intake_data(sensitive_consent="yes"),
        files=[("scan", ("formato firmado.png", png_bytes(), "image/png"))],
    )

    assert response.status_code == 303, response.text  # type: ignore[attr-defined]
    location = response.headers["location"]  # type: ignore[attr-defined]
    assert location.startswith("/staff/intake/entries/")
    stored = session.exec(select(Nomination)).one()
    assert stored.channel is Channel.paper
    assert stored.entered_by_id == volunteer.id
    assert stored.consent_method is ConsentMethod.signed_paper
    assert stored.collected_by == "Brigada Xalapa"
    assert stored.received_on == utcnow().date()
    assert stored.nominator_email == "" and stored.nominator_phone == ""
    scan = session.exec(select(EvidenceFile)).one()
    assert scan.nomination_id == stored.id and scan.content_type == "image/png"
    page = client.get(location)
    assert page.status_code == 200
    assert stored.reference in page.text
    assert "no se envió ningún acuse" in page.text
    assert count(session, OutboxMessage) == 0
    entered = session.exec(select(AuditEvent).where(AuditEvent.action == "nomination.entered"))
    assert [event.actor_id for event in entered] == [volunteer.id]


def test_intake_with_email_sends_the_receipt_and_reaches_the_queue_with_its_channel(
    client: TestClient, session: Session, themes: tuple[Theme, Theme]
) -> None:
    signed_in(client, session, Role.staff)

    response = enter(client, intake_data(channel="phone", nominator_email="ana@example.org"))

    assert response.status_code == 303
    mail = session.exec(select(OutboxMessage)).one()
    assert mail.to_address == "ana@example.org"
    queue = client.get("/staff/nominations?channel=phone")
    assert "María Fernanda López Ruiz" in queue.text
    assert "Teléfono" in queue.text
    assert "María Fernanda López Ruiz" not in client.get("/staff/nominations?channel=web").text
    # Found by the queue's search like a nomination from the web.
    assert "María Fernanda López Ruiz" in client.get("/staff/nominations?q=lopez+xalapa").text


def test_intake_receipt_is_in_the_nominator_s_language_whatever_the_volunteer_reads(
    client: TestClient, session: Session, themes: tuple[Theme, Theme]
) -> None:
    signed_in(client, session, Role.volunteer)
    english_ui = {"Accept-Language": "en"}
    form = client.get("/staff/intake/new/youth", headers=english_ui).text
    assert '<option value="es" selected>Español</option>' in form

    unknown = enter(client, intake_data(language="fr"), headers=english_ui)
    default = enter(
        client,
        intake_data(nominator_email="ana@example.org", language=""),
        headers=english_ui,
    )
    chosen = enter(
        client,
        intake_data(
            nominator_email="bo@example.org", nominee_name="Otra Persona Nominada", language="en"
        ),
    )

    assert unknown.status_code == 422  # type: ignore[attr-defined]
    assert "Choose one of the options." in unknown.text  # type: ignore[attr-defined]
    assert default.status_code == chosen.status_code == 303  # type: ignore[attr-defined]
    session.rollback()
    mails = {m.to_address: m.subject for m in session.exec(select(OutboxMessage)).all()}
    assert mails["ana@example.org"].startswith("Integrity Icon: recibimos tu nominación")
    assert mails["bo@example.org"].startswith("Integrity Icon: we received your nomination")


def test_intake_invalid_entry_shows_messages_in_spanish_and_english_and_stores_nothing(
    client: TestClient, session: Session, themes: tuple[Theme, Theme]
) -> None:
    signed_in(client, session, Role.volunteer)
    tomorrow = (utcnow() + timedelta(days=2)).date().isoformat()

    spanish = enter(client, intake_data(nominee_name="", privacy_consent="", channel="web"))
    english = enter(
        client,
        intake_data(received_on=tomorrow, nominator_email="no-es-correo"),
        headers={"Accept-Language": "en"},
    )

    assert spanish.status_code == 422  # type: ignore[attr-defined]
    text = spanish.text  # type: ignore[attr-defined]
    assert "Este campo es obligatorio." in text
    assert "Elige una de las opciones." in text
    assert "aviso de privacidad" in text
    assert 'value="Brigada Xalapa"' in text  # what was typed comes back
    assert english.status_code == 422  # type: ignore[attr-defined]
    assert "The date received cannot be in the future." in english.text  # type: ignore[attr-defined]
    assert "Enter a valid e-mail address" in english.text  # type: ignore[attr-defined]
    assert count(session, Nomination) == 0


def test_intake_same_form_sent_twice_stores_one_nomination(
    client: TestClient, session: Session, themes: tuple[Theme, Theme]
) -> None:
    signed_in(client, session, Role.staff)
    hidden = open_form(client)

    first = enter(client, intake_data(), hidden=hidden)
    second = enter(client, intake_data(), hidden=hidden)

    assert first.status_code == second.status_code == 303  # type: ignore[attr-defined]
    assert first.headers["location"].split("?")[0] == second.headers["location"]  # type: ignore[attr-defined]
    assert count(session, Nomination) == 1


def test_intake_received_after_the_call_closed_is_refused_beside_the_date(
    client: TestClient, session: Session, themes: tuple[Theme, Theme]
) -> None:
    youth = themes[0]
    youth.closes_at = utcnow() - timedelta(days=3)
    session.add(youth)
    session.commit()
    signed_in(client, session, Role.staff)

    late = enter(client, intake_data())
    in_time = enter(
        client, intake_data(received_on=(utcnow() - timedelta(days=5)).date().isoformat())
    )

    assert late.status_code == 422  # type: ignore[attr-defined]
    assert "cerró" in late.text  # type: ignore[attr-defined]
    assert in_time.status_code == 303  # type: ignore[attr-defined]
    assert count(session, Nomination) == 1


def test_intake_volunteer_sees_only_its_own_entries(
    client: TestClient, session: Session, themes: tuple[Theme, Theme]
) -> None:
    other = signed_in(client, session, Role.volunteer, name="Otra Voluntaria")
    enter(client, intake_data(nominee_name="Persona De Otra"))
    theirs = session.exec(select(Nomination)).one()
    client.cookies.clear()
    signed_in(client, session, Role.volunteer, name="Vera Voluntaria")
    enter(client, intake_data(nominee_name="Persona Mía"))
    assert post_nomination(client, "youth").status_code == 303  # one from the web

    index = client.get("/staff/intake")
    foreign = client.get(f"/staff/intake/entries/{theirs.id}")
    client.cookies.clear()
    signed_in(client, session, Role.staff)
    staff_index = client.get("/staff/intake")

    assert "Persona Mía" in index.text
    assert "Persona De Otra" not in index.text
    assert foreign.status_code == 404
    assert theirs.nominee_name not in foreign.text
    assert "Persona Mía" in staff_index.text and "Persona De Otra" in staff_index.text
    assert other.name in staff_index.text
    assert "María Fernanda López Ruiz" not in staff_index.text  # the web's is not an entry


def test_intake_volunteer_is_refused_every_other_staff_page(
    client: TestClient, session: Session, themes: tuple[Theme, Theme]
) -> None:
    signed_in(client, session, Role.volunteer)

    home = client.get("/staff/intake")
    refused = [client.get(path).status_code for path in ("/staff", "/staff/nominations")]

    assert home.status_code == 200
    assert "/staff/nominations" not in home.text  # its menu offers only intake
    assert refused == [403, 403]


def test_intake_volunteer_lands_on_intake_after_signing_in(
    client: TestClient, session: Session, themes: tuple[Theme, Theme]
) -> None:
    from app.services.accounts.login import role_home

    assert role_home(Role.volunteer) == "/staff/intake"


# -- batch import ------------------------------------------------------------------------------


def csv_rows(count: int, *, start: int = 0, **overrides: str) -> list[dict[str, str]]:
    today = utcnow().date().isoformat()
    rows = []
    for number in range(start, start + count):
        values = intake_data(received_on=today, nominee_name=f"Persona Nominada {number:04d}")
        values.pop("channel")
        values["theme"] = "youth" if number % 2 else "sustainability"
        values["may_contact"] = "sí" if number % 3 else "no"
        values.update(overrides)
        rows.append(values)
    return rows


def csv_file(rows: list[dict[str, str]]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(COLUMNS), extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def upload(
    client: TestClient,
    content: bytes,
    *,
    channel: str = "event",
    headers: dict[str, str] | None = None,
) -> object:
    token = csrf_token_from(client.get("/staff/intake/import"))
    return client.post(
        "/staff/intake/import",
        data={"csrf_token": token, "channel": channel},
        files=[("file", ("lote.csv", content, "text/csv"))],
        follow_redirects=False,
        headers=headers,
    )


def test_import_200_rows_in_one_batch_and_the_same_file_again_stores_nothing(
    client: TestClient, session: Session, themes: tuple[Theme, Theme]
) -> None:
    staff = signed_in(client, session, Role.staff)
    content = csv_file(csv_rows(200, nominator_email="lote@example.org"))

    first = upload(client, content)
    again = upload(client, content)

    assert first.status_code == 303, first.text  # type: ignore[attr-defined]
    done = client.get(first.headers["location"])  # type: ignore[attr-defined]
    assert "200 nominaciones importadas" in done.text
    assert count(session, Nomination) == 200
    assert count(session, Nomination, col(Nomination.channel) == Channel.event) == 200
    assert count(session, Nomination, col(Nomination.entered_by_id) == staff.id) == 200
    assert count(session, OutboxMessage) == 200
    assert count(session, NominationImport) == 1
    assert again.status_code == 200  # type: ignore[attr-defined]
    assert "ya se había importado" in again.text  # type: ignore[attr-defined]
    assert count(session, Nomination) == 200
    assert count(session, OutboxMessage) == 200


def test_import_one_bad_row_among_200_imports_nothing_and_names_line_and_column(
    client: TestClient, session: Session, themes: tuple[Theme, Theme]
) -> None:
    signed_in(client, session, Role.volunteer)
    rows = csv_rows(200)
    rows[136]["state"] = "XXX"  # line 138: the header is line 1
    rows[150]["years_of_service"] = "muchos"

    spanish = upload(client, csv_file(rows))
    english = upload(client, csv_file(rows), headers={"Accept-Language": "en"})

    assert spanish.status_code == 422  # type: ignore[attr-defined]
    text = spanish.text  # type: ignore[attr-defined]
    assert re.search(
        r"<td>138</td><td><code>state</code></td><td>Elige una de las opciones\.", text
    )
    assert re.search(r"<td>152</td><td><code>years_of_service</code></td>", text)
    assert "No se importó nada" in text
    assert english.status_code == 422  # type: ignore[attr-defined]
    assert re.search(
        r"<td>138</td><td><code>state</code></td><td>Choose one of the options\.",
        english.text,  # type: ignore[attr-defined]
    )
    assert count(session, Nomination) == 0
    assert count(session, NominationImport) == 0


def test_import_repeated_row_and_unknown_theme_and_bad_header_are_named(
    client: TestClient, session: Session, themes: tuple[Theme, Theme]
) -> None:
    signed_in(client, session, Role.staff)
    rows = csv_rows(3)
    rows.append(dict(rows[0]))
    rows[1]["theme"] = "deportes"

    repeated = upload(client, csv_file(rows))
    header = upload(client, b"theme,nombre\nyouth,Ana\n")

    assert "Esta fila repite la línea 2." in repeated.text  # type: ignore[attr-defined]
    assert "deportes" in repeated.text  # type: ignore[attr-defined]
    assert header.status_code == 422  # type: ignore[attr-defined]
    assert "<code>nombre</code>" in header.text  # type: ignore[attr-defined]
    assert count(session, Nomination) == 0


def test_import_receipts_are_in_each_nominator_s_language_not_the_importer_s(
    client: TestClient, session: Session, themes: tuple[Theme, Theme]
) -> None:
    signed_in(client, session, Role.staff)
    rows = csv_rows(3, nominator_email="lote@example.org")
    rows[0]["language"], rows[1]["language"], rows[2]["language"] = "en", "", "ES"
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=[*COLUMNS, "language"])
    writer.writeheader()
    writer.writerows(rows)
    bad = [dict(row) for row in rows]
    bad[1]["language"] = "fr"
    wrong = io.StringIO()
    writer = csv.DictWriter(wrong, fieldnames=["language", *COLUMNS])
    writer.writeheader()
    writer.writerows(bad)

    refused = upload(client, wrong.getvalue().encode(), headers={"Accept-Language": "en"})
    imported = upload(client, out.getvalue().encode(), headers={"Accept-Language": "en"})

    assert refused.status_code == 422  # type: ignore[attr-defined]
    assert re.search(
        r"<td>3</td><td><code>language</code></td><td>Write es or en, or leave it empty\.",
        refused.text,  # type: ignore[attr-defined]
    )
    assert imported.status_code == 303, imported.text  # type: ignore[attr-defined]
    session.rollback()
    by_name = {n.nominee_name: n.locale for n in session.exec(select(Nomination)).all()}
    # The staff member reads English; a row without a language is the portal's Spanish.
    assert by_name == {
        "Persona Nominada 0000": "en",
        "Persona Nominada 0001": "es",
        "Persona Nominada 0002": "es",
    }
    subjects = {m.subject for m in session.exec(select(OutboxMessage)).all()}
    assert subjects == {
        "Integrity Icon: we received your nomination of Persona Nominada 0000",
        "Integrity Icon: recibimos tu nominación de Persona Nominada 0001",
        "Integrity Icon: recibimos tu nominación de Persona Nominada 0002",
    }
    page = client.get("/staff/intake/import?lang=en").text
    assert "<code>language</code>" in page


def test_import_template_example_row_imports_as_it_is(
    client: TestClient, session: Session, themes: tuple[Theme, Theme]
) -> None:
    signed_in(client, session, Role.staff)

    template = client.get("/staff/intake/template.csv")
    imported = upload(client, template.content, channel="paper")

    assert template.status_code == 200
    assert template.headers["content-type"].startswith("text/csv")
    assert template.text.splitlines()[0] == ",".join(COLUMNS)
    assert imported.status_code == 303, imported.text  # type: ignore[attr-defined]
    assert count(session, Nomination, col(Nomination.channel) == Channel.paper) == 1


def test_import_rows_imported_before_in_another_file_are_not_stored_twice(
    client: TestClient, session: Session, themes: tuple[Theme, Theme]
) -> None:
    signed_in(client, session, Role.staff)
    upload(client, csv_file(csv_rows(5)))

    more = upload(client, csv_file(csv_rows(8)))

    assert more.status_code == 303  # type: ignore[attr-defined]
    assert "imported=3&skipped=5" in more.headers["location"]  # type: ignore[attr-defined]
    assert count(session, Nomination) == 8


def test_import_command_line_imports_reports_progress_and_refuses_a_bad_file(
    settings: Settings, session: Session, themes: tuple[Theme, Theme], tmp_path: Path
) -> None:
    good = tmp_path / "lote.csv"
    good.write_bytes(csv_file(csv_rows(1200)))
    bad_rows = csv_rows(10)
    bad_rows[4]["government_level"] = "imperial"
    bad = tmp_path / "malo.csv"
    bad.write_bytes(csv_file(bad_rows))

    done = run_cli(settings, "nominations", "import", str(good), "--channel", "whatsapp_sms")
    again = run_cli(settings, "nominations", "import", str(good), "--channel", "whatsapp_sms")
    refused = run_cli(settings, "nominations", "import", str(bad), "--channel", "phone")
    no_year = run_cli(
        settings, "nominations", "import", str(bad), "--channel", "phone", "--year", "1990"
    )

    assert done.returncode == 0, done.stderr
    assert "Imported 1200 nominations by whatsapp_sms." in done.stdout
    assert "rows checked: 1,000" in done.stderr and "rows imported: 1,000" in done.stderr
    assert again.returncode == 0 and "already imported" in again.stdout
    assert refused.returncode == 1
    assert "line 6, government_level:" in refused.stderr
    assert "nothing was imported" in refused.stderr
    assert no_year.returncode == 1 and "1990" in no_year.stderr
    assert count(session, Nomination, col(Nomination.channel) == Channel.whatsapp_sms) == 1200
    assert count(session, Nomination, col(Nomination.channel) == Channel.phone) == 0


# -- the queue, exports and the dashboard ------------------------------------------------------


def test_intake_web_paper_and_csv_nominations_show_their_channel_in_queue_export_and_dashboard(
    client: TestClient, session: Session, themes: tuple[Theme, Theme]
) -> None:
    assert post_nomination(client, "youth").status_code == 303
    signed_in(client, session, Role.staff)
    assert enter(client, intake_data(nominee_name="Persona En Papel")).status_code == 303
    assert upload(client, csv_file(csv_rows(3, state="OAX")), channel="event").status_code == 303

    queue = client.get("/staff/nominations?channel=event")
    searched = client.get("/staff/nominations?q=nominada+0002")
    export = client.get("/staff/exports/nominations.csv?lang=en")
    english = client.get("/staff?lang=en").text
    spanish = client.get("/staff?lang=es").text

    assert "Persona Nominada 0001" in queue.text and "Persona En Papel" not in queue.text
    assert "Evento" in queue.text
    assert "Persona Nominada 0002" in searched.text and "Persona Nominada 0001" not in searched.text
    rows = list(csv.reader(io.StringIO(export.content.decode("utf-8-sig"))))
    channel = rows[0].index("Channel")
    assert sorted(row[channel] for row in rows[1:]) == ["event", "event", "event", "paper", "web"]
    channels = re.findall(
        r'<a href="/staff/nominations\?channel=(\w+)">[^<]+</a></th><td>(\d+)</td>', english
    )
    assert dict(channels) == {
        "web": "1",
        "paper": "1",
        "phone": "0",
        "whatsapp_sms": "0",
        "email": "0",
        "event": "3",
    }
    assert re.search(r'<a href="/staff/nominations\?state=OAX">Oaxaca</a></th><td>3</td>', english)
    theme_row = r'<a href="/staff/nominations\?theme=youth">Youth</a></th><td>(\d+)</td>'
    assert re.findall(theme_row, english) == ["3"]  # web, paper and one row of three
    assert '<svg class="bars" role="img"' in english
    assert "No nominations yet from 30 states:" in english and "Zacatecas" in english
    assert "Nominaciones por canal" in spanish
    assert "Todavía no hay nominaciones de 30 estados" in spanish


def test_intake_scan_that_is_not_an_image_or_pdf_is_refused_and_nothing_stored(
    client: TestClient, session: Session, themes: tuple[Theme, Theme]
) -> None:
    signed_in(client, session, Role.volunteer)

    response = enter(
        client,
        intake_data(sensitive_consent="yes"),
        files=[("scan", ("formato.exe", b"MZ\x90\x00 not a scan", "image/png"))],
    )

    assert response.status_code == 422  # type: ignore[attr-defined]
    assert "formato.exe" in response.text  # type: ignore[attr-defined]
    assert count(session, Nomination) == 0
    assert count(session, EvidenceFile) == 0


def test_intake_scan_pdf_with_javascript_is_refused_with_the_reason_and_nothing_stored(
    client: TestClient, session: Session, themes: tuple[Theme, Theme]
) -> None:
    from tests.test_pdf_content import open_action_javascript, pdf_with

    signed_in(client, session, Role.volunteer)

    response = enter(
        client,
        intake_data(sensitive_consent="yes"),
        files=[("scan", ("formato.pdf", pdf_with(open_action_javascript), "application/pdf"))],
    )

    assert response.status_code == 422  # type: ignore[attr-defined]
    assert "formato.pdf" in response.text  # type: ignore[attr-defined]
    assert "JavaScript" in response.text  # type: ignore[attr-defined]
    assert count(session, Nomination) == 0
    assert count(session, EvidenceFile) == 0


def test_paper_form_has_the_questions_the_short_notice_and_a_signature_in_both_languages(
    client: TestClient, themes: tuple[Theme, Theme]
) -> None:
    spanish = client.get("/nominate/youth/print")
    english = client.get("/nominate/youth/print?lang=en")
    missing = client.get("/nominate/deportes/print")

    assert spanish.status_code == english.status_code == 200
    for text in (
        "¿Qué hizo?",
        "Aviso de privacidad simplificado",
        "Firma de la persona nominadora",
    ):
        assert text in spanish.text
    for text in (
        "What did they do?",
        "Privacy notice (short version)",
        "Signature of the nominator",
    ):
        assert text in english.text
    assert "public servants aged 35 or younger" in english.text  # the theme's own rule
    assert "@media print" not in english.text  # print styles live in the stylesheet
    assert missing.status_code == 404


def test_create_user_makes_a_volunteer_account(settings: Settings, session: Session) -> None:
    done = run_cli(
        settings,
        "create-user",
        "vol@example.org",
        "--role",
        "volunteer",
        "--name",
        "Vera Voluntaria",
        "--password-stdin",
        stdin="una contraseña larga y rara 42\n",
    )

    assert done.returncode == 0, done.stderr
    session.rollback()
    account = session.exec(select(Account).where(Account.email == "vol@example.org")).one()
    assert account.role is Role.volunteer


def test_import_screens_the_new_nominees_against_the_sanction_lists(
    client: TestClient, session: Session, settings: Settings, themes: tuple[Theme, Theme]
) -> None:
    from app.models import SanctionMatch
    from tests.test_sanctions_import import load

    load(session, settings, "csv", "name\nRigoberto Anselmo Quiñones Tapia\n", name="Estatal")
    session.commit()
    signed_in(client, session, Role.staff)
    rows = csv_rows(3)
    rows[1]["nominee_name"] = "Rigoberto Anselmo Quiñones Tapia"

    assert upload(client, csv_file(rows)).status_code == 303

    listed = session.exec(
        select(Nomination).where(Nomination.nominee_name == "Rigoberto Anselmo Quiñones Tapia")
    ).one()
    matched = session.exec(select(SanctionMatch.nomination_id)).all()
    assert matched == [listed.id]


def test_admin_invites_a_volunteer_whose_mail_names_the_role(
    client: TestClient, session: Session, themes: tuple[Theme, Theme]
) -> None:
    from tests.test_staff_users import invite_data, post

    signed_in(client, session, Role.admin, name="Ana Admin")

    response = post(client, "/staff/users/invite", invite_data(role="volunteer", locale="es"))

    assert response.status_code == 303, response.text
    session.rollback()
    invited = session.exec(select(Account).where(Account.email == "julia@example.org")).one()
    assert invited.role is Role.volunteer
    mail = session.exec(select(OutboxMessage)).one()
    assert "Persona voluntaria" in mail.body


def test_import_page_lists_the_latest_batches_a_volunteer_only_its_own(
    client: TestClient, session: Session, themes: tuple[Theme, Theme]
) -> None:
    signed_in(client, session, Role.staff, name="Sergio Staff")
    assert upload(client, csv_file(csv_rows(2)), channel="phone").status_code == 303
    client.cookies.clear()
    signed_in(client, session, Role.volunteer, name="Vera Voluntaria")
    token = csrf_token_from(client.get("/staff/intake/import"))
    mine = client.post(
        "/staff/intake/import",
        data={"csrf_token": token, "channel": "event"},
        files=[("file", ("evento-plaza.csv", csv_file(csv_rows(3, start=10)), "text/csv"))],
        follow_redirects=False,
    )

    page = client.get(mine.headers["location"]).text
    client.cookies.clear()
    signed_in(client, session, Role.staff)
    staff_page = client.get("/staff/intake/import").text

    assert "3 nominaciones importadas" in page
    assert "evento-plaza.csv" in page and "Vera Voluntaria" in page
    assert "lote.csv" not in page  # the staff member's batch
    assert "evento-plaza.csv" in staff_page and "lote.csv" in staff_page
