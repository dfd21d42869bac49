"""Conflict-of-interest declarations: the judge's form (/judges/conflicts), conflicts staff
record, and the staff register (/staff/judges/conflicts)."""

import json

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlmodel import Session, select

from app.models import (
    Account,
    AuditEvent,
    ConflictDeclaration,
    Finalist,
    Role,
    Theme,
)
from app.services.judging.recusal import recused_clause
from tests.factories import (
    csrf_token_from,
    declare_conflict,
    make_account,
    make_finalist,
    make_judge,
    make_open_campaign,
    sign_in,
)


def fresh(session: Session) -> None:
    session.rollback()
    session.expire_all()


def declarations(session: Session) -> list[ConflictDeclaration]:
    fresh(session)
    return list(session.exec(select(ConflictDeclaration)).all())


def events(session: Session, action: str) -> list[AuditEvent]:
    return list(session.exec(select(AuditEvent).where(AuditEvent.action == action)).all())


def as_user(client: TestClient, session: Session, account: Account) -> TestClient:
    sign_in(client, session, account)
    client.get("/?lang=en")
    return client


def declare(client: TestClient, finalist: Finalist, **data: str) -> Response:
    token = csrf_token_from(client.get("/judges/conflicts"))
    return client.post(
        f"/judges/conflicts/{finalist.id}",
        data={"csrf_token": token, **data},
        follow_redirects=False,
    )


@pytest.fixture
def panel(session: Session) -> tuple[Theme, Theme, Account, Finalist, Finalist, Finalist]:
    """A judge of Youth, two Youth finalists and one Sustainability finalist."""
    _, youth, sustainability = make_open_campaign(session)
    judge = make_judge(session, youth, name="Julia Jueza")
    ana = make_finalist(session, youth, public_name="Ana Aguilar")
    beto = make_finalist(session, youth, public_name="Beto Barrios")
    carla = make_finalist(session, sustainability, public_name="Carla Castro")
    return youth, sustainability, judge, ana, beto, carla


def test_conflicts_page_lists_the_finalists_of_the_judges_themes_only(
    client: TestClient, session: Session, panel: tuple
) -> None:
    _, _, judge, _, _, _ = panel
    as_user(client, session, judge)

    page = client.get("/judges/conflicts")

    assert page.status_code == 200
    assert "Ana Aguilar" in page.text and "Beto Barrios" in page.text
    assert "Carla Castro" not in page.text
    assert "2 finalists still wait for your answer." in page.text


def test_conflicts_judge_declares_no_conflict_then_a_conflict_saved_and_audited(
    client: TestClient, session: Session, panel: tuple
) -> None:
    _, _, judge, ana, _, _ = panel
    as_user(client, session, judge)

    first = declare(client, ana, answer="none", description="")
    second = declare(client, ana, answer="conflict", description="Fue mi jefa hace dos años.")

    assert first.status_code == second.status_code == 303
    [saved] = declarations(session)
    assert (saved.judge_id, saved.finalist_id, saved.has_conflict) == (judge.id, ana.id, True)
    assert (saved.description, saved.recorded_by_staff, saved.recorded_by_id) == (
        "Fue mi jefa hace dos años.",
        False,
        judge.id,
    )
    assert session.execute(select(recused_clause(judge.id, ana.id))).scalar()
    trail = events(session, "conflict.declared")
    assert [e.actor_id for e in trail] == [judge.id, judge.id]
    assert json.loads(trail[0].after)["has_conflict"] is False
    assert json.loads(trail[1].before)["has_conflict"] is False
    assert json.loads(trail[1].after)["description"] == "Fue mi jefa hace dos años."
    page = client.get("/judges/conflicts")
    assert "Conflict: recused" in page.text
    assert "1 finalist still waits for your answer." in page.text


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"answer": "conflict", "description": "   "}, "description", "Describe the conflict"),
        ({"answer": "maybe", "description": ""}, "answer", "Choose one of the options."),
        ({"description": "algo"}, "answer", "required"),
    ],
)
def test_conflicts_invalid_declaration_is_refused_and_nothing_stored(
    client: TestClient,
    session: Session,
    panel: tuple,
    data: dict[str, str],
    field: str,
    message: str,
) -> None:
    _, _, judge, ana, _, _ = panel
    as_user(client, session, judge)

    response = declare(client, ana, **data)

    assert response.status_code == 422
    form = response.text.split(f'id="finalist-{ana.id}"', 1)[1].split("</li>", 1)[0]
    assert message in form
    assert data.get("description", "").strip() in form  # what was typed is kept
    assert declarations(session) == []
    assert events(session, "conflict.declared") == []


def test_conflicts_finalist_outside_the_judges_themes_is_not_found(
    client: TestClient, session: Session, panel: tuple
) -> None:
    _, _, judge, _, _, carla = panel
    as_user(client, session, judge)

    response = declare(client, carla, answer="none")
    missing = client.post(
        "/judges/conflicts/999999",
        data={"csrf_token": csrf_token_from(client.get("/judges/conflicts")), "answer": "none"},
    )

    assert response.status_code == missing.status_code == 404
    assert declarations(session) == []


def test_conflicts_recorded_by_staff_cannot_be_changed_by_the_judge(
    client: TestClient, session: Session, panel: tuple
) -> None:
    _, _, judge, ana, _, _ = panel
    staff = make_account(session, Role.staff)
    declare_conflict(
        session,
        judge,
        ana,
        description="Es su cuñada.",
        recorded_by_staff=True,
        recorded_by_id=staff.id,
    )
    as_user(client, session, judge)

    page = client.get("/judges/conflicts")
    refused = declare(client, ana, answer="none", description="")

    card = page.text.split(f'id="finalist-{ana.id}"', 1)[1].split("</li>", 1)[0]
    assert "Es su cuñada." in card
    assert "only they can change it" in card
    assert f'action="/judges/conflicts/{ana.id}"' not in card
    assert refused.status_code == 403
    assert "only they can change it" in refused.text
    [kept] = declarations(session)
    assert (kept.has_conflict, kept.description, kept.recorded_by_staff) == (
        True,
        "Es su cuñada.",
        True,
    )
    assert events(session, "conflict.declared") == []


def test_conflicts_judge_never_sees_another_judges_declaration(
    client: TestClient, session: Session, panel: tuple
) -> None:
    youth, _, judge, ana, _, _ = panel
    other = make_judge(session, youth, name="Otro Juez")
    declare_conflict(session, other, ana, description="Somos socios en un negocio.")
    as_user(client, session, judge)

    page = client.get("/judges/conflicts")

    assert "Somos socios" not in page.text
    card = page.text.split(f'id="finalist-{ana.id}"', 1)[1].split("</li>", 1)[0]
    assert "Not answered yet" in card


def record(client: TestClient, **data: str) -> Response:
    token = csrf_token_from(client.get("/staff/judges/conflicts"))
    return client.post(
        "/staff/judges/conflicts", data={"csrf_token": token, **data}, follow_redirects=False
    )


def test_conflicts_staff_record_a_conflict_over_the_judges_answer(
    client: TestClient, session: Session, panel: tuple
) -> None:
    _, _, judge, ana, _, _ = panel
    declare_conflict(session, judge, ana, has_conflict=False, description="")
    staff = make_account(session, Role.staff)
    as_user(client, session, staff)

    response = record(
        client, judge_id=str(judge.id), finalist_id=str(ana.id), description="Es su cuñada."
    )

    assert response.status_code == 303
    [saved] = declarations(session)
    assert (saved.has_conflict, saved.recorded_by_staff, saved.recorded_by_id) == (
        True,
        True,
        staff.id,
    )
    [event] = events(session, "conflict.recorded_by_staff")
    assert event.actor_id == staff.id
    assert json.loads(event.before)["has_conflict"] is False
    assert json.loads(event.after)["recorded_by_staff"] is True


def test_conflicts_staff_record_without_description_is_refused(
    client: TestClient, session: Session, panel: tuple
) -> None:
    _, _, judge, ana, _, _ = panel
    as_user(client, session, make_account(session, Role.staff))

    response = record(client, judge_id=str(judge.id), finalist_id=str(ana.id), description="")

    assert response.status_code == 422
    assert "This field is required." in response.text
    assert declarations(session) == []


def test_conflicts_staff_can_withdraw_what_they_recorded(
    client: TestClient, session: Session, panel: tuple
) -> None:
    _, _, judge, ana, _, _ = panel
    staff = make_account(session, Role.staff)
    declaration = declare_conflict(
        session, judge, ana, recorded_by_staff=True, recorded_by_id=staff.id
    )
    as_user(client, session, staff)
    token = csrf_token_from(client.get("/staff/judges/conflicts"))

    response = client.post(
        f"/staff/judges/conflicts/{declaration.id}/withdraw",
        data={"csrf_token": token},
        follow_redirects=False,
    )

    assert response.status_code == 303
    assert declarations(session) == []
    [event] = events(session, "conflict.withdrawn_by_staff")
    assert json.loads(event.before)["description"] == "Trabajamos juntos."


def test_conflicts_register_shows_missing_declarations_and_recusals(
    client: TestClient, session: Session, panel: tuple
) -> None:
    youth, sustainability, julia, ana, beto, carla = panel
    jorge = make_judge(session, youth, sustainability, name="Jorge Juez")
    declare_conflict(session, julia, ana, description="Fue mi jefa.")
    declare_conflict(session, julia, beto, has_conflict=False, description="")
    declare_conflict(session, jorge, carla, has_conflict=False, description="")
    as_user(client, session, make_account(session, Role.staff))

    page = client.get("/staff/judges/conflicts")

    assert page.status_code == 200
    missing = page.text.split('id="missing"', 1)[1].split('id="recusals"', 1)[0]
    assert "2 declarations are missing." in missing
    # Jorge has not answered for Ana or Beto; Julia answered for both, Carla is not hers.
    ana_line = missing.split("Ana Aguilar", 1)[1].split("</li>", 1)[0]
    beto_line = missing.split("Beto Barrios", 1)[1].split("</li>", 1)[0]
    assert "Jorge Juez" in ana_line and "Julia" not in ana_line
    assert "Jorge Juez" in beto_line
    assert "Carla Castro" not in missing
    recusals = page.text.split('id="recusals"', 1)[1].split('id="record"', 1)[0]
    assert "Julia Jueza" in recusals and "Fue mi jefa." in recusals
    assert "Jorge Juez" not in recusals


def test_conflicts_no_conflict_for_all_remaining_at_once_each_listed_and_audited(
    client: TestClient, session: Session, panel: tuple
) -> None:
    youth, _, judge, ana, beto, carla = panel
    dora = make_finalist(session, youth, public_name="Dora Díaz")
    emilio = make_finalist(session, youth, public_name="Emilio Estrada")
    as_user(client, session, judge)
    assert declare(client, ana, answer="conflict", description="Mi prima.").status_code == 303
    declare_conflict(session, judge, dora, recorded_by_staff=True, description="Socio.")
    page = client.get("/judges/conflicts")
    assert 'action="/judges/conflicts/remaining"' in page.text
    token = csrf_token_from(page)
    shown = [beto, emilio]  # what the page offered; a finalist added later is not included
    late = make_finalist(session, youth, public_name="Fabiola Fuentes")

    response = client.post(
        "/judges/conflicts/remaining",
        data={
            "csrf_token": token,
            # Ana (answered), Dora (staff) and Carla (another theme) sent by hand are left alone.
            "finalists": [str(f.id) for f in [*shown, ana, dora, carla]],
        },
        follow_redirects=False,
    )

    assert response.status_code == 303
    answers = {d.finalist_id: d for d in declarations(session) if d.judge_id == judge.id}
    assert answers[ana.id].has_conflict and answers[dora.id].has_conflict
    assert not answers[beto.id].has_conflict and not answers[emilio.id].has_conflict
    assert carla.id not in answers and late.id not in answers
    trail = events(session, "conflict.declared")
    assert sorted(int(e.object_id) for e in trail[1:]) == sorted([beto.id, emilio.id])
    page = client.get("/judges/conflicts")
    assert page.text.count("No conflict</span>") == 2
    assert "1 finalist still waits for your answer." in page.text  # Fabiola


def test_conflicts_no_conflict_for_all_without_finalists_is_refused(
    client: TestClient, session: Session, panel: tuple
) -> None:
    _, _, judge, _, _, _ = panel
    as_user(client, session, judge)
    token = csrf_token_from(client.get("/judges/conflicts"))

    response = client.post(
        "/judges/conflicts/remaining", data={"csrf_token": token}, follow_redirects=False
    )

    assert response.status_code == 422
    assert declarations(session) == []
