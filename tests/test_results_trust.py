"""Issue 21, correctness and trust in judging and results: each theme's result comes from its
own final meeting (a run-off of one theme leaves the others alone); the published method is the
one computed; each stage waits for the stages before it; public counts count the judges who
took part; staff can audit a closed meeting's raw score sheets."""

import csv
import io
import json
from datetime import date
from typing import Any
from urllib.parse import urlencode

from fastapi.testclient import TestClient
from httpx import Response
from markupsafe import escape
from openpyxl import load_workbook
from sqlmodel import Session, col, select

from app.i18n import Translator
from app.models import (
    Account,
    AuditEvent,
    Campaign,
    Finalist,
    Meeting,
    MeetingStatus,
    Nomination,
    ResultsRevision,
    Role,
    ScoreSheet,
    Theme,
    utcnow,
)
from app.services.campaigns.campaigns import call_is_open
from app.services.judging import aggregation, method
from app.services.results import revisions
from tests.factories import (
    csrf_token_from,
    declare_conflict,
    form_token,
    make_criteria,
    make_finalist,
    make_meeting,
    make_open_campaign,
    nomination_data,
    post_nomination,
    sign_in,
)
from tests.test_publishing import (
    Cycle,
    announce,
    close_the_call,
    confirm,
    fresh,
    give_scores,
    make_cycle,
    prepare,
    publish,
    publish_results,
    quick_account,
    staff_client,
    winners_of,
)


def post_form(client: TestClient, path: str, page: str, data: dict[str, Any]) -> Response:
    token = csrf_token_from(client.get(page))
    fields = [("csrf_token", token)]
    for name, value in data.items():
        fields += [(name, v) for v in value] if isinstance(value, list) else [(name, value)]
    return client.post(
        path,
        content=urlencode(fields),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        follow_redirects=False,
    )


def events(session: Session, action: str) -> list[AuditEvent]:
    fresh(session)
    return list(
        session.exec(
            select(AuditEvent).where(AuditEvent.action == action).order_by(col(AuditEvent.id))
        ).all()
    )


def section(page: str, theme: Theme) -> str:
    """The part of the winners page about one theme."""
    start = page.index(f'id="theme-{theme.id}"')
    end = page.find('<section aria-labelledby="theme-', start)
    return page[start : end if end != -1 else len(page)]


# --- 1. each theme's final meeting ---------------------------------------------------------


def run_off_for_youth(client: TestClient, session: Session, cycle: Cycle) -> Meeting:
    """After publication: meeting 2 for Youth only, created, opened, scored and closed; Beto
    ranks first in it and the panel proposes nobody."""
    created = post_form(
        client,
        "/staff/meetings",
        "/staff/meetings",
        {"number": "2", "held_on": date.today().isoformat(), "themes": [str(cycle.youth.id)]},
    )
    assert created.status_code == 303, created.text
    meeting_id = int(created.headers["location"].rsplit("/", 1)[1])
    page = f"/staff/meetings/{meeting_id}"
    assert post_form(client, f"{page}/open", page, {}).status_code == 303
    fresh(session)
    meeting = session.get(Meeting, meeting_id)
    assert meeting is not None
    for judge in cycle.judges:
        give_scores(session, meeting, judge, cycle.ana, cycle.criteria, (2, 2))
        give_scores(session, meeting, judge, cycle.beto, cycle.criteria, (5, 4))
    assert post_form(client, f"{page}/close", page, {"confirm": "yes"}).status_code == 303
    return meeting


def test_run_off_for_one_theme_leaves_the_other_themes_final_meeting_and_winners(
    client: TestClient, session: Session
) -> None:
    cycle = make_cycle(session)
    cycle.meeting.closed_at = utcnow()
    session.add(cycle.meeting)
    session.commit()
    staff_client(client, session, cycle)
    publish_results(client, cycle)

    run_off_for_youth(client, session, cycle)
    board = client.get("/staff/publishing/winners").text
    overview = client.get("/staff/publishing").text
    refused = prepare(client, reason="Desempate de Jóvenes.")

    sustainability = section(board, cycle.sustainability)
    assert "From the ranking of meeting 1" in sustainability
    assert "not in the final meeting" not in sustainability
    assert "confirmed again" not in sustainability and "Confirm this theme" not in sustainability
    youth = section(board, cycle.youth)
    assert "From the ranking of meeting 2" in youth
    assert "Confirm this theme&#39;s winners again" in youth
    # The overview tells what changed: a meeting was held, the winners did not change.
    assert "The winners of" not in overview
    assert "changed since the published revision (for example, another meeting" in overview
    assert "confirm the winners of Youth again" in overview
    assert refused.status_code == 409
    fresh(session)
    assert len(session.exec(select(ResultsRevision)).all()) == 1

    assert confirm(client, cycle.youth, [cycle.beto]).status_code == 303
    overview = client.get("/staff/publishing").text
    assert "The winners of Youth changed since the published revision." in overview
    assert prepare(client, reason="Desempate de Jóvenes.").status_code == 303
    assert publish(client, 2).status_code == 303

    assert winners_of(session, cycle.youth) == [cycle.beto.id]
    assert winners_of(session, cycle.sustainability) == [cycle.carla.id]
    latest = session.exec(select(ResultsRevision).where(ResultsRevision.number == 2)).one()
    content = json.loads(latest.content)
    assert [(t["slug"], t["final_meeting"]) for t in content["themes"]] == [
        ("youth", 2),
        ("sustainability", 1),
    ]
    assert [[w["finalist_id"] for w in t["winners"]] for t in content["themes"]] == [
        [cycle.beto.id],
        [cycle.carla.id],
    ]
    public = client.get(f"/results/{cycle.campaign.year}").text
    assert f'/winners/{cycle.beto.id}"' in public and f'/winners/{cycle.carla.id}"' in public
    assert f'/winners/{cycle.ana.id}"' not in public


def test_confirm_winners_while_a_meeting_of_the_theme_is_open_is_refused(
    client: TestClient, session: Session
) -> None:
    cycle = make_cycle(session)
    make_meeting(session, cycle.campaign, [cycle.ana, cycle.beto], number=2)
    staff_client(client, session, cycle)

    board = client.get("/staff/publishing/winners").text
    youth = confirm(client, cycle.youth, [cycle.ana])
    sustainability = confirm(client, cycle.sustainability, [cycle.carla])

    assert "Meeting 2 is still open for scoring" in section(board, cycle.youth)
    assert "still open" not in section(board, cycle.sustainability)
    assert youth.status_code == 409
    assert sustainability.status_code == 303
    assert winners_of(session, cycle.youth) == []


# --- 2. the published method is the method used ---------------------------------------------


def harsh_and_lenient(session: Session) -> tuple[list[Finalist], Account, Meeting]:
    """One criterion, two judges: a harsh one (1, 2, 1) and a lenient one (5, 3, 2). Alma has
    the higher weighted mean (3.00 against 2.50), Bruno the higher normalised score."""
    campaign, youth, sustainability = make_open_campaign(session)
    close_the_call(session, campaign, youth, sustainability)
    [criterion] = make_criteria(session, campaign, (1,))
    names = ("Alma Armenta", "Bruno Barrios", "Ciro Cázares")
    finalists = [make_finalist(session, youth, public_name=name) for name in names]
    harsh = quick_account(session, Role.judge, youth, name="Juez Exigente")
    lenient = quick_account(session, Role.judge, youth, name="Jueza Generosa")
    meeting = make_meeting(session, campaign, finalists, status=MeetingStatus.closed)
    for judge, values in ((harsh, (1, 2, 1)), (lenient, (5, 3, 2))):
        for finalist, value in zip(finalists, values, strict=True):
            give_scores(session, meeting, judge, finalist, [criterion], (value,))
    return finalists, harsh, meeting


def paragraphs(locale: str) -> list[str]:
    return [str(escape(p)) for p in method.explanation(Translator(locale))]


def test_method_text_is_rendered_from_the_computations_constants() -> None:
    for locale in ("es", "en"):
        t = Translator(locale)
        text = method.explanation(t)
        ranking = text[2]
        assert f" {aggregation.TIE_DECIMALS} " in ranking
        assert str(round(aggregation.CONTESTED_SHARE * 100)) in method.contested_rule(
            t, threshold=1.0
        )
        assert method.published_explanation(t)[: len(text)] == text
    english, spanish = method.explanation(Translator("en")), method.explanation(Translator("es"))
    assert (
        "ranked within their theme by the normalised score, not by the weighted mean"
        in (english[2])
    )
    assert "harsh and a lenient judge weigh the same" in english[1]
    assert "una persona exigente y una generosa pesen lo mismo" in spanish[1]
    assert all(es != en for es, en in zip(spanish, english, strict=True))


def test_rank_follows_the_normalised_score_and_every_page_shows_both_figures_and_the_method(
    client: TestClient, session: Session
) -> None:
    (alma, bruno, _ciro), harsh, meeting = harsh_and_lenient(session)
    results = aggregation.meeting_results(session, meeting_id=meeting.id or 0)
    ranks = {row.finalist.id: (row.rank, row.weighted_mean) for row in results.rows}
    assert ranks[bruno.id] == (1, 2.5) and ranks[alma.id] == (2, 3.0)
    staff = quick_account(session, Role.staff)
    staff_pages = (
        "/about",
        "/staff/criteria",
        f"/staff/meetings/{meeting.id}/results",
        "/staff/publishing/winners",
    )
    judge_pages = (
        f"/judges/meetings/{meeting.id}",
        f"/judges/meetings/{meeting.id}/finalists/{bruno.id}",
    )

    pages: dict[str, dict[str, str]] = {"es": {}, "en": {}}
    for account, urls in ((staff, staff_pages), (harsh, judge_pages)):
        sign_in(client, session, account)
        for locale, by_url in pages.items():
            for url in urls:
                by_url[url] = client.get(f"{url}?lang={locale}").text

    for locale, by_url in pages.items():
        for url, page in by_url.items():
            for paragraph in paragraphs(locale):
                assert paragraph in page, (locale, url, paragraph[:40])
    english = pages["en"]
    agenda = english[f"/judges/meetings/{meeting.id}"]
    bruno_row = agenda[agenda.index("Bruno Barrios") :].split("</tr>")[0]
    assert "Rank 1" in bruno_row
    assert "Normalised score +0.57" in bruno_row and "Weighted mean 2.50" in bruno_row
    alma_row = agenda[agenda.index("Alma Armenta") :].split("</tr>")[0]
    assert "Rank 2" in alma_row and "Weighted mean 3.00" in alma_row
    dossier = english[f"/judges/meetings/{meeting.id}/finalists/{bruno.id}"]
    assert "Rank 1" in dossier and "normalised score +0.57" in dossier
    assert "weighted mean 2.50" in dossier
    board = english["/staff/publishing/winners"]
    assert board.index("Bruno Barrios") < board.index("Alma Armenta")
    assert "+0.57" in board and "2.50" in board
    staff_results = english[f"/staff/meetings/{meeting.id}/results"]
    assert "Rank by normalised score" in staff_results
    # The rubric page no longer says the weighted mean decides.
    assert "result is the mean of the scores weighted" not in english["/staff/criteria"]


def test_revision_freezes_the_method_as_computed(client: TestClient, session: Session) -> None:
    cycle = make_cycle(session)
    staff_client(client, session, cycle)

    publish_results(client, cycle)

    revision = session.exec(select(ResultsRevision)).one()
    frozen = json.loads(revision.content)["how_chosen"]["aggregation"]
    for locale in ("es", "en"):
        expected = method.published_explanation(Translator(locale))
        assert frozen[locale] == "\n\n".join(expected)
        client.get(f"/?lang={locale}")
        public = client.get("/results").text
        for paragraph in expected:
            assert str(escape(paragraph)) in public
    assert "averaged across judges" not in frozen["en"]


# --- 3. stage guards ------------------------------------------------------------------------


def test_announce_while_the_call_is_open_needs_a_written_override(
    client: TestClient, session: Session
) -> None:
    cycle = make_cycle(session, call_closed=False)
    staff_client(client, session, cycle)

    preview = client.get("/staff/publishing/finalists").text
    refused = announce(client)
    fresh(session)
    announced_after_refusal = session.get(Campaign, cycle.campaign.id).finalists_announced_at  # type: ignore[union-attr]

    assert "The call for nominations is still open." in preview
    assert refused.status_code == 422
    assert "Wait until it closes, or write why" in refused.text
    assert announced_after_refusal is None
    assert events(session, "stage.overridden") == []

    page = client.get("/staff/publishing/finalists")
    previewed = page.text.split('name="previewed" value="', 1)[1].split('"', 1)[0]
    accepted = client.post(
        "/staff/publishing/finalists/announce",
        data={
            "csrf_token": csrf_token_from(page),
            "previewed": previewed,
            "override_reason": "El jurado sesiona antes; la convocatoria real ya cerró.",
        },
        follow_redirects=False,
    )

    assert accepted.status_code == 303
    fresh(session)
    assert session.get(Campaign, cycle.campaign.id).finalists_announced_at is not None  # type: ignore[union-attr]
    [override] = events(session, "stage.overridden")
    assert override.actor_id == cycle.staff.id
    after = json.loads(override.after)
    assert after["step"] == "finalists.announced" and after["guard"] == "call_open"
    assert after["reason"] == "El jurado sesiona antes; la convocatoria real ya cerró."


def test_announce_after_the_call_closed_needs_no_override(
    client: TestClient, session: Session
) -> None:
    cycle = make_cycle(session)
    staff_client(client, session, cycle)

    preview = client.get("/staff/publishing/finalists").text
    response = announce(client)

    assert "still open" not in preview
    assert response.status_code == 303
    assert events(session, "stage.overridden") == []


def test_results_wait_for_the_call_to_end(client: TestClient, session: Session) -> None:
    cycle = make_cycle(session, call_closed=False)
    staff_client(client, session, cycle)
    confirm(client, cycle.youth, [cycle.ana])
    confirm(client, cycle.sustainability, [cycle.carla])

    while_open = prepare(client)
    page = client.get("/staff/publishing/finalists")
    previewed = page.text.split('name="previewed" value="', 1)[1].split('"', 1)[0]
    client.post(
        "/staff/publishing/finalists/announce",
        data={
            "csrf_token": csrf_token_from(page),
            "previewed": previewed,
            "override_reason": "Las fechas de la convocatoria se capturaron mal.",
        },
    )
    after_announcing = prepare(client)

    # Results need the finalists announced, and announcing needs the call over (or ends it).
    assert while_open.status_code == 409
    assert after_announcing.status_code == 303
    fresh(session)
    campaign = session.get(Campaign, cycle.campaign.id)
    assert campaign is not None and not call_is_open(session, campaign=campaign, now=utcnow())


def test_prepare_results_while_a_meeting_is_open_is_refused(
    client: TestClient, session: Session
) -> None:
    cycle = make_cycle(session)
    staff_client(client, session, cycle)
    confirm(client, cycle.youth, [cycle.ana])
    confirm(client, cycle.sustainability, [cycle.carla])
    announce(client)
    make_meeting(session, cycle.campaign, [cycle.carla], number=2)

    overview = client.get("/staff/publishing").text
    response = prepare(client)

    assert "close meeting 2, still open for scoring with finalists of Sustainability" in overview
    assert "Prepare the results for publication" not in overview
    assert response.status_code == 409
    assert session.exec(select(ResultsRevision)).all() == []


def test_no_nomination_is_accepted_once_the_finalists_are_announced(
    client: TestClient, session: Session
) -> None:
    cycle = make_cycle(session, call_closed=False)
    token = form_token(client, "youth")  # a form opened before the announcement
    staff_client(client, session, cycle)
    page = client.get("/staff/publishing/finalists")
    previewed = page.text.split('name="previewed" value="', 1)[1].split('"', 1)[0]
    client.post(
        "/staff/publishing/finalists/announce",
        data={
            "csrf_token": csrf_token_from(page),
            "previewed": previewed,
            "override_reason": "Anuncio anticipado acordado.",
        },
    )
    client.cookies.pop("ii_session", None)

    form = client.get("/nominate/youth")
    sent = post_nomination(client, "youth", nomination_data(), token=token)

    assert form.status_code == 403
    assert "the finalists have been announced" in form.text
    assert 'name="nominee_name"' not in form.text
    assert sent.status_code == 403
    fresh(session)
    assert session.exec(select(Nomination)).all() == []


# --- 4. public counts count people who took part -------------------------------------------


def test_published_judges_count_only_those_who_submitted_a_sheet(
    client: TestClient, session: Session
) -> None:
    cycle = make_cycle(session)
    quick_account(session, Role.judge, cycle.youth, name="Invitada que nunca entró")
    drafted = quick_account(session, Role.judge, cycle.youth, name="Juez con borrador")
    give_scores(session, cycle.meeting, drafted, cycle.ana, cycle.criteria, (4, 4), submitted=False)
    later = quick_account(session, Role.judge, cycle.youth, name="Juez de la reunión 2")
    run_off = make_meeting(
        session, cycle.campaign, [cycle.ana], number=2, status=MeetingStatus.closed
    )
    give_scores(session, run_off, later, cycle.ana, cycle.criteria, (4, 4))
    staff_client(client, session, cycle)

    publish_results(client, cycle)

    content = json.loads(session.exec(select(ResultsRevision)).one().content)
    # Two judges scored meeting 1 and a third meeting 2: three took part, of five invited.
    assert content["how_chosen"]["figures"]["judges"] == 3
    page = client.get("/results").text
    assert "Judges who scored</dt><dd>3</dd>" in page
    year = cycle.campaign.year
    rows = list(csv.DictReader(io.StringIO(client.get(f"/results/{year}.csv").text)))
    assert {row["judges"] for row in rows} == {"3"}
    assert client.get(f"/results/{year}.json").json()["how_chosen"]["figures"]["judges"] == 3


# --- 5. raw score sheets for audit ----------------------------------------------------------


def sheets_cycle(session: Session) -> Cycle:
    cycle = make_cycle(session)
    recused = quick_account(session, Role.judge, cycle.youth, name="Jueza Recusada")
    give_scores(session, cycle.meeting, recused, cycle.ana, cycle.criteria, (1, 1))
    declare_conflict(session, recused, cycle.ana)
    sheet = session.exec(
        select(ScoreSheet).where(
            ScoreSheet.judge_id == cycle.judges[0].id, ScoreSheet.finalist_id == cycle.beto.id
        )
    ).one()
    sheet.comment = '=HYPERLINK("http://example.org","ver")'
    session.add(sheet)
    session.commit()
    return cycle


def test_staff_download_a_closed_meetings_sheets_as_csv_formula_safe_and_audited(
    client: TestClient, session: Session
) -> None:
    cycle = sheets_cycle(session)
    staff_client(client, session, cycle)

    response = client.get(f"/staff/meetings/{cycle.meeting.id}/sheets.csv")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    assert response.headers["cache-control"] == "no-store"
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert len(rows) == 9  # two judges times four finalists, and the recused judge's sheet
    first = next(
        r for r in rows if r["Judge"] == "Jueza Secreta Uno" and r["Finalist"].startswith("Beto")
    )
    assert (first["Criterion 1"], first["Criterion 2"], first["Weighted score"]) == (
        "5",
        "5",
        "5.0",
    )
    assert first["Comment"] == '\'=HYPERLINK("http://example.org","ver")'
    assert first["Counted in the results"] == "Yes" and first["Sheet"] == "submitted"
    assert float(first["Normalised score (z-score)"]) > 0
    recused = next(r for r in rows if r["Judge"] == "Jueza Recusada")
    assert (recused["Recused"], recused["Counted in the results"]) == ("Yes", "No")
    [event] = events(session, "meeting.sheets_exported")
    assert event.actor_id == cycle.staff.id and event.object_id == str(cycle.meeting.id)
    assert json.loads(event.after) == {"format": "csv", "rows": 9}
    assert "Score sheets exported" in client.get(f"/staff/meetings/{cycle.meeting.id}").text


def test_staff_download_a_closed_meetings_sheets_as_xlsx_keeps_formulas_as_text(
    client: TestClient, session: Session
) -> None:
    cycle = sheets_cycle(session)
    staff_client(client, session, cycle)

    response = client.get(f"/staff/meetings/{cycle.meeting.id}/sheets.xlsx")

    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert sheet is not None
    values = list(sheet.iter_rows(values_only=True))
    headers = list(values[0])
    comment = headers.index("Comment")
    cells = [row[comment] for row in sheet.iter_rows(min_row=2)]
    formula = next(c for c in cells if str(c.value).startswith("=HYPERLINK"))
    assert formula.data_type == "s"
    assert len(values) == 10
    assert [e.after for e in events(session, "meeting.sheets_exported")] == [
        json.dumps({"format": "xlsx", "rows": 9})
    ]


def test_sheets_of_an_open_meeting_are_refused_and_judges_never_get_them(
    client: TestClient, session: Session
) -> None:
    cycle = sheets_cycle(session)
    still_open = make_meeting(session, cycle.campaign, [cycle.ana], number=2)
    staff_client(client, session, cycle)

    refused = client.get(f"/staff/meetings/{still_open.id}/sheets.csv")
    sign_in(client, session, cycle.judges[1])
    judge = client.get(f"/staff/meetings/{cycle.meeting.id}/sheets.csv")

    assert refused.status_code == 409
    assert "once the meeting is closed" in refused.text
    assert judge.status_code == 403
    assert "HYPERLINK" not in judge.text
    assert events(session, "meeting.sheets_exported") == []


def test_results_overview_content_changes_tell_winners_from_figures() -> None:
    theme = Theme(id=1, campaign_id=1, slug="youth", name_es="Jóvenes", name_en="Youth")
    base: dict[str, Any] = {
        "themes": [{"slug": "youth", "winners": [{"finalist_id": 1}], "finalists": []}],
        "how_chosen": {"meetings": [1]},
    }
    more_meetings = {**base, "how_chosen": {"meetings": [1, 2]}}
    other_winner = {
        **base,
        "themes": [{"slug": "youth", "winners": [{"finalist_id": 2}], "finalists": []}],
    }

    figures = revisions.content_changes(base, more_meetings, themes=[theme])
    winners = revisions.content_changes(base, other_winner, themes=[theme])

    assert (figures.winners, figures.profiles, figures.figures) == ([], False, True)
    assert winners.winners == [theme] and winners.profiles


def test_call_is_open_until_the_last_theme_closes(session: Session) -> None:
    cycle = make_cycle(session, call_closed=False)

    assert call_is_open(session, campaign=cycle.campaign, now=utcnow())
    close_the_call(session, cycle.campaign, cycle.youth, cycle.sustainability)
    assert not call_is_open(session, campaign=cycle.campaign, now=utcnow())
