"""A whole edition replayed through HTTP, counting staff's form posts (issue 21 item 10): 14
nominations (two people nominated twice), 12 candidates, 10 finalists, two meetings, published
winners. Citizens' nominations and judges' scores are set up directly: only staff's posts count."""

import re
from datetime import date
from typing import Any

from fastapi.testclient import TestClient
from httpx import Response
from sqlmodel import Session, col, select

from app.models import (
    Candidate,
    Finalist,
    Meeting,
    NominationStatus,
    ResultsRevision,
    Role,
    Theme,
)
from tests.factories import csrf_token_from, make_criteria, make_open_campaign, sign_in
from tests.test_consent import mailed_link
from tests.test_publishing import close_the_call, give_scores, quick_account
from tests.test_staff_candidates import make_nomination

TARGET = 50


class Staff:
    """A signed-in staff client that counts its POSTs."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.posts = 0

    def post(self, path: str, page: str, data: dict[str, Any]) -> Response:
        token = csrf_token_from(self.client.get(page))
        self.posts += 1
        response = self.client.post(
            path, data={"csrf_token": token, **data}, follow_redirects=False
        )
        assert response.status_code == 303, (path, response.status_code, response.text[-3000:])
        return response


def answer_consent(client: TestClient, link: str, **items: str) -> Response:
    """The nominee's own answer, from another browser (staff stay signed in on `client`)."""
    nominee = TestClient(client.app, base_url="http://testserver")
    page = nominee.get(link)
    data = {"csrf_token": csrf_token_from(page), "decision": "consent", "name_and_position": "yes"}
    return nominee.post(link, data={**data, **items}, follow_redirects=False)


def fresh(session: Session) -> None:
    """Ends the test session's read snapshot, so it sees what the app committed since."""
    session.commit()
    session.expire_all()


def previewed(client: TestClient, page: str) -> str:
    return client.get(page).text.split('name="previewed" value="', 1)[1].split('"', 1)[0]


def test_an_edition_from_nominations_to_published_winners_takes_under_50_staff_posts(
    client: TestClient, session: Session
) -> None:
    campaign, youth, sustainability = make_open_campaign(session)
    criteria = make_criteria(session, campaign, (2, 1))
    judges = [
        quick_account(session, Role.judge, youth, sustainability, name=f"Jueza {i}")
        for i in range(3)
    ]
    people = [
        ("Ana Aguilar Soto", "SAT", "JAL"),
        ("Beto Barrios Cruz", "IMSS", "VER"),
        ("Carla Castro Díaz", "CFE", "YUC"),
        ("Darío Delgado Ruiz", "INE", "OAX"),
        ("Elena Estrada Mora", "SEP", "SON"),
        ("Fabio Fuentes Lara", "CNA", "CHH"),
    ]
    for theme, suffix in ((youth, "Joven"), (sustainability, "Verde")):
        for name, institution, state in people:
            make_nomination(
                session,
                theme,
                status=NominationStatus.received,
                nominee_name=f"{name} {suffix}",
                nominee_institution=f"{institution} {suffix}",
                state=state,
            )
        # The first person of each theme is nominated a second time, written differently.
        name, institution, state = people[0]
        make_nomination(
            session,
            theme,
            status=NominationStatus.received,
            nominee_name=f"{name} {suffix}".upper(),
            nominee_institution=f"{institution} {suffix}",
            state=state,
        )
    staff_account = quick_account(session, Role.staff, name="Persona del Equipo")
    client.get("/?lang=en")
    sign_in(client, session, staff_account)
    staff = Staff(client)
    today = date.today().isoformat()

    # Screening: every nomination eligible, in one post.
    queue = client.get("/staff/nominations").text
    ids = re.findall(r'name="nominations" value="(\d+)"', queue)
    assert len(ids) == 14
    staff.post(
        "/staff/nominations/bulk",
        "/staff/nominations",
        {"nominations": ids, "action": "eligible", "reason": ""},
    )

    # Grouping: the suggested duplicates and the new candidates, in one post.
    groups = re.findall(
        r'name="group" value="([^"]+)" checked', client.get("/staff/candidates").text
    )
    staff.post("/staff/candidates/group-many", "/staff/candidates", {"group": groups})
    fresh(session)
    candidates = session.exec(select(Candidate).order_by(col(Candidate.id))).all()
    assert len(candidates) == 12

    # Vetting and finalists: five of each theme, one checklist and one choice each.
    chosen = [c for c in candidates if c.theme_id == youth.id][:5] + [
        c for c in candidates if c.theme_id == sustainability.id
    ][:5]
    kinds = ("references", "press", "public_records", "sanctions")
    for candidate in chosen:
        page = f"/staff/candidates/{candidate.id}"
        staff.post(
            f"{page}/checklist",
            page,
            {
                "checklist_on": today,
                **{f"result_{kind}": "clear" for kind in kinds},
                "new_status": "cleared",
            },
        )
        staff.post("/staff/finalists", page, {"candidate_id": str(candidate.id)})
    fresh(session)
    finalists = session.exec(select(Finalist).order_by(col(Finalist.id))).all()
    assert len(finalists) == 10

    # Each finalist is asked for consent by e-mail and answers through the link (issue 15).
    for finalist in finalists:
        email = f"finalista-{finalist.id}@example.org"
        staff.post(
            f"/staff/finalists/{finalist.id}/consent/request",
            f"/staff/finalists/{finalist.id}/consent",
            {"email": email, "locale": "es"},
        )
        answered = answer_consent(client, mailed_link(session, email), photo="yes", story="yes")
        assert answered.status_code == 303

    # The call is over (the calendar, not a post); the finalists are announced.
    close_the_call(session, campaign, youth, sustainability)
    staff.post(
        "/staff/publishing/finalists/announce",
        "/staff/publishing/finalists",
        {"previewed": previewed(client, "/staff/publishing/finalists")},
    )

    def meeting(number: int, source: Meeting | None, scored: list[Finalist]) -> Meeting:
        data: dict[str, Any] = {"number": str(number), "held_on": today}
        if source is None:
            data["themes"] = [str(youth.id), str(sustainability.id)]
        else:
            data["source_meeting_id"] = str(source.id)
        created = staff.post("/staff/meetings", "/staff/meetings", data)
        page = created.headers["location"]
        staff.post(f"{page}/open", page, {})
        fresh(session)
        found = session.get(Meeting, int(page.rsplit("/", 1)[1]))
        assert found is not None
        for rank, finalist in enumerate(scored):
            for judge in judges:
                give_scores(session, found, judge, finalist, criteria, (5 - rank % 5, 4))
        staff.post(f"{page}/close", f"{page}/close", {"confirm": "yes"})
        return found

    def by_theme(theme: Theme, among: list[Finalist]) -> list[Finalist]:
        return [f for f in among if f.theme_id == theme.id]

    first = meeting(1, None, finalists)
    shortlist = by_theme(youth, finalists)[:2] + by_theme(sustainability, finalists)[:2]
    staff.post(
        f"/staff/meetings/{first.id}/results",
        f"/staff/meetings/{first.id}/results",
        {"advanced": [str(f.id) for f in shortlist], "minutes": "Pasan dos por categoría."},
    )
    second = meeting(2, first, shortlist)
    winners = [by_theme(youth, shortlist)[0], by_theme(sustainability, shortlist)[0]]
    staff.post(
        f"/staff/meetings/{second.id}/results",
        f"/staff/meetings/{second.id}/results",
        {"proposed_winner": [str(f.id) for f in winners], "minutes": "El panel propone."},
    )

    # Winners confirmed per theme, results prepared and published.
    for theme, winner in zip((youth, sustainability), winners, strict=True):
        staff.post(
            f"/staff/publishing/winners/{theme.id}",
            "/staff/publishing/winners",
            {"winner": [str(winner.id)], "rationale": ""},
        )
    staff.post("/staff/publishing/revisions", "/staff/publishing", {"reason": ""})
    staff.post(
        "/staff/publishing/revisions/1/publish",
        "/staff/publishing/revisions/1",
        {"previewed": previewed(client, "/staff/publishing/revisions/1")},
    )

    fresh(session)
    assert session.exec(select(ResultsRevision)).one().published_at is not None
    public = client.get("/results").text
    assert all(w.public_name in public for w in winners)
    assert staff.posts < TARGET, staff.posts
