"""The demo's past edition: last year's whole cycle, published, with fictional people only."""

from datetime import UTC, datetime

from fastapi.testclient import TestClient
from sqlalchemy import func
from sqlmodel import Session, col, select

from app.models import (
    Account,
    Campaign,
    Candidate,
    ConflictDeclaration,
    Criterion,
    Finalist,
    Meeting,
    MeetingStatus,
    Nomination,
    NominationStatus,
    OutboxMessage,
    ResultsRevision,
    RevisionStatus,
    Role,
    Score,
    ScoreSheet,
    VettingCheck,
    Winner,
)
from app.services.accounts.accounts import verify_password
from app.services.campaigns.rubric import DEMO_CRITERIA
from app.services.demo.campaign import seed_demo
from app.services.demo.past_edition import seed_past_edition
from app.services.results.winners import winner_board

NOW = datetime(2026, 11, 27, 18, 0, tzinfo=UTC)


def count(session: Session, model: type) -> int:
    return int(session.exec(select(func.count()).select_from(model)).one())


def test_seed_past_edition_creates_last_year_with_the_whole_cycle(session: Session) -> None:
    result = seed_past_edition(session, now=NOW)
    session.commit()

    campaign = result.campaign
    assert result.created
    assert campaign.year == 2025
    assert campaign.finalists_announced_at is not None
    nominations = session.exec(select(Nomination)).all()
    assert len(nominations) == 8
    assert sum(n.status is NominationStatus.ineligible for n in nominations) == 1
    assert count(session, Candidate) == 6
    assert count(session, VettingCheck) > 0
    finalists = session.exec(select(Finalist)).all()
    assert len(finalists) == 4
    assert all("ficti" in f.public_name for f in finalists)
    criteria = session.exec(select(Criterion).order_by(col(Criterion.position))).all()
    assert [(c.name_es, c.name_en) for c in criteria] == [(c[0], c[1]) for c in DEMO_CRITERIA]
    meetings = session.exec(select(Meeting).order_by(col(Meeting.number))).all()
    assert [(m.number, m.status) for m in meetings] == [
        (1, MeetingStatus.closed),
        (2, MeetingStatus.closed),
    ]
    assert meetings[1].source_meeting_id == meetings[0].id
    recusals = session.exec(
        select(ConflictDeclaration).where(col(ConflictDeclaration.has_conflict).is_(True))
    ).all()
    assert len(recusals) == 1
    recused_sheets = session.exec(
        select(ScoreSheet).where(
            ScoreSheet.judge_id == recusals[0].judge_id,
            ScoreSheet.finalist_id == recusals[0].finalist_id,
        )
    ).all()
    assert recused_sheets == []
    assert count(session, Score) == count(session, ScoreSheet) * 6
    assert count(session, Winner) == 2
    revisions = session.exec(select(ResultsRevision).order_by(col(ResultsRevision.number))).all()
    assert [(r.number, r.status) for r in revisions] == [
        (1, RevisionStatus.published),
        (2, RevisionStatus.published),
    ]
    assert revisions[1].reason
    assert session.exec(select(OutboxMessage)).all() == []


def test_past_edition_people_are_fictional_and_cannot_sign_in(session: Session) -> None:
    seed_past_edition(session, now=NOW)
    session.commit()

    accounts = session.exec(select(Account)).all()

    judges = [a for a in accounts if a.role is Role.judge]
    assert len(judges) == 3
    for account in accounts:
        assert account.email.endswith("@demo.integrity-icon.invalid")
        assert account.password_hash == ""
        assert not account.is_active
    assert not verify_password(judges[0].password_hash, "")
    for nomination in session.exec(select(Nomination)).all():
        assert nomination.nominator_email.endswith(".invalid")


def test_past_edition_winners_follow_its_final_meeting_ranking(session: Session) -> None:
    campaign = seed_past_edition(session, now=NOW).campaign
    session.commit()

    board = winner_board(session, campaign=campaign)

    for theme in board.themes:
        assert theme.meeting is not None and theme.meeting.number == 2
        assert theme.winner_ids == theme.expected_ids
        assert all(row.sheets in (2, 3) for row in theme.rows)


def test_seed_past_edition_twice_changes_nothing(session: Session) -> None:
    first = seed_past_edition(session, now=NOW)
    session.commit()
    tables = (Campaign, Nomination, Finalist, Account, Meeting, ScoreSheet, ResultsRevision)
    before = {model.__name__: count(session, model) for model in tables}

    second = seed_past_edition(session, now=NOW)
    session.commit()

    assert not second.created
    assert second.campaign.id == first.campaign.id
    assert {model.__name__: count(session, model) for model in tables} == before


def test_past_edition_results_page_shows_the_whole_cycle(
    client: TestClient, session: Session
) -> None:
    seed_past_edition(session, now=NOW)
    session.commit()
    client.get("/?lang=en")

    page = client.get("/results/2025")
    first = client.get("/results/2025/revisions/1")
    data = client.get("/results/2025.json").json()

    assert page.status_code == 200
    assert "Itzel Demo Ramírez (ficticia)" in page.text
    assert "Rosa Muestra Herrera (ficticia)" in page.text
    assert "Procuraduría Imaginaria del Ambiente" in page.text
    assert "Bruno Ejemplar Soto (ficticio)" in page.text  # a finalist who did not win
    assert "Significance of the impact" in page.text
    assert "Meeting 2" in page.text
    assert "Se corrigió el nombre de la institución" in page.text
    assert "Procuraduría Imaginaria Ambiental" in first.text
    assert data["how_chosen"]["figures"] == {
        "nominations": 8,
        "eligible_nominations": 7,
        "candidates": 6,
        "finalists": 4,
        "judges": 3,
        "meetings": 2,
        "recusals": 1,
    }
    winner_id = data["themes"][0]["winners"][0]["finalist_id"]
    assert client.get(f"/results/2025/winners/{winner_id}").status_code == 200
    assert "Nominadora Ficticia" not in page.text


def test_past_edition_is_linked_from_a_current_campaign_before_its_results(
    client: TestClient, session: Session
) -> None:
    seed_demo(session, now=NOW)
    seed_past_edition(session, now=NOW)
    session.commit()

    page = client.get("/results")

    assert page.status_code == 200
    assert 'href="/results/2025"' in page.text
    assert "Itzel Demo" not in page.text
