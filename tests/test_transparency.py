"""/transparency and its JSON: signed checkpoints at every stage change of an edition, the story
of how its winners were chosen with each step tied to a checkpoint, published results tied to
the chain's head, nothing confidential, and the same account as `verify-log`."""

import html
import json
from datetime import timedelta

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from app.db import WRITE
from app.models import (
    AuditCheckpoint,
    AuditEvent,
    CheckpointReason,
    MeetingStatus,
    ResultsRevision,
    Theme,
    utcnow,
)
from app.services import audit_chain
from app.services.judging import meetings
from app.services.results import transparency
from tests.factories import csrf_token_from, declare_conflict, make_meeting
from tests.test_publishing import (
    confirm,
    fresh,
    make_cycle,
    make_nomination,
    publish_results,
    staff_client,
)


def stored_checkpoints(session: Session) -> list[AuditCheckpoint]:
    fresh(session)
    return list(session.exec(select(AuditCheckpoint).order_by(col(AuditCheckpoint.id))).all())


def test_publishing_results_makes_signed_checkpoints_and_the_revision_keeps_its_head(
    client: TestClient, session: Session, app: FastAPI
) -> None:
    cycle = make_cycle(session)
    staff_client(client, session, cycle)

    publish_results(client, cycle)

    made = stored_checkpoints(session)
    assert [(c.reason, c.edition, c.subject) for c in made] == [
        (CheckpointReason.finalists_announced, cycle.campaign.year, ""),
        (CheckpointReason.results_published, cycle.campaign.year, "revision 1"),
    ]
    published = session.exec(
        select(AuditEvent).where(AuditEvent.action == "results.published")
    ).one()
    revision = session.exec(select(ResultsRevision)).one()
    # The head that publication committed, its own event included.
    assert revision.chain_head == made[1].head_hash == published.hash
    assert made[1].event_count == published.seq
    public_key = app.state.checkpoint_signer.public
    for checkpoint in made:
        message = audit_chain.signed_message(audit_chain.checkpoint_fields(checkpoint))
        assert public_key.verifies(message, checkpoint.signature)

    page = client.get(f"/results/{cycle.campaign.year}/revisions/1")
    assert revision.chain_head in page.text
    assert f'href="/transparency#head-{revision.chain_head}"' in page.text
    assert f'id="head-{revision.chain_head}"' in client.get("/transparency").text


def test_closing_a_meeting_makes_a_checkpoint_shown_with_its_counts(
    client: TestClient, session: Session, engine: Engine
) -> None:
    cycle = make_cycle(session)
    declare_conflict(session, cycle.judges[0], cycle.dario, has_conflict=True)
    meeting = make_meeting(
        session, cycle.campaign, [cycle.ana, cycle.dario], number=2, status=MeetingStatus.open
    )

    with Session(engine.execution_options(**WRITE)) as writer:
        meetings.close_meeting(
            writer, meeting_id=meeting.id, actor=cycle.staff, now=utcnow(), base_url="http://x"
        )
        writer.commit()

    made = stored_checkpoints(session)
    assert [(c.reason, c.subject) for c in made] == [(CheckpointReason.meeting_closed, "meeting 2")]
    client.get("/?lang=en")
    page = " ".join(html.unescape(client.get("/transparency").text).split())
    # Meeting 1 of make_cycle was closed directly in the database, before any checkpoint.
    assert "4 finalists in scope, 2 judges took part, 1 recusal for a conflict of interest" in page
    assert "8 score sheets submitted" in page
    assert "2 finalists in scope, 0 judges took part" in page
    assert "8 score sheets submitted. No checkpoint covers it yet." in page
    assert "0 score sheets submitted. Closed on" in page
    assert 'Covered by <a href="#checkpoint-1">checkpoint 1</a>.</li>' in page


def test_transparency_page_and_json_agree_with_verify_log(
    client: TestClient, session: Session, app: FastAPI
) -> None:
    cycle = make_cycle(session)
    staff_client(client, session, cycle)
    publish_results(client, cycle)
    client.post("/logout", data={})

    document = client.get("/transparency/checkpoints.json")
    page = client.get("/transparency")

    assert document.status_code == page.status_code == 200
    assert document.headers["access-control-allow-origin"] == "*"
    data = document.json()
    fresh(session)
    result = audit_chain.verify(
        session, public_key=app.state.checkpoint_signer.public, published=data
    )
    assert result.ok, result.problems
    assert result.published == len(data["checkpoints"]) == 2
    newest = data["checkpoints"][-1]
    events_after = session.exec(
        select(AuditEvent).where(col(AuditEvent.seq) > newest["event_count"])
    ).all()
    assert result.event_count == newest["event_count"] + len(events_after)
    if not events_after:
        assert result.head_hash == newest["head_hash"]
    assert data["public_key"]["base64"] in page.text
    for entry in data["checkpoints"]:
        assert entry["head_hash"] in page.text
        assert entry["signature"] in page.text


def test_transparency_page_shows_counts_and_rubric_but_nothing_confidential(
    client: TestClient, session: Session
) -> None:
    cycle = make_cycle(session)
    nominations = [make_nomination(session, f) for f in (cycle.ana, cycle.beto, cycle.carla)]
    staff_client(client, session, cycle)
    publish_results(client, cycle)

    client.get("/?lang=en")
    page = html.unescape(client.get("/transparency").text)

    assert "3 nominations received." in page
    assert "4 finalists announced on" in page
    assert "Revision 1" in page and "2 winners." in page
    for criterion in cycle.criteria:
        assert criterion.name_en in page
    confidential = [
        *(judge.name for judge in cycle.judges),
        *(judge.email for judge in cycle.judges),
        "Comentario confidencial del jurado",
        *(n.nominator_name for n in nominations),
        *(n.nominator_email for n in nominations),
        cycle.staff.email,
    ]
    assert [text for text in confidential if text in page] == []


def test_server_makes_the_call_closed_and_daily_checkpoints_once(
    session: Session, engine: Engine, app: FastAPI
) -> None:
    cycle = make_cycle(session)
    now = utcnow()
    for theme in session.exec(select(Theme)).all():
        theme.closes_at = now - timedelta(hours=1)
        session.add(theme)
    session.commit()
    signer = app.state.checkpoint_signer

    first = transparency.due_checkpoints(engine, signer=signer, now=now)
    again = transparency.due_checkpoints(engine, signer=signer, now=now + timedelta(minutes=5))
    next_day = transparency.due_checkpoints(engine, signer=signer, now=now + timedelta(days=1))

    # Any checkpoint counts as the day's: the daily one waits for a day after it.
    assert [(c.reason, c.edition) for c in first] == [
        (CheckpointReason.call_closed, cycle.campaign.year)
    ]
    assert again == []
    assert [c.reason for c in next_day] == [CheckpointReason.daily]


def test_transparency_page_without_any_campaign_or_checkpoint_renders(
    client: TestClient,
) -> None:
    client.get("/?lang=en")
    page = client.get("/transparency")

    assert page.status_code == 200
    assert "No checkpoint has been made yet." in page.text
    assert json.loads(client.get("/transparency/checkpoints.json").text)["checkpoints"] == []


def test_a_call_ended_by_announcing_the_finalists_is_dated_by_the_announcement(
    client: TestClient, session: Session, app: FastAPI
) -> None:
    # The themes' windows are still open; announcing the finalists ended the call anyway.
    cycle = make_cycle(session, call_closed=False)
    staff_client(client, session, cycle)
    assert confirm(client, cycle.youth, [cycle.ana]).status_code == 303
    assert confirm(client, cycle.sustainability, [cycle.carla]).status_code == 303
    page = client.get("/staff/publishing/finalists")
    previewed = page.text.split('name="previewed" value="', 1)[1].split('"', 1)[0]
    done = client.post(
        "/staff/publishing/finalists/announce",
        data={
            "csrf_token": csrf_token_from(page),
            "previewed": previewed,
            "override_reason": "El jurado pidió anunciar antes del cierre.",
        },
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text
    fresh(session)
    campaign = cycle.campaign
    session.refresh(campaign)
    announced = campaign.finalists_announced_at
    assert announced is not None

    page = transparency.transparency_page(
        session, public_key=app.state.checkpoint_signer.public, now=utcnow()
    )

    edition = next(e for e in page.editions if e.campaign.year == campaign.year)
    assert edition.call_closes_at == announced
    assert edition.call_closed is not None
    assert edition.call_closed.checkpoint is not None
    assert edition.call_closed.checkpoint.reason is CheckpointReason.finalists_announced
