"""A meeting's results, checked against figures worked out by hand for a small panel, and the
staff's results page, its CSV and the meeting's decision."""

import csv
import io
import json
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import Engine, event
from sqlmodel import Session, select

from app.models import (
    Account,
    AuditEvent,
    Campaign,
    ConflictDeclaration,
    Criterion,
    Finalist,
    Meeting,
    MeetingFinalist,
    MeetingStatus,
    Role,
    Theme,
    utcnow,
)
from app.services.judging import aggregation, scoring
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

# Each judge's weighted score is (2*a + 1*b) / 3 for criterion scores a (weight 2), b (weight 1).
SCORES = {
    # judge: {finalist: (a, b)}          weighted scores
    "A": {"F1": (5, 5), "F2": (5, 2), "F3": (4, 1)},  # 15/3=5, 12/3=4, 9/3=3   (lenient)
    "B": {"F1": (2, 2), "F2": (4, 1), "F3": (1, 1)},  # 6/3=2,  9/3=3,  3/3=1   (harsh)
    "C": {"F1": (2, 5), "F2": (3, 3), "F3": (5, 5)},  # 9/3=3,  9/3=3,  (F3: recused, left out)
}


@dataclass
class Panel:
    campaign: Campaign
    youth: Theme
    sustainability: Theme
    criteria: list[Criterion]
    judges: dict[str, Account]
    finalists: dict[str, Finalist]
    meeting: Meeting


def score(
    session: Session,
    meeting: Meeting,
    criteria: list[Criterion],
    judge: Account,
    finalist: Finalist,
    values: tuple[int, int],
    *,
    submit: bool = True,
) -> None:
    scoring.save_sheet(
        session,
        meeting=meeting,
        judge=judge,
        finalist=finalist,
        values={c.id: v for c, v in zip(criteria, values, strict=True) if c.id},
        comment="",
        version=0,
        submit=submit,
        now=utcnow(),
    )
    session.commit()


def make_scored_panel(session: Session) -> Panel:
    campaign, youth, sustainability = make_open_campaign(session)
    criteria = make_criteria(session, campaign, (2, 1))
    finalists = {
        "F1": make_finalist(session, youth, public_name="Finalista Uno"),
        "F2": make_finalist(session, youth, public_name="Finalista Dos"),
        "F3": make_finalist(session, youth, public_name="Finalista Tres"),
        "F4": make_finalist(session, youth, public_name="Finalista Sin Puntajes"),
        "S1": make_finalist(session, sustainability, public_name="Finalista Sustentable"),
    }
    judges = {name: make_judge(session, youth, name=f"Juez {name}") for name in "ABCD"}
    judges["E"] = make_judge(session, sustainability, name="Juez E")
    meeting = make_meeting(session, campaign, list(finalists.values()))
    for judge_name, sheet in SCORES.items():
        for finalist_name, values in sheet.items():
            score(session, meeting, criteria, judges[judge_name], finalists[finalist_name], values)
    # C scored F3, then declared a conflict with F3: recused, so left out of everything.
    declare_conflict(session, judges["C"], finalists["F3"])
    # A draft is not a score: D's unsubmitted sheet counts nowhere.
    score(session, meeting, criteria, judges["D"], finalists["F1"], (1, 1), submit=False)
    # Scores of another meeting do not count in this one.
    later = make_meeting(session, campaign, [finalists["F1"]], number=2)
    score(session, later, criteria, judges["A"], finalists["F1"], (1, 1))
    # The only score in the other theme: E's, a single finalist, so no spread (z = 0).
    score(session, meeting, criteria, judges["E"], finalists["S1"], (4, 4))
    return Panel(campaign, youth, sustainability, criteria, judges, finalists, meeting)


@pytest.fixture
def panel(session: Session) -> Panel:
    return make_scored_panel(session)


def by_name(results: aggregation.MeetingResults) -> dict[str, aggregation.FinalistResult]:
    return {row.finalist.public_name: row for row in results.rows}


def test_results_match_the_figures_worked_out_by_hand(session: Session, panel: Panel) -> None:
    results = aggregation.compute_results(session, meeting=panel.meeting)
    rows = by_name(results)
    f1, f2, f3 = rows["Finalista Uno"], rows["Finalista Dos"], rows["Finalista Tres"]
    a, b, c = (panel.judges[n].id for n in "ABC")

    # Per judge, over the finalists they scored in the meeting (C's F3 is left out):
    #   A: 5, 4, 3  mean 4, variance (25+16+9)/3 - 4^2 = 2/3, sd = sqrt(2/3) = 0.816497
    #      z = (5-4)/0.816497 = 1.224745, 0, -1.224745
    #   B: 2, 3, 1  mean 2, variance (4+9+1)/3 - 2^2 = 2/3, sd 0.816497
    #      z = 0, 1.224745, -1.224745        (harsh B weighs the same as lenient A)
    #   C: 3, 3     variance 0: no spread, z = 0 and 0
    z = 1.224745
    assert {(s.judge_id, s.weighted, round(s.z, 6)) for s in f1.judge_scores} == {
        (a, 5.0, z),
        (b, 2.0, 0.0),
        (c, 3.0, 0.0),
    }
    assert {(s.judge_id, s.weighted, round(s.z, 6)) for s in f2.judge_scores} == {
        (a, 4.0, 0.0),
        (b, 3.0, z),
        (c, 3.0, 0.0),
    }
    assert {(s.judge_id, s.weighted, round(s.z, 6)) for s in f3.judge_scores} == {
        (a, 3.0, -z),
        (b, 1.0, -z),
    }

    # F1: weighted 5, 2, 3 -> mean 10/3 = 3.333333, median 3,
    #     variance (25+4+9)/3 - (10/3)^2 = 14/9, sd = 1.247219 >= 1.0 (25% of 1..5): contested,
    #     mean z (1.224745 + 0 + 0)/3 = 0.408248
    assert f1.judges == 3
    assert f1.weighted_mean == pytest.approx(3.333333, abs=1e-6)
    assert f1.median == 3.0
    assert f1.stdev == pytest.approx(1.247219, abs=1e-6)
    assert (f1.minimum, f1.maximum) == (2.0, 5.0)
    assert f1.mean_z == pytest.approx(0.408248, abs=1e-6)
    assert f1.contested is True
    # F2: weighted 4, 3, 3 -> mean 10/3 = 3.333333, median 3,
    #     variance (16+9+9)/3 - (10/3)^2 = 2/9, sd 0.471405: not contested,
    #     mean z (0 + 1.224745 + 0)/3 = 0.408248: the same as F1, a tie
    assert f2.judges == 3
    assert f2.weighted_mean == pytest.approx(3.333333, abs=1e-6)
    assert f2.median == 3.0
    assert f2.stdev == pytest.approx(0.471405, abs=1e-6)
    assert (f2.minimum, f2.maximum) == (3.0, 4.0)
    assert f2.mean_z == pytest.approx(0.408248, abs=1e-6)
    assert f2.contested is False
    # F3: weighted 3, 1 (C recused) -> mean 2, median (3+1)/2 = 2,
    #     variance (9+1)/2 - 2^2 = 1, sd 1.0: exactly the threshold, contested,
    #     mean z (-1.224745 - 1.224745)/2 = -1.224745
    assert f3.judges == 2
    assert f3.weighted_mean == pytest.approx(2.0, abs=1e-9)
    assert f3.median == 2.0
    assert f3.stdev == pytest.approx(1.0, abs=1e-9)
    assert (f3.minimum, f3.maximum) == (1.0, 3.0)
    assert f3.mean_z == pytest.approx(-1.224745, abs=1e-6)
    assert f3.contested is True

    # Ranks by mean z within the theme: F1 and F2 share rank 1 (tie), F3 is 3rd.
    assert (f1.rank, f1.tie, f2.rank, f2.tie, f3.rank, f3.tie) == (1, True, 1, True, 3, False)
    # A finalist nobody scored has no figures and comes last.
    f4 = rows["Finalista Sin Puntajes"]
    assert (f4.judges, f4.weighted_mean, f4.median, f4.mean_z, f4.rank, f4.tie) == (
        0,
        None,
        None,
        None,
        None,
        False,
    )
    youth = results.themes[0]
    assert [row.finalist.public_name for row in youth.rows][-1] == "Finalista Sin Puntajes"
    # The other theme is ranked on its own: E's single score (4+4... weighted 4), z 0, rank 1.
    s1 = rows["Finalista Sustentable"]
    assert (s1.judges, s1.weighted_mean, s1.mean_z, s1.rank, s1.stdev) == (1, 4.0, 0.0, 1, 0.0)
    assert (results.scale_min, results.scale_max, results.contested_from) == (1.0, 5.0, 1.0)


def test_results_leave_out_a_judge_recused_after_scoring(session: Session, panel: Panel) -> None:
    before = by_name(aggregation.compute_results(session, meeting=panel.meeting))
    declare_conflict(session, panel.judges["A"], panel.finalists["F1"])

    after = by_name(aggregation.compute_results(session, meeting=panel.meeting))

    # F1 keeps B (2) and C (3): mean 2.5; A's own mean moves to (4+3)/2 = 3.5.
    assert before["Finalista Uno"].judges == 3
    assert after["Finalista Uno"].judges == 2
    assert after["Finalista Uno"].weighted_mean == pytest.approx(2.5)
    assert panel.judges["A"].id not in {s.judge_id for s in after["Finalista Uno"].judge_scores}


def figures_of(session: Session, panel: Panel) -> dict[str, tuple[int, float | None]]:
    return {
        name: (row.judges, row.weighted_mean)
        for name, row in by_name(
            aggregation.compute_results(session, meeting=panel.meeting)
        ).items()
    }


def test_results_follow_every_change_to_what_they_are_computed_from(
    session: Session, panel: Panel
) -> None:
    # Each step comes after results were computed (and kept) for the state before it.
    first = figures_of(session, panel)
    assert first["Finalista Uno"] == (3, pytest.approx(10 / 3))

    def submit_ones(judge: str, finalist: str) -> None:
        """The judge's sheet for the finalist (at version 1) submitted with 1 everywhere."""
        scoring.save_sheet(
            session,
            meeting=panel.meeting,
            judge=panel.judges[judge],
            finalist=panel.finalists[finalist],
            values={c.id: 1 for c in panel.criteria if c.id},
            comment="",
            version=1,
            submit=True,
            now=utcnow(),
        )
        session.commit()

    # D submits the draft: a fourth judge for F1 (weighted 1).
    submit_ones("D", "F1")
    assert figures_of(session, panel)["Finalista Uno"] == (4, pytest.approx(11 / 4))

    # A changes a submitted sheet: F2's weighted 4 becomes 1.
    submit_ones("A", "F2")
    assert figures_of(session, panel)["Finalista Dos"] == (3, pytest.approx(7 / 3))

    # C's conflict with F3 is found to be none: C's 5 counts again.
    conflict = session.exec(
        select(ConflictDeclaration).where(ConflictDeclaration.judge_id == panel.judges["C"].id)
    ).one()
    conflict.has_conflict = False
    conflict.updated_at = utcnow()
    session.add(conflict)
    session.commit()
    assert figures_of(session, panel)["Finalista Tres"] == (3, pytest.approx(3.0))

    # ... and a conflict recorded for B and F3 takes B's 1 out.
    declare_conflict(session, panel.judges["B"], panel.finalists["F3"])
    assert figures_of(session, panel)["Finalista Tres"] == (2, pytest.approx(4.0))


def test_unchanged_results_are_not_computed_again(
    session: Session, panel: Panel, engine: Engine
) -> None:
    statements: list[str] = []

    def seen(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        statements.append(statement)

    first = aggregation.compute_results(session, meeting=panel.meeting, judge_scores=False)
    event.listen(engine, "before_cursor_execute", seen)
    try:
        again = aggregation.compute_results(session, meeting=panel.meeting, judge_scores=False)
        summaries = aggregation.panel_summaries(session, meeting=panel.meeting)
    finally:
        event.remove(engine, "before_cursor_execute", seen)

    # Only the fingerprints and the scope were read: no score.
    assert statements
    assert not [s for s in statements if "per_sheet" in s or " score " in s.lower()]
    assert [(r.finalist.id, r.mean_z, r.rank) for r in again.rows] == [
        (r.finalist.id, r.mean_z, r.rank) for r in first.rows
    ]
    assert {i: (s.judges, s.rank) for i, s in summaries.items()} == {
        r.finalist.id: (r.judges, r.rank) for r in first.rows if r.rank is not None
    }


def test_results_of_a_meeting_without_scores_are_empty(session: Session) -> None:
    campaign, youth, _ = make_open_campaign(session)
    make_criteria(session, campaign, (1, 1))
    finalist = make_finalist(session, youth)
    meeting = make_meeting(session, campaign, [finalist])

    (row,) = aggregation.compute_results(session, meeting=meeting).rows

    assert (row.judges, row.weighted_mean, row.rank, row.contested) == (0, None, None, False)


# -- the staff's page, CSV and decision ------------------------------------------------------


@pytest.fixture
def staff(client: TestClient, session: Session) -> Account:
    account = make_account(session, Role.staff)
    sign_in(client, session, account)
    client.get("/?lang=en")
    return account


def close(session: Session, meeting: Meeting) -> None:
    meeting.status = MeetingStatus.closed
    meeting.closed_at = utcnow()
    session.add(meeting)
    session.commit()


def test_results_page_shows_the_figures_ties_and_contested_finalists(
    client: TestClient, session: Session, panel: Panel, staff: Account
) -> None:
    page = client.get(f"/staff/meetings/{panel.meeting.id}/results")

    assert page.status_code == 200
    text = page.text
    for shown in ("Finalista Uno", "3.33", "1.25", "0.408", "-1.225", "tie", "contested"):
        assert shown in text
    assert "provisional" in text  # the meeting is still open
    assert 'name="advanced"' not in text  # no decision before the meeting is closed
    assert page.headers["cache-control"] == "no-store"


def test_results_of_unknown_meeting_is_404(client: TestClient, staff: Account) -> None:
    assert client.get("/staff/meetings/999999/results").status_code == 404
    assert client.get("/staff/meetings/999999/results.csv").status_code == 404


def test_results_csv_has_the_same_columns_and_neutralises_formulas(
    client: TestClient, session: Session, panel: Panel, staff: Account
) -> None:
    tricky = panel.finalists["F4"]
    tricky.public_name = '=HYPERLINK("http://example.com","clic")'
    panel.sustainability.name_en = "@Sustainability"
    session.add_all([tricky, panel.sustainability])
    session.commit()

    response = client.get(f"/staff/meetings/{panel.meeting.id}/results.csv")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"].startswith("attachment;")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == [
        "Theme",
        "Rank",
        "Tie",
        "Finalist",
        "Judges who scored",
        "Weighted mean",
        "Median",
        "Standard deviation",
        "Lowest",
        "Highest",
        "Mean z-score",
        "Contested",
        "Advances",
        "Proposed winner",
    ]
    by_finalist = {row[3]: row for row in rows[1:]}
    assert by_finalist["Finalista Tres"] == [
        "Youth", "3", "No", "Finalista Tres", "2", "2.0", "2.0", "1.0", "1.0", "3.0",
        "-1.224745", "Yes", "No", "No",
    ]  # fmt: skip
    assert by_finalist["Finalista Uno"][1:5] == ["1", "Yes", "Finalista Uno", "3"]
    assert by_finalist["Finalista Uno"][5] == "3.333333"
    assert "'" + tricky.public_name in by_finalist
    assert by_finalist["Finalista Sustentable"][0] == "'@Sustainability"


def post_decision(
    client: TestClient, meeting: Meeting, data: dict[str, str | list[str]]
) -> Response:
    token = csrf_token_from(client.get(f"/staff/meetings/{meeting.id}/results"))
    return client.post(
        f"/staff/meetings/{meeting.id}/results",
        data={"csrf_token": token, **data},
        follow_redirects=False,
    )


def flags(session: Session, meeting: Meeting) -> dict[int, tuple[bool, bool]]:
    session.expire_all()
    rows = session.exec(select(MeetingFinalist).where(MeetingFinalist.meeting_id == meeting.id))
    return {row.finalist_id: (row.advanced, row.proposed_winner) for row in rows}


def test_decision_is_recorded_and_audited_once_the_meeting_is_closed(
    client: TestClient, session: Session, panel: Panel, staff: Account
) -> None:
    close(session, panel.meeting)
    f1, f2 = panel.finalists["F1"], panel.finalists["F2"]

    response = post_decision(
        client,
        panel.meeting,
        {
            "advanced": [str(f1.id), str(f2.id)],
            "proposed_winner": [str(f1.id)],
            "minutes": "Empate entre Uno y Dos; avanzan ambos.",
        },
    )

    assert response.status_code == 303
    stored = flags(session, panel.meeting)
    assert stored[f1.id] == (True, True)
    assert stored[f2.id] == (True, False)
    assert stored[panel.finalists["F3"].id] == (False, False)
    session.refresh(panel.meeting)
    assert panel.meeting.minutes == "Empate entre Uno y Dos; avanzan ambos."
    event = session.exec(select(AuditEvent).where(AuditEvent.action == "meeting.decision")).one()
    assert event.actor_id == staff.id
    assert json.loads(event.before)["advanced"] == []
    assert json.loads(event.after)["advanced"] == sorted([f1.id, f2.id])
    assert json.loads(event.after)["proposed_winner"] == [f1.id]
    page = client.get(response.headers["location"])
    assert "The meeting&#39;s decision is recorded." in page.text
    assert "Empate entre Uno y Dos; avanzan ambos." in page.text


def test_decision_in_an_open_meeting_is_409_and_changes_nothing(
    client: TestClient, session: Session, panel: Panel, staff: Account
) -> None:
    f1 = panel.finalists["F1"]

    response = post_decision(client, panel.meeting, {"advanced": [str(f1.id)], "minutes": "Acta"})

    assert response.status_code == 409
    assert all(value == (False, False) for value in flags(session, panel.meeting).values())
    session.refresh(panel.meeting)
    assert panel.meeting.minutes == ""
    assert not session.exec(select(AuditEvent).where(AuditEvent.action == "meeting.decision")).all()


@pytest.mark.parametrize("bad", ["999999", "uno"])
def test_decision_naming_a_finalist_outside_the_meeting_is_422(
    client: TestClient, session: Session, panel: Panel, staff: Account, bad: str
) -> None:
    close(session, panel.meeting)
    f1 = panel.finalists["F1"]

    response = post_decision(
        client,
        panel.meeting,
        {"advanced": [str(f1.id)], "proposed_winner": [bad], "minutes": "Acta guardada"},
    )

    assert response.status_code == 422
    assert "Choose only finalists of this meeting." in response.text
    assert "Acta guardada" in response.text
    assert all(value == (False, False) for value in flags(session, panel.meeting).values())


def test_decision_with_minutes_too_long_is_422(
    client: TestClient, session: Session, panel: Panel, staff: Account
) -> None:
    close(session, panel.meeting)

    response = post_decision(client, panel.meeting, {"minutes": "a" * 6001})

    assert response.status_code == 422
    session.refresh(panel.meeting)
    assert panel.meeting.minutes == ""
