"""Loose ends of the first round (issue 15 item 6): renaming a candidate screens it again,
splitting and merging keep their history, and admins resend an invitation or a
set-password link."""

import json
import re

from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from app.config import Settings
from app.models import (
    Account,
    AccountToken,
    AuditEvent,
    Candidate,
    Nomination,
    OutboxMessage,
    Role,
    SanctionMatch,
    TokenPurpose,
)
from tests.factories import csrf_token_from, make_account, make_open_campaign, sign_in
from tests.test_sanctions import import_fixtures
from tests.test_staff_candidates import make_candidate, make_nomination, post_form


def fresh(session: Session) -> None:
    """A new read snapshot, and rows loaded before it read again."""
    session.rollback()
    session.expire_all()


def events(session: Session, action: str) -> list[AuditEvent]:
    fresh(session)
    return list(
        session.exec(
            select(AuditEvent).where(AuditEvent.action == action).order_by(col(AuditEvent.id))
        ).all()
    )


def staff_in(client: TestClient, session: Session, locale: str = "en") -> Account:
    account = make_account(session, Role.staff, name="Sara Staff")
    sign_in(client, session, account)
    client.get(f"/?lang={locale}")
    return account


# --- rename ------------------------------------------------------------------------------------


def test_rename_a_candidate_screens_it_again_and_keeps_the_nominations_as_written(
    client: TestClient, session: Session, settings: Settings
) -> None:
    _, youth, _ = make_open_campaign(session)
    staff = staff_in(client, session)
    nomination = make_nomination(session, youth, nominee_name="Javier Salgad Moren")
    candidate = make_candidate(session, staff, [nomination])
    import_fixtures(session, settings)
    fresh(session)
    assert session.exec(select(SanctionMatch)).all() == []

    response = post_form(
        client,
        f"/staff/candidates/{candidate.id}/rename",
        {"name": "Javier Salgado Moreno", "institution": "Tesorería", "state": "VER"},
    )

    assert response.status_code == 303
    fresh(session)
    renamed = session.get(Candidate, candidate.id)
    assert renamed is not None
    assert (renamed.name, renamed.institution) == ("Javier Salgado Moreno", "Tesorería")
    assert session.get(Nomination, nomination.id).nominee_name == "Javier Salgad Moren"  # type: ignore[union-attr]
    [match] = session.exec(select(SanctionMatch)).all()
    assert match.candidate_id == candidate.id
    [event] = events(session, "candidate.rename")
    assert (event.actor_id, event.object_id) == (staff.id, str(candidate.id))
    assert json.loads(event.before)["name"] == "Javier Salgad Moren"
    assert json.loads(event.after)["name"] == "Javier Salgado Moreno"
    screened = [json.loads(e.after)["reason"] for e in events(session, "sanctions.screen")]
    assert "rename" in screened
    page = client.get(f"/staff/candidates/{candidate.id}")
    assert "renamed: Javier Salgad Moren → Javier Salgado Moreno" in page.text


def test_rename_with_an_empty_name_is_refused_in_spanish_and_stores_nothing(
    client: TestClient, session: Session
) -> None:
    _, youth, _ = make_open_campaign(session)
    staff = staff_in(client, session, locale="es")
    candidate = make_candidate(session, staff, [make_nomination(session, youth)])

    response = post_form(
        client, f"/staff/candidates/{candidate.id}/rename", {"name": "", "state": "XX"}
    )

    assert response.status_code == 422
    assert "Este campo es obligatorio." in response.text
    fresh(session)
    assert session.get(Candidate, candidate.id).name == "María Fernanda López Ruiz"  # type: ignore[union-attr]
    assert events(session, "candidate.rename") == []


# --- split and merge ---------------------------------------------------------------------------


def test_split_moves_the_ticked_nominations_to_a_new_candidate_with_history(
    client: TestClient, session: Session
) -> None:
    _, youth, _ = make_open_campaign(session)
    staff = staff_in(client, session)
    keep = make_nomination(session, youth)
    other = make_nomination(
        session, youth, nominee_name="Mario Fernando López Ruiz", nominee_institution="CFE"
    )
    candidate = make_candidate(session, staff, [keep, other])
    page = client.get(f"/staff/candidates/{candidate.id}")
    assert 'form="split"' in page.text

    response = client.post(
        f"/staff/candidates/{candidate.id}/split",
        data={"csrf_token": csrf_token_from(page), "nominations": [str(other.id)]},
        follow_redirects=False,
    )

    assert response.status_code == 303
    fresh(session)
    new = session.exec(select(Candidate).where(Candidate.id != candidate.id)).one()
    assert response.headers["location"] == f"/staff/candidates/{new.id}"
    assert (new.name, new.institution) == ("Mario Fernando López Ruiz", "CFE")
    assert session.get(Nomination, other.id).candidate_id == new.id  # type: ignore[union-attr]
    assert session.get(Nomination, keep.id).candidate_id == candidate.id  # type: ignore[union-attr]
    [split] = events(session, "candidate.split")
    assert json.loads(split.after) == {
        "nominations": [keep.id],
        "split_into": new.id,
        "moved": [other.id],
    }
    moves = [e for e in events(session, "nomination.candidate") if e.object_id == str(other.id)]
    assert [json.loads(e.after)["candidate_id"] for e in moves] == [candidate.id, new.id]
    old_page = client.get(f"/staff/candidates/{candidate.id}").text
    assert f"nominations {other.id} to candidate {new.id}" in old_page
    assert f"split from candidate {candidate.id}" in client.get(response.headers["location"]).text


def test_split_of_every_nomination_or_of_none_is_refused_and_changes_nothing(
    client: TestClient, session: Session
) -> None:
    _, youth, _ = make_open_campaign(session)
    staff = staff_in(client, session)
    first, second = make_nomination(session, youth), make_nomination(session, youth)
    candidate = make_candidate(session, staff, [first, second])
    url = f"/staff/candidates/{candidate.id}/split"

    everything = post_form(client, url, {"nominations": [str(first.id), str(second.id)]})  # type: ignore[dict-item]
    nothing = post_form(client, url, {})

    assert everything.status_code == 422
    assert "Leave at least one nomination" in everything.text
    assert nothing.status_code == 422
    assert "Tick the nominations that name another person." in nothing.text
    fresh(session)
    assert len(session.exec(select(Candidate)).all()) == 1
    assert events(session, "candidate.split") == []


def test_merge_keeps_the_history_on_the_candidate_page(
    client: TestClient, session: Session
) -> None:
    _, youth, _ = make_open_campaign(session)
    staff = staff_in(client, session)
    target = make_candidate(session, staff, [make_nomination(session, youth)])
    source = make_candidate(session, staff, [make_nomination(session, youth)])

    response = post_form(
        client, f"/staff/candidates/{target.id}/merge", {"other_id": str(source.id)}
    )

    assert response.status_code == 303
    page = client.get(f"/staff/candidates/{target.id}").text
    assert "History" in page
    assert f"another candidate merged into it: candidate {source.id}" in page
    [merge] = events(session, "candidate.merge")
    assert json.loads(merge.before)["merged"]["name"] == "María Fernanda López Ruiz"


# --- resending links ---------------------------------------------------------------------------


def _resend(client: TestClient, account: Account) -> object:
    page = client.get("/staff/users")
    return client.post(
        f"/staff/users/{account.id}/resend",
        data={"csrf_token": csrf_token_from(page)},
        follow_redirects=False,
    )


def test_resend_an_invitation_spends_the_old_link_and_mails_a_new_one(
    client: TestClient, session: Session
) -> None:
    admin = make_account(session, Role.admin, name="Ana Admin")
    sign_in(client, session, admin)
    client.get("/?lang=en")
    page = client.get("/staff/users")
    client.post(
        "/staff/users/invite",
        data={
            "csrf_token": csrf_token_from(page),
            "name": "Julia Jueza",
            "email": "julia@example.org",
            "role": "judge",
            "locale": "es",
        },
    )
    fresh(session)
    invited = session.exec(select(Account).where(Account.email == "julia@example.org")).one()
    first = session.exec(select(OutboxMessage)).one()
    old_link = re.search(r"http://testserver(/account/set-password/\S+)", first.body)
    assert old_link is not None
    assert "Send the invitation again" in client.get("/staff/users").text

    response = _resend(client, invited)

    assert response.status_code == 303  # type: ignore[attr-defined]
    assert "A new invitation is on its way" in client.get(response.headers["location"]).text  # type: ignore[attr-defined]
    fresh(session)
    mails = session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id))).all()
    assert len(mails) == 2 and mails[1].to_address == "julia@example.org"
    assert "invitación" in mails[1].subject
    new_link = re.search(r"http://testserver(/account/set-password/\S+)", mails[1].body)
    assert new_link is not None and new_link.group(1) != old_link.group(1)
    assert client.get(old_link.group(1)).status_code == 404
    assert client.get(new_link.group(1)).status_code == 200
    [event] = events(session, "account.link_resent")
    assert (event.actor_id, json.loads(event.after)["purpose"]) == (admin.id, "set_password")


def test_resend_to_an_account_with_a_password_mails_a_one_hour_set_password_link(
    client: TestClient, session: Session
) -> None:
    admin = make_account(session, Role.admin, name="Ana Admin")
    judge = make_account(session, Role.judge, name="Juan Juez", locale="en")
    sign_in(client, session, admin)

    response = _resend(client, judge)

    assert response.status_code == 303  # type: ignore[attr-defined]
    fresh(session)
    mail = session.exec(select(OutboxMessage)).one()
    assert mail.to_address == judge.email
    assert "choose a new password" in mail.subject
    token = session.exec(select(AccountToken)).one()
    assert token.purpose is TokenPurpose.reset_password
    assert [e.object_id for e in events(session, "account.link_resent")] == [str(judge.id)]


def test_resend_by_staff_is_refused_and_sends_nothing(client: TestClient, session: Session) -> None:
    judge = make_account(session, Role.judge)
    staff_in(client, session)
    token = csrf_token_from(client.get("/staff/candidates"))

    response = client.post(
        f"/staff/users/{judge.id}/resend", data={"csrf_token": token}, follow_redirects=False
    )

    assert response.status_code == 403
    fresh(session)
    assert session.exec(select(OutboxMessage)).all() == []
