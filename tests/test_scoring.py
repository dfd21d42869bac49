"""A judge's agenda and score sheet: who reaches what (404 / 403), what a save stores, and what
a refused save leaves behind (nothing)."""

import json
import threading
import time
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import Engine
from sqlmodel import Session, col, func, select

from app.db import WRITE
from app.errors import Conflict, NotFound, PermissionDenied
from app.models import (
    Account,
    AuditEvent,
    Campaign,
    Criterion,
    Finalist,
    Meeting,
    MeetingStatus,
    Role,
    Score,
    ScoreSheet,
    Theme,
    utcnow,
)
from app.services.judging import scoring
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


@dataclass
class Panel:
    campaign: Campaign
    youth: Theme
    sustainability: Theme
    criteria: list[Criterion]
    judge: Account
    finalists: list[Finalist]
    # In the meeting's scope, but in a theme the judge does not judge.
    other_theme: Finalist
    meeting: Meeting


def make_panel(session: Session, *, status: MeetingStatus = MeetingStatus.open) -> Panel:
    campaign, youth, sustainability = make_open_campaign(session)
    criteria = make_criteria(session, campaign, (2, 1))
    finalists = [
        make_finalist(session, youth, public_name="Ana Finalista Uno"),
        make_finalist(session, youth, public_name="Beto Finalista Dos"),
        make_finalist(session, youth, public_name="Carla Finalista Tres"),
    ]
    other = make_finalist(session, sustainability, public_name="Diego De Otro Tema")
    judge = make_judge(session, youth, name="Jueza Principal")
    meeting = make_meeting(session, campaign, [*finalists, other], status=status)
    return Panel(campaign, youth, sustainability, criteria, judge, finalists, other, meeting)


@pytest.fixture
def panel(client: TestClient, session: Session) -> Panel:
    world = make_panel(session)
    sign_in(client, session, world.judge)
    client.get("/?lang=en")
    return world


def dossier_url(panel: Panel, finalist: Finalist) -> str:
    return f"/judges/meetings/{panel.meeting.id}/finalists/{finalist.id}"


def token(client: TestClient, panel: Panel) -> str:
    # Any signed-in page carries a token for the signed-in forms (the layout's sign-out form).
    return csrf_token_from(client.get(f"/judges/meetings/{panel.meeting.id}"))


def post_sheet(
    client: TestClient,
    panel: Panel,
    finalist: Finalist,
    scores: tuple[str, ...] | dict[str, str],
    *,
    action: str = "draft",
    version: int = 0,
    comment: str = "",
) -> Response:
    if isinstance(scores, tuple):
        fields = {f"score-{c.id}": value for c, value in zip(panel.criteria, scores, strict=True)}
    else:
        fields = scores
    return client.post(
        dossier_url(panel, finalist),
        data={
            "csrf_token": token(client, panel),
            "version": str(version),
            "action": action,
            "comment": comment,
            **fields,
        },
        follow_redirects=False,
    )


def count(session: Session, model: type) -> int:
    session.expire_all()
    return int(session.exec(select(func.count()).select_from(model)).one())


def sheet_of(session: Session, judge: Account, finalist: Finalist) -> ScoreSheet | None:
    session.expire_all()
    return session.exec(
        select(ScoreSheet).where(
            ScoreSheet.judge_id == judge.id, ScoreSheet.finalist_id == finalist.id
        )
    ).first()


def values_of(session: Session, sheet: ScoreSheet) -> dict[int, int]:
    rows = session.exec(select(Score).where(Score.sheet_id == sheet.id)).all()
    return {score.criterion_id: score.value for score in rows}


def save(
    session: Session,
    panel: Panel,
    finalist: Finalist,
    scores: tuple[int | None, ...],
    *,
    judge: Account | None = None,
    submit: bool = False,
    version: int = 0,
    comment: str = "",
) -> ScoreSheet:
    sheet = scoring.save_sheet(
        session,
        meeting=panel.meeting,
        judge=judge or panel.judge,
        finalist=finalist,
        values={c.id: v for c, v in zip(panel.criteria, scores, strict=True) if c.id},
        comment=comment,
        version=version,
        submit=submit,
        now=utcnow(),
    )
    session.commit()
    return sheet


# -- the agenda -----------------------------------------------------------------------------


def test_agenda_shows_progress_and_each_finalists_status(
    client: TestClient, session: Session, panel: Panel
) -> None:
    first, second, third = panel.finalists
    save(session, panel, first, (4, 5), submit=True)
    save(session, panel, second, (3, None))
    declare_conflict(session, panel.judge, third)

    page = client.get(f"/judges/meetings/{panel.meeting.id}")

    assert page.status_code == 200
    # Two finalists to score (the third is recused), one submitted.
    assert "Scored 1 of 2" in page.text
    for text in ("Submitted", "Draft", "Recused", panel.finalists[2].public_name):
        assert text in page.text
    assert dossier_url(panel, first) in page.text
    assert dossier_url(panel, third) not in page.text
    assert panel.other_theme.public_name not in page.text


def test_agenda_lists_a_finalist_not_started(
    client: TestClient, session: Session, panel: Panel
) -> None:
    page = client.get(f"/judges/meetings/{panel.meeting.id}")

    assert "Scored 0 of 3" in page.text
    assert page.text.count("Not started") == 3


def test_agenda_of_draft_meeting_is_404(client: TestClient, session: Session) -> None:
    world = make_panel(session, status=MeetingStatus.draft)
    sign_in(client, session, world.judge)

    assert client.get(f"/judges/meetings/{world.meeting.id}").status_code == 404
    assert client.get(dossier_url(world, world.finalists[0])).status_code == 404


def test_agenda_of_another_judges_meeting_is_404(
    client: TestClient, session: Session, panel: Panel
) -> None:
    # A meeting whose only finalist is of a theme this judge does not judge.
    theirs = make_meeting(session, panel.campaign, [panel.other_theme], number=2)

    assert client.get(f"/judges/meetings/{theirs.id}").status_code == 404
    assert client.get(dossier_url(panel, panel.other_theme)).status_code == 404
    assert client.get("/judges/meetings/999999").status_code == 404


def test_agenda_of_closed_meeting_shows_own_status(
    client: TestClient, session: Session, panel: Panel
) -> None:
    save(session, panel, panel.finalists[0], (4, 5), submit=True)
    panel.meeting.status = MeetingStatus.closed
    session.add(panel.meeting)
    session.commit()

    page = client.get(f"/judges/meetings/{panel.meeting.id}")

    assert page.status_code == 200
    assert "This meeting is closed" in page.text
    assert "Scored 1 of 3" in page.text


# -- reaching a dossier ----------------------------------------------------------------------


def test_dossier_of_finalist_outside_meeting_scope_is_404(
    client: TestClient, session: Session, panel: Panel
) -> None:
    outside = make_finalist(session, panel.youth, public_name="Fuera Del Alcance")

    assert client.get(dossier_url(panel, outside)).status_code == 404
    response = post_sheet(client, panel, outside, ("3", "3"))

    assert response.status_code == 404
    assert count(session, ScoreSheet) == 0


def test_dossier_of_finalist_outside_judges_themes_is_404_and_stores_nothing(
    client: TestClient, session: Session, panel: Panel
) -> None:
    assert client.get(dossier_url(panel, panel.other_theme)).status_code == 404

    response = post_sheet(client, panel, panel.other_theme, ("3", "3"), action="submit")

    assert response.status_code == 404
    assert count(session, ScoreSheet) == 0
    assert count(session, Score) == 0


def test_dossier_of_recused_judge_is_403_and_a_score_stores_nothing(
    client: TestClient, session: Session, panel: Panel
) -> None:
    finalist = panel.finalists[0]
    declare_conflict(session, panel.judge, finalist)

    page = client.get(dossier_url(panel, finalist))
    response = post_sheet(client, panel, finalist, ("4", "4"), action="submit")

    assert page.status_code == 403
    assert "conflict of interest" in page.text
    assert finalist.citation_en not in page.text
    assert response.status_code == 403
    assert count(session, ScoreSheet) == 0
    assert count(session, Score) == 0
    assert (
        session.exec(select(AuditEvent).where(col(AuditEvent.action).startswith("score."))).all()
        == []
    )


def test_dossier_conflict_recorded_by_staff_recuses_too(
    client: TestClient, session: Session, panel: Panel
) -> None:
    staff = make_account(session, Role.staff)
    declare_conflict(
        session, panel.judge, panel.finalists[1], recorded_by_staff=True, recorded_by_id=staff.id
    )

    assert client.get(dossier_url(panel, panel.finalists[1])).status_code == 403


def test_dossier_shows_sheet_with_each_criterion_in_the_users_language(
    client: TestClient, session: Session, panel: Panel
) -> None:
    page = client.get(dossier_url(panel, panel.finalists[0]))

    assert page.status_code == 200
    assert "Criterion 1" in page.text and "Criterion 2" in page.text
    assert "A whole number from 1 to 5." in page.text
    for criterion in panel.criteria:
        assert f'name="score-{criterion.id}"' in page.text
    assert 'name="version" value="0"' in page.text
    assert "Save draft" in page.text and "Submit" in page.text
    assert page.headers["cache-control"] == "no-store"


# -- saving ---------------------------------------------------------------------------------


def test_save_draft_stores_one_sheet_its_scores_and_an_audit_event(
    client: TestClient, session: Session, panel: Panel
) -> None:
    finalist = panel.finalists[0]

    response = post_sheet(client, panel, finalist, ("4", ""), comment="Buen caso.")

    assert response.status_code == 303
    assert response.headers["location"].startswith(dossier_url(panel, finalist))
    sheet = sheet_of(session, panel.judge, finalist)
    assert sheet is not None
    assert (sheet.version, sheet.submitted_at, sheet.comment) == (1, None, "Buen caso.")
    assert values_of(session, sheet) == {panel.criteria[0].id: 4}
    event = session.exec(select(AuditEvent).where(AuditEvent.action == "score.saved")).one()
    assert event.actor_id == panel.judge.id
    assert json.loads(event.after)["scores"] == {str(panel.criteria[0].id): 4}
    assert "Your draft is saved." in client.get(response.headers["location"]).text


def test_submit_stores_every_score_and_marks_the_sheet_submitted(
    client: TestClient, session: Session, panel: Panel
) -> None:
    finalist = panel.finalists[0]

    response = post_sheet(client, panel, finalist, ("5", "3"), action="submit")

    assert response.status_code == 303
    sheet = sheet_of(session, panel.judge, finalist)
    assert sheet is not None and sheet.submitted_at is not None
    assert values_of(session, sheet) == {panel.criteria[0].id: 5, panel.criteria[1].id: 3}
    assert session.exec(select(AuditEvent).where(AuditEvent.action == "score.submitted")).one()
    assert "Your score sheet is submitted." in client.get(response.headers["location"]).text


def test_submit_without_every_criterion_is_422_and_stores_nothing(
    client: TestClient, session: Session, panel: Panel
) -> None:
    response = post_sheet(client, panel, panel.finalists[0], ("5", ""), action="submit")

    assert response.status_code == 422
    assert "Score this criterion before you submit." in response.text
    assert 'value="5"' in response.text  # what was typed is kept
    assert count(session, ScoreSheet) == 0
    assert count(session, Score) == 0


@pytest.mark.parametrize("typed", ["6", "0", "-1", "2.5", "tres", "99999999999"])
def test_score_out_of_scale_or_not_whole_is_422_beside_the_field_and_stores_nothing(
    client: TestClient, session: Session, panel: Panel, typed: str
) -> None:
    response = post_sheet(client, panel, panel.finalists[0], ("4", typed), action="submit")

    assert response.status_code == 422
    assert f'id="error-score-{panel.criteria[1].id}"' in response.text
    assert (
        "Enter a whole number from 1 to 5." in response.text
        or "Enter a whole number." in response.text
    )
    assert count(session, ScoreSheet) == 0
    assert count(session, Score) == 0


def test_score_out_of_scale_on_an_existing_sheet_changes_nothing(
    client: TestClient, session: Session, panel: Panel
) -> None:
    finalist = panel.finalists[0]
    save(session, panel, finalist, (3, 3))

    response = post_sheet(client, panel, finalist, ("3", "7"), version=1)

    assert response.status_code == 422
    sheet = sheet_of(session, panel.judge, finalist)
    assert sheet is not None and sheet.version == 1
    assert values_of(session, sheet) == {panel.criteria[0].id: 3, panel.criteria[1].id: 3}


def test_score_for_unknown_criterion_is_refused_and_stores_nothing(
    client: TestClient, session: Session, panel: Panel
) -> None:
    first, second = panel.criteria
    fields = {f"score-{first.id}": "3", f"score-{second.id}": "3", "score-999999": "4"}

    response = post_sheet(client, panel, panel.finalists[0], fields)

    assert response.status_code == 422
    assert "not in the rubric" in response.text
    assert count(session, ScoreSheet) == 0


def test_score_for_criterion_of_another_campaign_is_refused(session: Session, panel: Panel) -> None:
    from tests.factories import make_campaign

    other_campaign = make_campaign(session, year=1999)
    foreign = make_criteria(session, other_campaign, (1,))[0]

    with pytest.raises(scoring.SheetInvalid):
        scoring.save_sheet(
            session,
            meeting=panel.meeting,
            judge=panel.judge,
            finalist=panel.finalists[0],
            values={panel.criteria[0].id: 3, panel.criteria[1].id: 3, foreign.id: 5},  # type: ignore[dict-item]
            comment="",
            version=0,
            submit=False,
            now=utcnow(),
        )
    session.rollback()
    assert count(session, ScoreSheet) == 0


def test_unexpected_field_is_refused_and_stores_nothing(
    client: TestClient, session: Session, panel: Panel
) -> None:
    first, second = panel.criteria
    fields = {f"score-{first.id}": "3", f"score-{second.id}": "3", "judge_id": "1"}

    response = post_sheet(client, panel, panel.finalists[0], fields)

    assert response.status_code == 422
    assert count(session, ScoreSheet) == 0


def test_scoring_in_a_closed_meeting_is_409_and_stores_nothing(
    client: TestClient, session: Session, panel: Panel
) -> None:
    finalist = panel.finalists[0]
    save(session, panel, finalist, (2, 2), submit=True)
    panel.meeting.status = MeetingStatus.closed
    session.add(panel.meeting)
    session.commit()

    response = post_sheet(client, panel, finalist, ("5", "5"), action="submit", version=1)

    assert response.status_code == 409
    assert "This meeting is closed" in response.text
    sheet = sheet_of(session, panel.judge, finalist)
    assert sheet is not None and sheet.version == 1
    assert values_of(session, sheet) == {panel.criteria[0].id: 2, panel.criteria[1].id: 2}
    # The sheet is shown read-only.
    page = client.get(dossier_url(panel, finalist))
    assert page.status_code == 200
    assert 'name="version"' not in page.text


def test_scoring_in_a_closed_meeting_stores_no_first_sheet(
    client: TestClient, session: Session, panel: Panel
) -> None:
    panel.meeting.status = MeetingStatus.closed
    session.add(panel.meeting)
    session.commit()

    response = post_sheet(client, panel, panel.finalists[1], ("5", "5"), action="submit")

    assert response.status_code == 409
    assert count(session, ScoreSheet) == 0
    assert count(session, Score) == 0


def test_stale_version_is_409_and_the_first_save_is_kept(
    client: TestClient, session: Session, panel: Panel
) -> None:
    finalist = panel.finalists[0]
    # Two tabs open the empty sheet (version 0); the first one saves.
    first_tab = client.get(dossier_url(panel, finalist))
    second_tab = client.get(dossier_url(panel, finalist))
    assert 'name="version" value="0"' in first_tab.text
    assert 'name="version" value="0"' in second_tab.text
    assert post_sheet(client, panel, finalist, ("5", "5"), comment="primera").status_code == 303

    response = post_sheet(client, panel, finalist, ("1", "1"), comment="segunda")

    assert response.status_code == 409
    assert "changed in another window" in response.text
    assert 'value="1"' in response.text  # what the second tab typed is still on its page
    sheet = sheet_of(session, panel.judge, finalist)
    assert sheet is not None and (sheet.version, sheet.comment) == (1, "primera")
    assert values_of(session, sheet) == {panel.criteria[0].id: 5, panel.criteria[1].id: 5}
    assert count(session, ScoreSheet) == 1


def test_stale_version_of_an_existing_sheet_is_409(
    client: TestClient, session: Session, panel: Panel
) -> None:
    finalist = panel.finalists[0]
    save(session, panel, finalist, (2, 2))
    save(session, panel, finalist, (3, 3), version=1)

    response = post_sheet(client, panel, finalist, ("4", "4"), version=1)

    assert response.status_code == 409
    sheet = sheet_of(session, panel.judge, finalist)
    assert sheet is not None and sheet.version == 2
    assert values_of(session, sheet) == {panel.criteria[0].id: 3, panel.criteria[1].id: 3}


def test_save_bumps_version_and_keeps_one_row_per_criterion(
    client: TestClient, session: Session, panel: Panel
) -> None:
    finalist = panel.finalists[0]
    assert post_sheet(client, panel, finalist, ("2", "2")).status_code == 303
    assert post_sheet(client, panel, finalist, ("3", "4"), version=1).status_code == 303

    response = post_sheet(client, panel, finalist, ("5", ""), version=2)

    assert response.status_code == 303
    sheet = sheet_of(session, panel.judge, finalist)
    assert sheet is not None and sheet.version == 3
    # Clearing a value in a draft removes its score; there is never a duplicate row.
    assert values_of(session, sheet) == {panel.criteria[0].id: 5}
    assert count(session, ScoreSheet) == 1
    assert count(session, Score) == 1


def test_submitted_sheet_can_be_changed_while_open_and_stays_submitted(
    client: TestClient, session: Session, panel: Panel
) -> None:
    finalist = panel.finalists[0]
    save(session, panel, finalist, (2, 2), submit=True)

    changed = post_sheet(client, panel, finalist, ("4", "3"), version=1)
    emptied = post_sheet(client, panel, finalist, ("4", ""), version=2)

    assert changed.status_code == 303
    assert emptied.status_code == 422
    assert "A submitted sheet needs a score for every criterion." in emptied.text
    sheet = sheet_of(session, panel.judge, finalist)
    assert sheet is not None and sheet.submitted_at is not None and sheet.version == 2
    assert values_of(session, sheet) == {panel.criteria[0].id: 4, panel.criteria[1].id: 3}


def test_save_sheet_service_refuses_finalist_outside_scope_and_recused(
    session: Session, panel: Panel
) -> None:
    outside = make_finalist(session, panel.youth)
    declare_conflict(session, panel.judge, panel.finalists[2])

    with pytest.raises(NotFound):
        save(session, panel, outside, (3, 3))
    session.rollback()
    with pytest.raises(NotFound):
        save(session, panel, panel.other_theme, (3, 3))
    session.rollback()
    with pytest.raises(PermissionDenied):
        save(session, panel, panel.finalists[2], (3, 3))
    session.rollback()

    assert count(session, ScoreSheet) == 0


def test_two_first_saves_at_once_store_one_sheet(engine: Engine, panel: Panel) -> None:
    """Two windows send their first save at the same moment: one is stored, the other gets 409.

    On PostgreSQL the second INSERT waits on the unique constraint and then fails; on SQLite the
    second transaction waits for the write lock and then finds the sheet."""
    writer = engine.execution_options(**WRITE)
    outcome: list[str] = []
    ids = {
        "meeting": panel.meeting.id,
        "judge": panel.judge.id,
        "finalist": panel.finalists[0].id,
    }

    def second_save() -> None:
        with Session(writer, expire_on_commit=False) as other:
            meeting = other.get(Meeting, ids["meeting"])
            judge = other.get(Account, ids["judge"])
            finalist = other.get(Finalist, ids["finalist"])
            assert meeting and judge and finalist
            try:
                scoring.save_sheet(
                    other,
                    meeting=meeting,
                    judge=judge,
                    finalist=finalist,
                    values={c.id: 1 for c in panel.criteria if c.id},
                    comment="segunda",
                    version=0,
                    submit=False,
                    now=utcnow(),
                )
                other.commit()
                outcome.append("stored")
            except Conflict:
                other.rollback()
                outcome.append("conflict")

    with Session(writer, expire_on_commit=False) as first:
        meeting = first.get(Meeting, ids["meeting"])
        judge = first.get(Account, ids["judge"])
        finalist = first.get(Finalist, ids["finalist"])
        assert meeting and judge and finalist
        scoring.save_sheet(
            first,
            meeting=meeting,
            judge=judge,
            finalist=finalist,
            values={c.id: 5 for c in panel.criteria if c.id},
            comment="primera",
            version=0,
            submit=False,
            now=utcnow(),
        )
        thread = threading.Thread(target=second_save)
        thread.start()
        time.sleep(0.5)  # the second save is now waiting on the first one's transaction
        first.commit()
    thread.join(timeout=30)

    assert outcome == ["conflict"]
    with Session(engine) as check:
        sheets = check.exec(select(ScoreSheet)).all()
        assert [(s.comment, s.version) for s in sheets] == [("primera", 1)]
        assert {s.value for s in check.exec(select(Score)).all()} == {5}


# -- confidentiality between judges ---------------------------------------------------------


def test_judge_never_sees_another_judges_comment_or_scores_before_or_after_close(
    client: TestClient, session: Session, panel: Panel
) -> None:
    finalist = panel.finalists[0]
    other_judge = make_judge(session, panel.youth, name="Otro Juez")
    save(session, panel, finalist, (3, 3), submit=True, comment="Mi nota propia.")
    save(
        session,
        panel,
        finalist,
        (5, 5),
        judge=other_judge,
        submit=True,
        comment="Comentario secreto del otro juez.",
    )

    before = client.get(dossier_url(panel, finalist))
    agenda_before = client.get(f"/judges/meetings/{panel.meeting.id}")
    panel.meeting.status = MeetingStatus.closed
    session.add(panel.meeting)
    session.commit()
    after = client.get(dossier_url(panel, finalist))
    agenda_after = client.get(f"/judges/meetings/{panel.meeting.id}")

    for page in (before, after, agenda_before, agenda_after):
        assert page.status_code == 200
        assert "Comentario secreto del otro juez." not in page.text
        assert "Otro Juez" not in page.text
        assert 'value="5"' not in page.text and "<dd>5</dd>" not in page.text
    assert "Mi nota propia." in before.text and "Mi nota propia." in after.text
    assert 'value="3"' in before.text
    assert "<dd>3</dd>" in after.text
    # Before the close no aggregate at all; after it, only the panel's aggregate:
    # judge weighted scores (2*3+3)/3 = 3 and (2*5+5)/3 = 5, mean 4.00 from 2 judges.
    assert "Panel result" not in before.text and "Weighted mean" not in agenda_before.text
    assert "Panel result: weighted mean 4.00 from 2 judges." in after.text
    assert "Weighted mean 4.00 from 2 judges" in agenda_after.text


def test_recused_judge_sees_no_aggregate_of_that_finalist_after_close(
    client: TestClient, session: Session, panel: Panel
) -> None:
    finalist = panel.finalists[0]
    other_judge = make_judge(session, panel.youth)
    save(session, panel, finalist, (4, 4), judge=other_judge, submit=True)
    declare_conflict(session, panel.judge, finalist)
    panel.meeting.status = MeetingStatus.closed
    session.add(panel.meeting)
    session.commit()

    agenda = client.get(f"/judges/meetings/{panel.meeting.id}")

    assert "Not shown: you are recused." in agenda.text
    assert "4.00" not in agenda.text
    assert client.get(dossier_url(panel, finalist)).status_code == 403
