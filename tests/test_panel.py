"""/staff/judges: the panel per theme, and inviting a new judge by e-mail."""

import json
import re
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlmodel import Session, col, select

from app.models import (
    Account,
    AccountToken,
    AuditEvent,
    JudgeAssignment,
    OutboxMessage,
    Role,
    Theme,
)
from tests.factories import (
    csrf_token_from,
    make_account,
    make_judge,
    make_open_campaign,
    sign_in,
)


@pytest.fixture
def staff(client: TestClient, session: Session) -> Account:
    account = make_account(session, Role.staff)
    sign_in(client, session, account)
    client.get("/?lang=en")
    return account


def fresh(session: Session) -> None:
    session.rollback()
    session.expire_all()


def post(client: TestClient, path: str, data: dict[str, str] | list[tuple[str, str]]) -> Response:
    token = csrf_token_from(client.get("/staff/judges"))
    fields = list(data.items()) if isinstance(data, dict) else list(data)
    return client.post(
        path,
        content=urlencode([("csrf_token", token), *fields]),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        follow_redirects=False,
    )


def themes_of(session: Session, judge: Account) -> list[str]:
    fresh(session)
    return sorted(
        session.exec(
            select(Theme.slug)
            .join(JudgeAssignment, col(JudgeAssignment.theme_id) == Theme.id)
            .where(JudgeAssignment.account_id == judge.id)
        ).all()
    )


def events(session: Session, action: str) -> list[AuditEvent]:
    return list(session.exec(select(AuditEvent).where(AuditEvent.action == action)).all())


def test_panel_lists_judges_with_their_themes(
    client: TestClient, session: Session, staff: Account
) -> None:
    _, youth, sustainability = make_open_campaign(session)
    make_judge(session, youth, name="Julia Jueza")
    make_judge(session, name="Jorge Sin Tema")

    page = client.get("/staff/judges")

    assert page.status_code == 200
    panel = page.text.split("The panel", 1)[1].split("Add an existing judge account", 1)[0]
    assert "Julia Jueza" in panel
    assert "Jorge Sin Tema" not in panel
    julia_row = panel.split("Julia Jueza", 1)[1].split("</tr>", 1)[0]
    assert re.search(rf'value="{youth.id}" checked', julia_row)
    assert not re.search(rf'value="{sustainability.id}" checked', julia_row)
    # A judge on no theme is offered for adding.
    assert "Jorge Sin Tema" in page.text.split("Add an existing judge account", 1)[1]


def test_panel_assign_existing_judge_to_themes_is_stored_and_audited(
    client: TestClient, session: Session, staff: Account
) -> None:
    _, youth, sustainability = make_open_campaign(session)
    judge = make_judge(session)

    response = post(
        client,
        "/staff/judges/assign",
        [
            ("judge_id", str(judge.id)),
            ("themes", str(youth.id)),
            ("themes", str(sustainability.id)),
        ],
    )

    assert response.status_code == 303
    assert themes_of(session, judge) == ["sustainability", "youth"]
    [event] = events(session, "panel.themes_changed")
    assert event.actor_id == staff.id
    assert json.loads(event.after) == {"themes": ["youth", "sustainability"]}


def test_panel_change_themes_then_remove_judge_from_panel(
    client: TestClient, session: Session, staff: Account
) -> None:
    _, youth, sustainability = make_open_campaign(session)
    judge = make_judge(session, youth)

    moved = post(client, f"/staff/judges/{judge.id}/themes", [("themes", str(sustainability.id))])
    assert moved.status_code == 303
    assert themes_of(session, judge) == ["sustainability"]
    removed = post(client, f"/staff/judges/{judge.id}/themes", [])

    assert removed.status_code == 303
    assert themes_of(session, judge) == []
    changes = events(session, "panel.themes_changed")
    assert [json.loads(e.after)["themes"] for e in changes] == [["sustainability"], []]
    assert session.get(Account, judge.id) is not None  # the account stays


def test_panel_assign_without_theme_or_to_a_staff_account_changes_nothing(
    client: TestClient, session: Session, staff: Account
) -> None:
    _, youth, _ = make_open_campaign(session)
    judge = make_judge(session)
    other_staff = make_account(session, Role.staff)

    no_theme = post(client, "/staff/judges/assign", {"judge_id": str(judge.id)})
    not_a_judge = post(
        client, f"/staff/judges/{other_staff.id}/themes", [("themes", str(youth.id))]
    )

    assert no_theme.status_code == 422
    assert "Choose at least one theme." in no_theme.text
    assert not_a_judge.status_code == 404
    fresh(session)
    assert session.exec(select(JudgeAssignment)).all() == []
    assert events(session, "panel.themes_changed") == []


def test_panel_invite_creates_judge_and_queues_email_with_working_link(
    client: TestClient, session: Session, staff: Account
) -> None:
    _, youth, _ = make_open_campaign(session)

    response = post(
        client,
        "/staff/judges/invite",
        {
            "name": "Rosa Jueza",
            "email": "Rosa@Example.org",
            "locale": "es",
            "themes": str(youth.id),
        },
    )

    assert response.status_code == 303
    fresh(session)
    judge = session.exec(select(Account).where(Account.email == "rosa@example.org")).one()
    assert (judge.role, judge.name, judge.password_hash) == (Role.judge, "Rosa Jueza", "")
    assert themes_of(session, judge) == ["youth"]
    assert "Rosa Jueza" in client.get(response.headers["location"]).text
    [mail] = session.exec(select(OutboxMessage)).all()
    assert mail.to_address == "rosa@example.org"
    assert mail.subject.startswith("Integrity Icon:")
    link = re.search(r"http://testserver(/account/set-password/[\w-]+)", mail.body)
    assert link, mail.body
    assert "Jóvenes" in mail.body
    [event] = events(session, "panel.judge_invited")
    assert link.group(1).rsplit("/", 1)[1] not in event.after  # the token is not in the trail
    assert json.loads(event.after)["themes"] == ["youth"]

    # The link works: the judge chooses a password with it.
    form = client.get(link.group(1))
    assert form.status_code == 200
    chosen = client.post(
        link.group(1),
        data={
            "csrf_token": csrf_token_from(form),
            "password": "tres palabras sueltas",
            "password_again": "tres palabras sueltas",
        },
        follow_redirects=False,
    )
    assert chosen.status_code == 303
    fresh(session)
    assert session.get(Account, judge.id).password_hash.startswith("$argon2id$")
    assert session.exec(select(AccountToken)).one().used_at is not None


def test_panel_invite_in_english_writes_the_email_in_english(
    client: TestClient, session: Session, staff: Account
) -> None:
    _, _, sustainability = make_open_campaign(session)

    post(
        client,
        "/staff/judges/invite",
        {
            "name": "Ann Judge",
            "email": "ann@example.org",
            "locale": "en",
            "themes": str(sustainability.id),
        },
    )

    fresh(session)
    [mail] = session.exec(select(OutboxMessage)).all()
    assert mail.subject.startswith("Integrity Icon: you are invited to judge")
    assert "Sustainability" in mail.body
    assert (
        session.exec(select(Account).where(Account.email == "ann@example.org")).one().locale == "en"
    )


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"email": "judge1@example.org"}, "email", "already exists"),
        ({"email": "not-an-address"}, "email", "valid e-mail address"),
        ({"name": ""}, "name", "required"),
        ({"themes": ""}, "themes", "Choose at least one theme."),
    ],
)
def test_panel_invalid_invitation_is_refused_and_nothing_stored(
    client: TestClient,
    session: Session,
    staff: Account,
    changes: dict[str, str],
    field: str,
    message: str,
) -> None:
    _, youth, _ = make_open_campaign(session)
    make_account(session, Role.judge, email="judge1@example.org")
    fresh(session)
    accounts_before = len(session.exec(select(Account)).all())
    data = {
        "name": "Rosa Jueza",
        "email": "rosa@example.org",
        "locale": "es",
        "themes": str(youth.id),
    }
    data.update(changes)
    if not data["themes"]:
        del data["themes"]

    response = post(client, "/staff/judges/invite", data)

    assert response.status_code == 422
    error = response.text.split(f'id="error-{field}">', 1)[1].split("</p>", 1)[0]
    assert message in error
    assert 'value="Rosa Jueza"' in response.text or field == "name"
    fresh(session)
    assert len(session.exec(select(Account)).all()) == accounts_before
    assert session.exec(select(OutboxMessage)).all() == []
    assert session.exec(select(JudgeAssignment)).all() == []
    assert events(session, "panel.judge_invited") == []
