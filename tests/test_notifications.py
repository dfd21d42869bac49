"""E-mails about meetings, finalists and winners: who gets one, in which language, and that
nobody who did not agree to be contacted, or who is not concerned, gets anything."""

from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from app.models import MeetingStatus, NominationStatus, OutboxMessage, Role
from app.services.mail import notifications
from tests.factories import make_campaign, make_finalist, make_meeting, make_theme
from tests.test_publishing import (
    announce,
    confirm,
    fresh,
    make_cycle,
    make_nomination,
    prepare,
    publish,
    publish_results,
    quick_account,
    staff_client,
)


def outbox(session: Session) -> list[OutboxMessage]:
    fresh(session)
    return list(session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id))).all())


def to(session: Session) -> list[str]:
    return sorted(message.to_address for message in outbox(session))


# --- judges ---------------------------------------------------------------------------------


def test_meeting_opened_mails_the_judges_of_its_themes_in_their_language(
    session: Session,
) -> None:
    cycle = make_cycle(session)
    english = quick_account(session, Role.judge, cycle.sustainability, locale="en")
    only_youth = quick_account(session, Role.judge, cycle.youth)
    quick_account(session, Role.judge, cycle.youth, is_active=False)
    quick_account(session, Role.staff)
    other_campaign = make_campaign(session, year=cycle.campaign.year - 1)
    quick_account(session, Role.judge, make_theme(session, other_campaign))
    meeting = make_meeting(session, cycle.campaign, [cycle.carla], number=2)

    count = notifications.notify_meeting_opened(session, meeting, base_url="https://icon.example")
    session.commit()

    expected = sorted([j.email for j in cycle.judges] + [english.email])
    assert count == 3
    assert to(session) == expected
    assert only_youth.email not in to(session)
    mail = next(m for m in outbox(session) if m.to_address == english.email)
    assert "meeting 2 is open for scoring" in mail.subject
    assert f"https://icon.example/judges/meetings/{meeting.id}" in mail.body
    assert "https://icon.example/judges/conflicts" in mail.body
    assert f"Hello {english.name}," in mail.body
    spanish = next(m for m in outbox(session) if m.to_address == cycle.judges[0].email)
    assert f"Hola, {cycle.judges[0].name}:" in spanish.body


def test_meeting_with_no_finalists_yet_mails_every_judge_of_the_campaign(
    session: Session,
) -> None:
    cycle = make_cycle(session)
    meeting = make_meeting(session, cycle.campaign, [], number=2, status=MeetingStatus.draft)

    notifications.notify_meeting_opened(session, meeting, base_url="https://icon.example")

    assert to(session) == sorted(j.email for j in cycle.judges)


def test_meeting_closed_mails_its_judges(session: Session) -> None:
    cycle = make_cycle(session)

    count = notifications.notify_meeting_closed(
        session, cycle.meeting, base_url="https://icon.example"
    )

    assert count == 2
    assert to(session) == sorted(j.email for j in cycle.judges)
    # Accounts default to Spanish.
    assert all("sesión de deliberación 1" in m.subject for m in outbox(session))


# --- finalists and nominators ---------------------------------------------------------------


def test_finalists_announced_mails_each_finalist_and_consenting_nominators_only(
    client: TestClient, session: Session
) -> None:
    cycle = make_cycle(session)
    agreed = make_nomination(
        session,
        cycle.ana,
        nominator_name="Rosa Nominadora",
        nominator_email="rosa@example.org",
        nominee_contact="ana.finalista@example.org",
    )
    declined = make_nomination(
        session,
        cycle.ana,
        nominator_name="Luis Reservado",
        nominator_email="luis@example.org",
        may_contact=False,
        nominee_contact="ana.finalista@example.org",
    )
    english = make_nomination(
        session,
        cycle.carla,
        nominator_name="Ellen Nominator",
        nominator_email="ellen@example.org",
        locale="en",
        nominee_contact="+52 55 1234 5678",  # a phone number: Carla gets no e-mail
    )
    make_nomination(
        session,
        cycle.beto,
        nominator_email="withdrawn@example.org",
        nominee_contact="beto@example.org",
        status=NominationStatus.withdrawn,
    )
    staff_client(client, session, cycle)

    response = announce(client)

    assert response.status_code == 303
    assert to(session) == ["ana.finalista@example.org", "ellen@example.org", "rosa@example.org"]
    assert declined.nominator_email not in to(session)
    mails = {m.to_address: m for m in outbox(session)}
    to_ana = mails["ana.finalista@example.org"]
    assert "eres finalista" in to_ana.subject  # the nomination was sent in Spanish
    # In the language of the nomination that gave the address: Spanish.
    assert "Hola, Ana Finalista Ejemplo:" in to_ana.body
    assert "Jóvenes" in to_ana.body
    to_rosa = mails["rosa@example.org"]
    assert "Hola, Rosa Nominadora:" in to_rosa.body
    assert "Ana Finalista Ejemplo" in to_rosa.body
    to_ellen = mails["ellen@example.org"]
    assert "Hello Ellen Nominator," in to_ellen.body
    assert "Sustainability" in to_ellen.body and "Sustentabilidad" not in to_ellen.body
    assert "http://testserver/finalists" in to_ellen.body
    # Nobody learns about another nominator.
    for mail in mails.values():
        for other in (agreed, declined, english):
            if mail.to_address != other.nominator_email:
                assert other.nominator_name not in mail.body
                assert other.nominator_email not in mail.body


def test_a_nominator_of_the_same_finalist_twice_gets_one_mail(session: Session) -> None:
    cycle = make_cycle(session)
    make_nomination(session, cycle.ana, nominator_email="Rosa@Example.org")
    make_nomination(session, cycle.ana, nominator_email="rosa@example.org")

    count = notifications.notify_finalists_announced(
        session, cycle.campaign, base_url="https://icon.example"
    )

    assert count == 1
    assert len(outbox(session)) == 1


def test_finalist_gets_the_contact_most_nominations_give(session: Session) -> None:
    cycle = make_cycle(session)
    make_nomination(session, cycle.ana, nominee_contact="typo@example.org", may_contact=False)
    make_nomination(session, cycle.ana, nominee_contact="ana@example.org", may_contact=False)
    make_nomination(session, cycle.ana, nominee_contact="ANA@example.org", may_contact=False)

    notifications.notify_finalists_announced(
        session, cycle.campaign, base_url="https://icon.example"
    )

    assert [m.to_address.lower() for m in outbox(session)] == ["ana@example.org"]


def test_winners_published_mails_consenting_nominators_of_winners_only(
    client: TestClient, session: Session
) -> None:
    cycle = make_cycle(session)
    winner_fan = make_nomination(session, cycle.ana, nominator_email="fan@example.org")
    make_nomination(session, cycle.ana, nominator_email="quiet@example.org", may_contact=False)
    make_nomination(session, cycle.beto, nominator_email="beto.fan@example.org")
    staff_client(client, session, cycle)
    confirm(client, cycle.youth, [cycle.ana])
    confirm(client, cycle.sustainability, [cycle.carla])
    announce(client)
    announced = len(outbox(session))
    prepare(client)

    publish(client, 1)

    new = outbox(session)[announced:]
    assert [m.to_address for m in new] == [winner_fan.nominator_email]
    assert "ganó" in new[0].subject  # the nomination was sent in Spanish
    year = cycle.campaign.year
    assert f"http://testserver/results/{year}/winners/{cycle.ana.id}" in new[0].body


def test_a_correction_mails_only_the_nominators_of_new_winners(
    client: TestClient, session: Session
) -> None:
    cycle = make_cycle(session)
    make_nomination(session, cycle.ana, nominator_email="ana.fan@example.org")
    make_nomination(session, cycle.beto, nominator_email="beto.fan@example.org")
    staff_client(client, session, cycle)
    publish_results(client, cycle)
    before = len(outbox(session))

    confirm(client, cycle.youth, [cycle.beto], rationale="Corrección.")
    prepare(client, reason="Se corrigió la ganadora de Jóvenes.")
    publish(client, 2)

    assert [m.to_address for m in outbox(session)[before:]] == ["beto.fan@example.org"]


def test_notifications_of_an_unrelated_campaign_send_nothing(session: Session) -> None:
    cycle = make_cycle(session)
    other = make_campaign(session, year=cycle.campaign.year - 1)
    theme = make_theme(session, other)
    outsider = make_finalist(session, theme)
    make_nomination(session, outsider, nominator_email="outsider@example.org")

    notifications.notify_finalists_announced(session, cycle.campaign, base_url="https://x")
    sent = notifications.notify_winners_published(
        session, cycle.campaign, finalist_ids=[outsider.id or 0], base_url="https://x"
    )

    assert sent == 0
    assert "outsider@example.org" not in to(session)
