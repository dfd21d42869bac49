"""/staff/publishing: confirming winners from the final meeting's ranking, announcing the
finalists and publishing the results from a preview, and corrections as new revisions."""

import io
import json
import re
import secrets
import tempfile
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from PIL import Image
from sqlmodel import Session, col, select

from app.config import Settings
from app.main import create_app
from app.models import (
    Account,
    AuditEvent,
    Campaign,
    Criterion,
    Finalist,
    JudgeAssignment,
    Meeting,
    MeetingFinalist,
    MeetingStatus,
    Nomination,
    NominationStatus,
    OutboxMessage,
    ResultsRevision,
    RevisionStatus,
    Role,
    Score,
    ScoreSheet,
    Theme,
    Winner,
    utcnow,
)
from app.services.files import FileStore, clean_upload
from app.services.results.winners import winner_board
from tests.conftest import make_settings
from tests.factories import (
    csrf_token_from,
    declare_conflict,
    make_criteria,
    make_finalist,
    make_meeting,
    make_open_campaign,
    sign_in,
)

# --- helpers shared by the publishing, public results and notification tests ----------------


def quick_account(session: Session, role: Role, *themes: Theme, **overrides: Any) -> Account:
    """An account without a password (these tests sign in by session, and hashing one costs
    most of a test's time), on the panel of `themes` when it is a judge."""
    values: dict[str, Any] = {
        "email": f"{role}-{secrets.token_hex(4)}@example.org",
        "name": f"Cuenta {role}",
        "role": role,
        **overrides,
    }
    account = Account(**values)
    session.add(account)
    session.flush()
    session.add_all([JudgeAssignment(account_id=account.id, theme_id=t.id) for t in themes])
    session.commit()
    return account


def make_nomination(session: Session, finalist: Finalist, **overrides: Any) -> Nomination:
    """An eligible nomination of the finalist's candidate."""
    now = utcnow()
    values: dict[str, Any] = {
        "reference": secrets.token_urlsafe(16),
        "submission_key": secrets.token_urlsafe(24),
        "theme_id": finalist.theme_id,
        "status": NominationStatus.eligible,
        "candidate_id": finalist.candidate_id,
        "locale": "es",
        "nominee_name": finalist.public_name,
        "nominee_position": "Directora",
        "nominee_institution": "Ayuntamiento",
        "government_level": "municipal",
        "state": "VER",
        "years_of_service": 5,
        "nominee_contact": "",
        "achievement": "Logro.",
        "impact": "Impacto.",
        "obstacles": "Obstáculos.",
        "how_known": "Trabajamos juntos.",
        "reference1_name": "Referencia Uno",
        "reference1_contact": "ref1@example.org",
        "reference2_name": "Referencia Dos",
        "reference2_contact": "ref2@example.org",
        "nominator_name": f"Nominadora {secrets.token_hex(3)}",
        "nominator_email": f"nominadora-{secrets.token_hex(3)}@example.org",
        "nominator_relationship": "colleague",
        "may_contact": True,
        "privacy_consent_at": now,
        "submitted_at": now,
        **overrides,
    }
    nomination = Nomination(**values)
    session.add(nomination)
    session.commit()
    return nomination


def give_scores(
    session: Session,
    meeting: Meeting,
    judge: Account,
    finalist: Finalist,
    criteria: list[Criterion],
    values: tuple[int, ...],
    *,
    submitted: bool = True,
) -> ScoreSheet:
    sheet = ScoreSheet(
        meeting_id=meeting.id,
        judge_id=judge.id,
        finalist_id=finalist.id,
        comment="Comentario confidencial del jurado",
        submitted_at=utcnow() if submitted else None,
    )
    session.add(sheet)
    session.flush()
    session.add_all(
        [
            Score(sheet_id=sheet.id, criterion_id=c.id, value=v)
            for c, v in zip(criteria, values, strict=True)
        ]
    )
    session.commit()
    return sheet


@dataclass
class Cycle:
    """A campaign whose final meeting is closed: two finalists per theme, scored."""

    campaign: Campaign
    youth: Theme
    sustainability: Theme
    # Youth: ana (proposed by the meeting, lower score), beto (higher score).
    # Sustainability: carla (higher score), dario.
    ana: Finalist
    beto: Finalist
    carla: Finalist
    dario: Finalist
    judges: list[Account]
    criteria: list[Criterion]
    meeting: Meeting
    staff: Account
    nominations: list[Nomination] = field(default_factory=list)


def close_the_call(session: Session, campaign: Campaign, *themes: Theme) -> None:
    """Ends every theme's window (and the campaign's call) yesterday."""
    yesterday = utcnow() - timedelta(days=1)
    for theme in themes:
        theme.closes_at = yesterday
        session.add(theme)
    campaign.nominations_close_on = yesterday.date()
    session.add(campaign)
    session.commit()


def make_cycle(
    session: Session, *, photo_store: FileStore | None = None, call_closed: bool = True
) -> Cycle:
    """By default the call is over, as it is when a final meeting has closed."""
    campaign, youth, sustainability = make_open_campaign(session)
    if call_closed:
        close_the_call(session, campaign, youth, sustainability)
    ana = make_finalist(
        session,
        youth,
        public_name="Ana Finalista Ejemplo",
        public_institution="Municipio de Prueba",
        citation_es="Abrió los contratos.",
        citation_en="She opened the contracts.",
    )
    beto = make_finalist(session, youth, public_name="Beto Finalista Ejemplo")
    carla = make_finalist(session, sustainability, public_name="Carla Finalista Ejemplo")
    dario = make_finalist(session, sustainability, public_name="Darío Finalista Ejemplo")
    if photo_store is not None:
        photo = clean_upload(png_bytes(), "ana.png", max_bytes=10**7, max_pixels=10**7)
        photo_store.put(photo)
        ana.photo_sha256 = photo.sha256
        session.add(ana)
        session.commit()
    criteria = make_criteria(session, campaign, (2, 1))
    judges = [
        quick_account(session, Role.judge, youth, sustainability, name="Jueza Secreta Uno"),
        quick_account(session, Role.judge, youth, sustainability, name="Juez Secreto Dos"),
    ]
    meeting = make_meeting(
        session, campaign, [ana, beto, carla, dario], status=MeetingStatus.closed
    )
    proposed = session.exec(
        select(MeetingFinalist).where(
            MeetingFinalist.meeting_id == meeting.id, MeetingFinalist.finalist_id == ana.id
        )
    ).one()
    proposed.proposed_winner = True
    session.add(proposed)
    session.commit()
    for judge in judges:
        give_scores(session, meeting, judge, ana, criteria, (3, 3))
        give_scores(session, meeting, judge, beto, criteria, (5, 5))
        give_scores(session, meeting, judge, carla, criteria, (5, 4))
        give_scores(session, meeting, judge, dario, criteria, (2, 2))
    staff = quick_account(session, Role.staff, name="Persona del Equipo")
    return Cycle(
        campaign=campaign,
        youth=youth,
        sustainability=sustainability,
        ana=ana,
        beto=beto,
        carla=carla,
        dario=dario,
        judges=judges,
        criteria=criteria,
        meeting=meeting,
        staff=staff,
    )


def png_bytes(color: str = "green") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), color).save(out, format="PNG")
    return out.getvalue()


def staff_client(client: TestClient, session: Session, cycle: Cycle) -> TestClient:
    client.get("/?lang=en")
    return sign_in(client, session, cycle.staff)


def confirm(client: TestClient, theme: Theme, winners: list[Finalist], rationale: str = "") -> Any:
    token = csrf_token_from(client.get("/staff/publishing/winners"))
    data: dict[str, Any] = {
        "csrf_token": token,
        "winner": [str(w.id) for w in winners],
        "rationale": rationale,
    }
    return client.post(f"/staff/publishing/winners/{theme.id}", data=data, follow_redirects=False)


def announce(client: TestClient) -> Any:
    page = client.get("/staff/publishing/finalists")
    previewed = page.text.split('name="previewed" value="', 1)[1].split('"', 1)[0]
    return client.post(
        "/staff/publishing/finalists/announce",
        data={"csrf_token": csrf_token_from(page), "previewed": previewed},
        follow_redirects=False,
    )


def prepare(client: TestClient, reason: str = "") -> Any:
    token = csrf_token_from(client.get("/staff/publishing"))
    return client.post(
        "/staff/publishing/revisions",
        data={"csrf_token": token, "reason": reason},
        follow_redirects=False,
    )


def publish(client: TestClient, number: int) -> Any:
    page = client.get(f"/staff/publishing/revisions/{number}")
    previewed = page.text.split('name="previewed" value="', 1)[1].split('"', 1)[0]
    token = csrf_token_from(page)
    return client.post(
        f"/staff/publishing/revisions/{number}/publish",
        data={"csrf_token": token, "previewed": previewed},
        follow_redirects=False,
    )


def publish_results(client: TestClient, cycle: Cycle) -> None:
    """The whole staff path to published results, as ranked."""
    assert confirm(client, cycle.youth, [cycle.ana]).status_code == 303
    assert confirm(client, cycle.sustainability, [cycle.carla]).status_code == 303
    assert announce(client).status_code == 303
    assert prepare(client).status_code == 303
    assert publish(client, 1).status_code == 303


def fresh(session: Session) -> None:
    """Ends the test session's read snapshot, so it sees what the app committed since."""
    session.commit()
    session.expire_all()


def audit_actions(session: Session) -> list[str]:
    fresh(session)
    return [e.action for e in session.exec(select(AuditEvent).order_by(col(AuditEvent.id))).all()]


def winners_of(session: Session, theme: Theme) -> list[int]:
    fresh(session)
    return sorted(
        w.finalist_id for w in session.exec(select(Winner).where(Winner.theme_id == theme.id))
    )


# --- access --------------------------------------------------------------------------------


def route_table(prefix: str = "/") -> list[tuple[str, str]]:
    """(method, path) of every route, from the OpenAPI schema: FastAPI's own route list nests
    included routers, so walking `app.routes` would silently find nothing."""
    app: FastAPI = create_app(make_settings(Path(tempfile.mkdtemp()), "sqlite://"))
    found = [
        (method.upper(), path)
        for path, operations in app.openapi()["paths"].items()
        for method in operations
        if path.startswith(prefix)
    ]
    assert found, "the route table is empty: the test would check nothing"
    return found


def publishing_routes() -> list[tuple[str, str]]:
    return [(m, re.sub(r"\{[^}]+\}", "1", p)) for m, p in route_table("/staff/publishing")]


@pytest.mark.parametrize(("method", "path"), publishing_routes())
def test_publishing_route_anonymous_is_sent_to_login_and_judge_refused(
    client: TestClient, session: Session, method: str, path: str
) -> None:
    cycle = make_cycle(session)

    anonymous = client.request(method, path, follow_redirects=False)
    sign_in(client, session, cycle.judges[0])
    judge = client.request(method, path, follow_redirects=False)

    assert anonymous.status_code == 303
    assert anonymous.headers["location"].startswith("/login")
    assert judge.status_code == 403
    fresh(session)
    assert session.exec(select(Winner)).all() == []
    assert session.exec(select(ResultsRevision)).all() == []
    assert cycle.campaign.finalists_announced_at is None


# --- confirming winners -------------------------------------------------------------------


def test_winners_page_ranks_proposed_first_then_by_mean_score(
    client: TestClient, session: Session
) -> None:
    cycle = make_cycle(session)
    staff_client(client, session, cycle)

    page = client.get("/staff/publishing/winners")

    assert page.status_code == 200
    text = page.text
    # Ana was proposed by the meeting although Beto scored higher.
    assert text.index("Ana Finalista Ejemplo") < text.index("Beto Finalista Ejemplo")
    assert text.index("Carla Finalista Ejemplo") < text.index("Darío Finalista Ejemplo")
    assert "Meeting 1" in text or "meeting 1" in text
    assert "5.00" in text  # Beto's mean weighted score


def test_ranking_uses_latest_closed_meeting_and_leaves_recused_judges_out(
    session: Session,
) -> None:
    cycle = make_cycle(session)
    later = make_meeting(
        session,
        cycle.campaign,
        [cycle.ana, cycle.beto],
        number=2,
        status=MeetingStatus.closed,
    )
    recused = quick_account(session, Role.judge, cycle.youth)
    declare_conflict(session, recused, cycle.ana)
    give_scores(session, later, cycle.judges[0], cycle.ana, cycle.criteria, (2, 2))
    give_scores(session, later, cycle.judges[0], cycle.beto, cycle.criteria, (4, 4))
    give_scores(session, later, recused, cycle.ana, cycle.criteria, (5, 5))
    give_scores(
        session, later, cycle.judges[1], cycle.beto, cycle.criteria, (5, 5), submitted=False
    )
    open_later = make_meeting(session, cycle.campaign, [cycle.ana], number=3)

    board = winner_board(session, campaign=cycle.campaign)

    youth = next(r for r in board.themes if r.theme.id == cycle.youth.id)
    sustainability = next(r for r in board.themes if r.theme.id == cycle.sustainability.id)
    assert youth.meeting is not None and youth.meeting.id == later.id
    assert youth.open_meeting is not None and youth.open_meeting.id == open_later.id
    # Meeting 2 did not discuss Sustainability: its final meeting is still meeting 1.
    assert sustainability.meeting is not None and sustainability.meeting.id == cycle.meeting.id
    assert sustainability.open_meeting is None
    ranked = [(r.finalist.id, r.rank, r.mean_score, r.sheets) for r in youth.rows]
    assert ranked == [(cycle.beto.id, 1, 4.0, 1), (cycle.ana.id, 2, 2.0, 1)]
    assert youth.expected_ids == {cycle.beto.id}


def test_confirm_either_of_two_finalists_tied_at_the_limit_needs_no_rationale(
    client: TestClient, session: Session
) -> None:
    cycle = make_cycle(session)
    scope = session.exec(
        select(MeetingFinalist).where(MeetingFinalist.finalist_id == cycle.ana.id)
    ).one()
    scope.proposed_winner = False
    session.add(scope)
    for sheet in session.exec(
        select(ScoreSheet).where(col(ScoreSheet.finalist_id).in_([cycle.ana.id, cycle.beto.id]))
    ).all():
        for score in session.exec(select(Score).where(Score.sheet_id == sheet.id)).all():
            score.value = 4
            session.add(score)
    session.commit()
    staff_client(client, session, cycle)

    page = client.get("/staff/publishing/winners")
    response = confirm(client, cycle.youth, [cycle.beto])

    assert ">tie<" in page.text
    assert response.status_code == 303
    assert winners_of(session, cycle.youth) == [cycle.beto.id]


def test_confirm_winners_as_ranked_is_stored_and_audited(
    client: TestClient, session: Session
) -> None:
    cycle = make_cycle(session)
    staff_client(client, session, cycle)

    response = confirm(client, cycle.youth, [cycle.ana])

    assert response.status_code == 303
    assert winners_of(session, cycle.youth) == [cycle.ana.id]
    winner = session.exec(select(Winner)).one()
    assert winner.confirmed_by_id == cycle.staff.id
    assert winner.rationale == ""
    event = session.exec(select(AuditEvent).where(AuditEvent.action == "winners.confirmed")).one()
    assert event.actor_id == cycle.staff.id
    assert json.loads(event.after)["finalist_ids"] == [cycle.ana.id]
    assert json.loads(event.after)["differs_from_ranking"] is False
    assert "confirmed" in client.get(response.headers["location"]).text


def test_confirm_winners_differently_without_rationale_is_refused(
    client: TestClient, session: Session
) -> None:
    cycle = make_cycle(session)
    staff_client(client, session, cycle)

    response = confirm(client, cycle.youth, [cycle.beto], rationale="   ")

    assert response.status_code == 422
    assert "differs from the final meeting&#39;s ranking" in response.text
    assert f'value="{cycle.beto.id}" id="w-{cycle.youth.id}-{cycle.beto.id}" checked' in (
        response.text
    )
    assert winners_of(session, cycle.youth) == []
    assert "winners.confirmed" not in audit_actions(session)


def test_confirm_winners_differently_with_rationale_is_stored(
    client: TestClient, session: Session
) -> None:
    cycle = make_cycle(session)
    staff_client(client, session, cycle)

    response = confirm(
        client, cycle.youth, [cycle.beto], rationale="La propuesta tenía un conflicto."
    )

    assert response.status_code == 303
    assert winners_of(session, cycle.youth) == [cycle.beto.id]
    assert session.exec(select(Winner)).one().rationale == "La propuesta tenía un conflicto."
    event = session.exec(select(AuditEvent).where(AuditEvent.action == "winners.confirmed")).one()
    assert json.loads(event.after)["differs_from_ranking"] is True


def test_confirm_winners_again_replaces_the_theme_winners(
    client: TestClient, session: Session
) -> None:
    cycle = make_cycle(session)
    staff_client(client, session, cycle)
    confirm(client, cycle.youth, [cycle.ana])

    confirm(client, cycle.youth, [cycle.beto], rationale="Cambio acordado con el jurado.")

    assert winners_of(session, cycle.youth) == [cycle.beto.id]
    assert audit_actions(session).count("winners.confirmed") == 2


def test_confirm_more_winners_than_allowed_is_refused(client: TestClient, session: Session) -> None:
    cycle = make_cycle(session)
    staff_client(client, session, cycle)

    response = confirm(client, cycle.youth, [cycle.ana, cycle.beto], rationale="Ambos.")

    assert response.status_code == 422
    assert "at most 1 winners" in response.text
    assert winners_of(session, cycle.youth) == []


def test_confirm_two_winners_when_the_campaign_allows_two(
    client: TestClient, session: Session
) -> None:
    cycle = make_cycle(session)
    cycle.campaign.winners_per_theme = 2
    session.add(cycle.campaign)
    session.commit()
    staff_client(client, session, cycle)

    response = confirm(client, cycle.youth, [cycle.ana, cycle.beto])

    assert response.status_code == 303
    assert winners_of(session, cycle.youth) == sorted([cycle.ana.id, cycle.beto.id])


def test_confirm_nobody_or_another_theme_finalist_is_refused(
    client: TestClient, session: Session
) -> None:
    cycle = make_cycle(session)
    staff_client(client, session, cycle)

    nobody = confirm(client, cycle.youth, [])
    other_theme = confirm(client, cycle.youth, [cycle.carla], rationale="Por error.")

    assert nobody.status_code == 422
    assert "Choose at least one winner" in nobody.text
    assert other_theme.status_code == 422
    assert winners_of(session, cycle.youth) == []


def test_confirm_winners_before_any_closed_meeting_is_refused(
    client: TestClient, session: Session
) -> None:
    cycle = make_cycle(session)
    cycle.meeting.status = MeetingStatus.open
    session.add(cycle.meeting)
    session.commit()
    staff_client(client, session, cycle)

    page = client.get("/staff/publishing/winners")
    response = confirm(client, cycle.youth, [cycle.ana])

    assert "No meeting has been closed yet" in page.text
    assert response.status_code == 409
    assert winners_of(session, cycle.youth) == []


def test_confirm_winners_of_unknown_theme_is_404(client: TestClient, session: Session) -> None:
    cycle = make_cycle(session)
    staff_client(client, session, cycle)
    token = csrf_token_from(client.get("/staff/publishing/winners"))

    response = client.post(
        "/staff/publishing/winners/9999", data={"csrf_token": token, "winner": str(cycle.ana.id)}
    )

    assert response.status_code == 404
    assert winners_of(session, cycle.youth) == []


def test_confirm_winners_without_csrf_token_is_refused(
    client: TestClient, session: Session
) -> None:
    cycle = make_cycle(session)
    staff_client(client, session, cycle)

    response = client.post(
        f"/staff/publishing/winners/{cycle.youth.id}", data={"winner": str(cycle.ana.id)}
    )

    assert response.status_code == 403
    assert winners_of(session, cycle.youth) == []


# --- announcing finalists -------------------------------------------------------------------


def test_finalists_preview_shows_profiles_before_they_are_public(
    client: TestClient, session: Session
) -> None:
    cycle = make_cycle(session)
    staff_client(client, session, cycle)

    preview = client.get("/staff/publishing/finalists")
    public = client.get("/finalists")

    assert preview.status_code == 200
    assert "not public yet" in preview.text
    assert "Ana Finalista Ejemplo" in preview.text
    assert "She opened the contracts." in preview.text
    assert "Ana Finalista Ejemplo" not in public.text


def test_announce_finalists_makes_them_public_and_is_audited(
    client: TestClient, session: Session
) -> None:
    cycle = make_cycle(session)
    staff_client(client, session, cycle)

    response = announce(client)

    assert response.status_code == 303
    fresh(session)
    campaign = session.get(Campaign, cycle.campaign.id)
    assert campaign is not None and campaign.finalists_announced_at is not None
    public = client.get("/finalists")
    for name in ("Ana Finalista Ejemplo", "Beto", "Carla", "Darío"):
        assert name in public.text
    event = session.exec(select(AuditEvent).where(AuditEvent.action == "finalists.announced")).one()
    assert event.actor_id == cycle.staff.id
    assert sorted(json.loads(event.after)["finalist_ids"]) == sorted(
        f.id for f in (cycle.ana, cycle.beto, cycle.carla, cycle.dario)
    )


def test_announce_after_the_finalists_changed_since_the_preview_is_refused(
    client: TestClient, session: Session
) -> None:
    cycle = make_cycle(session)
    staff_client(client, session, cycle)
    page = client.get("/staff/publishing/finalists")
    previewed = page.text.split('name="previewed" value="', 1)[1].split('"', 1)[0]
    cycle.beto.citation_es = "Texto nuevo que nadie revisó."
    session.add(cycle.beto)
    session.commit()

    response = client.post(
        "/staff/publishing/finalists/announce",
        data={"csrf_token": csrf_token_from(page), "previewed": previewed},
    )

    assert response.status_code == 409
    fresh(session)
    assert session.get(Campaign, cycle.campaign.id).finalists_announced_at is None  # type: ignore[union-attr]
    assert session.exec(select(OutboxMessage)).all() == []


def test_announce_twice_is_refused(client: TestClient, session: Session) -> None:
    cycle = make_cycle(session)
    staff_client(client, session, cycle)
    announce(client)
    page = client.get("/staff/publishing/finalists")

    response = client.post(
        "/staff/publishing/finalists/announce",
        data={"csrf_token": csrf_token_from(page), "previewed": "x"},
    )

    assert "public since" in page.text
    assert response.status_code == 409
    assert audit_actions(session).count("finalists.announced") == 1


# --- publishing results ---------------------------------------------------------------------


def test_prepare_results_before_announcing_finalists_is_refused(
    client: TestClient, session: Session
) -> None:
    cycle = make_cycle(session)
    staff_client(client, session, cycle)
    confirm(client, cycle.youth, [cycle.ana])
    confirm(client, cycle.sustainability, [cycle.carla])

    page = client.get("/staff/publishing")
    response = prepare(client)

    assert "announce the finalists;" in page.text
    assert "Prepare the results for publication" not in page.text
    assert response.status_code == 409
    assert session.exec(select(ResultsRevision)).all() == []


def test_prepare_results_with_a_theme_without_winners_is_refused(
    client: TestClient, session: Session
) -> None:
    cycle = make_cycle(session)
    staff_client(client, session, cycle)
    confirm(client, cycle.youth, [cycle.ana])
    announce(client)

    page = client.get("/staff/publishing")
    response = prepare(client)

    assert "confirm the winners of Sustainability" in page.text
    assert "Prepare the results for publication" not in page.text
    assert response.status_code == 409
    assert session.exec(select(ResultsRevision)).all() == []


def test_prepare_results_makes_a_draft_shown_only_to_staff(
    client: TestClient, session: Session
) -> None:
    cycle = make_cycle(session)
    staff_client(client, session, cycle)
    confirm(client, cycle.youth, [cycle.ana])
    confirm(client, cycle.sustainability, [cycle.carla])
    announce(client)

    page = client.get("/staff/publishing")
    response = prepare(client)

    assert "Prepare the results for publication" in page.text
    assert "Before the results can be published" not in page.text
    assert response.status_code == 303
    assert response.headers["location"].startswith("/staff/publishing/revisions/1")
    draft = session.exec(select(ResultsRevision)).one()
    assert (draft.number, draft.status, draft.published_at) == (1, RevisionStatus.draft, None)
    preview = client.get("/staff/publishing/revisions/1")
    assert "not public yet" in preview.text
    assert "Ana Finalista Ejemplo" in preview.text
    assert "How they were chosen" in preview.text
    client.cookies.clear()
    assert "Ana Finalista Ejemplo" not in client.get("/results").text
    assert client.get(f"/results/{cycle.campaign.year}/revisions/1").status_code == 404
    assert "results.draft_prepared" in audit_actions(session)


def test_publish_results_makes_the_revision_public_and_is_audited(
    client: TestClient, session: Session
) -> None:
    cycle = make_cycle(session)
    staff_client(client, session, cycle)

    publish_results(client, cycle)

    fresh(session)
    revision = session.exec(select(ResultsRevision)).one()
    assert revision.status is RevisionStatus.published
    assert revision.published_at is not None
    page = client.get("/results")
    assert "Ana Finalista Ejemplo" in page.text
    assert "Carla Finalista Ejemplo" in page.text
    assert "results.published" in audit_actions(session)
    event = session.exec(select(AuditEvent).where(AuditEvent.action == "results.published")).one()
    assert json.loads(event.after)["winner_ids"] == [cycle.ana.id, cycle.carla.id]


def test_publish_a_draft_changed_since_its_preview_is_refused(
    client: TestClient, session: Session
) -> None:
    cycle = make_cycle(session)
    staff_client(client, session, cycle)
    confirm(client, cycle.youth, [cycle.ana])
    confirm(client, cycle.sustainability, [cycle.carla])
    announce(client)
    prepare(client)
    page = client.get("/staff/publishing/revisions/1")
    previewed = page.text.split('name="previewed" value="', 1)[1].split('"', 1)[0]
    confirm(client, cycle.youth, [cycle.beto], rationale="Cambio de último momento.")
    prepare(client)  # another tab prepared the draft again

    response = client.post(
        "/staff/publishing/revisions/1/publish",
        data={"csrf_token": csrf_token_from(page), "previewed": previewed},
    )

    assert response.status_code == 409
    fresh(session)
    assert session.exec(select(ResultsRevision)).one().status is RevisionStatus.draft


def test_publish_an_already_published_revision_is_refused(
    client: TestClient, session: Session
) -> None:
    cycle = make_cycle(session)
    staff_client(client, session, cycle)
    publish_results(client, cycle)
    page = client.get("/staff/publishing/revisions/1")

    response = client.post(
        "/staff/publishing/revisions/1/publish",
        data={"csrf_token": csrf_token_from(page), "previewed": "x"},
    )

    assert "Publish revision" not in page.text
    assert response.status_code == 409
    assert audit_actions(session).count("results.published") == 1


def test_discard_draft_removes_it(client: TestClient, session: Session) -> None:
    cycle = make_cycle(session)
    staff_client(client, session, cycle)
    confirm(client, cycle.youth, [cycle.ana])
    confirm(client, cycle.sustainability, [cycle.carla])
    announce(client)
    prepare(client)
    token = csrf_token_from(client.get("/staff/publishing/revisions/1"))

    response = client.post(
        "/staff/publishing/revisions/1/discard",
        data={"csrf_token": token},
        follow_redirects=False,
    )

    assert response.status_code == 303
    assert session.exec(select(ResultsRevision)).all() == []
    assert "results.draft_discarded" in audit_actions(session)


def test_correction_without_reason_is_refused(client: TestClient, session: Session) -> None:
    cycle = make_cycle(session)
    staff_client(client, session, cycle)
    publish_results(client, cycle)
    confirm(client, cycle.youth, [cycle.beto], rationale="Se detectó un conflicto.")

    response = prepare(client, reason="")

    assert response.status_code == 422
    assert "say what it corrects" in response.text
    fresh(session)
    assert len(session.exec(select(ResultsRevision)).all()) == 1


def test_correction_without_any_change_is_refused(client: TestClient, session: Session) -> None:
    cycle = make_cycle(session)
    staff_client(client, session, cycle)
    publish_results(client, cycle)

    response = prepare(client, reason="Nada cambió.")

    assert response.status_code == 422
    assert "Nothing changed" in response.text
    assert len(session.exec(select(ResultsRevision)).all()) == 1


def test_correction_is_a_new_revision_and_the_first_stays_readable(
    client: TestClient, session: Session
) -> None:
    cycle = make_cycle(session)
    staff_client(client, session, cycle)
    publish_results(client, cycle)
    confirm(client, cycle.youth, [cycle.beto], rationale="Se detectó un conflicto.")
    before = client.get("/results").text

    prepared = prepare(client, reason="Se corrigió la ganadora de Jóvenes.")
    published = publish(client, 2)

    assert "Ana Finalista Ejemplo</a>" in before  # unchanged until the correction is published
    assert (prepared.status_code, published.status_code) == (303, 303)
    fresh(session)
    revisions = session.exec(select(ResultsRevision).order_by(col(ResultsRevision.number))).all()
    assert [(r.number, r.status) for r in revisions] == [
        (1, RevisionStatus.published),
        (2, RevisionStatus.published),
    ]
    assert revisions[1].reason == "Se corrigió la ganadora de Jóvenes."
    year = cycle.campaign.year
    current = client.get("/results").text
    assert "Se corrigió la ganadora de Jóvenes." in current
    assert f'href="/results/{year}/winners/{cycle.beto.id}"' in current
    first = client.get(f"/results/{year}/revisions/1")
    assert first.status_code == 200
    assert f'href="/results/{year}/winners/{cycle.ana.id}"' in first.text
    assert "earlier version" in first.text


def test_publishing_overview_warns_when_winners_changed_after_publication(
    client: TestClient, session: Session
) -> None:
    cycle = make_cycle(session)
    staff_client(client, session, cycle)
    publish_results(client, cycle)

    confirm(client, cycle.youth, [cycle.beto], rationale="Cambio.")
    page = client.get("/staff/publishing")

    assert "changed since the published revision" in page.text
    assert "Reason for the correction" in page.text


def test_revision_content_has_profiles_and_figures_but_no_scores_judges_or_nominators(
    client: TestClient, session: Session
) -> None:
    cycle = make_cycle(session)
    nomination = make_nomination(
        session,
        cycle.ana,
        nominator_name="Nominador Confidencial",
        nominator_email="confidencial@example.org",
        nominee_contact="ana.privada@example.org",
    )
    make_nomination(session, cycle.beto, status=NominationStatus.withdrawn)
    declare_conflict(session, cycle.judges[0], cycle.dario)
    staff_client(client, session, cycle)

    publish_results(client, cycle)

    revision = session.exec(select(ResultsRevision)).one()
    content = json.loads(revision.content)
    assert set(content) == {"format", "campaign", "themes", "how_chosen"}
    youth = content["themes"][0]
    assert [w["public_name"] for w in youth["winners"]] == ["Ana Finalista Ejemplo"]
    assert set(youth["winners"][0]) == {
        "finalist_id",
        "public_name",
        "public_position",
        "public_institution",
        "citation_es",
        "citation_en",
        "photo_sha256",
    }
    how = content["how_chosen"]
    assert how["figures"] == {
        "nominations": 1,
        "eligible_nominations": 1,
        "candidates": 4,
        "finalists": 4,
        "judges": 2,
        "meetings": 1,
        "recusals": 1,
    }
    assert [c["weight"] for c in how["criteria"]] == [2, 1]
    assert how["meetings"] == [
        {
            "number": 1,
            "held_on": cycle.meeting.held_on.isoformat(),
            "finalists": 4,
            "themes": ["sustainability", "youth"],
        }
    ]
    assert [theme["final_meeting"] for theme in content["themes"]] == [1, 1]
    for secret in (
        nomination.nominator_name,
        nomination.nominator_email,
        "ana.privada@example.org",
        "Jueza Secreta Uno",
        cycle.judges[0].email,
        "Comentario confidencial",
    ):
        assert secret not in revision.content
    # No score of any kind, not even an aggregate one, is part of what is published.
    assert not [key for key in all_keys(content) if "score" in key or "judge_" in key]


def all_keys(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [*value, *(k for v in value.values() for k in all_keys(v))]
    if isinstance(value, list):
        return [k for v in value for k in all_keys(v)]
    return []


def test_staff_photo_preview_serves_a_finalist_photo(
    client: TestClient, session: Session, settings: Settings
) -> None:
    cycle = make_cycle(session, photo_store=FileStore(settings.files_dir))
    staff_client(client, session, cycle)

    preview = client.get("/staff/publishing/finalists")
    photo = client.get(f"/staff/publishing/photos/{cycle.ana.id}")
    missing = client.get(f"/staff/publishing/photos/{cycle.beto.id}")

    assert f'src="/staff/publishing/photos/{cycle.ana.id}?v=' in preview.text
    assert photo.status_code == 200
    assert photo.headers["content-type"] == "image/png"
    assert photo.headers["x-content-type-options"] == "nosniff"
    assert missing.status_code == 404


def test_publishing_pages_of_a_campaign_in_an_earlier_stage_still_render(
    client: TestClient, session: Session
) -> None:
    campaign, _youth, _sust = make_open_campaign(session)
    staff = quick_account(session, Role.staff)
    client.get("/?lang=en")
    sign_in(client, session, staff)

    pages = [
        client.get(url)
        for url in (
            "/staff/publishing",
            "/staff/publishing/winners",
            "/staff/publishing/finalists",
        )
    ]

    assert [p.status_code for p in pages] == [200, 200, 200]
    assert "No meeting has been closed yet" in pages[1].text
    assert client.get("/staff/publishing/revisions/1").status_code == 404
    assert campaign.finalists_announced_at is None
