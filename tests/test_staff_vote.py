"""The People's Choice, as staff run it (issue 18): set-up, the review page, voiding a set of
votes (audited, and visible in the published count), the count frozen with its hash in the
audit trail, addresses exported only with a reason, tallies from the ground with their scan,
`vote tally`, and the server deleting addresses after the retention period."""

import csv
import io
import json
import time
from datetime import timedelta

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session, col, func, select

from app.config import Settings
from app.main import create_app
from app.models import (
    AuditEvent,
    GroundTally,
    OutboxMessage,
    Role,
    ThemeVote,
    Vote,
    VoteVoiding,
    utcnow,
)
from app.services.voting.counting import confirmed_counts
from tests.factories import csrf_token_from, make_account, make_pdf, sign_in
from tests.test_cli import run_cli
from tests.vote_helpers import cast, cast_and_confirm, voting_world

PDF = make_pdf("acta")


def staff_client(client: TestClient, session: Session) -> str:
    session.rollback()
    sign_in(client, session, make_account(session, Role.staff))
    return csrf_token_from(client.get("/staff/vote"))


def close(session: Session, vote: ThemeVote, *, ago: timedelta = timedelta(minutes=1)) -> None:
    session.rollback()
    fresh = session.get(ThemeVote, vote.id)
    assert fresh is not None
    fresh.closes_at = utcnow() - ago
    session.add(fresh)
    session.commit()


def events(session: Session, action: str) -> list[AuditEvent]:
    session.rollback()
    return list(
        session.exec(
            select(AuditEvent).where(AuditEvent.action == action).order_by(col(AuditEvent.id))
        ).all()
    )


def test_staff_set_up_a_vote_with_a_bad_window_gets_a_message_and_nothing_is_stored(
    client: TestClient, session: Session
) -> None:
    campaign, youth, _vote, _finalists = voting_world(session)
    token = staff_client(client, session)

    refused = client.post(
        "/staff/vote",
        data={
            "csrf_token": token,
            "theme_id": str(_vote.theme_id + 1),  # sustainability: no vote yet
            "opens_at": "2031-03-10T10:00",
            "closes_at": "2031-03-01T10:00",
        },
        follow_redirects=False,
    )

    assert refused.status_code == 422
    assert "La votación debe cerrar después de abrir." in refused.text
    session.rollback()
    assert session.exec(select(func.count()).select_from(ThemeVote)).one() == 1

    saved = client.post(
        "/staff/vote",
        data={
            "csrf_token": token,
            "theme_id": str(_vote.theme_id + 1),
            "opens_at": "2031-03-01T10:00",
            "closes_at": "2031-03-10T18:00",
            "show_running_counts": "yes",
        },
        follow_redirects=False,
    )

    assert saved.status_code == 303
    session.rollback()
    created = session.exec(select(ThemeVote).where(ThemeVote.theme_id == _vote.theme_id + 1)).one()
    # Mexico City time (UTC-6) as typed.
    assert created.closes_at.isoformat() == "2031-03-11T00:00:00+00:00"
    assert created.show_running_counts is True
    assert [e.object_id for e in events(session, "vote.set_up")] == [str(created.id)]
    del campaign, youth


def test_voiding_a_network_is_audited_and_shown_in_the_published_count(
    client: TestClient, session: Session
) -> None:
    _campaign, theme, vote, (ana, beto) = voting_world(session)
    for i in range(6):
        cast_and_confirm(client, session, ana, f"bot{i}@example.org")
    cast_and_confirm(client, session, beto, "persona@example.org")
    token = staff_client(client, session)

    review = client.get(f"/staff/vote/{theme.id}")
    assert review.status_code == 200
    # Every vote came from the test client: one network, many addresses, one pattern, and
    # confirmed within seconds.
    assert "bot#@example.org" in review.text
    assert "bot0@example.org" not in review.text  # addresses themselves are never shown

    no_reason = client.post(
        f"/staff/vote/{theme.id}/void",
        data={"csrf_token": token, "selector": "pattern", "value": "bot#@example.org"},
        follow_redirects=False,
    )
    assert no_reason.status_code == 422
    session.rollback()
    assert session.exec(select(func.count()).select_from(VoteVoiding)).one() == 0

    voided = client.post(
        f"/staff/vote/{theme.id}/void",
        data={
            "csrf_token": token,
            "selector": "pattern",
            "value": "bot#@example.org",
            "reason": "Direcciones en serie confirmadas en segundos.",
        },
        follow_redirects=False,
    )

    assert voided.status_code == 303
    session.rollback()
    assert vote.id is not None
    assert confirmed_counts(session, theme_vote_id=vote.id) == {beto.id: 1}
    (event,) = events(session, "vote.voided")
    after = json.loads(event.after)
    assert (after["votes"], after["counted"]) == (6, 6)
    assert after["reason"] == "Direcciones en serie confirmadas en segundos."

    close(session, vote)
    frozen = client.post(
        f"/staff/vote/{theme.id}/freeze", data={"csrf_token": token}, follow_redirects=False
    )
    assert frozen.status_code == 303
    client.cookies.clear()
    results = client.get("/results")
    assert "Voto del Público" in results.text
    assert "6 votos anulados." in results.text
    assert "1 voto confirmado en línea." in results.text
    session.rollback()
    stored = session.get(ThemeVote, vote.id)
    assert stored is not None
    (freeze,) = events(session, "vote.frozen")
    assert json.loads(freeze.after)["sha256"] == stored.frozen_hash
    assert stored.frozen_hash in results.text


def test_a_vote_is_frozen_by_the_server_at_the_close_and_a_later_void_freezes_it_again(
    settings: Settings, app: FastAPI, session: Session
) -> None:
    _campaign, theme, vote, (ana, _beto) = voting_world(session)
    with TestClient(app, base_url="http://testserver") as voter:
        cast_and_confirm(voter, session, ana, "uno@example.org")
    close(session, vote)

    with TestClient(create_app(settings), base_url="http://testserver") as restarted:
        # The server's upkeep runs at its start.
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            session.rollback()
            # Read again: a rollback with no transaction open expires nothing.
            fresh = session.get(ThemeVote, vote.id, populate_existing=True)
            if fresh is not None and fresh.frozen_at is not None:
                break
            time.sleep(0.1)
        token = staff_client(restarted, session)
        restarted.post(
            f"/staff/vote/{theme.id}/void",
            data={"csrf_token": token, "selector": "fast", "value": "", "reason": "Revisión."},
            follow_redirects=False,
        )

    hashes = [json.loads(e.after)["sha256"] for e in events(session, "vote.frozen")]
    assert len(hashes) == 2 and hashes[0] != hashes[1]
    session.rollback()
    stored = session.get(ThemeVote, vote.id)
    assert stored is not None
    assert stored.freeze_number == 2
    assert json.loads(stored.frozen_content)["voided"] == 1


def test_a_burst_for_one_finalist_is_shown_and_voided_as_a_set(
    client: TestClient, session: Session
) -> None:
    _campaign, theme, vote, (ana, beto) = voting_world(session)
    start = utcnow().replace(minute=0, second=0, microsecond=0) - timedelta(hours=2)
    assert vote.id is not None and ana.id is not None and beto.id is not None
    # 25 votes for one finalist within three minutes, and one for the other, as stored.
    for i in range(26):
        finalist = ana.id if i < 25 else beto.id
        session.add(
            Vote(
                theme_vote_id=vote.id,
                finalist_id=finalist,
                reference=f"ref-{i:04d}-burst-test",
                submission_key=f"key-{i}",
                address=f"persona{i}@example{i}.org",
                counted_key=f"persona{i}@example{i}.org",
                token_expires_at=start + timedelta(days=1),
                created_at=start + timedelta(seconds=7 * i),
                confirmed_at=start + timedelta(minutes=30),
                network=f"198.51.{i}.0/24",
            )
        )
    session.commit()
    token = staff_client(client, session)

    review = client.get(f"/staff/vote/{theme.id}")

    bursts = review.text.split('class="bursts"')[1].split("</ul>")[0]
    assert f"{ana.public_name}: 25 votos desde" in bursts
    value = f"{ana.id}@{int(start.timestamp())}"
    assert f'value="{value}"' in bursts
    voided = client.post(
        f"/staff/vote/{theme.id}/void",
        data={"csrf_token": token, "selector": "burst", "value": value, "reason": "Ráfaga."},
        follow_redirects=False,
    )
    assert voided.status_code == 303
    session.rollback()
    assert confirmed_counts(session, theme_vote_id=vote.id) == {beto.id: 1}
    assert session.exec(select(VoteVoiding)).one().vote_count == 25


def test_freezing_an_open_vote_is_refused(client: TestClient, session: Session) -> None:
    _campaign, theme, vote, _finalists = voting_world(session)
    token = staff_client(client, session)

    refused = client.post(
        f"/staff/vote/{theme.id}/freeze", data={"csrf_token": token}, follow_redirects=False
    )

    assert refused.status_code == 409
    assert "sigue abierta" in refused.text
    assert events(session, "vote.frozen") == []
    del vote


def test_addresses_are_exported_only_with_a_reason_and_the_export_is_audited(
    client: TestClient, session: Session
) -> None:
    _campaign, theme, _vote, (ana, _beto) = voting_world(session)
    cast_and_confirm(client, session, ana, "Clara.Diaz@example.org")
    token = staff_client(client, session)

    refused = client.post(
        f"/staff/vote/{theme.id}/export", data={"csrf_token": token}, follow_redirects=False
    )
    assert refused.status_code == 422
    assert "clara.diaz@example.org" not in refused.text
    assert events(session, "vote.exported") == []

    exported = client.post(
        f"/staff/vote/{theme.id}/export",
        data={"csrf_token": token, "reason": "Contactar a votantes de un voto anulado."},
        follow_redirects=False,
    )

    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(exported.text.lstrip("\ufeff"))))
    assert rows[0][:4] == ["vote_id", "finalist", "address", "network"]
    assert rows[1][1:3] == [ana.public_name, "clara.diaz@example.org"]
    (event,) = events(session, "vote.exported")
    assert json.loads(event.after)["reason"] == "Contactar a votantes de un voto anulado."
    assert "clara" not in event.after  # the trail keeps the reason, not the addresses


def test_a_tally_from_the_ground_is_a_separate_line_with_its_scan(
    client: TestClient, session: Session
) -> None:
    _campaign, theme, vote, (ana, beto) = voting_world(session)
    cast_and_confirm(client, session, ana, "en-linea@example.org")
    token = staff_client(client, session)
    fields = {
        "csrf_token": token,
        "place": "Plaza de Armas, Xalapa",
        "counted_on": (utcnow() - timedelta(days=1)).date().isoformat(),
        "counted_by": "Comité ciudadano",
        f"count-{ana.id}": "40",
        f"count-{beto.id}": "12",
    }

    no_scan = client.post(f"/staff/vote/{theme.id}/tallies", data=fields, follow_redirects=False)
    assert no_scan.status_code == 422
    assert "escaneo del acta" in no_scan.text

    added = client.post(
        f"/staff/vote/{theme.id}/tallies",
        data=fields,
        files=[("scan", ("acta.pdf", PDF, "application/pdf"))],
        follow_redirects=False,
    )

    assert added.status_code == 303
    session.rollback()
    tally = session.exec(select(GroundTally)).one()
    scan = client.get(f"/staff/vote/{theme.id}/tallies/{tally.id}/scan")
    assert scan.status_code == 200 and scan.content == PDF
    assert vote.id is not None
    assert confirmed_counts(session, theme_vote_id=vote.id) == {ana.id: 1}  # not votes
    close(session, vote)
    client.post(f"/staff/vote/{theme.id}/freeze", data={"csrf_token": token})
    client.cookies.clear()
    anonymous = client.get(
        f"/staff/vote/{theme.id}/tallies/{tally.id}/scan", follow_redirects=False
    )
    assert anonymous.status_code == 303
    page = client.get("/vote/youth")
    assert "52 votos de urnas y eventos, contados aparte." in page.text
    assert "1 voto confirmado en línea." in page.text
    assert "Plaza de Armas, Xalapa" in page.text


def test_the_server_deletes_voters_addresses_after_the_retention_period(
    settings: Settings, app: FastAPI, session: Session
) -> None:
    _campaign, _theme, vote, (ana, beto) = voting_world(session)
    with TestClient(app, base_url="http://testserver") as voter:
        cast_and_confirm(voter, session, ana, "borrar@example.org")
        assert cast(voter, beto, "pendiente@example.org").status_code == 303
    close(session, vote, ago=timedelta(days=91))

    with TestClient(create_app(settings), base_url="http://testserver"):
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            session.rollback()
            # Read again: a rollback with no transaction open expires nothing.
            fresh = session.get(ThemeVote, vote.id, populate_existing=True)
            if fresh is not None and fresh.addresses_deleted_at is not None:
                break
            time.sleep(0.1)

    session.rollback()
    votes = session.exec(select(Vote)).all()
    assert [(v.address, v.network, v.client_hash) for v in votes] == [("", "", "")] * 2
    assert session.exec(select(OutboxMessage)).all() == []
    assert vote.id is not None
    assert confirmed_counts(session, theme_vote_id=vote.id) == {ana.id: 1}  # still counted
    assert len(events(session, "vote.addresses_deleted")) == 1


def test_vote_tally_command_writes_one_csv_row_per_finalist(
    settings: Settings, client: TestClient, session: Session
) -> None:
    campaign, _theme, _vote, (ana, beto) = voting_world(session)
    cast_and_confirm(client, session, ana, "a@example.org")
    cast_and_confirm(client, session, ana, "b@example.org")
    cast_and_confirm(client, session, beto, "c@example.org")
    assert cast(client, beto, "sin-confirmar@example.org").status_code == 303

    result = run_cli(settings, "vote", "tally", "--year", str(campaign.year))

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "theme,finalist,confirmed_votes,voided_votes"
    assert sorted(lines[1:]) == [
        f"youth,{ana.public_name},2,0",
        f"youth,{beto.public_name},1,0",
    ]
    missing = run_cli(settings, "vote", "tally", "--year", "1999")
    assert missing.returncode == 1


def test_seed_demo_stage_voting_opens_a_vote_on_every_theme(
    settings: Settings, client: TestClient, session: Session
) -> None:
    result = run_cli(settings, "seed-demo", "--stage", "voting")

    assert result.returncode == 0, result.stderr
    assert "/vote" in result.stdout
    session.rollback()
    votes = session.exec(select(ThemeVote)).all()
    assert len(votes) == 2
    index = client.get("/vote")
    assert "/vote/youth" in index.text and "/vote/sustainability" in index.text
    assert client.get("/vote/youth").status_code == 200


def test_the_outbox_does_not_show_a_voters_address(client: TestClient, session: Session) -> None:
    _campaign, _theme, _vote, (ana, _beto) = voting_world(session)
    assert cast(client, ana, "secreta.votante@example.org").status_code == 303
    staff_client(client, session)

    page = client.get("/staff/outbox")

    assert page.status_code == 200
    assert "secreta.votante" not in page.text
    assert "una persona votante del Voto del Público" in page.text
