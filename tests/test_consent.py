"""The nominee's consent to being named (issue 15 item 5): asked by a link mailed over SMTP or
recorded by staff, item by item; announcing waits for it; a withdrawal takes the person off
every public page, feed and revision at once, with a new visible revision."""

import hashlib
import json
import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, delete
from sqlmodel import Session, col, select

from app.config import Settings
from app.models import (
    AuditEvent,
    Campaign,
    ConsentChannel,
    ConsentStatus,
    DataRelease,
    DataReleaseFile,
    Finalist,
    FinalistConsent,
    OutboxMessage,
    ResultsRevision,
    RevisionStatus,
    utcnow,
)
from app.services.files import FileStore
from app.services.mail.outbox import deliver_outbox
from app.services.results.data_releases import make_release
from tests.factories import csrf_token_from, make_pdf, sign_in
from tests.smtp import Inbox
from tests.smtp import smtp_server as serve_smtp
from tests.test_pdf_content import open_action_javascript, pdf_with
from tests.test_publishing import (
    Cycle,
    announce,
    confirm,
    fresh,
    make_cycle,
    make_nomination,
    prepare,
    publish,
    publish_results,
    staff_client,
)

PDF = make_pdf("carta firmada")
LINK = re.compile(r"http://testserver(/consent/[A-Za-z0-9_-]{43})")


@pytest.fixture
def smtp_server() -> Iterator[tuple[str, Inbox]]:
    with serve_smtp() as served:
        yield served


def forget_consent(session: Session, *finalists: Finalist) -> None:
    """As before anyone asked: the factory's finalists consented by letter."""
    session.exec(  # type: ignore[call-overload]
        delete(FinalistConsent).where(
            col(FinalistConsent.finalist_id).in_([f.id for f in finalists])
        )
    )
    session.commit()


def consent_of(session: Session, finalist: Finalist) -> FinalistConsent | None:
    fresh(session)
    return session.exec(
        select(FinalistConsent).where(FinalistConsent.finalist_id == finalist.id)
    ).first()


def actions(session: Session, action: str) -> list[AuditEvent]:
    fresh(session)
    return list(session.exec(select(AuditEvent).where(AuditEvent.action == action)).all())


def request_consent(
    client: TestClient, finalist: Finalist, *, email: str, locale: str = "es"
) -> object:
    page = client.get(f"/staff/finalists/{finalist.id}/consent")
    return client.post(
        f"/staff/finalists/{finalist.id}/consent/request",
        data={"csrf_token": csrf_token_from(page), "email": email, "locale": locale},
        follow_redirects=False,
    )


def mailed_link(session: Session, email: str) -> str:
    fresh(session)
    mail = session.exec(select(OutboxMessage).where(OutboxMessage.to_address == email)).all()[-1]
    session.commit()  # no read snapshot left open: the test may write next
    found = LINK.search(mail.body)
    assert found, mail.body
    return found.group(1)


def answer(client: TestClient, link: str, **fields: str) -> object:
    page = client.get(link)
    assert page.status_code == 200, page.text
    return client.post(
        link, data={"csrf_token": csrf_token_from(page), **fields}, follow_redirects=False
    )


def consent_by_link(
    client: TestClient, session: Session, finalist: Finalist, email: str, **items: str
) -> str:
    """Staff ask, the nominee answers by the mailed link; the link, to come back to."""
    assert request_consent(client, finalist, email=email).status_code == 303  # type: ignore[attr-defined]
    link = mailed_link(session, email)
    nominee = TestClient(client.app, base_url="http://testserver")
    response = answer(nominee, link, decision="consent", name_and_position="yes", **items)
    assert response.status_code == 303, response.text  # type: ignore[attr-defined]
    return link


# --- asking by the mailed link ------------------------------------------------------------------


def test_consent_link_mailed_over_smtp_answered_item_by_item_in_spanish(
    client: TestClient,
    session: Session,
    settings: Settings,
    engine: Engine,
    smtp_server: tuple[str, Inbox],
) -> None:
    cycle = make_cycle(session, photo_store=FileStore(settings.files_dir))
    forget_consent(session, cycle.ana)
    sign_in(client, session, cycle.staff)

    sent = request_consent(client, cycle.ana, email="ana.finalista@example.org")

    assert sent.status_code == 303  # type: ignore[attr-defined]
    url, inbox = smtp_server
    result = deliver_outbox(engine, smtp_url=url, sender="no-reply@example.org")
    assert result.sent == 1
    [received] = inbox.messages
    assert received["To"] == "ana.finalista@example.org"
    assert "¿podemos nombrarle como finalista?" in received["Subject"]
    body = received.get_body().get_content()  # type: ignore[union-attr]
    link = LINK.search(body)
    assert link is not None
    token = link.group(1).rsplit("/", 1)[1]
    stored = consent_of(session, cycle.ana)
    assert stored is not None and stored.status is ConsentStatus.requested
    assert stored.token_hash and token not in stored.token_hash  # only its hash is kept

    nominee = TestClient(client.app, base_url="http://testserver")
    page = nominee.get(link.group(1))
    assert page.status_code == 200
    assert "Su consentimiento para ser nombrada" in page.text
    assert page.headers["cache-control"].startswith("no-store")
    response = nominee.post(
        link.group(1),
        data={
            "csrf_token": csrf_token_from(page),
            "decision": "consent",
            "name_and_position": "yes",
            "story": "yes",
        },
        follow_redirects=False,
    )

    assert response.status_code == 303
    done = nominee.get(response.headers["location"])
    assert "Gracias. Su respuesta quedó guardada." in done.text
    assert "Retirar mi consentimiento" in done.text
    stored = consent_of(session, cycle.ana)
    assert stored is not None
    assert (stored.status, stored.name_and_position, stored.photo, stored.story) == (
        ConsentStatus.given,
        True,
        False,
        True,
    )
    assert stored.channel is ConsentChannel.link and stored.recorded_by_id is None
    [event] = actions(session, "consent.given")
    assert event.actor_id is None and event.actor_label == "anonymous"
    assert "ana.finalista@example.org" not in event.after + event.before
    assert [e.actor_id for e in actions(session, "consent.requested")] == [cycle.staff.id]

    # Partial consent: announced with name and story, the photo stays private.
    assert announce(client).status_code == 303
    public = client.get("/finalists?lang=es")
    assert "Ana Finalista Ejemplo" in public.text
    assert "Abrió los contratos." in public.text
    assert f"/media/finalists/{cycle.ana.id}.jpg" not in public.text
    photo = client.get(f"/media/finalists/{cycle.ana.id}.jpg?v={cycle.ana.photo_sha256[:16]}")
    assert photo.status_code == 404


def test_consent_page_in_english_and_a_declined_answer_is_kept(
    client: TestClient, session: Session
) -> None:
    cycle = make_cycle(session)
    forget_consent(session, cycle.beto)
    sign_in(client, session, cycle.staff)
    request_consent(client, cycle.beto, email="beto@example.org", locale="en")
    link = mailed_link(session, "beto@example.org")
    fresh(session)
    mail = session.exec(select(OutboxMessage)).one()
    assert "may we name you as a finalist?" in mail.subject

    nominee = TestClient(client.app, base_url="http://testserver")
    nominee.get("/?lang=en")
    page = nominee.get(link)
    assert "Your consent to being named" in page.text
    response = answer(nominee, link, decision="decline")

    assert response.status_code == 303  # type: ignore[attr-defined]
    stored = consent_of(session, cycle.beto)
    assert stored is not None and stored.status is ConsentStatus.declined
    assert "You chose not to be named" in nominee.get(link).text
    again = nominee.post(
        link,
        data={
            "csrf_token": csrf_token_from(page),
            "decision": "consent",
            "name_and_position": "yes",
        },
    )
    assert again.status_code == 422
    assert "You have already answered" in again.text
    assert consent_of(session, cycle.beto).status is ConsentStatus.declined  # type: ignore[union-attr]


def test_consent_without_name_is_refused_with_a_message_and_nothing_stored(
    client: TestClient, session: Session
) -> None:
    cycle = make_cycle(session)
    forget_consent(session, cycle.ana)
    sign_in(client, session, cycle.staff)
    request_consent(client, cycle.ana, email="ana@example.org")
    link = mailed_link(session, "ana@example.org")
    nominee = TestClient(client.app, base_url="http://testserver")

    response = answer(nominee, link, decision="consent", photo="yes")

    assert response.status_code == 422  # type: ignore[attr-defined]
    assert "Sin su nombre y cargo no podemos mostrar nada" in response.text  # type: ignore[attr-defined]
    assert consent_of(session, cycle.ana).status is ConsentStatus.requested  # type: ignore[union-attr]
    assert actions(session, "consent.given") == []


def test_unknown_or_expired_consent_link_is_a_clear_404(
    client: TestClient, session: Session
) -> None:
    cycle = make_cycle(session)
    forget_consent(session, cycle.ana)
    sign_in(client, session, cycle.staff)
    request_consent(client, cycle.ana, email="ana@example.org")
    link = mailed_link(session, "ana@example.org")
    stored = consent_of(session, cycle.ana)
    assert stored is not None and stored.token_expires_at is not None
    stored.token_expires_at -= timedelta(days=31)
    session.add(stored)
    session.commit()

    expired = client.get(link)
    unknown = client.get("/consent/" + "x" * 43)

    assert expired.status_code == 404
    assert "no es válido o ya venció" in expired.text
    assert unknown.status_code == 404


def test_consent_form_without_its_csrf_token_changes_nothing(
    client: TestClient, session: Session
) -> None:
    cycle = make_cycle(session)
    forget_consent(session, cycle.ana)
    sign_in(client, session, cycle.staff)
    request_consent(client, cycle.ana, email="ana@example.org")
    link = mailed_link(session, "ana@example.org")
    nominee = TestClient(client.app, base_url="http://testserver")
    nominee.get(link)

    response = nominee.post(link, data={"decision": "consent", "name_and_position": "yes"})

    assert response.status_code == 403
    assert consent_of(session, cycle.ana).status is ConsentStatus.requested  # type: ignore[union-attr]


# --- announcing waits for consent -----------------------------------------------------------


def test_announcement_is_refused_naming_whose_consent_is_missing_or_declined(
    client: TestClient, session: Session
) -> None:
    cycle = make_cycle(session)
    forget_consent(session, cycle.ana, cycle.beto)
    staff_client(client, session, cycle)
    session.add(FinalistConsent(finalist_id=cycle.beto.id or 0, status=ConsentStatus.declined))
    session.commit()

    preview = client.get("/staff/publishing/finalists")
    response = announce(client)

    assert "Waiting for consent" in preview.text
    assert "Beto Finalista Ejemplo" not in preview.text.split('id="consent-missing"')[0]
    assert response.status_code == 409
    assert "Ana Finalista Ejemplo" in response.text
    assert "Beto Finalista Ejemplo" in response.text
    assert "consent" in response.text
    fresh(session)
    campaign = session.get(Campaign, cycle.campaign.id)
    assert campaign is not None and campaign.finalists_announced_at is None
    assert actions(session, "finalists.announced") == []


def test_requested_changes_hold_the_announcement_until_staff_apply_them(
    client: TestClient, session: Session
) -> None:
    cycle = make_cycle(session)
    forget_consent(session, cycle.ana)
    staff_client(client, session, cycle)
    consent_by_link(
        client,
        session,
        cycle.ana,
        "ana@example.org",
        photo="yes",
        story="yes",
        requested_name="Ana F. Ejemplo",
    )

    assert announce(client).status_code == 409
    page = client.get(f"/staff/finalists/{cycle.ana.id}/consent")
    assert "Ana F. Ejemplo" in page.text
    handled = client.post(
        f"/staff/finalists/{cycle.ana.id}/consent/handled",
        data={"csrf_token": csrf_token_from(page)},
        follow_redirects=False,
    )

    assert handled.status_code == 303
    assert [e.actor_id for e in actions(session, "consent.changes_handled")] == [cycle.staff.id]
    assert announce(client).status_code == 303


# --- recorded by staff ---------------------------------------------------------------------


def test_staff_record_a_letter_consent_with_its_evidence(
    client: TestClient, session: Session
) -> None:
    cycle = make_cycle(session)
    forget_consent(session, cycle.carla)
    cycle.carla.citation_es = "Historia que solo cuenta Carla."
    session.add(cycle.carla)
    session.commit()
    staff_client(client, session, cycle)
    page = client.get(f"/staff/finalists/{cycle.carla.id}/consent")
    assert "not asked" in page.text

    response = client.post(
        f"/staff/finalists/{cycle.carla.id}/consent",
        data={
            "csrf_token": csrf_token_from(page),
            "channel": "letter",
            "decision": "consent",
            "name_and_position": "yes",
            "photo": "yes",
        },
        files={"evidence": ("carta.pdf", PDF, "application/pdf")},
        follow_redirects=False,
    )

    assert response.status_code == 303
    stored = consent_of(session, cycle.carla)
    assert stored is not None
    assert (stored.status, stored.channel, stored.recorded_by_id) == (
        ConsentStatus.given,
        ConsentChannel.letter,
        cycle.staff.id,
    )
    assert (stored.photo, stored.story) == (True, False)
    assert stored.evidence_name == "carta.pdf"
    evidence = client.get(f"/staff/finalists/{cycle.carla.id}/consent/evidence")
    assert evidence.status_code == 200
    assert evidence.content == PDF
    assert evidence.headers["content-disposition"] == "attachment"
    [event] = actions(session, "consent.given")
    assert event.actor_id == cycle.staff.id
    assert json.loads(event.after)["channel"] == "letter"
    listed = client.get("/staff/finalists").text
    assert f'<a href="/staff/finalists/{cycle.carla.id}/consent">consented</a>' in listed
    # The story was not consented to: the profile shows no citation.
    assert announce(client).status_code == 303
    public = client.get("/finalists?lang=es").text
    assert "Carla Finalista Ejemplo" in public
    assert "Historia que solo cuenta Carla." not in public


def test_staff_recorded_consent_with_bad_input_stores_nothing(
    client: TestClient, session: Session
) -> None:
    cycle = make_cycle(session)
    forget_consent(session, cycle.carla)
    staff_client(client, session, cycle)
    page = client.get(f"/staff/finalists/{cycle.carla.id}/consent")

    response = client.post(
        f"/staff/finalists/{cycle.carla.id}/consent",
        data={"csrf_token": csrf_token_from(page), "channel": "carrier pigeon"},
        files={"evidence": ("carta.exe", b"MZ\x90\x00", "application/octet-stream")},
    )

    assert response.status_code == 422
    assert "Choose one of the options." in response.text
    assert consent_of(session, cycle.carla) is None


# --- asking many at once -----------------------------------------------------------------------


def test_staff_ask_every_finalist_not_asked_at_once_with_suggested_addresses(
    client: TestClient, session: Session
) -> None:
    cycle = make_cycle(session)
    forget_consent(session, cycle.ana, cycle.beto, cycle.dario)
    make_nomination(session, cycle.ana, nominee_contact="Tel. 228 555 0101, ana.f@example.org")
    staff_client(client, session, cycle)
    assert 'href="/staff/consent"' in client.get("/staff/finalists").text

    page = client.get("/staff/consent?lang=en")

    assert page.status_code == 200
    text = page.text
    ana, beto, carla = (f"finalist-{f.id}" for f in (cycle.ana, cycle.beto, cycle.carla))
    assert f'name="email-{cycle.ana.id}" value="ana.f@example.org"' in text
    assert f'name="ask-{cycle.ana.id}" value="yes" checked' in text
    assert f'name="ask-{cycle.carla.id}"' not in text  # she consented: nothing to ask
    assert text.index(ana) < text.index(beto) < text.index(carla)  # by theme, then name
    token = csrf_token_from(page)
    ids = (cycle.ana.id, cycle.beto.id, cycle.dario.id)
    base = {"csrf_token": token} | {f"ask-{i}": "yes" for i in ids}
    base |= {f"locale-{i}": "es" for i in ids}

    bad = client.post(
        "/staff/consent?lang=en",
        data=base
        | {
            f"email-{cycle.ana.id}": "ana.f@example.org",
            f"email-{cycle.beto.id}": "beto-sin-arroba",
            f"email-{cycle.dario.id}": "",
        },
    )
    assert bad.status_code == 422
    assert f'href="#field-email-{cycle.beto.id}">Beto Finalista Ejemplo' in bad.text
    assert f'href="#field-email-{cycle.dario.id}">' in bad.text
    assert 'value="beto-sin-arroba"' in bad.text  # what was typed stays
    assert consent_of(session, cycle.ana) is None
    assert session.exec(select(OutboxMessage)).all() == []

    sent = client.post(
        "/staff/consent",
        data=base
        | {
            f"email-{cycle.ana.id}": "ana.f@example.org",
            f"email-{cycle.beto.id}": "beto@example.org",
            f"locale-{cycle.beto.id}": "en",
            f"email-{cycle.dario.id}": "dario@example.org",
        },
        follow_redirects=False,
    )
    assert sent.status_code == 303
    assert "3 requests are on their way." in client.get(sent.headers["location"]).text
    assert "3 solicitudes van en camino." in client.get("/staff/consent?sent=3&lang=es").text
    fresh(session)
    mails = {m.to_address: m for m in session.exec(select(OutboxMessage)).all()}
    assert set(mails) == {"ana.f@example.org", "beto@example.org", "dario@example.org"}
    assert LINK.search(mails["beto@example.org"].body)
    for finalist in (cycle.ana, cycle.beto, cycle.dario):
        stored = consent_of(session, finalist)
        assert stored is not None and stored.status is ConsentStatus.requested
    assert consent_of(session, cycle.beto).locale == "en"  # type: ignore[union-attr]
    assert len(actions(session, "consent.requested")) == 3
    # Asked since: not ticked again, their address kept.
    again = client.get("/staff/consent").text
    assert f'name="ask-{cycle.ana.id}" value="yes" checked' not in again
    assert f'name="email-{cycle.beto.id}" value="beto@example.org"' in again
    nothing = client.post("/staff/consent?lang=en", data={"csrf_token": token})
    assert nothing.status_code == 422
    assert "Tick at least one finalist to ask." in nothing.text
    # Carla answered before the page was sent: she is named, and nobody is asked.
    stale = client.post(
        "/staff/consent?lang=en",
        data={
            "csrf_token": token,
            f"ask-{cycle.carla.id}": "yes",
            f"email-{cycle.carla.id}": "carla@example.org",
            f"ask-{cycle.ana.id}": "yes",
            f"email-{cycle.ana.id}": "ana.f@example.org",
        },
    )
    assert stale.status_code == 422
    assert "Carla Finalista Ejemplo has already answered; there is nothing to ask." in stale.text
    fresh(session)
    assert len(session.exec(select(OutboxMessage)).all()) == 3


# --- withdrawal ------------------------------------------------------------------------------


def _published_with_ana_by_link(
    client: TestClient, session: Session, settings: Settings
) -> tuple[Cycle, str]:
    cycle = make_cycle(session, photo_store=FileStore(settings.files_dir))
    forget_consent(session, cycle.ana)
    staff_client(client, session, cycle)
    link = consent_by_link(client, session, cycle.ana, "ana@example.org", photo="yes", story="yes")
    publish_results(client, cycle)
    return cycle, link


def test_withdrawal_by_link_removes_the_winner_from_every_public_page_with_a_new_revision(
    client: TestClient, session: Session, settings: Settings
) -> None:
    cycle, link = _published_with_ana_by_link(client, session, settings)
    year = cycle.campaign.year
    photo_url = f"/media/finalists/{cycle.ana.id}.jpg?v={cycle.ana.photo_sha256[:16]}"
    assert "Ana Finalista Ejemplo" in client.get("/results").text
    assert client.get(photo_url).status_code == 200

    nominee = TestClient(client.app, base_url="http://testserver")
    form = nominee.get(link)
    response = answer(nominee, link, action="withdraw")

    assert response.status_code == 303  # type: ignore[attr-defined]
    assert "Su consentimiento está retirado" in nominee.get(response.headers["location"]).text  # type: ignore[attr-defined]
    for path in (
        "/results",
        "/results?lang=es",
        f"/results/{year}",
        f"/results/{year}/revisions/1",
        f"/results/{year}/revisions/2",
        f"/results/{year}.json",
        f"/results/{year}.csv",
        "/finalists",
    ):
        page = client.get(path)
        assert page.status_code == 200, path
        assert "Ana Finalista Ejemplo" not in page.text, path
        assert "She opened the contracts." not in page.text, path
        assert "Abrió los contratos." not in page.text, path
    latest = client.get("/results")
    assert "A finalist withdrew their consent" in latest.text
    assert "Carla Finalista Ejemplo" in latest.text  # the other theme's winner stays
    assert client.get(f"/results/{year}/winners/{cycle.ana.id}").status_code == 404
    assert client.get(photo_url).status_code == 404

    fresh(session)
    revisions = session.exec(select(ResultsRevision).order_by(col(ResultsRevision.number))).all()
    assert [(r.number, r.status) for r in revisions] == [
        (1, RevisionStatus.published),
        (2, RevisionStatus.published),
    ]
    assert "withdrew" in revisions[1].reason and revisions[1].created_by_id is None
    for revision in revisions:
        assert "Ana Finalista Ejemplo" not in revision.content
        assert cycle.ana.photo_sha256 not in revision.content
    stored = consent_of(session, cycle.ana)
    assert stored is not None and stored.status is ConsentStatus.withdrawn
    [withdrawn] = actions(session, "consent.withdrawn")
    assert withdrawn.actor_id is None
    redacted = actions(session, "results.revision_redacted")
    assert sorted(json.loads(e.after)["number"] for e in redacted) == [1]
    before = json.loads(redacted[0].before)["content_sha256"]
    assert before != json.loads(redacted[0].after)["content_sha256"]
    published = actions(session, "results.published")
    assert json.loads(published[-1].after)["supersedes"] == 1
    twice = nominee.post(link, data={"csrf_token": csrf_token_from(form), "action": "withdraw"})
    assert twice.status_code == 422
    assert "ya estaba retirado" in twice.text


def test_a_winner_who_withdraws_is_counted_not_named_and_staff_are_told_no_winner_is_named(
    client: TestClient, session: Session, settings: Settings
) -> None:
    cycle, link = _published_with_ana_by_link(client, session, settings)
    publishing = client.get("/staff/publishing?lang=en").text
    assert "not named in public" not in publishing
    nominee = TestClient(client.app, base_url="http://testserver")

    answer(nominee, link, action="withdraw")

    page = client.get("/results?lang=en").text
    youth = page[page.index('id="theme-youth"') : page.index('id="theme-sustainability"')]
    assert "1 winner of this theme is not named here, at their request." in youth
    assert "Ana Finalista Ejemplo" not in page
    assert "not named here" not in page[page.index('id="theme-sustainability"') :]
    assert "no se nombra aquí" in client.get("/results?lang=es").text
    publishing = client.get("/staff/publishing?lang=en").text
    assert 'Ana Finalista Ejemplo <span class="badge flagged">not named in public' in publishing
    assert "The public results name no winner of Youth: Ana Finalista Ejemplo" in publishing
    # The notice does not count as a change to publish: the published revision already says it.
    assert "changed since the published revision" not in publishing
    # A revision published before the count existed lacks it: not a change to publish either.
    fresh(session)
    latest = session.exec(
        select(ResultsRevision).order_by(col(ResultsRevision.number).desc())
    ).first()
    assert latest is not None
    content = json.loads(latest.content)
    for theme in content["themes"]:
        theme.pop("unnamed_winners", None)
    latest.content = json.dumps(content)
    session.add(latest)
    session.commit()
    assert "changed since the published revision" not in client.get("/staff/publishing").text
    consent_page = client.get(f"/staff/finalists/{cycle.ana.id}/consent?lang=en").text
    assert 'id="unnamed-winner"' in consent_page
    assert (
        'id="unnamed-winner"'
        not in client.get(f"/staff/finalists/{cycle.carla.id}/consent?lang=en").text
    )


def test_withdrawal_in_english_pages_says_a_finalist_withdrew(
    client: TestClient, session: Session, settings: Settings
) -> None:
    _, link = _published_with_ana_by_link(client, session, settings)
    nominee = TestClient(client.app, base_url="http://testserver")
    nominee.get("/?lang=en")

    response = answer(nominee, link, action="withdraw")

    assert "Your consent is withdrawn" in nominee.get(response.headers["location"]).text  # type: ignore[attr-defined]
    page = client.get("/results?lang=en")
    assert "Correction" in page.text
    assert "A finalist withdrew their consent" in page.text
    assert "Ana Finalista Ejemplo" not in page.text


def test_staff_record_a_withdrawal_by_phone_before_the_results(
    client: TestClient, session: Session
) -> None:
    cycle = make_cycle(session)
    staff_client(client, session, cycle)
    assert announce(client).status_code == 303
    assert "Beto Finalista Ejemplo" in client.get("/finalists").text
    page = client.get(f"/staff/finalists/{cycle.beto.id}/consent")

    response = client.post(
        f"/staff/finalists/{cycle.beto.id}/consent/withdraw",
        data={"csrf_token": csrf_token_from(page), "channel": "phone"},
        follow_redirects=False,
    )

    assert response.status_code == 303
    assert "Beto Finalista Ejemplo" not in client.get("/finalists").text
    stored = consent_of(session, cycle.beto)
    assert stored is not None and stored.status is ConsentStatus.withdrawn
    assert stored.recorded_by_id == cycle.staff.id and stored.channel is ConsentChannel.phone
    [event] = actions(session, "consent.withdrawn")
    assert event.actor_id == cycle.staff.id
    fresh(session)
    assert session.exec(select(ResultsRevision)).all() == []
    # Winners are confirmed among those who may be named; results leave Beto out.
    assert confirm(client, cycle.youth, [cycle.ana]).status_code == 303
    assert confirm(client, cycle.sustainability, [cycle.carla]).status_code == 303
    assert prepare(client).status_code == 303
    assert publish(client, 1).status_code == 303
    assert "Beto Finalista Ejemplo" not in client.get("/results").text


def test_staff_recorded_letter_with_javascript_is_refused_with_its_reason(
    client: TestClient, session: Session, settings: Settings
) -> None:
    cycle = make_cycle(session)
    forget_consent(session, cycle.carla)
    staff_client(client, session, cycle)
    page = client.get(f"/staff/finalists/{cycle.carla.id}/consent")

    response = client.post(
        f"/staff/finalists/{cycle.carla.id}/consent",
        data={
            "csrf_token": csrf_token_from(page),
            "channel": "letter",
            "decision": "consent",
            "name_and_position": "yes",
        },
        files={"evidence": ("carta.pdf", pdf_with(open_action_javascript), "application/pdf")},
    )

    assert response.status_code == 422
    assert "contains JavaScript" in response.text
    assert consent_of(session, cycle.carla) is None
    assert not any(p.is_file() for p in settings.files_dir.rglob("*"))


def test_withdrawal_takes_the_finalist_out_of_every_open_data_file_of_every_release(
    client: TestClient, session: Session, settings: Settings
) -> None:
    cycle, link = _published_with_ana_by_link(client, session, settings)
    year = cycle.campaign.year
    fresh(session)
    make_release(session, campaign=cycle.campaign, min_count=5, made_by="command", now=utcnow())
    session.commit()

    def every_file() -> dict[str, bytes]:
        found = {}
        for release in client.get(f"/data/{year}/catalog.json").json()["dataset"]:
            for dist in release["distribution"]:
                url = dist["downloadURL"].replace("http://testserver", "")
                body = client.get(url).content
                # Each file still is what the catalogue says it is.
                assert len(body) == dist["byteSize"], url
                assert hashlib.sha256(body).hexdigest() in json.dumps(dist), url
                found[url] = body
        return found

    assert any("Ana Finalista Ejemplo" in body.decode() for body in every_file().values())

    nominee = TestClient(client.app, base_url="http://testserver")
    assert answer(nominee, link, action="withdraw").status_code == 303  # type: ignore[attr-defined]

    files = every_file()
    assert files
    for url, body in files.items():
        assert "Ana Finalista Ejemplo" not in body.decode(), url
        assert f'"finalist_id": {cycle.ana.id},' not in body.decode(), url
    assert any("Carla Finalista Ejemplo" in body.decode() for body in files.values())
    fresh(session)
    assert session.exec(select(DataRelease)).all()
    for stored in session.exec(select(DataReleaseFile)).all():
        assert "Ana Finalista Ejemplo" not in stored.content.decode()
        assert stored.byte_size == len(stored.content)
        assert stored.sha256 == hashlib.sha256(stored.content).hexdigest()
    [redacted] = actions(session, "data.release_redacted")
    assert json.loads(redacted.after)["finalist_id"] == cycle.ana.id
