"""/staff/criteria: the campaign's rubric, editable until the first score, then frozen."""

import json

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlmodel import Session, col, select

from app.models import (
    Account,
    AuditEvent,
    Campaign,
    Criterion,
    Role,
    Score,
    ScoreSheet,
    Theme,
    utcnow,
)
from app.services.demo.campaign import seed_demo
from tests.factories import (
    csrf_token_from,
    make_account,
    make_campaign,
    make_criteria,
    make_finalist,
    make_judge,
    make_meeting,
    make_open_campaign,
    make_theme,
    sign_in,
)

VALID = {
    "name_es": "Importancia del impacto",
    "name_en": "Significance of the impact",
    "description_es": "Qué tanto mejoró la vida de las personas.",
    "description_en": "How much it improved people's lives.",
    "weight": "2",
    "scale_min": "1",
    "scale_max": "5",
}


@pytest.fixture
def staff(client: TestClient, session: Session) -> Account:
    account = make_account(session, Role.staff)
    sign_in(client, session, account)
    client.get("/?lang=en")
    return account


def post(client: TestClient, path: str, data: dict[str, str]) -> Response:
    token = csrf_token_from(client.get("/staff/criteria"))
    return client.post(path, data={"csrf_token": token, **data}, follow_redirects=False)


def fresh(session: Session) -> None:
    """Forget what the test's session read: the app committed in its own session."""
    session.rollback()  # ends the read transaction, whose snapshot would hide those commits
    session.expire_all()  # a rollback with no transaction open expires nothing


def stored(session: Session, campaign: Campaign) -> list[Criterion]:
    fresh(session)
    return list(
        session.exec(
            select(Criterion)
            .where(Criterion.campaign_id == campaign.id)
            .order_by(col(Criterion.position))
        ).all()
    )


def events(session: Session, action: str) -> list[AuditEvent]:
    return list(session.exec(select(AuditEvent).where(AuditEvent.action == action)).all())


def give_first_score(session: Session, campaign: Campaign, criterion: Criterion) -> None:
    youth = session.exec(select(Theme).where(Theme.campaign_id == campaign.id)).first()
    assert youth is not None
    finalist = make_finalist(session, youth)
    judge = make_judge(session, youth)
    meeting = make_meeting(session, campaign, [finalist])
    sheet = ScoreSheet(meeting_id=meeting.id, judge_id=judge.id, finalist_id=finalist.id)
    session.add(sheet)
    session.flush()
    session.add(Score(sheet_id=sheet.id, criterion_id=criterion.id, value=4))
    session.commit()


def test_rubric_page_lists_criteria_in_order_in_both_languages(
    client: TestClient, session: Session, staff: Account
) -> None:
    campaign, _, _ = make_open_campaign(session)
    make_criteria(session, campaign, (1, 3))

    page = client.get("/staff/criteria")

    assert page.status_code == 200
    assert page.text.index("Criterio 1") < page.text.index("Criterio 2")
    assert "Criterion 2" in page.text
    assert "(75 %)" in page.text  # weight 3 of 4
    assert "Add a criterion" in page.text


def test_rubric_add_criterion_is_stored_and_audited(
    client: TestClient, session: Session, staff: Account
) -> None:
    campaign, _, _ = make_open_campaign(session)
    make_criteria(session, campaign, (1,))

    response = post(client, "/staff/criteria", VALID)

    assert response.status_code == 303
    criteria = stored(session, campaign)
    assert [c.name_en for c in criteria] == ["Criterion 1", "Significance of the impact"]
    added = criteria[1]
    assert (added.position, added.weight, added.scale_min, added.scale_max) == (1, 2.0, 1, 5)
    assert added.description_es == VALID["description_es"]
    [event] = events(session, "criterion.created")
    assert event.actor_id == staff.id
    assert json.loads(event.after)["name_es"] == "Importancia del impacto"


def test_rubric_accepts_a_decimal_comma_in_the_weight(
    client: TestClient, session: Session, staff: Account
) -> None:
    campaign, _, _ = make_open_campaign(session)

    response = post(client, "/staff/criteria", {**VALID, "weight": "1,5"})

    assert response.status_code == 303
    assert [c.weight for c in stored(session, campaign)] == [1.5]


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"weight": "0"}, "weight", "greater than 0"),
        ({"weight": "-2"}, "weight", "greater than 0"),
        ({"weight": "nan"}, "weight", "greater than 0"),
        ({"weight": "inf"}, "weight", "greater than 0"),
        ({"weight": "mucho"}, "weight", "greater than 0"),
        ({"weight": "101"}, "weight", "greater than 0"),
        ({"scale_min": "5", "scale_max": "5"}, "scale_max", "must be greater than the lowest"),
        ({"scale_min": "5", "scale_max": "1"}, "scale_max", "must be greater than the lowest"),
        ({"scale_min": "1.5"}, "scale_min", "whole number"),
        ({"scale_max": ""}, "scale_max", "required"),
        ({"name_en": "  "}, "name_en", "required"),
    ],
)
def test_rubric_invalid_weight_scale_or_name_is_refused_and_nothing_stored(
    client: TestClient,
    session: Session,
    staff: Account,
    changes: dict[str, str],
    field: str,
    message: str,
) -> None:
    campaign, _, _ = make_open_campaign(session)

    response = post(client, "/staff/criteria", {**VALID, **changes})

    assert response.status_code == 422
    error = response.text.split(f'id="error-{field}">', 1)[1].split("</p>", 1)[0]
    assert message in error
    assert 'value="Importancia del impacto"' in response.text  # what was typed is kept
    assert stored(session, campaign) == []
    assert events(session, "criterion.created") == []


def test_rubric_edit_criterion_updates_and_audits_the_change(
    client: TestClient, session: Session, staff: Account
) -> None:
    campaign, _, _ = make_open_campaign(session)
    [criterion] = make_criteria(session, campaign, (1,))
    form = client.get(f"/staff/criteria/{criterion.id}")
    assert 'value="Criterio 1"' in form.text

    response = post(
        client, f"/staff/criteria/{criterion.id}", {**VALID, "weight": "3", "scale_max": "10"}
    )

    assert response.status_code == 303
    [saved] = stored(session, campaign)
    assert (saved.name_es, saved.weight, saved.scale_max) == (VALID["name_es"], 3.0, 10)
    [event] = events(session, "criterion.updated")
    assert json.loads(event.before)["weight"] == 1.0
    assert json.loads(event.after)["weight"] == 3.0


def test_rubric_edit_with_invalid_scale_changes_nothing(
    client: TestClient, session: Session, staff: Account
) -> None:
    campaign, _, _ = make_open_campaign(session)
    [criterion] = make_criteria(session, campaign, (1,))

    response = post(
        client, f"/staff/criteria/{criterion.id}", {**VALID, "scale_min": "7", "scale_max": "3"}
    )

    assert response.status_code == 422
    [saved] = stored(session, campaign)
    assert (saved.name_es, saved.scale_min, saved.scale_max) == ("Criterio 1", 1, 5)
    assert events(session, "criterion.updated") == []


def test_rubric_move_and_delete_keep_positions_in_order(
    client: TestClient, session: Session, staff: Account
) -> None:
    campaign, _, _ = make_open_campaign(session)
    first, second, third = make_criteria(session, campaign, (1, 1, 1))

    assert post(client, f"/staff/criteria/{third.id}/move", {"direction": "up"}).status_code == 303
    assert [c.id for c in stored(session, campaign)] == [first.id, third.id, second.id]
    assert post(client, f"/staff/criteria/{first.id}/delete", {}).status_code == 303

    criteria = stored(session, campaign)
    assert [(c.id, c.position) for c in criteria] == [(third.id, 0), (second.id, 1)]
    assert len(events(session, "criterion.moved")) == 1
    [deleted] = events(session, "criterion.deleted")
    assert json.loads(deleted.before)["name_es"] == "Criterio 1"


def test_rubric_is_frozen_once_a_score_exists(
    client: TestClient, session: Session, staff: Account
) -> None:
    campaign, _, _ = make_open_campaign(session)
    first, second = make_criteria(session, campaign, (1, 1))
    give_first_score(session, campaign, first)

    page = client.get("/staff/criteria")
    refused = [
        post(client, "/staff/criteria", VALID),
        post(client, f"/staff/criteria/{first.id}", {**VALID, "weight": "9"}),
        post(client, f"/staff/criteria/{second.id}/delete", {}),
        post(client, f"/staff/criteria/{second.id}/move", {"direction": "up"}),
    ]

    assert "The rubric is frozen" in page.text
    assert 'action="/staff/criteria"' not in page.text  # no form offered
    for response in refused:
        assert response.status_code == 409
        assert "The rubric is frozen" in response.text
    criteria = stored(session, campaign)
    assert [(c.id, c.name_es, c.weight) for c in criteria] == [
        (first.id, "Criterio 1", 1.0),
        (second.id, "Criterio 2", 1.0),
    ]
    assert (
        session.exec(select(AuditEvent).where(col(AuditEvent.action).like("criterion.%"))).all()
        == []
    )


def test_rubric_score_in_an_earlier_campaign_does_not_freeze_this_one(
    client: TestClient, session: Session, staff: Account
) -> None:
    earlier = make_campaign(session, year=utcnow().year - 1)
    make_theme(session, earlier, slug="youth", position=1)
    make_theme(session, earlier, slug="sustainability", position=2)
    [old] = make_criteria(session, earlier, (1,))
    give_first_score(session, earlier, old)
    campaign, _, _ = make_open_campaign(session)

    response = post(client, "/staff/criteria", VALID)

    assert response.status_code == 303
    assert len(stored(session, campaign)) == 1


def test_rubric_criterion_of_another_campaign_is_not_found(
    client: TestClient, session: Session, staff: Account
) -> None:
    earlier = make_campaign(session, year=utcnow().year - 1)
    [old] = make_criteria(session, earlier, (1,))
    make_open_campaign(session)

    assert client.get(f"/staff/criteria/{old.id}").status_code == 404
    assert post(client, f"/staff/criteria/{old.id}/delete", {}).status_code == 404
    assert len(stored(session, earlier)) == 1


def test_seed_demo_creates_the_six_published_criteria_once(session: Session) -> None:
    first = seed_demo(session, now=utcnow())
    session.commit()
    second = seed_demo(session, now=utcnow())
    session.commit()

    assert first.campaign.id == second.campaign.id
    criteria = stored(session, first.campaign)
    assert [c.name_es for c in criteria] == [
        "Importancia del impacto",
        "Alcance más allá de su ámbito",
        "Obstáculos superados",
        "Valor como ejemplo",
        "Uso de la influencia de su cargo",
        "Integridad más allá de la competencia",
    ]
    assert criteria[0].name_en == "Significance of the impact"
    assert {(c.weight, c.scale_min, c.scale_max) for c in criteria} == {(1.0, 1, 5)}
    assert [c.position for c in criteria] == list(range(6))
    for criterion in criteria:
        assert criterion.description_es.endswith(".") and criterion.description_en.endswith(".")
