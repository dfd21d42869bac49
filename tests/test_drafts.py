"""Save and finish later (issue 21 item 9): a half-filled form is saved under a link mailed to
the nominator, comes back filled in, and goes away when the nomination is sent or expires."""

import json
import re
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlmodel import Session, func, select

from app.models import Nomination, NominationDraft, OutboxMessage, utcnow
from tests.factories import csrf_token_from, form_token, make_open_campaign, nomination_data

PARTIAL = {
    "nominee_name": "Rosa Elena Martínez Cruz",
    "nominee_position": "Defensora pública",
    "achievement": "Revisó cada expediente <script>alert(1)</script> de las internas.",
    "nominator_email": "ana.lopez@example.org",
}


def save_draft(client: TestClient, fields: dict[str, str], slug: str = "youth") -> str:
    """Saves `fields` as a draft from a new form; the path the answer sends the browser to."""
    data = {"csrf_token": form_token(client, slug), "action": "save_draft", **fields}
    response = client.post(f"/nominate/{slug}", data=data, follow_redirects=False)
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    assert re.fullmatch(r"/drafts/[A-Za-z0-9_-]{43}\?saved=1", location)
    return location


def hidden(page_text: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', page_text)
    assert found, name
    return found.group(1)


def count(session: Session, model: type) -> int:
    return session.exec(select(func.count()).select_from(model)).one()


def test_a_saved_draft_is_mailed_comes_back_filled_in_and_goes_when_sent(
    client: TestClient, session: Session
) -> None:
    make_open_campaign(session)

    location = save_draft(client, PARTIAL)

    assert count(session, Nomination) == 0
    draft = session.exec(select(NominationDraft)).one()
    token = location.split("/")[2].split("?")[0]
    assert token not in draft.token_hash  # only the hash is kept
    assert json.loads(draft.content)["nominee_name"] == PARTIAL["nominee_name"]
    mail = session.exec(select(OutboxMessage)).one()
    assert mail.to_address == PARTIAL["nominator_email"]
    assert f"/drafts/{token}" in mail.body
    assert "Rosa Elena Martínez Cruz" in mail.body
    assert "no se ha enviado" in mail.body

    page = client.get(location)
    assert page.status_code == 200
    assert page.headers["cache-control"].startswith("no-store")
    assert "Su borrador está guardado" in page.text
    assert 'value="Rosa Elena Martínez Cruz"' in page.text
    assert "Defensora pública" in page.text
    assert "<script>alert(1)</script>" not in page.text  # escaped like everything typed
    assert hidden(page.text, "draft") == token

    full = nomination_data(nominee_name="Rosa Elena Martínez Cruz")
    sent = client.post(
        "/nominate/youth",
        data={"csrf_token": csrf_token_from(page), "draft": token, **full},
        follow_redirects=False,
    )

    assert sent.status_code == 303
    assert sent.headers["location"].startswith("/nominations/")
    session.rollback()  # a new snapshot: the app wrote meanwhile
    assert session.exec(select(Nomination.nominee_name)).one() == "Rosa Elena Martínez Cruz"
    assert count(session, NominationDraft) == 0
    gone = client.get(location)
    assert gone.status_code == 404
    assert "ya se envió" in gone.text


def test_a_draft_needs_a_valid_address_and_nothing_is_kept_without_one(
    client: TestClient, session: Session
) -> None:
    make_open_campaign(session)

    for email, message in (
        ("", "Para guardar un borrador, escriba su correo electrónico"),
        ("no-es-un-correo", "correo"),
    ):
        data = {
            "csrf_token": form_token(client, "youth"),
            "action": "save_draft",
            **PARTIAL,
            "nominator_email": email,
        }
        response = client.post("/nominate/youth", data=data, follow_redirects=False)

        assert response.status_code == 422
        assert message in response.text
        assert 'value="Rosa Elena Martínez Cruz"' in response.text  # what was typed stays
    assert count(session, NominationDraft) == 0
    assert count(session, OutboxMessage) == 0


def test_saving_again_updates_the_same_draft_and_mails_only_a_new_address(
    client: TestClient, session: Session
) -> None:
    make_open_campaign(session)
    location = save_draft(client, PARTIAL)
    token = location.split("/")[2].split("?")[0]

    def save_from_draft(**changes: str) -> None:
        page = client.get(f"/drafts/{token}")
        data = {
            "csrf_token": csrf_token_from(page),
            "draft": hidden(page.text, "draft"),
            "action": "save_draft",
            **PARTIAL,
            **changes,
        }
        response = client.post("/nominate/youth", data=data, follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"] == f"/drafts/{token}?saved=1"

    save_from_draft(impact="La reforma llegó a tres penales.")
    session.rollback()  # a new snapshot: the app wrote meanwhile
    draft = session.exec(select(NominationDraft)).one()
    assert json.loads(draft.content)["impact"] == "La reforma llegó a tres penales."
    assert count(session, OutboxMessage) == 1

    save_from_draft(nominator_email="otra.direccion@example.org")
    session.rollback()  # a new snapshot: the app wrote meanwhile
    assert count(session, NominationDraft) == 1
    assert session.exec(select(OutboxMessage.to_address).order_by(OutboxMessage.id)).all() == [
        PARTIAL["nominator_email"],
        "otra.direccion@example.org",
    ]


def test_an_expired_or_unknown_link_is_a_clear_404_and_expired_drafts_are_deleted(
    client: TestClient, session: Session
) -> None:
    make_open_campaign(session)
    location = save_draft(client, PARTIAL)
    draft = session.exec(select(NominationDraft)).one()
    draft.expires_at = utcnow() - timedelta(minutes=1)
    session.add(draft)
    session.commit()

    for path in (location, "/drafts/desconocido", "/drafts/" + "x" * 300):
        response = client.get(path)
        assert response.status_code == 404
        assert "venció" in response.text

    save_draft(client, PARTIAL)  # any new draft sweeps the expired ones
    session.rollback()  # a new snapshot: the app wrote meanwhile
    assert count(session, NominationDraft) == 1
