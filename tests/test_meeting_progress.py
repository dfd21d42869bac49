"""Judges' progress in a meeting, staff's one-click reminder, the scoring deadline, and the
reminder the server sends by itself before the deadline."""

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from app.config import Settings
from app.main import create_app
from app.models import (
    Account,
    AuditEvent,
    Finalist,
    Meeting,
    MeetingStatus,
    OutboxMessage,
    Role,
    ScoreSheet,
    utcnow,
)
from app.services.judging import progress
from tests.conftest import make_settings
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
from tests.smtp import smtp_server

PATIENCE = 20.0


@dataclass
class Panel:
    meeting: Meeting
    finalists: list[Finalist]
    done: Account  # submitted every sheet
    halfway: Account  # one sheet in draft, one not started
    recused: Account  # recused from the first finalist, nothing else done
    other_theme: Account  # judges only the sustainability theme: one sheet to do


@pytest.fixture
def panel(session: Session) -> Panel:
    campaign, youth, sustainability = make_open_campaign(session)
    make_criteria(session, campaign)
    finalists = [make_finalist(session, youth), make_finalist(session, sustainability)]
    done = make_judge(session, youth, sustainability, name="Ana Completa")
    halfway = make_judge(session, youth, sustainability, name="Beto Amedias")
    recused = make_judge(session, youth, sustainability, name="Ciro Recusado")
    other_theme = make_judge(session, sustainability, name="Dora Sustentable")
    make_judge(session, youth, name="Eva Inactiva", is_active=False)
    declare_conflict(session, recused, finalists[0])
    meeting = make_meeting(session, campaign, finalists)
    now = utcnow()
    for finalist in finalists:
        session.add(
            ScoreSheet(
                meeting_id=meeting.id, judge_id=done.id, finalist_id=finalist.id, submitted_at=now
            )
        )
    session.add(ScoreSheet(meeting_id=meeting.id, judge_id=halfway.id, finalist_id=finalists[0].id))
    session.commit()
    return Panel(meeting, finalists, done, halfway, recused, other_theme)


@pytest.fixture
def staff(client: TestClient, session: Session) -> TestClient:
    sign_in(client, session, make_account(session, Role.staff))
    client.get("/?lang=en")
    return client


def outbox(session: Session) -> list[OutboxMessage]:
    session.expire_all()
    return list(session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id))).all())


def reminders(session: Session) -> list[AuditEvent]:
    session.expire_all()
    query = select(AuditEvent).where(AuditEvent.action == "meeting.reminded")
    return list(session.exec(query.order_by(col(AuditEvent.id))).all())


def test_progress_counts_each_judges_sheets_and_each_finalists(
    session: Session, panel: Panel
) -> None:
    found = progress.meeting_progress(session, meeting=panel.meeting)

    by_name = {line.judge.name: line for line in found.judges}
    assert set(by_name) == {"Ana Completa", "Beto Amedias", "Ciro Recusado", "Dora Sustentable"}
    assert [(j.submitted, j.draft, j.missing, j.recused) for j in by_name.values()] == [
        (2, 0, 0, 0),
        (0, 1, 1, 0),
        (0, 0, 1, 1),
        (0, 0, 1, 0),
    ]
    first, second = (found.finalists[f.id or 0] for f in panel.finalists)
    assert (first.submitted, first.draft, first.expected) == (1, 1, 2)
    assert (second.submitted, second.draft, second.expected) == (1, 0, 4)
    assert (found.submitted, found.expected) == (2, 6)
    assert [j.judge.name for j in found.behind] == [
        "Beto Amedias",
        "Ciro Recusado",
        "Dora Sustentable",
    ]


def test_meeting_page_shows_judges_progress_and_sheets_per_finalist(
    staff: TestClient, panel: Panel
) -> None:
    page = staff.get(f"/staff/meetings/{panel.meeting.id}")

    assert page.status_code == 200
    assert 'id="progress"' in page.text
    assert "Beto Amedias" in page.text
    assert "Eva Inactiva" not in page.text
    assert "2 of 6" in page.text  # sheets submitted in the meeting
    assert "Remind the judges with sheets left (3)" in page.text


def test_staff_reminder_mails_the_judges_with_sheets_left_and_is_audited(
    staff: TestClient, session: Session, panel: Panel
) -> None:
    page = staff.get(f"/staff/meetings/{panel.meeting.id}")

    response = staff.post(
        f"/staff/meetings/{panel.meeting.id}/remind",
        data={"csrf_token": csrf_token_from(page)},
        follow_redirects=False,
    )

    assert response.status_code == 303
    assert response.headers["location"] == f"/staff/meetings/{panel.meeting.id}?reminded=3#progress"
    mails = {m.to_address: m for m in outbox(session)}
    assert set(mails) == {panel.halfway.email, panel.recused.email, panel.other_theme.email}
    # In the judge's language (Spanish by default).
    assert "te faltan 2 hojas de evaluación en la sesión 1" in mails[panel.halfway.email].subject
    assert "1 guardada como borrador" in mails[panel.halfway.email].body
    assert f"/judges/meetings/{panel.meeting.id}" in mails[panel.recused.email].body
    (event,) = reminders(session)
    assert event.actor_label.endswith("(staff)")
    after = json.loads(event.after)
    assert after["automatic"] is False
    assert [j["judge_id"] for j in after["judges"]] == [
        panel.halfway.id,
        panel.recused.id,
        panel.other_theme.id,
    ]
    assert "Reminder sent to 3 judges." in staff.get(response.headers["location"]).text


def test_staff_reminder_when_every_sheet_is_in_sends_nothing(
    staff: TestClient, session: Session, panel: Panel
) -> None:
    for judge, finalists in (
        (panel.halfway, panel.finalists),
        (panel.recused, panel.finalists[1:]),
        (panel.other_theme, panel.finalists[1:]),
    ):
        for finalist in finalists:
            sheet = session.exec(
                select(ScoreSheet).where(
                    ScoreSheet.judge_id == judge.id, ScoreSheet.finalist_id == finalist.id
                )
            ).first() or ScoreSheet(
                meeting_id=panel.meeting.id, judge_id=judge.id, finalist_id=finalist.id
            )
            sheet.submitted_at = utcnow()
            session.add(sheet)
    session.commit()
    page = staff.get(f"/staff/meetings/{panel.meeting.id}")
    assert "Every judge has submitted every sheet." in page.text

    response = staff.post(
        f"/staff/meetings/{panel.meeting.id}/remind", data={"csrf_token": csrf_token_from(page)}
    )

    assert "no reminder was sent" in response.text
    assert outbox(session) == []
    assert reminders(session) == []


@pytest.mark.parametrize("status", [MeetingStatus.draft, MeetingStatus.closed])
def test_staff_reminder_of_a_meeting_not_open_is_refused(
    staff: TestClient, session: Session, panel: Panel, status: MeetingStatus
) -> None:
    page = staff.get(f"/staff/meetings/{panel.meeting.id}")
    panel.meeting.status = status
    session.add(panel.meeting)
    session.commit()

    response = staff.post(
        f"/staff/meetings/{panel.meeting.id}/remind", data={"csrf_token": csrf_token_from(page)}
    )

    assert response.status_code == 409
    assert outbox(session) == []
    assert reminders(session) == []


def test_deadline_is_saved_in_mexico_city_time_and_audited(
    staff: TestClient, session: Session, panel: Panel
) -> None:
    page = staff.get(f"/staff/meetings/{panel.meeting.id}")

    response = staff.post(
        f"/staff/meetings/{panel.meeting.id}/deadline",
        data={
            "csrf_token": csrf_token_from(page),
            "closes_on": "2030-03-15",
            "closes_time": "18:00",
            "reminder_hours": "24",
        },
        follow_redirects=False,
    )

    assert response.status_code == 303
    session.refresh(panel.meeting)
    assert panel.meeting.closes_at == datetime(2030, 3, 16, 0, 0, tzinfo=UTC)  # UTC-6
    assert panel.meeting.reminder_hours == 24
    event = session.exec(
        select(AuditEvent).where(AuditEvent.action == "meeting.deadline_changed")
    ).one()
    assert json.loads(event.after) == {
        "closes_at": "2030-03-16T00:00:00+00:00",
        "reminder_hours": 24,
    }
    shown = staff.get(f"/staff/meetings/{panel.meeting.id}").text
    assert "The automatic reminder goes out on March 14, 2030" in shown


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"closes_on": "2030-03-15"}, "closes_time", "Enter both the date and the time"),
        ({"closes_time": "18:00"}, "closes_on", "Enter both the date and the time"),
        ({"reminder_hours": "24"}, "reminder_hours", "Set when scoring closes"),
        (
            {"closes_on": "2030-03-15", "closes_time": "18:00", "reminder_hours": "5"},
            "reminder_hours",
            "Choose one of the options.",
        ),
        ({"closes_on": "2030-03-15", "closes_time": "6pm"}, "closes_time", "Enter a time such as"),
        ({"closes_on": "15/03/2030", "closes_time": "18:00"}, "closes_on", "Enter a date such as"),
    ],
)
def test_deadline_form_refuses_what_does_not_fit_and_keeps_the_input(
    staff: TestClient,
    session: Session,
    panel: Panel,
    fields: dict[str, str],
    field: str,
    message: str,
) -> None:
    page = staff.get(f"/staff/meetings/{panel.meeting.id}")

    response = staff.post(
        f"/staff/meetings/{panel.meeting.id}/deadline",
        data={"csrf_token": csrf_token_from(page), **fields},
    )

    assert response.status_code == 422
    assert f'id="field-{field}"' in response.text
    assert message in response.text
    for value in fields.values():
        assert f'value="{value}"' in response.text or value in ("24", "5")
    session.refresh(panel.meeting)
    assert (panel.meeting.closes_at, panel.meeting.reminder_hours) == (None, None)


def set_deadline(session: Session, meeting: Meeting, closes_at: datetime, hours: int) -> None:
    progress.set_deadline(
        session,
        meeting_id=meeting.id or 0,
        closes_at=closes_at,
        reminder_hours=hours,
        actor=make_account(session, Role.staff),
    )
    session.commit()


def test_server_reminds_once_when_the_time_before_the_deadline_comes(
    session: Session, panel: Panel
) -> None:
    closes = datetime(2030, 3, 16, tzinfo=UTC)
    set_deadline(session, panel.meeting, closes, 24)

    def run(at: datetime) -> list[int]:
        sent = progress.send_due_reminders(session, now=at, base_url="http://testserver")
        session.commit()
        return sent

    assert run(closes - timedelta(hours=25)) == []
    assert outbox(session) == []
    assert run(closes - timedelta(hours=23)) == [panel.meeting.id]
    assert len(outbox(session)) == 3
    assert run(closes - timedelta(hours=1)) == []
    assert len(outbox(session)) == 3
    (event,) = reminders(session)
    assert (event.actor_id, event.actor_label) == (None, "server")
    assert json.loads(event.after)["automatic"] is True

    # A new deadline gets its own reminder; one already past gets none.
    set_deadline(session, panel.meeting, closes + timedelta(days=2), 24)
    assert run(closes - timedelta(hours=1)) == []
    assert run(closes + timedelta(days=1, hours=1)) == [panel.meeting.id]
    set_deadline(session, panel.meeting, closes + timedelta(days=3), 6)
    assert run(closes + timedelta(days=4)) == []
    assert len(outbox(session)) == 6


def test_server_does_not_remind_for_a_meeting_not_open(session: Session, panel: Panel) -> None:
    closes = datetime(2030, 3, 16, tzinfo=UTC)
    set_deadline(session, panel.meeting, closes, 24)
    panel.meeting.status = MeetingStatus.closed
    session.add(panel.meeting)
    session.commit()

    sent = progress.send_due_reminders(session, now=closes - timedelta(hours=2), base_url="x")

    assert sent == []
    assert outbox(session) == []


def test_running_server_sends_the_reminder_by_itself_to_the_mail_server(
    settings: Settings, engine: Engine, session: Session, panel: Panel
) -> None:
    set_deadline(session, panel.meeting, utcnow() + timedelta(hours=5), 6)
    with smtp_server() as (url, inbox):
        app = create_app(
            make_settings(
                settings.data_dir,
                settings.database_url,
                smtp_url=url,
                reminder_interval_seconds=0.2,
                mail_interval_seconds=0.2,
            )
        )
        try:
            with TestClient(app):  # runs the server's start-up and its background work
                received = inbox.wait_for(3, timeout=PATIENCE)
        finally:
            app.state.engine.dispose()

    assert sorted(m["To"] for m in received) == sorted(
        [panel.halfway.email, panel.recused.email, panel.other_theme.email]
    )
    assert all(
        "hoja de evaluación" in m["Subject"] or "hojas de evaluación" in m["Subject"]
        for m in received
    )
    assert len(reminders(session)) == 1
