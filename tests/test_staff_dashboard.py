"""The staff dashboard: the current campaign in figures, and what waits for action."""

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event
from sqlmodel import Session

from app.models import Account, Candidate, NominationStatus, Role, Theme, VettingStatus, utcnow
from app.services.campaigns.dashboard import build_dashboard
from tests.factories import make_account, make_campaign, make_open_campaign, make_theme, sign_in
from tests.test_staff_nominations import add_nomination, counted_statements


@pytest.fixture
def themes(session: Session) -> tuple[Theme, Theme]:
    _, youth, sustainability = make_open_campaign(session)
    return youth, sustainability


@pytest.fixture
def staff(session: Session) -> Account:
    return make_account(session, Role.staff)


@pytest.fixture
def staff_client(client: TestClient, session: Session, staff: Account) -> TestClient:
    sign_in(client, session, staff)
    client.get("/?lang=en")
    return client


def cell(page: str, href: str) -> str:
    """The text of the link to `href` on the page."""
    match = re.search(rf'<a href="{re.escape(href)}">([^<]*)</a>', page)
    assert match, f"no link to {href}"
    return match.group(1)


def add_candidate(session: Session, theme: Theme, status: VettingStatus) -> Candidate:
    candidate = Candidate(
        campaign_id=theme.campaign_id,
        theme_id=theme.id,  # type: ignore[arg-type]
        name="Ana Pérez",
        vetting_status=status,
    )
    session.add(candidate)
    session.flush()
    return candidate


def test_dashboard_without_campaign_says_so(staff_client: TestClient) -> None:
    page = staff_client.get("/staff")

    assert page.status_code == 200
    assert "There is no campaign yet" in page.text


def test_dashboard_counts_nominations_per_theme_and_status(
    staff_client: TestClient, session: Session, themes: tuple[Theme, Theme]
) -> None:
    youth, sustainability = themes
    for _ in range(3):
        add_nomination(session, youth)
    add_nomination(session, youth, status=NominationStatus.eligible)
    add_nomination(session, sustainability, status=NominationStatus.ineligible, status_reason="x")
    add_nomination(session, sustainability, status=NominationStatus.withdrawn)
    session.commit()

    page = staff_client.get("/staff").text

    assert cell(page, "/staff/nominations?theme=youth&amp;status=received") == "3"
    assert cell(page, "/staff/nominations?theme=youth&amp;status=eligible") == "1"
    assert cell(page, "/staff/nominations?theme=youth&amp;status=withdrawn") == "0"
    assert cell(page, "/staff/nominations?theme=sustainability&amp;status=ineligible") == "1"
    assert cell(page, "/staff/nominations?theme=sustainability&amp;status=withdrawn") == "1"
    totals = page.split("<tfoot>", 1)[1]
    assert cell(totals, "/staff/nominations?status=received") == "3"
    assert cell(totals, "/staff/nominations?status=eligible") == "1"
    assert re.search(r"Youth</a></th>\s*<td>4</td>", page)
    assert re.search(r"Sustainability</a></th>\s*<td>2</td>", page)
    assert re.search(r"All themes</a></th>\s*<td>6</td>", page)


def test_dashboard_lists_the_states_with_most_nominations(
    staff_client: TestClient, session: Session, themes: tuple[Theme, Theme]
) -> None:
    youth, sustainability = themes
    for state, count in (("OAX", 3), ("JAL", 1), ("VER", 2)):
        for _ in range(count):
            add_nomination(session, sustainability if count == 2 else youth, state=state)
    session.commit()

    page = staff_client.get("/staff").text

    state_row = r'<a href="/staff/nominations\?state=([A-Z]{3})">[^<]+</a></th>\s*<td>(\d+)'
    listed = re.findall(state_row, page)
    assert listed == [("OAX", "3"), ("VER", "2"), ("JAL", "1")]
    assert "Oaxaca" in page


def test_dashboard_shows_what_waits_for_action(
    staff_client: TestClient, session: Session, themes: tuple[Theme, Theme]
) -> None:
    youth, _ = themes
    grouped = add_candidate(session, youth, VettingStatus.pending)
    add_candidate(session, youth, VettingStatus.pending)
    add_candidate(session, youth, VettingStatus.cleared)
    for _ in range(2):
        add_nomination(session, youth)
    add_nomination(session, youth, status=NominationStatus.eligible)
    add_nomination(session, youth, status=NominationStatus.eligible, candidate_id=grouped.id)
    session.commit()

    page = staff_client.get("/staff").text

    todo = page.split('<ul class="todo">', 1)[1].split("</ul>", 1)[0]
    assert '<a href="/staff/nominations?status=received">2 nominations to screen</a>' in todo
    assert "1 eligible nomination not yet grouped into a candidate" in todo
    assert "2 candidates waiting for vetting" in todo
    assert 'href="/staff/candidates' in todo


def test_dashboard_ignores_earlier_campaigns(
    staff_client: TestClient, session: Session, themes: tuple[Theme, Theme]
) -> None:
    youth, _ = themes
    earlier = make_campaign(session, year=datetime.now(UTC).year - 1)
    old = make_theme(session, earlier, slug="youth")
    add_nomination(session, old)
    add_nomination(session, youth)
    session.commit()

    page = staff_client.get("/staff").text

    assert re.search(r"All themes</a></th>\s*<td>1</td>", page)


def test_dashboard_days_until_the_call_closes(
    staff_client: TestClient, session: Session, themes: tuple[Theme, Theme]
) -> None:
    youth, sustainability = themes
    youth.closes_at = utcnow() + timedelta(days=12)
    sustainability.closes_at = utcnow() - timedelta(days=1)
    session.add_all([youth, sustainability])
    session.commit()

    page = staff_client.get("/staff").text

    assert "Closes in 12 days, on" in page
    assert "Closed on" in page


@pytest.mark.parametrize(
    ("now", "closes_at", "days_left"),
    [
        # 17:00 in Mexico City on 9 March; closing 23:59 that same evening (already the 10th UTC).
        (datetime(2026, 3, 9, 23, 0, tzinfo=UTC), datetime(2026, 3, 10, 5, 59, tzinfo=UTC), 0),
        # 21:00 on 9 March in Mexico City (the 10th in UTC); closing at 23:59 on the 10th there.
        (datetime(2026, 3, 10, 3, 0, tzinfo=UTC), datetime(2026, 3, 11, 5, 59, tzinfo=UTC), 1),
        (datetime(2026, 3, 1, 12, 0, tzinfo=UTC), datetime(2026, 3, 31, 5, 59, tzinfo=UTC), 29),
    ],
)
def test_dashboard_days_left_count_in_mexico_city(
    session: Session, now: datetime, closes_at: datetime, days_left: int
) -> None:
    campaign = make_campaign(session, year=2026)
    make_theme(session, campaign, opens_at=now - timedelta(days=5), closes_at=closes_at)
    session.commit()

    board = build_dashboard(session, now=now)

    assert board is not None
    [theme] = board.themes
    assert theme.days_left == days_left
    assert theme.window == "open"


def test_dashboard_counts_in_the_database_with_few_statements(
    staff_client: TestClient, session: Session, engine: Engine, themes: tuple[Theme, Theme]
) -> None:
    youth, sustainability = themes

    def add(count: int) -> None:
        for number in range(count):
            add_nomination(session, youth if number % 2 else sustainability, state="OAX")
        session.commit()

    add(2)
    staff_client.get("/staff")
    with counted_statements(engine) as few:
        staff_client.get("/staff")
    add(40)
    with counted_statements(engine) as many:
        page = staff_client.get("/staff")

    assert re.search(r"All themes</a></th>\s*<td>42</td>", page.text)
    # 12, and the charts' six grouped queries (issue 16).
    assert len(many) == len(few) <= 18
    # Counted, never loaded: no statement reads nominations' own columns.
    assert not [sql for sql in many if "nomination.nominee_name" in sql]


def test_dashboard_grouped_counts_use_group_by(
    session: Session, engine: Engine, themes: tuple[Theme, Theme]
) -> None:
    youth, _ = themes
    add_nomination(session, youth)
    session.commit()
    seen: list[str] = []

    def keep(*args: Any) -> None:
        seen.append(args[2])

    event.listen(engine, "before_cursor_execute", keep)
    try:
        build_dashboard(session, now=utcnow())
    finally:
        event.remove(engine, "before_cursor_execute", keep)

    grouped = [sql for sql in seen if "GROUP BY" in sql]
    assert any("nomination.theme_id, nomination.status" in sql for sql in grouped)
    assert any("GROUP BY nomination.state" in sql for sql in grouped)
