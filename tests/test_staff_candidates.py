"""Candidates: grouping nominations, merging and splitting, and vetting (matching names:
test_matching)."""

import json
import secrets
from datetime import date, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import Engine, event
from sqlmodel import Session, col, func, select

from app.i18n import TIMEZONE
from app.models import (
    Account,
    AuditEvent,
    Candidate,
    CheckKind,
    CheckResult,
    Finalist,
    GovernmentLevel,
    Nomination,
    NominationStatus,
    Relationship,
    Role,
    Theme,
    VettingCheck,
    VettingStatus,
    utcnow,
)
from app.services.candidates import grouping as service
from app.services.candidates.grouping import count_independent
from tests.factories import csrf_token_from, make_account, make_open_campaign, sign_in

# --- Helpers, shared with test_staff_finalists -----------------------------------------------


def make_nomination(
    session: Session,
    theme: Theme,
    *,
    status: NominationStatus = NominationStatus.eligible,
    **overrides: Any,
) -> Nomination:
    values: dict[str, Any] = {
        "reference": secrets.token_urlsafe(16),
        "submission_key": secrets.token_hex(16),
        "theme_id": theme.id,
        "status": status,
        "nominee_name": "María Fernanda López Ruiz",
        "nominee_position": "Directora de Agua Potable",
        "nominee_institution": "Ayuntamiento de Xalapa",
        "government_level": GovernmentLevel.municipal,
        "state": "VER",
        "years_of_service": 8,
        "achievement": "Denunció un desvío de fondos.",
        "impact": "Cambió las reglas de compra.",
        "obstacles": "Presiones de sus superiores.",
        "how_known": "Trabajé con ella.",
        "reference1_name": "Carlos Méndez",
        "reference1_contact": "carlos@example.org",
        "reference2_name": "Lucía Pérez",
        "reference2_contact": "+52 228 555 0101",
        "nominator_name": "Roberto Sánchez",
        "nominator_email": f"nominador-{secrets.token_hex(4)}@example.org",
        "nominator_relationship": Relationship.colleague,
        "privacy_consent_at": utcnow(),
        **overrides,
    }
    nomination = Nomination(**values)
    session.add(nomination)
    session.commit()
    return nomination


def make_candidate(
    session: Session,
    actor: Account,
    nominations: list[Nomination],
    *,
    status: VettingStatus = VettingStatus.pending,
    checks: bool = False,
) -> Candidate:
    """A candidate grouping `nominations` (made by the service), optionally fully vetted."""
    first, *rest = nominations
    assert first.id is not None
    candidate = service.create_candidate(session, actor=actor, nomination_id=first.id)
    assert candidate.id is not None
    for other in rest:
        assert other.id is not None
        service.add_nomination(
            session, actor=actor, candidate_id=candidate.id, nomination_id=other.id
        )
    if checks:
        for kind in (
            CheckKind.references,
            CheckKind.press,
            CheckKind.public_records,
            CheckKind.sanctions,
        ):
            assert actor.id is not None
            session.add(
                VettingCheck(
                    candidate_id=candidate.id,
                    kind=kind,
                    result=CheckResult.clear,
                    note="Sin hallazgos.",
                    checked_on=date.today() - timedelta(days=1),
                    author_id=actor.id,
                )
            )
    candidate.vetting_status = status
    session.add(candidate)
    session.commit()
    return candidate


def post_form(client: TestClient, url: str, data: dict[str, str], **kwargs: Any) -> Response:
    """POSTs a signed-in form with a CSRF token taken from a staff page."""
    token = csrf_token_from(client.get("/staff/candidates"))
    return client.post(url, data={**data, "csrf_token": token}, follow_redirects=False, **kwargs)


def audit_events(session: Session, action: str) -> list[AuditEvent]:
    session.expire_all()
    return list(
        session.exec(
            select(AuditEvent).where(AuditEvent.action == action).order_by(col(AuditEvent.id))
        ).all()
    )


def count(session: Session, model: type[Any]) -> int:
    session.expire_all()
    return int(session.exec(select(func.count()).select_from(model)).one())


@pytest.fixture
def themes(session: Session) -> tuple[Theme, Theme]:
    _, youth, sustainability = make_open_campaign(session)
    return youth, sustainability


@pytest.fixture
def staff(client: TestClient, session: Session) -> Account:
    account = make_account(session, Role.staff, name="Sara Staff")
    sign_in(client, session, account)
    client.get("/?lang=en")
    return account


# --- Strength -------------------------------------------------------------------------------


def test_count_independent_counts_an_email_once_whatever_its_case_and_skips_withdrawn() -> None:
    assert (
        count_independent(
            [
                ("ana@example.org", NominationStatus.eligible),
                ("ANA@Example.ORG", NominationStatus.eligible),
                ("luis@example.org", NominationStatus.withdrawn),
                ("eva@example.org", NominationStatus.ineligible),
            ]
        )
        == 2
    )


# --- The list -----------------------------------------------------------------------------------


def test_candidates_page_lists_ungrouped_eligible_nominations_with_suggestions(
    client: TestClient, session: Session, staff: Account, themes: tuple[Theme, Theme]
) -> None:
    youth, _ = themes
    grouped = make_nomination(session, youth, nominee_name="LOPEZ RUIZ MARIA FERNANDA")
    candidate = make_candidate(session, staff, [grouped])
    waiting = make_nomination(session, youth, nominee_name="Ma. Fernanda López Ruiz")
    unrelated = make_nomination(session, youth, nominee_name="Pedro Infante Cruz")
    received = make_nomination(
        session, youth, nominee_name="Rosa Received Ruiz", status=NominationStatus.received
    )

    page = client.get("/staff/candidates")

    assert page.status_code == 200
    assert "Eligible nominations not yet grouped" in page.text
    assert f'href="/staff/nominations/{waiting.id}"' in page.text
    assert f'href="/staff/nominations/{unrelated.id}"' in page.text
    assert received.nominee_name not in page.text
    # The waiting nomination's suggestion: add it to the candidate.
    assert (
        f'name="candidate_id" value="{candidate.id}">\n'
        f'          <input type="hidden" name="nomination_id" value="{waiting.id}">'
    ) in page.text
    # The unrelated nomination gets no suggestion pointing at the candidate.
    assert f'name="nomination_id" value="{unrelated.id}">\n          <button' not in page.text
    assert "No similar candidate or nomination." in page.text


def test_candidates_page_shows_counts_and_vetting_per_theme(
    client: TestClient, session: Session, staff: Account, themes: tuple[Theme, Theme]
) -> None:
    youth, sustainability = themes
    nominations = [
        make_nomination(session, youth, nominator_email="ana@example.org"),
        make_nomination(session, youth, nominator_email="ANA@EXAMPLE.ORG"),
        make_nomination(session, youth, nominator_email="luis@example.org"),
    ]
    candidate = make_candidate(session, staff, nominations, status=VettingStatus.flagged)
    other = make_candidate(
        session, staff, [make_nomination(session, sustainability, nominee_name="Otra Persona")]
    )

    page = client.get("/staff/candidates")

    row = page.text.split(f'href="/staff/candidates/{candidate.id}"')[1].split("</tr>")[0]
    assert "<td>3</td>" in row  # nominations
    assert "<td>2</td>" in row  # independent nominators
    assert "Flagged" in row
    assert page.text.index("Youth") < page.text.index(f'href="/staff/candidates/{other.id}"')

    only_youth = client.get("/staff/candidates?theme=youth")
    assert f'href="/staff/candidates/{other.id}"' not in only_youth.text


def test_candidates_page_queries_do_not_grow_with_the_number_of_nominations(
    client: TestClient,
    session: Session,
    engine: Engine,
    staff: Account,
    themes: tuple[Theme, Theme],
) -> None:
    youth, _ = themes
    statements: list[str] = []

    def count_statement(*args: Any) -> None:
        statements.append(args[2])

    def queries_for_page() -> int:
        statements.clear()
        event.listen(engine, "before_cursor_execute", count_statement)
        try:
            assert client.get("/staff/candidates").status_code == 200
        finally:
            event.remove(engine, "before_cursor_execute", count_statement)
        return len(statements)

    for i in range(3):
        make_candidate(session, staff, [make_nomination(session, youth, nominee_name=f"Ana {i}")])
        make_nomination(session, youth, nominee_name=f"Ana Ruiz {i}")
    few = queries_for_page()
    for i in range(20):
        make_candidate(session, staff, [make_nomination(session, youth, nominee_name=f"Eva {i}")])
        make_nomination(session, youth, nominee_name=f"Eva Ruiz {i}")
    many = queries_for_page()

    assert many == few


# --- Grouping -----------------------------------------------------------------------------------


def test_create_candidate_copies_the_nomination_and_is_audited(
    client: TestClient, session: Session, staff: Account, themes: tuple[Theme, Theme]
) -> None:
    youth, _ = themes
    nomination = make_nomination(
        session,
        youth,
        nominee_name="Ma. Fernanda López Ruiz",
        nominee_institution="Ayuntamiento de Xalapa",
        state="VER",
    )

    response = post_form(client, "/staff/candidates", {"nomination_id": str(nomination.id)})

    assert response.status_code == 303
    assert response.headers["location"] == "/staff/candidates#ungrouped"
    candidate = session.exec(select(Candidate)).one()
    assert (candidate.name, candidate.institution, candidate.state, candidate.theme_id) == (
        "Ma. Fernanda López Ruiz",
        "Ayuntamiento de Xalapa",
        "VER",
        youth.id,
    )
    assert candidate.match_key == "fernanda lopez ma ruiz"
    session.refresh(nomination)
    assert nomination.candidate_id == candidate.id
    [created] = audit_events(session, "candidate.create")
    assert created.actor_id == staff.id
    assert created.object_id == str(candidate.id)
    assert json.loads(created.after)["nominations"] == [nomination.id]
    assert nomination.nominator_email not in created.after
    assert nomination.nominator_name not in created.after
    [moved] = audit_events(session, "nomination.candidate")
    assert moved.object_id == str(nomination.id)


def test_create_candidate_with_a_second_nomination_groups_both(
    client: TestClient, session: Session, staff: Account, themes: tuple[Theme, Theme]
) -> None:
    youth, _ = themes
    first = make_nomination(session, youth)
    second = make_nomination(session, youth, nominee_name="LOPEZ RUIZ MARIA FERNANDA")

    response = post_form(
        client,
        "/staff/candidates",
        {"nomination_id": str(first.id), "with_nomination_id": str(second.id)},
    )

    assert response.status_code == 303
    candidate = session.exec(select(Candidate)).one()
    session.expire_all()
    assert {n.candidate_id for n in session.exec(select(Nomination)).all()} == {candidate.id}


@pytest.mark.parametrize(
    "status",
    [NominationStatus.received, NominationStatus.ineligible, NominationStatus.withdrawn],
)
def test_create_candidate_from_a_nomination_not_eligible_is_refused(
    client: TestClient,
    session: Session,
    staff: Account,
    themes: tuple[Theme, Theme],
    status: NominationStatus,
) -> None:
    youth, _ = themes
    nomination = make_nomination(session, youth, status=status)

    response = post_form(client, "/staff/candidates", {"nomination_id": str(nomination.id)})

    assert response.status_code == 422
    assert "only eligible nominations can be grouped" in response.text
    assert count(session, Candidate) == 0
    assert audit_events(session, "candidate.create") == []


def test_create_candidate_with_a_malformed_number_is_refused(
    client: TestClient, session: Session, staff: Account, themes: tuple[Theme, Theme]
) -> None:
    response = post_form(client, "/staff/candidates", {"nomination_id": "abc"})

    assert response.status_code == 422
    assert "Enter a whole number." in response.text
    assert count(session, Candidate) == 0


def test_create_candidate_without_csrf_token_is_refused(
    client: TestClient, session: Session, staff: Account, themes: tuple[Theme, Theme]
) -> None:
    youth, _ = themes
    nomination = make_nomination(session, youth)

    response = client.post(
        "/staff/candidates", data={"nomination_id": str(nomination.id)}, follow_redirects=False
    )

    assert response.status_code == 403
    assert count(session, Candidate) == 0


def test_add_nomination_of_the_same_theme_groups_it_and_is_audited(
    client: TestClient, session: Session, staff: Account, themes: tuple[Theme, Theme]
) -> None:
    youth, _ = themes
    first = make_nomination(session, youth)
    candidate = make_candidate(session, staff, [first])
    second = make_nomination(session, youth, nominee_name="LOPEZ RUIZ MARIA FERNANDA")

    response = post_form(
        client,
        f"/staff/candidates/{candidate.id}/nominations",
        {"nomination_id": str(second.id)},
    )

    assert response.status_code == 303
    session.refresh(second)
    assert second.candidate_id == candidate.id
    [added] = audit_events(session, "candidate.add_nomination")
    assert json.loads(added.before) == {"nominations": [first.id]}
    assert json.loads(added.after) == {"nominations": [first.id, second.id]}


def test_group_from_the_list_adds_the_nomination_and_returns_to_the_list(
    client: TestClient, session: Session, staff: Account, themes: tuple[Theme, Theme]
) -> None:
    youth, _ = themes
    candidate = make_candidate(session, staff, [make_nomination(session, youth)])
    waiting = make_nomination(session, youth)

    response = post_form(
        client,
        "/staff/candidates/group?theme=youth",
        {"candidate_id": str(candidate.id), "nomination_id": str(waiting.id)},
    )

    assert response.status_code == 303
    assert response.headers["location"] == "/staff/candidates?theme=youth#ungrouped"
    session.refresh(waiting)
    assert waiting.candidate_id == candidate.id


def test_add_nomination_of_another_theme_is_refused_beside_the_field(
    client: TestClient, session: Session, staff: Account, themes: tuple[Theme, Theme]
) -> None:
    youth, sustainability = themes
    candidate = make_candidate(session, staff, [make_nomination(session, youth)])
    elsewhere = make_nomination(session, sustainability)

    response = post_form(
        client,
        f"/staff/candidates/{candidate.id}/nominations",
        {"nomination_id": str(elsewhere.id)},
    )

    assert response.status_code == 422
    assert 'id="error-nomination_id"' in response.text
    assert "is under another theme" in response.text
    assert f'name="nomination_id" type="text" value="{elsewhere.id}"' in response.text
    session.refresh(elsewhere)
    assert elsewhere.candidate_id is None
    assert audit_events(session, "candidate.add_nomination") == []


def test_add_nomination_not_eligible_is_refused(
    client: TestClient, session: Session, staff: Account, themes: tuple[Theme, Theme]
) -> None:
    youth, _ = themes
    candidate = make_candidate(session, staff, [make_nomination(session, youth)])
    received = make_nomination(session, youth, status=NominationStatus.received)

    response = post_form(
        client,
        f"/staff/candidates/{candidate.id}/nominations",
        {"nomination_id": str(received.id)},
    )

    assert response.status_code == 422
    assert "only eligible nominations can be grouped" in response.text
    session.refresh(received)
    assert received.candidate_id is None


def test_add_nomination_already_grouped_elsewhere_is_refused(
    client: TestClient, session: Session, staff: Account, themes: tuple[Theme, Theme]
) -> None:
    youth, _ = themes
    taken = make_nomination(session, youth)
    owner = make_candidate(session, staff, [taken])
    candidate = make_candidate(session, staff, [make_nomination(session, youth)])

    response = post_form(
        client,
        f"/staff/candidates/{candidate.id}/nominations",
        {"nomination_id": str(taken.id)},
    )

    assert response.status_code == 422
    assert f"already belongs to candidate {owner.id}" in response.text
    session.refresh(taken)
    assert taken.candidate_id == owner.id


def test_candidate_page_shows_nominations_nominators_and_independent_count(
    client: TestClient, session: Session, staff: Account, themes: tuple[Theme, Theme]
) -> None:
    youth, _ = themes
    nominations = [
        make_nomination(
            session, youth, nominator_email="ana@example.org", nominator_name="Ana Nominadora"
        ),
        make_nomination(
            session,
            youth,
            nominator_email="Ana@Example.org",
            nominee_name="LOPEZ RUIZ MARIA FERNANDA",
        ),
        make_nomination(session, youth, nominator_email="luis@example.org"),
    ]
    candidate = make_candidate(session, staff, nominations)
    nominations[2].status = NominationStatus.withdrawn
    session.add(nominations[2])
    session.commit()

    page = client.get(f"/staff/candidates/{candidate.id}")

    assert page.status_code == 200
    assert "<dt>Independent nominators</dt><dd>1</dd>" in page.text
    assert "<dt>Nominations</dt><dd>3</dd>" in page.text
    for nomination in nominations:
        assert f'href="/staff/nominations/{nomination.id}"' in page.text
    assert "LOPEZ RUIZ MARIA FERNANDA" in page.text
    assert "Ana Nominadora" in page.text
    assert "ana@example.org" not in page.text.lower()


def test_candidate_page_of_an_unknown_candidate_is_404(
    client: TestClient, staff: Account, themes: tuple[Theme, Theme]
) -> None:
    assert client.get("/staff/candidates/999").status_code == 404
    assert client.get("/staff/candidates/abc").status_code == 404
    assert client.get("/staff/candidates/99999999999").status_code == 404


# --- Merging and splitting ----------------------------------------------------------------------


def test_merge_moves_nominations_and_checks_then_deletes_the_other_and_is_audited(
    client: TestClient, session: Session, staff: Account, themes: tuple[Theme, Theme]
) -> None:
    youth, _ = themes
    kept_nomination = make_nomination(session, youth)
    target = make_candidate(session, staff, [kept_nomination])
    moving = [make_nomination(session, youth), make_nomination(session, youth)]
    source = make_candidate(session, staff, moving, checks=True)
    source_id = source.id

    response = post_form(
        client, f"/staff/candidates/{target.id}/merge", {"other_id": str(source_id)}
    )

    assert response.status_code == 303
    session.expire_all()
    assert session.get(Candidate, source_id) is None
    assert {n.candidate_id for n in session.exec(select(Nomination)).all()} == {target.id}
    checks = session.exec(select(VettingCheck)).all()
    assert len(checks) == 4
    assert {c.candidate_id for c in checks} == {target.id}
    [merged] = audit_events(session, "candidate.merge")
    assert merged.object_id == str(target.id)
    assert json.loads(merged.after)["nominations"] == [kept_nomination.id, *(n.id for n in moving)]
    assert json.loads(merged.after)["merged_from"] == source_id
    [deleted] = audit_events(session, "candidate.delete")
    assert deleted.object_id == str(source_id)
    assert len(audit_events(session, "nomination.candidate")) == 3 + 2  # grouped, then moved


def test_merge_candidates_of_different_themes_is_refused(
    client: TestClient, session: Session, staff: Account, themes: tuple[Theme, Theme]
) -> None:
    youth, sustainability = themes
    target = make_candidate(session, staff, [make_nomination(session, youth)])
    other = make_candidate(session, staff, [make_nomination(session, sustainability)])

    response = post_form(
        client, f"/staff/candidates/{target.id}/merge", {"other_id": str(other.id)}
    )

    assert response.status_code == 422
    assert "Only candidates of the same theme can be merged." in response.text
    assert count(session, Candidate) == 2
    assert audit_events(session, "candidate.merge") == []


def test_merge_away_a_finalist_is_refused(
    client: TestClient, session: Session, staff: Account, themes: tuple[Theme, Theme]
) -> None:
    youth, _ = themes
    target = make_candidate(session, staff, [make_nomination(session, youth)])
    finalist = make_candidate(
        session, staff, [make_nomination(session, youth)], status=VettingStatus.cleared, checks=True
    )
    assert finalist.id is not None
    session.add(
        Finalist(candidate_id=finalist.id, theme_id=finalist.theme_id, public_name=finalist.name)
    )
    session.commit()

    response = post_form(
        client, f"/staff/candidates/{target.id}/merge", {"other_id": str(finalist.id)}
    )

    assert response.status_code == 422
    assert "is a finalist" in response.text
    assert count(session, Candidate) == 2


def test_merge_of_a_flagged_candidate_flags_the_result(
    session: Session, themes: tuple[Theme, Theme]
) -> None:
    youth, _ = themes
    actor = make_account(session, Role.staff)
    target = make_candidate(session, actor, [make_nomination(session, youth)])
    flagged = make_candidate(
        session, actor, [make_nomination(session, youth)], status=VettingStatus.flagged
    )
    assert target.id is not None and flagged.id is not None

    merged = service.merge_candidates(
        session, actor=actor, target_id=target.id, source_id=flagged.id
    )

    assert merged.vetting_status is VettingStatus.flagged


def test_detach_nomination_ungroups_it_and_is_audited(
    client: TestClient, session: Session, staff: Account, themes: tuple[Theme, Theme]
) -> None:
    youth, _ = themes
    stays, leaves = make_nomination(session, youth), make_nomination(session, youth)
    candidate = make_candidate(session, staff, [stays, leaves])

    response = post_form(
        client, f"/staff/candidates/{candidate.id}/nominations/{leaves.id}/detach", {}
    )

    assert response.status_code == 303
    assert response.headers["location"] == f"/staff/candidates/{candidate.id}#nominations"
    session.refresh(leaves)
    session.refresh(stays)
    assert leaves.candidate_id is None
    assert stays.candidate_id == candidate.id
    [detached] = audit_events(session, "candidate.detach_nomination")
    assert json.loads(detached.before) == {"nominations": [stays.id, leaves.id]}
    assert json.loads(detached.after)["nominations"] == [stays.id]
    # It is waiting to be grouped again.
    assert f'href="/staff/nominations/{leaves.id}"' in client.get("/staff/candidates").text


def test_detach_the_last_nomination_deletes_the_candidate(
    client: TestClient, session: Session, staff: Account, themes: tuple[Theme, Theme]
) -> None:
    youth, _ = themes
    only = make_nomination(session, youth)
    candidate_id = make_candidate(session, staff, [only]).id

    response = post_form(
        client, f"/staff/candidates/{candidate_id}/nominations/{only.id}/detach", {}
    )

    assert response.status_code == 303
    assert response.headers["location"] == "/staff/candidates#ungrouped"
    assert count(session, Candidate) == 0
    session.refresh(only)
    assert only.candidate_id is None
    [deleted] = audit_events(session, "candidate.delete")
    assert deleted.object_id == str(candidate_id)


def test_detach_the_last_nomination_of_a_vetted_candidate_is_refused(
    client: TestClient, session: Session, staff: Account, themes: tuple[Theme, Theme]
) -> None:
    youth, _ = themes
    only = make_nomination(session, youth)
    candidate = make_candidate(session, staff, [only], checks=True)

    response = post_form(
        client, f"/staff/candidates/{candidate.id}/nominations/{only.id}/detach", {}
    )

    assert response.status_code == 422
    assert "vetting checks, which would be lost" in response.text
    session.refresh(only)
    assert only.candidate_id == candidate.id
    assert count(session, Candidate) == 1


def test_detach_a_nomination_of_another_candidate_is_404(
    client: TestClient, session: Session, staff: Account, themes: tuple[Theme, Theme]
) -> None:
    youth, _ = themes
    other = make_nomination(session, youth)
    make_candidate(session, staff, [other])
    candidate = make_candidate(session, staff, [make_nomination(session, youth)])

    response = post_form(
        client, f"/staff/candidates/{candidate.id}/nominations/{other.id}/detach", {}
    )

    assert response.status_code == 404
    session.refresh(other)
    assert other.candidate_id != candidate.id


# --- Vetting ------------------------------------------------------------------------------------


def today_in_mexico() -> date:
    return utcnow().astimezone(TIMEZONE).date()


def test_add_check_stores_a_dated_check_by_the_current_account_and_is_audited(
    client: TestClient, session: Session, staff: Account, themes: tuple[Theme, Theme]
) -> None:
    youth, _ = themes
    candidate = make_candidate(session, staff, [make_nomination(session, youth)])
    checked_on = today_in_mexico() - timedelta(days=2)

    response = post_form(
        client,
        f"/staff/candidates/{candidate.id}/checks",
        {
            "kind": "sanctions",
            "result": "clear",
            "checked_on": checked_on.isoformat(),
            "note": "  Sin registros en la SFP.  ",
        },
    )

    assert response.status_code == 303
    check = session.exec(select(VettingCheck)).one()
    assert (check.kind, check.result, check.checked_on, check.author_id, check.note) == (
        CheckKind.sanctions,
        CheckResult.clear,
        checked_on,
        staff.id,
        "Sin registros en la SFP.",
    )
    [added] = audit_events(session, "vetting.check_add")
    assert json.loads(added.after)["kind"] == "sanctions"
    page = client.get(f"/staff/candidates/{candidate.id}")
    assert "Sara Staff" in page.text
    assert "Sanctions registries" in page.text


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("checked_on", "tomorrow", "A check cannot be dated in the future."),
        ("checked_on", "31/02/2026", "Enter a date such as 2026-03-31."),
        ("checked_on", "1999-12-31", "Enter the date the check was made."),
        ("kind", "horoscope", "Choose one of the options."),
        ("result", "", "Choose one of the options."),
    ],
)
def test_add_check_with_bad_input_is_refused_beside_the_field_and_nothing_stored(
    client: TestClient,
    session: Session,
    staff: Account,
    themes: tuple[Theme, Theme],
    field: str,
    value: str,
    message: str,
) -> None:
    youth, _ = themes
    candidate = make_candidate(session, staff, [make_nomination(session, youth)])
    data = {
        "kind": "press",
        "result": "concern",
        "checked_on": today_in_mexico().isoformat(),
        "note": "Nota que se conserva",
    }
    data[field] = (
        (today_in_mexico() + timedelta(days=1)).isoformat() if value == "tomorrow" else value
    )

    response = post_form(client, f"/staff/candidates/{candidate.id}/checks", data)

    assert response.status_code == 422
    assert f'id="error-{field}"' in response.text
    error = response.text.split(f'id="error-{field}">')[1].split("</p>")[0]
    assert error == message or (message == "Choose one of the options." and "required" in error)
    assert "Nota que se conserva" in response.text
    assert count(session, VettingCheck) == 0
    assert audit_events(session, "vetting.check_add") == []


def test_candidate_page_lists_the_standard_checks_still_missing(
    client: TestClient, session: Session, staff: Account, themes: tuple[Theme, Theme]
) -> None:
    youth, _ = themes
    candidate = make_candidate(session, staff, [make_nomination(session, youth)])
    assert candidate.id is not None and staff.id is not None
    session.add(
        VettingCheck(
            candidate_id=candidate.id,
            kind=CheckKind.press,
            result=CheckResult.clear,
            checked_on=today_in_mexico(),
            author_id=staff.id,
        )
    )
    session.commit()

    page = client.get(f"/staff/candidates/{candidate.id}")

    missing = page.text.split("Standard checks still missing:")[1].split("</ul>")[0]
    assert "References contacted" in missing
    assert "Public records" in missing
    assert "Sanctions registries" in missing
    assert "Press review" not in missing


def test_clearing_a_candidate_without_the_standard_checks_is_refused(
    client: TestClient, session: Session, staff: Account, themes: tuple[Theme, Theme]
) -> None:
    youth, _ = themes
    candidate = make_candidate(session, staff, [make_nomination(session, youth)])

    response = post_form(client, f"/staff/candidates/{candidate.id}/vetting", {"status": "cleared"})

    assert response.status_code == 422
    assert 'id="error-status"' in response.text
    assert "Record the four standard checks before clearing" in response.text
    session.refresh(candidate)
    assert candidate.vetting_status is VettingStatus.pending
    assert audit_events(session, "vetting.status") == []


def test_clearing_a_candidate_with_a_disqualifying_check_is_refused(
    client: TestClient, session: Session, staff: Account, themes: tuple[Theme, Theme]
) -> None:
    youth, _ = themes
    candidate = make_candidate(session, staff, [make_nomination(session, youth)], checks=True)
    assert candidate.id is not None and staff.id is not None
    session.add(
        VettingCheck(
            candidate_id=candidate.id,
            kind=CheckKind.other,
            result=CheckResult.disqualifying,
            checked_on=today_in_mexico(),
            author_id=staff.id,
        )
    )
    session.commit()

    response = post_form(client, f"/staff/candidates/{candidate.id}/vetting", {"status": "cleared"})

    assert response.status_code == 422
    assert "disqualifying check cannot be cleared" in response.text
    session.refresh(candidate)
    assert candidate.vetting_status is VettingStatus.pending


def test_clearing_a_fully_checked_candidate_is_stored_and_audited(
    client: TestClient, session: Session, staff: Account, themes: tuple[Theme, Theme]
) -> None:
    youth, _ = themes
    candidate = make_candidate(session, staff, [make_nomination(session, youth)], checks=True)

    response = post_form(
        client,
        f"/staff/candidates/{candidate.id}/vetting",
        {"status": "cleared", "vetting_note": "Todo en orden."},
    )

    assert response.status_code == 303
    session.refresh(candidate)
    assert candidate.vetting_status is VettingStatus.cleared
    assert candidate.vetting_note == "Todo en orden."
    [changed] = audit_events(session, "vetting.status")
    assert changed.actor_id == staff.id
    assert json.loads(changed.before) == {"vetting_status": "pending", "vetting_note": ""}
    assert json.loads(changed.after) == {
        "vetting_status": "cleared",
        "vetting_note": "Todo en orden.",
    }


def test_flagging_a_candidate_needs_a_reason(
    client: TestClient, session: Session, staff: Account, themes: tuple[Theme, Theme]
) -> None:
    youth, _ = themes
    candidate = make_candidate(session, staff, [make_nomination(session, youth)])

    response = post_form(client, f"/staff/candidates/{candidate.id}/vetting", {"status": "flagged"})

    assert response.status_code == 422
    assert 'id="error-vetting_note"' in response.text
    session.refresh(candidate)
    assert candidate.vetting_status is VettingStatus.pending


def test_a_finalist_cannot_lose_its_cleared_status(
    client: TestClient, session: Session, staff: Account, themes: tuple[Theme, Theme]
) -> None:
    youth, _ = themes
    candidate = make_candidate(
        session, staff, [make_nomination(session, youth)], status=VettingStatus.cleared, checks=True
    )
    assert candidate.id is not None
    session.add(
        Finalist(candidate_id=candidate.id, theme_id=candidate.theme_id, public_name=candidate.name)
    )
    session.commit()

    response = post_form(
        client,
        f"/staff/candidates/{candidate.id}/vetting",
        {"status": "flagged", "vetting_note": "Nueva nota de prensa."},
    )

    assert response.status_code == 422
    assert "remove the finalist first" in response.text
    session.refresh(candidate)
    assert candidate.vetting_status is VettingStatus.cleared


# --- Grouping in one step -------------------------------------------------------------------


def test_group_many_groups_every_suggested_match_and_new_candidates_in_one_post(
    client: TestClient, session: Session, staff: Account, themes: tuple[Theme, Theme]
) -> None:
    youth, _ = themes
    candidate = make_candidate(
        session, staff, [make_nomination(session, youth, nominee_name="LOPEZ RUIZ MARIA FERNANDA")]
    )
    to_candidate = make_nomination(session, youth, nominee_name="Ma. Fernanda López Ruiz")
    pair = [
        make_nomination(session, youth, nominee_name=name, nominee_institution="SAT", state="JAL")
        for name in ("Pedro Infante Cruz", "PEDRO INFANTE CRUZ")
    ]
    alone = make_nomination(
        session, youth, nominee_name="Zoila Quintana", nominee_institution="IMSS", state="YUC"
    )
    page = client.get("/staff/candidates")
    values = [
        f"{to_candidate.id}:candidate:{candidate.id}",
        f"{pair[0].id}:nomination:{pair[1].id}",
        f"{pair[1].id}:nomination:{pair[0].id}",
        f"{alone.id}:new",
    ]
    for value in values:
        assert f'name="group" value="{value}" checked' in page.text

    response = client.post(
        "/staff/candidates/group-many",
        data={"csrf_token": csrf_token_from(page), "group": values},
        follow_redirects=False,
    )

    assert response.status_code == 303
    session.expire_all()
    grouped = {
        n.id: n.candidate_id
        for n in (session.get(Nomination, x.id) for x in [to_candidate, *pair, alone])
        if n
    }
    assert grouped[to_candidate.id] == candidate.id
    assert grouped[pair[0].id] == grouped[pair[1].id] not in (None, candidate.id)
    assert grouped[alone.id] not in (None, candidate.id, grouped[pair[0].id])
    assert count(session, Candidate) == 3
    assert len(audit_events(session, "candidate.create")) == 3  # the first one, the pair, alone
    assert len(audit_events(session, "candidate.add_nomination")) == 1
    assert (
        "Every eligible nomination belongs to a candidate." in client.get("/staff/candidates").text
    )


def test_group_many_refused_groups_nothing(
    client: TestClient, session: Session, staff: Account, themes: tuple[Theme, Theme]
) -> None:
    youth, _ = themes
    fine = make_nomination(session, youth, nominee_name="Zoila Quintana")
    received = make_nomination(session, youth, status=NominationStatus.received)
    token = csrf_token_from(client.get("/staff/candidates"))

    refused = client.post(
        "/staff/candidates/group-many",
        data={"csrf_token": token, "group": [f"{fine.id}:new", f"{received.id}:new"]},
        follow_redirects=False,
    )
    malformed = client.post(
        "/staff/candidates/group-many",
        data={"csrf_token": token, "group": ["1:drop table"]},
        follow_redirects=False,
    )

    assert refused.status_code == malformed.status_code == 422
    assert "is not marked eligible" in refused.text
    assert count(session, Candidate) == 0
    assert audit_events(session, "candidate.create") == []


# --- The checklist in one form ----------------------------------------------------------------


def test_checklist_records_the_four_checks_and_clears_in_one_post_each_audited(
    client: TestClient, session: Session, staff: Account, themes: tuple[Theme, Theme]
) -> None:
    youth, _ = themes
    candidate = make_candidate(session, staff, [make_nomination(session, youth)])
    checked_on = today_in_mexico() - timedelta(days=1)
    page = client.get(f"/staff/candidates/{candidate.id}")
    assert f'action="/staff/candidates/{candidate.id}/checklist"' in page.text
    kinds = ("references", "press", "public_records", "sanctions")

    response = post_form(
        client,
        f"/staff/candidates/{candidate.id}/checklist",
        {
            "checklist_on": checked_on.isoformat(),
            **{f"result_{kind}": "clear" for kind in kinds},
            **{f"note_{kind}": f"Revisado: {kind}." for kind in kinds},
            "new_status": "cleared",
            "status_note": "Todo en orden.",
        },
    )

    assert response.status_code == 303
    checks = session.exec(select(VettingCheck)).all()
    assert sorted(c.kind.value for c in checks) == sorted(kinds)
    assert {(c.result, c.checked_on, c.author_id) for c in checks} == {
        (CheckResult.clear, checked_on, staff.id)
    }
    assert {c.note for c in checks} == {f"Revisado: {kind}." for kind in kinds}
    assert len(audit_events(session, "vetting.check_add")) == 4
    [changed] = audit_events(session, "vetting.status")
    assert json.loads(changed.after)["vetting_status"] == "cleared"
    session.refresh(candidate)
    assert candidate.vetting_status is VettingStatus.cleared


def test_checklist_partial_records_only_the_chosen_checks_and_keeps_the_status(
    client: TestClient, session: Session, staff: Account, themes: tuple[Theme, Theme]
) -> None:
    youth, _ = themes
    candidate = make_candidate(session, staff, [make_nomination(session, youth)])

    response = post_form(
        client,
        f"/staff/candidates/{candidate.id}/checklist",
        {
            "checklist_on": today_in_mexico().isoformat(),
            "result_press": "concern",
            "new_status": "",
        },
    )

    assert response.status_code == 303
    [check] = session.exec(select(VettingCheck)).all()
    assert (check.kind, check.result) == (CheckKind.press, CheckResult.concern)
    session.refresh(candidate)
    assert candidate.vetting_status is VettingStatus.pending
    assert audit_events(session, "vetting.status") == []


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "Choose the result of at least one check, or a status."),
        ({"result_press": "clear", "new_status": "cleared"}, "Record the four standard checks"),
        ({"result_press": "clear", "new_status": "flagged"}, "Say why the candidate is flagged."),
        ({"result_press": "maybe"}, "Choose one of the options."),
    ],
)
def test_checklist_refused_records_nothing(
    client: TestClient,
    session: Session,
    staff: Account,
    themes: tuple[Theme, Theme],
    data: dict[str, str],
    message: str,
) -> None:
    youth, _ = themes
    candidate = make_candidate(session, staff, [make_nomination(session, youth)])

    response = post_form(
        client,
        f"/staff/candidates/{candidate.id}/checklist",
        {"checklist_on": today_in_mexico().isoformat(), **data},
    )

    assert response.status_code == 422
    assert message in response.text
    session.expire_all()
    assert session.exec(select(VettingCheck)).all() == []
    assert audit_events(session, "vetting.check_add") == []
