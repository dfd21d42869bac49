"""Deliberation meetings: /staff/meetings (scope, status) and the judge's home (/judges)."""

import json
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import Engine, event
from sqlmodel import Session, col, select

from app.errors import NotFound
from app.models import (
    Account,
    AuditEvent,
    Campaign,
    Finalist,
    Meeting,
    MeetingFinalist,
    MeetingStatus,
    OutboxMessage,
    Role,
    ScoreSheet,
    Theme,
    utcnow,
)
from app.services.judging import meetings
from tests.factories import (
    csrf_token_from,
    declare_conflict,
    make_account,
    make_criteria,
    make_finalist,
    make_judge,
    make_meeting,
    make_open_campaign,
    sign_in,
)


def fresh(session: Session) -> None:
    session.rollback()
    session.expire_all()


def events(session: Session, action: str) -> list[AuditEvent]:
    return list(
        session.exec(
            select(AuditEvent).where(AuditEvent.action == action).order_by(col(AuditEvent.id))
        ).all()
    )


def scope_of(session: Session, meeting_id: int) -> list[int]:
    fresh(session)
    return sorted(
        session.exec(
            select(MeetingFinalist.finalist_id).where(MeetingFinalist.meeting_id == meeting_id)
        ).all()
    )


def reload(session: Session, meeting: Meeting) -> Meeting:
    fresh(session)
    found = session.get(Meeting, meeting.id)
    assert found is not None
    return found


@pytest.fixture
def staff(client: TestClient, session: Session) -> Account:
    account = make_account(session, Role.staff)
    sign_in(client, session, account)
    client.get("/?lang=en")
    return account


@pytest.fixture
def campaign(session: Session) -> tuple[Campaign, Theme, Theme]:
    return make_open_campaign(session)


def post(client: TestClient, path: str, data: list[tuple[str, str]] | dict[str, str]) -> Response:
    token = csrf_token_from(client.get("/staff/meetings"))
    fields = list(data.items()) if isinstance(data, dict) else data
    return client.post(
        path,
        content=urlencode([("csrf_token", token), *fields]),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        follow_redirects=False,
    )


# Creating meetings and their scope -------------------------------------------------------


def test_meetings_create_with_themes_takes_their_finalists_and_suggests_next_number(
    client: TestClient, session: Session, staff: Account, campaign: tuple
) -> None:
    _, youth, sustainability = campaign
    ana = make_finalist(session, youth)
    beto = make_finalist(session, youth)
    make_finalist(session, sustainability)
    assert 'name="number" type="number" value="1"' in client.get("/staff/meetings").text

    response = post(
        client,
        "/staff/meetings",
        [("number", "1"), ("held_on", "2026-12-10"), ("themes", str(youth.id))],
    )

    assert response.status_code == 303
    fresh(session)
    meeting = session.exec(select(Meeting)).one()
    assert response.headers["location"] == f"/staff/meetings/{meeting.id}"
    assert (meeting.number, meeting.held_on, meeting.status) == (
        1,
        date(2026, 12, 10),
        MeetingStatus.draft,
    )
    assert scope_of(session, meeting.id) == sorted([ana.id, beto.id])
    [created] = events(session, "meeting.created")
    assert created.actor_id == staff.id
    assert json.loads(created.after)["themes"] == ["youth"]
    assert 'name="number" type="number" value="2"' in client.get("/staff/meetings").text


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ([("number", "1"), ("held_on", "2026-12-10")], "number", "already exists"),
        ([("number", "0"), ("held_on", "2026-12-10")], "number", "no smaller than 1"),
        ([("number", "2"), ("held_on", "10/12/2026")], "held_on", "2026-12-31"),
        ([("number", "2"), ("held_on", "")], "held_on", "required"),
    ],
)
def test_meetings_invalid_number_or_date_is_refused_and_nothing_stored(
    client: TestClient,
    session: Session,
    staff: Account,
    campaign: tuple,
    data: list[tuple[str, str]],
    field: str,
    message: str,
) -> None:
    owner, youth, _ = campaign
    make_meeting(session, owner, [], number=1, status=MeetingStatus.draft)

    response = post(client, "/staff/meetings", [*data, ("themes", str(youth.id))])

    assert response.status_code == 422
    error = response.text.split(f'id="error-{field}">', 1)[1].split("</p>", 1)[0]
    assert message in error
    fresh(session)
    assert len(session.exec(select(Meeting)).all()) == 1
    assert events(session, "meeting.created") == []


def test_meetings_without_themes_or_source_is_refused(
    client: TestClient, session: Session, staff: Account, campaign: tuple
) -> None:
    response = post(client, "/staff/meetings", [("number", "1"), ("held_on", "2026-12-10")])

    assert response.status_code == 422
    assert "Choose the themes of the meeting" in response.text
    fresh(session)
    assert session.exec(select(Meeting)).all() == []


def test_meetings_second_meeting_takes_the_first_ones_advanced_finalists(
    client: TestClient, session: Session, staff: Account, campaign: tuple
) -> None:
    owner, youth, sustainability = campaign
    ana, beto = make_finalist(session, youth), make_finalist(session, youth)
    carla = make_finalist(session, sustainability)
    first = make_meeting(session, owner, [ana, beto, carla], status=MeetingStatus.closed)
    for link in session.exec(select(MeetingFinalist)).all():
        link.advanced = link.finalist_id in (ana.id, carla.id)
        session.add(link)
    session.commit()

    response = post(
        client,
        "/staff/meetings",
        [("number", "2"), ("held_on", "2026-12-20"), ("source_meeting_id", str(first.id))],
    )

    assert response.status_code == 303
    fresh(session)
    second = session.exec(select(Meeting).where(Meeting.number == 2)).one()
    assert second.source_meeting_id == first.id
    assert scope_of(session, second.id) == sorted([ana.id, carla.id])
    page = client.get(f"/staff/meetings/{second.id}")
    assert "the shortlist of meeting 1" in page.text


def test_meetings_shortlist_only_from_a_closed_meeting_with_advanced_finalists(
    client: TestClient, session: Session, staff: Account, campaign: tuple
) -> None:
    owner, youth, _ = campaign
    ana = make_finalist(session, youth)
    still_open = make_meeting(session, owner, [ana], number=1)
    closed_none = make_meeting(session, owner, [ana], number=2, status=MeetingStatus.closed)

    from_open = post(
        client,
        "/staff/meetings",
        [("number", "3"), ("held_on", "2026-12-20"), ("source_meeting_id", str(still_open.id))],
    )
    from_empty = post(
        client,
        "/staff/meetings",
        [("number", "3"), ("held_on", "2026-12-20"), ("source_meeting_id", str(closed_none.id))],
    )

    assert from_open.status_code == from_empty.status_code == 422
    assert "only from a closed meeting" in from_open.text
    assert "advanced no finalist" in from_empty.text
    fresh(session)
    assert len(session.exec(select(Meeting)).all()) == 2


def test_meetings_scope_changes_while_draft_and_is_fixed_once_open(
    client: TestClient, session: Session, staff: Account, campaign: tuple
) -> None:
    owner, youth, sustainability = campaign
    make_criteria(session, owner)
    ana, carla = make_finalist(session, youth), make_finalist(session, sustainability)
    meeting = make_meeting(session, owner, [ana], status=MeetingStatus.draft)
    path = f"/staff/meetings/{meeting.id}"

    added = post(client, f"{path}/scope/add", {"finalist_id": str(carla.id)})
    removed = post(client, f"{path}/scope/remove", {"finalist_id": str(ana.id)})
    assert added.status_code == removed.status_code == 303
    assert scope_of(session, meeting.id) == [carla.id]
    assert post(client, f"{path}/open", {}).status_code == 303
    refused = post(client, f"{path}/scope/add", {"finalist_id": str(ana.id)})

    assert refused.status_code == 409
    assert "only while it is a draft" in refused.text
    assert scope_of(session, meeting.id) == [carla.id]
    assert len(events(session, "meeting.scope_added")) == 1
    assert len(events(session, "meeting.scope_removed")) == 1


# Status ----------------------------------------------------------------------------------


def test_meetings_open_needs_a_scope_and_the_rubric(
    client: TestClient, session: Session, staff: Account, campaign: tuple
) -> None:
    owner, youth, _ = campaign
    empty = make_meeting(session, owner, [], number=1, status=MeetingStatus.draft)
    no_rubric = make_meeting(
        session, owner, [make_finalist(session, youth)], number=2, status=MeetingStatus.draft
    )

    without_scope = post(client, f"/staff/meetings/{empty.id}/open", {})
    without_criteria = post(client, f"/staff/meetings/{no_rubric.id}/open", {})

    assert without_scope.status_code == without_criteria.status_code == 409
    assert "Add at least one finalist" in without_scope.text
    assert "no rubric yet" in without_criteria.text
    assert reload(session, empty).status == reload(session, no_rubric).status == MeetingStatus.draft
    assert events(session, "meeting.opened") == []


def test_meetings_open_then_close_set_status_and_times_and_are_audited(
    client: TestClient, session: Session, staff: Account, campaign: tuple
) -> None:
    owner, youth, sustainability = campaign
    make_criteria(session, owner)
    judge = make_judge(session, youth, email="jueza@example.org")
    make_judge(session, sustainability)  # not a judge of this meeting's finalists
    meeting = make_meeting(
        session, owner, [make_finalist(session, youth)], status=MeetingStatus.draft
    )
    path = f"/staff/meetings/{meeting.id}"

    assert post(client, f"{path}/open", {}).status_code == 303
    opened = reload(session, meeting)
    assert opened.status == MeetingStatus.open and opened.opened_at is not None
    [told] = session.exec(select(OutboxMessage)).all()
    assert told.to_address == judge.email
    assert f"http://testserver/judges/meetings/{meeting.id}" in told.body
    assert post(client, f"{path}/close", {"confirm": "yes"}).status_code == 303

    closed = reload(session, meeting)
    assert closed.status == MeetingStatus.closed and closed.closed_at is not None
    [opening] = events(session, "meeting.opened")
    [closing] = events(session, "meeting.closed")
    assert json.loads(opening.before)["status"] == "draft"
    assert json.loads(closing.after)["status"] == "closed"
    assert opening.actor_id == closing.actor_id == staff.id
    assert "scores are locked" in client.get(path).text
    assert len(session.exec(select(OutboxMessage)).all()) == 2  # and told it closed


def test_meetings_close_asks_for_confirmation_and_names_judges_with_missing_sheets(
    client: TestClient, session: Session, staff: Account, campaign: tuple
) -> None:
    owner, youth, _ = campaign
    make_criteria(session, owner)
    ana, beto = make_finalist(session, youth), make_finalist(session, youth)
    done = make_judge(session, youth, email="lista@example.org", name="Jueza Lista")
    late = make_judge(session, youth, email="tarde@example.org", name="Juez Tardío")
    recused = make_judge(session, youth, email="recusada@example.org", name="Jueza Recusada")
    meeting = make_meeting(session, owner, [ana, beto], status=MeetingStatus.open)
    for finalist in (ana, beto):
        session.add(
            ScoreSheet(
                meeting_id=meeting.id,
                judge_id=done.id,
                finalist_id=finalist.id,
                submitted_at=utcnow(),
            )
        )
    # A sheet started but not submitted still counts as missing; a recused finalist does not.
    session.add(ScoreSheet(meeting_id=meeting.id, judge_id=late.id, finalist_id=ana.id))
    session.add(
        ScoreSheet(
            meeting_id=meeting.id, judge_id=recused.id, finalist_id=ana.id, submitted_at=utcnow()
        )
    )
    session.commit()
    declare_conflict(session, recused, beto)
    path = f"/staff/meetings/{meeting.id}"

    detail = client.get(path)
    assert f'href="{path}/close"' in detail.text
    page = client.get(f"{path}/close")
    assert page.status_code == 200
    assert "Juez Tardío: 2 sheets missing" in page.text
    assert "Jueza Lista" not in page.text and "Jueza Recusada" not in page.text

    refused = post(client, f"{path}/close", {})
    assert refused.status_code == 422
    assert "Tick the box to confirm" in refused.text
    assert "Juez Tardío: 2 sheets missing" in refused.text
    assert reload(session, meeting).status == MeetingStatus.open
    assert events(session, "meeting.closed") == []

    assert post(client, f"{path}/close", {"confirm": "yes"}).status_code == 303
    assert reload(session, meeting).status == MeetingStatus.closed
    assert "Only an open meeting can be closed." in client.get(f"{path}/close").text


def test_meetings_staff_and_judges_areas_take_the_screen_width(
    client: TestClient, session: Session, staff: Account, campaign: tuple
) -> None:
    assert '<main id="main" class="wrap area"' in client.get("/staff/meetings").text
    assert '<main id="main" class="wrap"' in client.get("/about").text


@pytest.mark.parametrize(
    ("status", "action", "message"),
    [
        (MeetingStatus.draft, "close", "has not been opened yet"),
        (MeetingStatus.draft, "reopen", "Only a closed meeting can be reopened."),
        (MeetingStatus.open, "open", "already open"),
        (MeetingStatus.open, "reopen", "Only a closed meeting can be reopened."),
        (MeetingStatus.closed, "open", "reopen it with a reason"),
        (MeetingStatus.closed, "close", "already closed"),
    ],
)
def test_meetings_invalid_transition_is_refused_with_409(
    client: TestClient,
    session: Session,
    staff: Account,
    campaign: tuple,
    status: MeetingStatus,
    action: str,
    message: str,
) -> None:
    owner, youth, _ = campaign
    make_criteria(session, owner)
    meeting = make_meeting(session, owner, [make_finalist(session, youth)], status=status)

    response = post(
        client,
        f"/staff/meetings/{meeting.id}/{action}",
        {"reason": "Por error.", "confirm": "yes"},
    )

    assert response.status_code == 409
    assert message in response.text
    assert reload(session, meeting).status == status
    assert (
        session.exec(select(AuditEvent).where(col(AuditEvent.action).like("meeting.%"))).all() == []
    )


def test_meetings_reopen_without_a_reason_is_refused_and_nothing_changes(
    client: TestClient, session: Session, staff: Account, campaign: tuple
) -> None:
    owner, youth, _ = campaign
    closed_at = utcnow() - timedelta(hours=1)
    meeting = make_meeting(
        session,
        owner,
        [make_finalist(session, youth)],
        status=MeetingStatus.closed,
        closed_at=closed_at,
    )

    response = post(client, f"/staff/meetings/{meeting.id}/reopen", {"reason": "   "})

    assert response.status_code == 422
    error = response.text.split('id="error-reason">', 1)[1].split("</p>", 1)[0]
    assert "Write why the meeting is reopened" in error
    kept = reload(session, meeting)
    assert (kept.status, kept.closed_at) == (MeetingStatus.closed, closed_at)
    assert events(session, "meeting.reopened") == []


def test_meetings_reopen_with_a_reason_reopens_and_keeps_the_reason_in_the_trail(
    client: TestClient, session: Session, staff: Account, campaign: tuple
) -> None:
    owner, youth, _ = campaign
    meeting = make_meeting(
        session,
        owner,
        [make_finalist(session, youth)],
        status=MeetingStatus.closed,
        closed_at=utcnow(),
    )
    reason = "Una jueza no pudo enviar su hoja por una falla de conexión."

    response = post(client, f"/staff/meetings/{meeting.id}/reopen", {"reason": reason})

    assert response.status_code == 303
    reopened = reload(session, meeting)
    assert (reopened.status, reopened.closed_at) == (MeetingStatus.open, None)
    [event] = events(session, "meeting.reopened")
    assert event.actor_id == staff.id
    assert json.loads(event.after)["reason"] == reason
    assert json.loads(event.before)["status"] == "closed"
    assert reason in client.get(f"/staff/meetings/{meeting.id}").text  # shown in its history


def test_meetings_delete_a_draft_but_not_an_opened_meeting(
    client: TestClient, session: Session, staff: Account, campaign: tuple
) -> None:
    owner, youth, _ = campaign
    ana = make_finalist(session, youth)
    draft = make_meeting(session, owner, [ana], number=1, status=MeetingStatus.draft)
    draft_id = draft.id
    opened = make_meeting(session, owner, [ana], number=2)

    deleted = post(client, f"/staff/meetings/{draft_id}/delete", {})
    refused = post(client, f"/staff/meetings/{opened.id}/delete", {})

    assert deleted.status_code == 303
    assert refused.status_code == 409
    fresh(session)
    assert [m.number for m in session.exec(select(Meeting)).all()] == [2]
    assert scope_of(session, draft_id) == []
    assert len(events(session, "meeting.deleted")) == 1


def test_meetings_unknown_meeting_is_not_found(
    client: TestClient, session: Session, staff: Account, campaign: tuple
) -> None:
    assert client.get("/staff/meetings/999999").status_code == 404
    assert post(client, "/staff/meetings/999999/open", {}).status_code == 404


# The judge's home and the helpers the judges' pages share --------------------------------


def sheet(
    session: Session, meeting: Meeting, judge: Account, finalist: Finalist, *, submitted: bool
) -> None:
    session.add(
        ScoreSheet(
            meeting_id=meeting.id,
            judge_id=judge.id,
            finalist_id=finalist.id,
            submitted_at=utcnow() if submitted else None,
        )
    )
    session.commit()


@pytest.fixture
def judging(session: Session, campaign: tuple) -> dict[str, Any]:
    """A Youth judge; meetings 1 (open, 3 Youth + 1 Sustainability finalists), 2 (closed),
    3 (draft), 4 (open, Sustainability only)."""
    owner, youth, sustainability = campaign
    judge = make_judge(session, youth, name="Julia Jueza")
    other = make_judge(session, youth)
    ana, beto, celia = (make_finalist(session, youth) for _ in range(3))
    dora = make_finalist(session, sustainability)
    first = make_meeting(session, owner, [ana, beto, celia, dora], number=1)
    second = make_meeting(session, owner, [ana, beto], number=2, status=MeetingStatus.closed)
    draft = make_meeting(session, owner, [ana], number=3, status=MeetingStatus.draft)
    elsewhere = make_meeting(session, owner, [dora], number=4)
    declare_conflict(session, judge, celia)
    sheet(session, first, judge, ana, submitted=True)
    sheet(session, first, judge, beto, submitted=False)  # started, not submitted
    sheet(session, first, judge, celia, submitted=True)  # recused: does not count
    sheet(session, first, other, beto, submitted=True)  # another judge's sheet
    sheet(session, second, judge, ana, submitted=True)
    sheet(session, second, judge, beto, submitted=True)
    return {
        "judge": judge,
        "finalists": (ana, beto, celia, dora),
        "meetings": (first, second, draft, elsewhere),
    }


def test_judges_home_lists_only_the_judges_meetings_with_progress(
    client: TestClient, session: Session, judging: dict[str, Any]
) -> None:
    first, second, draft, elsewhere = judging["meetings"]
    sign_in(client, session, judging["judge"])
    client.get("/?lang=en")

    page = client.get("/judges")

    assert page.status_code == 200
    assert f'href="/judges/meetings/{first.id}"' in page.text
    assert f'href="/judges/meetings/{second.id}"' in page.text
    assert f"/judges/meetings/{draft.id}" not in page.text
    assert f"/judges/meetings/{elsewhere.id}" not in page.text
    first_card = page.text.split(f"/judges/meetings/{first.id}", 1)[1].split("</li>", 1)[0]
    second_card = page.text.split(f"/judges/meetings/{second.id}", 1)[1].split("</li>", 1)[0]
    assert "Scored 1 of 2" in first_card
    assert "recused from 1 finalist" in first_card
    assert "Scored 2 of 2" in second_card


def test_judges_home_progress_is_one_query(
    session: Session, engine: Engine, judging: dict[str, Any]
) -> None:
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(args[2])

    owner_id = judging["meetings"][0].campaign_id
    event.listen(engine, "before_cursor_execute", count)
    try:
        rows = meetings.judge_meetings(session, judge=judging["judge"], campaign_id=owner_id)
    finally:
        event.remove(engine, "before_cursor_execute", count)

    assert [(r.meeting.number, r.scored, r.to_score, r.recused) for r in rows] == [
        (1, 1, 2, 1),
        (2, 2, 2, 0),
    ]
    assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) == 1


def test_judges_home_reminds_of_missing_declarations(
    client: TestClient, session: Session, judging: dict[str, Any]
) -> None:
    sign_in(client, session, judging["judge"])
    client.get("/?lang=en")

    page = client.get("/judges")

    # Of Ana, Beto and Celia, only Celia has a declaration.
    assert "conflict of interest with 2 finalists" in page.text
    assert 'href="/judges/conflicts"' in page.text


def test_judges_home_of_a_judge_without_meetings(client: TestClient, session: Session) -> None:
    _, youth, _ = make_open_campaign(session)
    sign_in(client, session, make_judge(session, youth))
    client.get("/?lang=en")

    page = client.get("/judges")

    assert page.status_code == 200
    assert "You have no meeting yet." in page.text
    assert "conflict of interest with" not in page.text


def test_meeting_helpers_refuse_what_is_not_the_judges(
    session: Session, judging: dict[str, Any]
) -> None:
    judge = judging["judge"]
    first, second, draft, elsewhere = judging["meetings"]
    ana, _, celia, dora = judging["finalists"]

    assert meetings.get_meeting_for_judge(session, meeting_id=first.id, judge=judge).id == first.id
    for hidden in (draft, elsewhere):
        with pytest.raises(NotFound):
            meetings.get_meeting_for_judge(session, meeting_id=hidden.id, judge=judge)
    # Saving in the closed meeting is refused by save_sheet itself (tests/test_scoring.py).
    opened = meetings.get_meeting_for_judge(session, meeting_id=first.id, judge=judge)
    line = meetings.get_scope_line_for_judge(
        session, meeting=opened, finalist_id=celia.id, judge=judge
    )
    assert line.recused and line.sheet is not None
    with pytest.raises(NotFound):  # in scope, but not of the judge's themes
        meetings.get_scope_line_for_judge(session, meeting=opened, finalist_id=dora.id, judge=judge)
    with pytest.raises(NotFound):  # of the judge's themes, but not in this meeting's scope
        meetings.get_scope_line_for_judge(
            session, meeting=second, finalist_id=celia.id, judge=judge
        )
    lines = meetings.judge_scope(session, meeting=opened, judge=judge)
    assert [(line.finalist.id, line.recused) for line in lines if line.finalist.id == ana.id] == [
        (ana.id, False)
    ]
    assert dora.id not in [line.finalist.id for line in lines]
    session.rollback()
