"""Who may reach what, for every route of the app's route table, with the ids of a real world:
each actor (anonymous, staff, admin, two judges of the theme, a recused judge) tries every GET
and POST; nobody gets a 2xx they should not, and a refused write changes no table."""

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.models import (
    Account,
    Campaign,
    Channel,
    Criterion,
    EvidenceFile,
    Finalist,
    Meeting,
    Nomination,
    NominationStatus,
    Role,
    Theme,
    utcnow,
)
from app.services.files import FileStore, clean_upload
from app.services.voting.ground import add_tally
from tests.factories import (
    csrf_token_from,
    declare_conflict,
    form_token,
    make_account,
    make_criteria,
    make_finalist,
    make_judge,
    make_meeting,
    make_open_campaign,
    make_pdf,
    nomination_data,
    post_nomination,
    sign_in,
)
from tests.routes import route_templates
from tests.test_staff_access import table_counts
from tests.vote_helpers import make_vote

PDF = make_pdf()
JUDGE_B_MARKER = "MARCADOR-JUEZ-B-7f3a"
NOMINATOR_NAME = "Nominadora Secreta Zyx"
NOMINATOR_EMAIL = "secreta-zyx@example.org"
ACTORS = ("anonymous", "staff", "admin", "judge_a", "judge_b", "recused", "volunteer")
JUDGES = ("judge_a", "judge_b", "recused")


ROUTES = route_templates()


@dataclass
class World:
    campaign: Campaign
    youth: Theme
    sustainability: Theme
    criteria: list[Criterion]
    finalist: Finalist
    neighbour: Finalist
    other_theme: Finalist
    meeting: Meeting
    nomination: Nomination
    evidence: EvidenceFile
    staff: Account
    admin: Account
    judge_a: Account
    judge_b: Account
    recused: Account
    volunteer: Account
    # A nomination staff entered by phone: not the volunteer's, so hidden from it (issue 15).
    entry: Nomination
    declaration_id: int
    ids: dict[str, str] = field(default_factory=dict)

    def account(self, actor: str) -> Account | None:
        return None if actor == "anonymous" else getattr(self, actor)  # type: ignore[no-any-return]

    def url(self, template: str, **override: object) -> str:
        """The template with this world's ids, by parameter name (1 for unknown names)."""
        values = {**self.ids, **{k: str(v) for k, v in override.items()}}
        return re.sub(r"\{([^}]+)\}", lambda m: values.get(m.group(1), "1"), template)


def build_world(client: TestClient, session: Session) -> World:
    campaign, youth, sustainability = make_open_campaign(session)
    criteria = make_criteria(session, campaign, (2, 1))
    finalist = make_finalist(session, youth, public_name="Fernanda Finalista")
    neighbour = make_finalist(session, youth, public_name="Vecino Finalista")
    other_theme = make_finalist(session, sustainability, public_name="Otro Tema Finalista")
    staff = make_account(session, Role.staff, name="Persona Staff")
    admin = make_account(session, Role.admin, name="Persona Admin")
    judge_a = make_judge(session, youth, name="Jueza A")
    judge_b = make_judge(session, youth, name="Juez B")
    recused = make_judge(session, youth, name="Jueza Recusada")
    volunteer = make_account(session, Role.volunteer, name="Persona Voluntaria")
    declaration = declare_conflict(session, recused, finalist, recorded_by_id=staff.id)
    meeting = make_meeting(session, campaign, [finalist, neighbour, other_theme])

    data = nomination_data(
        nominator_name=NOMINATOR_NAME,
        nominator_email=NOMINATOR_EMAIL,
        sensitive_consent="yes",
    )
    sent = post_nomination(
        client,
        "youth",
        data,
        files=[("evidence", ("oficio.pdf", PDF, "application/pdf"))],
        token=form_token(client, "youth"),
    )
    assert sent.status_code == 303, sent.text
    session.expire_all()
    nomination = session.exec(select(Nomination).order_by(Nomination.id.desc())).first()  # type: ignore[union-attr]
    assert nomination is not None
    nomination.candidate_id = finalist.candidate_id
    nomination.status = NominationStatus.eligible
    session.add(nomination)
    session.commit()
    evidence = session.exec(
        select(EvidenceFile).where(EvidenceFile.nomination_id == nomination.id)
    ).one()
    entry = Nomination(
        **{
            **nomination.model_dump(exclude={"id", "reference", "submission_key"}),
            "reference": "entrada-de-staff-0001",
            "submission_key": "intake:entrada-de-staff-0001",
            "channel": Channel.phone,
            "entered_by_id": staff.id,
            "candidate_id": None,
        }
    )
    session.add(entry)
    session.commit()

    # Judge B scores the finalist and writes a private comment, through the real form.
    client.cookies.clear()
    session.rollback()  # a stale SQLite read snapshot cannot be upgraded to a write
    sign_in(client, session, judge_b)
    url = f"/judges/meetings/{meeting.id}/finalists/{finalist.id}"
    token = csrf_token_from(client.get(f"/judges/meetings/{meeting.id}"))
    saved = client.post(
        url,
        data={
            "csrf_token": token,
            "version": "0",
            "action": "submit",
            "comment": f"Nota privada {JUDGE_B_MARKER}",
            **{f"score-{c.id}": "4" for c in criteria},
        },
        follow_redirects=False,
    )
    assert saved.status_code in (200, 303), saved.text
    client.cookies.clear()

    # The youth theme's public vote, with a tally from a ballot box and its scan (issue 18).
    session.rollback()
    vote = make_vote(session, youth)
    tally = add_tally(
        session,
        actor=staff,
        theme_id=int(youth.id or 0),
        place="Plaza",
        counted_on=date.today(),
        counted_by="Comité",
        counts={int(finalist.id or 0): 3},
        scan=clean_upload(PDF, "acta.pdf", max_bytes=10**6, max_pixels=10**6),
        store=FileStore(client.app.state.settings.files_dir),  # type: ignore[attr-defined]
        now=utcnow(),
    )
    session.commit()
    del vote

    world = World(
        campaign=campaign,
        youth=youth,
        sustainability=sustainability,
        criteria=criteria,
        finalist=finalist,
        neighbour=neighbour,
        other_theme=other_theme,
        meeting=meeting,
        nomination=nomination,
        evidence=evidence,
        staff=staff,
        admin=admin,
        judge_a=judge_a,
        judge_b=judge_b,
        recused=recused,
        volunteer=volunteer,
        entry=entry,
        declaration_id=int(declaration.id or 0),
    )
    world.ids = {
        "slug": youth.slug,
        "reference": nomination.reference,
        "token": "not-a-real-token-0000",
        "finalist_id": str(finalist.id),
        "meeting_id": str(meeting.id),
        "file_id": str(evidence.id),
        "candidate_id": str(finalist.candidate_id),
        "nomination_id": str(nomination.id),
        "criterion_id": str(criteria[0].id),
        "declaration_id": str(declaration.id),
        "judge_id": str(judge_a.id),
        "account_id": str(judge_a.id),
        "theme_id": str(youth.id),
        "year": str(campaign.year),
        "number": "1",
        "entry_id": str(entry.id),
        "tally_id": str(tally.id),
    }
    return world


DOSSIER = "/judges/meetings/{meeting_id}/finalists/{finalist_id}"
PUBLIC_PAGES = {
    ("GET", "/"),
    ("GET", "/nominate/{slug}"),
    ("GET", "/nominate/{slug}/print"),
    ("GET", "/nominations/{reference}"),
    # Open data (issue 16): the page, the edition's catalogue and dictionary, and the API.
    ("GET", "/data"),
    ("GET", "/data/{year}/catalog.json"),
    ("GET", "/data/{year}/dictionary.csv"),
    ("GET", "/api/v1/editions"),
    ("GET", "/api/v1/editions/{year}/statistics"),
}
INTAKE_PAGES = {
    ("GET", "/staff/intake"),
    ("GET", "/staff/intake/new/{slug}"),
    ("GET", "/staff/intake/import"),
    ("GET", "/staff/intake/template.csv"),
}
EXPECTED_PAGES: dict[str, set[tuple[str, str]]] = {
    "anonymous": PUBLIC_PAGES,
    "staff": PUBLIC_PAGES
    | {
        ("GET", "/staff"),
        ("GET", "/staff/nominations/{nomination_id}"),
        ("GET", "/staff/nominations/{nomination_id}/files/{file_id}"),
        ("GET", "/staff/meetings/{meeting_id}"),
        ("GET", "/staff/candidates/{candidate_id}"),
        ("GET", "/staff/intake/entries/{entry_id}"),
        ("GET", "/staff/data"),
        ("GET", "/staff/vote"),
        ("GET", "/staff/vote/{theme_id}"),
        ("GET", "/staff/vote/{theme_id}/tallies/{tally_id}/scan"),
    }
    | INTAKE_PAGES,
    "admin": PUBLIC_PAGES | {("GET", "/staff/users"), ("GET", "/staff/audit")},
    "judge_a": {
        ("GET", "/judges/meetings/{meeting_id}"),
        ("GET", DOSSIER),
        ("GET", DOSSIER + "/files/{file_id}"),
    },
    "judge_b": {("GET", DOSSIER), ("GET", DOSSIER + "/files/{file_id}")},
    "recused": {("GET", "/judges"), ("GET", "/judges/meetings/{meeting_id}")},
    "volunteer": PUBLIC_PAGES | INTAKE_PAGES | {("GET", "/account/password")},
}


def allowed(actor: str, method: str, template: str) -> bool:
    """The allow-list: may `actor` get a 2xx (or a successful POST) from this route?"""
    if template.startswith(("/staff/users", "/staff/audit")):
        return actor == "admin"
    if template == "/staff/intake/entries/{entry_id}":
        # The world's entry was made by staff: a volunteer sees only its own entries.
        return actor in ("staff", "admin")
    if template == "/staff/intake" or template.startswith("/staff/intake/"):
        return actor in ("staff", "admin", "volunteer")
    if template == "/staff" or template.startswith("/staff/"):
        return actor in ("staff", "admin")
    if template == "/judges" or template.startswith("/judges/"):
        if actor not in JUDGES:
            return False
        # Object routes about the finalist: only judges of its theme who are not recused.
        if "{finalist_id}" in template:
            return actor != "recused"
        return True
    if template.startswith("/account/password"):
        return actor != "anonymous" or template == "/account/password-set"
    return True


def succeeded(method: str, response: httpx.Response) -> bool:
    if 200 <= response.status_code < 300:
        return True
    # A POST answered with a redirect elsewhere than the login page is a write that went in.
    location = response.headers.get("location", "")
    return method == "POST" and 300 <= response.status_code < 400 and "/login" not in location


def signed_in_client(client: TestClient, session: Session, world: World, actor: str) -> str:
    """Signs the client in as `actor`; returns a CSRF token its forms would carry."""
    client.cookies.clear()
    account = world.account(actor)
    if account is None:
        return csrf_token_from(client.get("/login"))
    session.rollback()  # a stale SQLite read snapshot cannot be upgraded to a write
    sign_in(client, session, account)
    return csrf_token_from(client.get("/account/password"))


def walk(
    client: TestClient,
    session: Session,
    world: World,
    actor: str,
    token: str,
    url: Callable[[str], str],
    may: Callable[[str, str], bool],
    reached: set[tuple[str, str]] | None = None,
) -> list[str]:
    """Every route once; returns the problems found (unexpected 2xx, refused writes that wrote)."""
    problems: list[str] = []
    reached = reached if reached is not None else set()
    for method, template in ROUTES:
        if template == "/logout" and method == "POST":
            continue  # would end the actor's session for the rest of the walk
        path = url(template)
        before = table_counts(session)
        if method == "GET":
            response = client.get(path, follow_redirects=False)
        else:
            response = client.post(path, data={"csrf_token": token}, follow_redirects=False)
        ok = succeeded(method, response)
        if ok:
            reached.add((method, template))
        if ok and not may(method, template):
            problems.append(f"{actor}: {method} {path} -> {response.status_code} (not allowed)")
        if method == "POST" and not ok:
            after = table_counts(session)
            if after != before:
                changed = {k: (before[k], after[k]) for k in before if before[k] != after[k]}
                problems.append(
                    f"{actor}: refused {method} {path} -> {response.status_code} changed {changed}"
                )
    return problems


def test_route_table_has_every_area() -> None:
    templates = {template for _, template in ROUTES}
    assert {"/", "/staff", "/judges", "/staff/users", "/judges/meetings/{meeting_id}"} <= templates


@pytest.mark.parametrize("actor", ACTORS)
def test_authz_matrix_actor_reaches_only_what_it_may_and_refused_writes_change_nothing(
    client: TestClient, session: Session, actor: str
) -> None:
    world = build_world(client, session)
    token = signed_in_client(client, session, world, actor)
    reached: set[tuple[str, str]] = set()

    problems = walk(
        client,
        session,
        world,
        actor,
        token,
        world.url,
        lambda method, template: allowed(actor, method, template),
        reached,
    )

    assert problems == []
    # The walk really used this world's ids: what the actor may read, it did read.
    assert EXPECTED_PAGES[actor] <= reached


@pytest.mark.parametrize("actor", JUDGES)
def test_authz_matrix_judge_outside_the_finalists_theme_reaches_none_of_its_routes(
    client: TestClient, session: Session, actor: str
) -> None:
    world = build_world(client, session)
    token = signed_in_client(client, session, world, actor)
    finalist_routes = [(m, t) for m, t in ROUTES if t.startswith("/judges/") and "{" in t]
    assert finalist_routes

    problems = []
    for method, template in finalist_routes:
        if "{finalist_id}" not in template and "{file_id}" not in template:
            continue
        path = world.url(template, finalist_id=world.other_theme.id)
        before = table_counts(session)
        if method == "GET":
            response = client.get(path, follow_redirects=False)
        else:
            response = client.post(path, data={"csrf_token": token}, follow_redirects=False)
        if succeeded(method, response):
            problems.append(f"{actor}: {method} {path} -> {response.status_code}")
        if table_counts(session) != before:
            problems.append(f"{actor}: {method} {path} changed the database")

    assert problems == []


def test_authz_matrix_recused_judge_cannot_open_the_finalists_evidence(
    client: TestClient, session: Session
) -> None:
    world = build_world(client, session)
    signed_in_client(client, session, world, "recused")

    response = client.get(
        f"/judges/meetings/{world.meeting.id}/finalists/{world.finalist.id}"
        f"/files/{world.evidence.id}"
    )

    assert response.status_code in (403, 404)
    assert PDF not in response.content
