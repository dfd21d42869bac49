from datetime import timedelta
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

from app.models import Nomination, OutboxMessage, Theme, utcnow
from tests.factories import form_token, make_open_campaign, nomination_data, post_nomination


@pytest.fixture
def themes(session: Session) -> tuple[Theme, Theme]:
    _, youth, sustainability = make_open_campaign(session)
    return youth, sustainability


def count(session: Session, model: type) -> int:
    session.expire_all()
    return int(session.exec(select(func.count()).select_from(model)).one())


def test_nomination_valid_is_stored_with_receipt_and_email(
    client: TestClient, session: Session, themes: tuple[Theme, Theme]
) -> None:
    response = post_nomination(client, "youth")

    assert response.status_code == 303
    receipt_url = response.headers["location"]
    assert receipt_url.startswith("/nominations/")
    page = client.get(receipt_url)
    assert page.status_code == 200
    assert "María Fernanda López Ruiz" in page.text
    # Two sentences of the receipt, one after the other with a space between them.
    assert "sobre esta nominación. La persona nominada no sabrá" in page.text
    assert page.headers["cache-control"] == "no-store"
    stored = session.exec(select(Nomination)).one()
    assert stored.reference == receipt_url.rsplit("/", 1)[1]
    assert len(stored.reference) >= 20
    assert stored.theme_id == themes[0].id
    assert stored.nominator_email == "roberto@example.org"
    assert stored.nominee_age == 31
    assert stored.may_contact is True
    assert stored.reveal_identity is False
    assert stored.locale == "es"
    mail = session.exec(select(OutboxMessage)).one()
    assert mail.to_address == "roberto@example.org"
    assert stored.reference in mail.body
    assert "nominación" in mail.subject.lower()


def test_nomination_text_is_normalised_nfc_and_trimmed(
    client: TestClient, session: Session, themes: tuple[Theme, Theme]
) -> None:
    decomposed = "Jose\u0301 Pe\u0301rez"  # "José Pérez" typed with combining accents
    response = post_nomination(client, data=nomination_data(nominee_name=f"  {decomposed}\t "))

    assert response.status_code == 303
    assert session.exec(select(Nomination)).one().nominee_name == "José Pérez"


def test_nomination_repeated_post_stores_one_and_shows_same_receipt(
    client: TestClient, session: Session, themes: tuple[Theme, Theme]
) -> None:
    token = form_token(client, "youth")

    first = post_nomination(client, token=token)
    second = post_nomination(client, token=token)

    assert first.status_code == second.status_code == 303
    assert first.headers["location"] == second.headers["location"]
    assert count(session, Nomination) == 1
    assert count(session, OutboxMessage) == 1


def test_nomination_repeated_after_the_theme_closed_still_gets_its_receipt(
    client: TestClient, session: Session, themes: tuple[Theme, Theme]
) -> None:
    youth = themes[0]
    token = form_token(client, "youth")
    other = form_token(client, "youth")
    first = post_nomination(client, token=token)
    # The call closes at midnight; the first POST made it, its response was lost, and the
    # browser sends the form again a moment later.
    youth.closes_at = utcnow() - timedelta(seconds=1)
    session.add(youth)
    session.commit()

    again = post_nomination(client, token=token)

    assert first.status_code == again.status_code == 303
    assert again.headers["location"] == first.headers["location"]
    assert count(session, Nomination) == 1
    # A form not stored before is refused: the theme is closed.
    assert post_nomination(client, token=other).status_code == 403
    assert count(session, Nomination) == 1


@pytest.mark.parametrize(
    "changes",
    [{"nominee_name": ""}, {"website": "http://spam.example"}],
    ids=["invalid", "honeypot"],
)
def test_nomination_repeat_refused_on_its_own_still_gets_the_stored_receipt(
    client: TestClient, session: Session, themes: tuple[Theme, Theme], changes: dict[str, str]
) -> None:
    token = form_token(client, "youth")
    first = post_nomination(client, token=token)

    # The same form, arriving again altered (a browser extension, a proxy): the first copy
    # was stored, so its receipt is the answer, and nothing more is stored.
    again = post_nomination(client, data=nomination_data(**changes), token=token)

    assert first.status_code == again.status_code == 303
    assert again.headers["location"] == first.headers["location"]
    assert count(session, Nomination) == 1


def test_nomination_second_form_is_a_second_nomination(
    client: TestClient, session: Session, themes: tuple[Theme, Theme]
) -> None:
    post_nomination(client)
    post_nomination(client)

    assert count(session, Nomination) == 2


@pytest.mark.parametrize("token", [None, "", "forged.123.abc", "a" * 300])
def test_nomination_without_valid_csrf_token_is_forbidden(
    client: TestClient, session: Session, themes: tuple[Theme, Theme], token: str | None
) -> None:
    client.get("/nominate/youth")
    data = nomination_data()
    if token is not None:
        data["csrf_token"] = token
    response = client.post("/nominate/youth", data=data)

    assert response.status_code == 403
    assert "cookies" in response.text
    assert count(session, Nomination) == 0


def test_nomination_token_of_another_browser_is_forbidden(
    app: object, client: TestClient, session: Session, themes: tuple[Theme, Theme]
) -> None:
    token = form_token(client, "youth")
    other = TestClient(app, base_url="http://testserver")  # type: ignore[arg-type]
    other.get("/")

    response = post_nomination(other, token=token)

    assert response.status_code == 403
    assert count(session, Nomination) == 0


def test_nomination_token_of_another_theme_is_forbidden(
    client: TestClient, session: Session, themes: tuple[Theme, Theme]
) -> None:
    token = form_token(client, "sustainability")

    response = post_nomination(client, "youth", token=token)

    assert response.status_code == 403
    assert count(session, Nomination) == 0


def test_nomination_form_shows_eligibility_and_asks_age_for_youth(
    client: TestClient, themes: tuple[Theme, Theme]
) -> None:
    youth = client.get("/nominate/youth")
    sustainability = client.get("/nominate/sustainability")

    assert youth.status_code == 200
    assert "35 años o menos" in youth.text
    assert 'name="nominee_age"' in youth.text
    assert 'name="nominee_age"' not in sustainability.text
    assert youth.headers["cache-control"] == "no-store"


def test_nomination_over_age_limit_is_refused(
    client: TestClient, session: Session, themes: tuple[Theme, Theme]
) -> None:
    response = post_nomination(client, data=nomination_data(nominee_age="36"))

    assert response.status_code == 422
    assert "35 años o menos" in response.text
    assert count(session, Nomination) == 0


def test_nomination_without_age_accepted_where_theme_has_no_limit(
    client: TestClient, session: Session, themes: tuple[Theme, Theme]
) -> None:
    response = post_nomination(client, "sustainability", data=nomination_data(nominee_age=None))

    assert response.status_code == 303
    assert session.exec(select(Nomination)).one().nominee_age is None


def test_nomination_unknown_theme_is_not_found(
    client: TestClient, themes: tuple[Theme, Theme]
) -> None:
    assert client.get("/nominate/elsewhere").status_code == 404
    assert client.post("/nominate/elsewhere", data={"csrf_token": "x"}).status_code == 403


@pytest.mark.parametrize(
    ("opens", "closes", "shown"),
    [
        (timedelta(days=2), timedelta(days=9), "Aún no abre"),
        (timedelta(days=-9), timedelta(days=-2), "Cerrada"),
    ],
)
def test_nomination_outside_window_shows_why_and_refuses(
    client: TestClient,
    session: Session,
    themes: tuple[Theme, Theme],
    opens: timedelta,
    closes: timedelta,
    shown: str,
) -> None:
    token = form_token(client, "youth")
    youth = themes[0]
    youth.opens_at = utcnow() + opens
    youth.closes_at = utcnow() + closes
    session.add(youth)
    session.commit()

    page = client.get("/nominate/youth")
    response = post_nomination(client, token=token)

    assert page.status_code == 403
    assert shown in page.text
    assert "<form" not in page.text
    assert response.status_code == 403
    assert count(session, Nomination) == 0


BAD_FIELDS = [
    ("nominee_name", "", "Este campo es obligatorio."),
    ("nominee_name", "   \t  ", "Este campo es obligatorio."),
    ("nominee_name", "x" * 201, "Escribe como máximo 200 caracteres."),
    ("achievement", "y" * 5001, "Escribe como máximo 5000 caracteres."),
    ("nominator_email", "roberto@", "Escribe un correo electrónico válido"),
    ("nominator_email", "roberto@example.org\nBcc: x@example.org", "Escríbelo en una sola línea."),
    ("nominator_phone", "55 CALL ME", "Escribe un teléfono"),
    ("state", "XYZ", "Elige una de las opciones."),
    ("government_level", "galactic", "Elige una de las opciones."),
    ("years_of_service", "many", "Escribe un número entero."),
    ("years_of_service", "99", "Escribe un número no mayor que 60."),
    ("nominee_name", "Ana\x00Ruiz", "no están permitidos"),
    ("reference2_contact", "", "Este campo es obligatorio."),
    ("privacy_consent", "", "acepta el aviso de privacidad"),
    ("may_contact", "maybe", "no es una de las opciones"),
]


@pytest.mark.parametrize(("field", "value", "message"), BAD_FIELDS)
def test_nomination_bad_field_gets_message_beside_it_and_nothing_stored(
    client: TestClient,
    session: Session,
    themes: tuple[Theme, Theme],
    field: str,
    value: str,
    message: str,
) -> None:
    data = nomination_data(**{field: value})

    response = post_nomination(client, data=data)

    assert response.status_code == 422
    error = response.text.split(f'id="error-{field}"', 1)[1].split("</p>", 1)[0]
    assert message in error
    assert 'href="#field-' + field + '"' in response.text
    # What the person typed is kept (escaped) in the re-rendered form.
    if field != "nominee_name":
        assert "María Fernanda López Ruiz" in response.text
    assert count(session, Nomination) == 0
    assert count(session, OutboxMessage) == 0


def test_nomination_missing_field_entirely_is_required(
    client: TestClient, session: Session, themes: tuple[Theme, Theme]
) -> None:
    data = nomination_data()
    del data["nominee_institution"]

    response = post_nomination(client, data=data)

    assert response.status_code == 422
    assert 'id="error-nominee_institution"' in response.text
    assert count(session, Nomination) == 0


def test_nomination_extra_field_is_refused(
    client: TestClient, session: Session, themes: tuple[Theme, Theme]
) -> None:
    response = post_nomination(client, data=nomination_data(status="eligible"))

    assert response.status_code == 422
    assert "no esperábamos: status" in response.text
    assert count(session, Nomination) == 0


def test_nomination_duplicated_field_is_refused(
    client: TestClient, session: Session, themes: tuple[Theme, Theme]
) -> None:
    token = form_token(client, "youth")
    pairs = [*nomination_data().items(), ("nominee_name", "Otra Persona"), ("csrf_token", token)]
    body = "&".join(f"{quote(k)}={quote(v)}" for k, v in pairs)

    response = client.post(
        "/nominate/youth",
        content=body,
        headers={"content-type": "application/x-www-form-urlencoded"},
    )

    assert response.status_code == 422
    assert "se envió más de una vez" in response.text
    assert count(session, Nomination) == 0


def test_nomination_invalid_utf8_is_refused_beside_the_field(
    client: TestClient, session: Session, themes: tuple[Theme, Theme]
) -> None:
    token = form_token(client, "youth")
    data = nomination_data(csrf_token=token)
    del data["nominee_position"]
    body = (
        "&".join(f"{quote(k)}={quote(v)}" for k, v in data.items()) + "&nominee_position=%FF%FEjefe"
    )

    response = client.post(
        "/nominate/youth",
        content=body,
        headers={"content-type": "application/x-www-form-urlencoded"},
    )

    assert response.status_code == 422
    assert 'id="error-nominee_position"' in response.text
    assert "no es texto válido" in response.text
    assert count(session, Nomination) == 0


def test_nomination_markup_is_stored_as_typed_and_shown_escaped(
    client: TestClient, session: Session, themes: tuple[Theme, Theme]
) -> None:
    script = '<script>alert("x")</script><b>Ana</b>'
    response = post_nomination(client, data=nomination_data(nominee_name=script))

    page = client.get(response.headers["location"])

    assert session.exec(select(Nomination)).one().nominee_name == script
    assert script not in page.text
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&lt;b&gt;Ana&lt;/b&gt;" in page.text


def test_nomination_markup_is_escaped_when_form_is_re_rendered(
    client: TestClient, themes: tuple[Theme, Theme]
) -> None:
    script = '"><script>alert(1)</script>'
    response = post_nomination(client, data=nomination_data(nominee_position=script, state="??"))

    assert response.status_code == 422
    assert "<script>alert(1)</script>" not in response.text
    assert "&#34;&gt;&lt;script&gt;" in response.text


def test_nomination_honeypot_filled_is_refused(
    client: TestClient, session: Session, themes: tuple[Theme, Theme]
) -> None:
    response = post_nomination(client, data=nomination_data(website="http://spam.example"))

    assert response.status_code == 400
    assert "automatizada" in response.text
    assert count(session, Nomination) == 0


def test_receipt_unknown_reference_is_not_found(
    client: TestClient, themes: tuple[Theme, Theme]
) -> None:
    assert client.get("/nominations/" + "A" * 22).status_code == 404
    assert client.get("/nominations/short").status_code == 404
