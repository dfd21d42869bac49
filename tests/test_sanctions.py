"""Screening an edition against the sanction lists, as staff use it: planted true matches are
raised with readable reasons and look-alikes are not; staff confirm and dismiss with everything
recorded; a finalist with an open match cannot be announced; judges and the public see none of
it."""

import json
import re
from dataclasses import dataclass

from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from app.config import Settings
from app.models import (
    Account,
    AuditEvent,
    Campaign,
    CandidateIdentity,
    CheckKind,
    CheckResult,
    Finalist,
    MatchStatus,
    Nomination,
    NominationNote,
    Role,
    SanctionEntry,
    SanctionMatch,
    SanctionScreening,
    Theme,
    VettingCheck,
    utcnow,
)
from app.services.candidates.sanctions.matches import match_groups, matches_table
from app.services.candidates.sanctions.screening import screen_edition
from tests.factories import (
    csrf_token_from,
    make_account,
    make_candidate,
    make_finalist,
    make_judge,
    make_meeting,
    make_open_campaign,
    nomination_data,
    post_nomination,
    sign_in,
)
from tests.test_publishing import close_the_call
from tests.test_sanctions_import import FIXTURES, load
from tests.test_staff_candidates import make_nomination

# Nominees who are on a list (name as nominated -> list, registry id).
TRUE_MATCHES = {
    "Rogelio Esteban Zambrano Villaseñor": ("OFAC SDN", "1001"),
    "Griselda Treviño Salas": ("OFAC SDN", "1002"),  # a former name (f.k.a.) in ALT.CSV
    "Héctor Manuel Ibarra": ("OFAC SDN", "1006"),  # second surname left out
    "LUZ ELENA PAREDES ONTIVEROS": ("PDN servidores públicos sancionados", "PDN-0001"),
    "Javier Salgado Moreno": ("SAT 69-B", "SAMJ800101AB1"),
    "Rosalba Muñoz Ávila": ("SAT 69-B", "MUAR750620CD3"),
    "Ramiro Garza Treviño": ("state_list", "EST-1"),
}
# Other people who look like them.
LOOK_ALIKES = [
    "Luz Elena Paredes Quintana",
    "Rogelio Esteban Zambrano Ruiz",
    "Javiera Salgado Moreno",
    "Javier Delgado Moreno",
    "Ernesto Villalobos Díaz",
    "Griselda Ochoa Méndez",
]


def import_fixtures(session: Session, settings: Settings) -> None:
    load(session, settings, "ofac-sdn", FIXTURES / "SDN.CSV", aliases=FIXTURES / "ALT.CSV")
    load(session, settings, "pdn-s3", FIXTURES / "pdn_s3.json")
    load(session, settings, "sat-69b", FIXTURES / "sat_69b.csv")
    load(session, settings, "csv", FIXTURES / "state_list.csv")


@dataclass
class Edition:
    campaign: Campaign
    youth: Theme
    staff: Account


def edition(client: TestClient, session: Session) -> Edition:
    campaign, youth, _ = make_open_campaign(session)
    staff = make_account(session, Role.staff, name="Persona Staff")
    sign_in(client, session, staff)
    return Edition(campaign, youth, staff)


def open_pairs(session: Session, campaign: Campaign) -> dict[str, set[tuple[str, str]]]:
    session.rollback()
    assert campaign.id is not None
    found: dict[str, set[tuple[str, str]]] = {}
    for row in matches_table(session, campaign_id=campaign.id, status=MatchStatus.open):
        found.setdefault(row[2], set()).add((row[3], row[4]))
    return found


def test_screening_raises_every_planted_match_and_no_look_alike(
    client: TestClient, session: Session, settings: Settings
) -> None:
    world = edition(client, session)
    for name in [*TRUE_MATCHES, *LOOK_ALIKES]:
        make_nomination(session, world.youth, nominee_name=name)
    # The same name as a listed man, but a young woman: not him.
    make_nomination(
        session,
        world.youth,
        nominee_name="Héctor Manuel Ibarra Solís",
        nominee_age=24,
        nominee_gender="man",
    )

    import_fixtures(session, settings)

    found = open_pairs(session, world.campaign)
    assert {name: pairs for name, pairs in found.items()} == {
        name: {pair} for name, pair in TRUE_MATCHES.items()
    }
    page = client.get("/staff/sanctions")
    assert page.status_code == 200
    assert "Rogelio Esteban Zambrano Villaseñor" in page.text
    assert "ZAMBRANO VILLASENOR, Rogelio Esteban" in page.text
    assert "Griselda Treviño Salas" in page.text
    assert "TREVINO SALAS, Griselda" in page.text  # the alias it matched through
    assert "Luz Elena Paredes Quintana" not in page.text
    assert "(7)" in page.text  # seven open


def test_screening_reasons_say_which_names_matched_and_which_are_missing(
    client: TestClient, session: Session, settings: Settings
) -> None:
    world = edition(client, session)
    nomination = make_nomination(session, world.youth, nominee_name="Héctor Manuel Ibarra")
    import_fixtures(session, settings)
    match = session.exec(
        select(SanctionMatch).where(SanctionMatch.nomination_id == nomination.id)
    ).one()

    page = client.get(f"/staff/sanctions/matches/{match.id}?lang=en")

    assert page.status_code == 200
    text = re.sub(r"\s+", " ", page.text)
    assert "Names that correspond: Héctor = Hector; Manuel = Manuel; Ibarra = IBARRA" in text
    assert "Only the list has: SOLIS." in text
    assert "Former Mayor" in text
    assert match.score == 90


def test_new_nomination_is_screened_after_its_receipt(
    client: TestClient, session: Session, settings: Settings
) -> None:
    make_open_campaign(session)
    import_fixtures(session, settings)

    response = post_nomination(
        client,
        "sustainability",
        data=nomination_data(nominee_name="Luz Elena Paredes Ontiveros", nominee_age="47"),
    )

    assert response.status_code == 303
    session.rollback()
    nomination = session.exec(select(Nomination)).one()
    match = session.exec(select(SanctionMatch)).one()
    assert match.nomination_id == nomination.id
    assert match.status is MatchStatus.open
    assert session.exec(
        select(SanctionScreening).where(SanctionScreening.nomination_id == nomination.id)
    ).one()
    event = session.exec(
        select(AuditEvent).where(
            AuditEvent.action == "sanctions.screen", AuditEvent.object_type == "nomination"
        )
    ).one()
    assert json.loads(event.after)["new_matches"] == 1
    # The receipt says nothing of it.
    receipt = client.get(response.headers["location"])
    assert "PDN" not in receipt.text and "sancion" not in receipt.text.lower()


def _decide(client: TestClient, match_id: int, action: str, **data: str) -> object:
    page = client.get(f"/staff/sanctions/matches/{match_id}")
    return client.post(
        f"/staff/sanctions/matches/{match_id}/{action}",
        data={"csrf_token": csrf_token_from(page), **data},
        follow_redirects=False,
    )


def test_confirm_on_a_candidate_records_a_sanctions_vetting_check(
    client: TestClient, session: Session, settings: Settings
) -> None:
    world = edition(client, session)
    candidate = make_candidate(session, world.youth, name="Javier Salgado Moreno")
    make_nomination(
        session, world.youth, nominee_name="Javier Salgado Moreno", candidate_id=candidate.id
    )
    import_fixtures(session, settings)
    match = session.exec(
        select(SanctionMatch).where(SanctionMatch.nomination_id.is_not(None))
    ).one()  # type: ignore[union-attr]

    response = _decide(
        client,
        match.id,
        "confirm",
        result="disqualifying",
        note="Mismo RFC en el SAT.",
        back="candidate",
    )

    assert response.status_code == 303  # type: ignore[attr-defined]
    assert response.headers["location"] == f"/staff/candidates/{candidate.id}#sanctions"  # type: ignore[attr-defined]
    session.rollback()
    check = session.exec(select(VettingCheck)).one()
    assert (check.candidate_id, check.kind, check.result) == (
        candidate.id,
        CheckKind.sanctions,
        CheckResult.disqualifying,
    )
    assert "SAT 69-B · SAMJ800101AB1 · SALGADO MORENO JAVIER" in check.note
    assert "Mismo RFC en el SAT." in check.note
    assert check.author_id == world.staff.id
    for row in session.exec(select(SanctionMatch)).all():
        assert row.status is MatchStatus.confirmed
        assert row.vetting_check_id == check.id
    actions = set(session.exec(select(AuditEvent.action)).all())
    assert {"sanctions.match_confirm", "vetting.check_add", "sanctions.import"} <= actions
    page = client.get(f"/staff/candidates/{candidate.id}")
    assert "Sanctions registries" in page.text or "Registros de sanciones" in page.text
    assert "SALGADO MORENO JAVIER" in page.text


def test_confirm_on_an_ungrouped_nomination_leaves_a_note(
    client: TestClient, session: Session, settings: Settings
) -> None:
    world = edition(client, session)
    nomination = make_nomination(session, world.youth, nominee_name="Ramiro Garza Treviño")
    import_fixtures(session, settings)
    match = session.exec(select(SanctionMatch)).one()

    response = _decide(client, match.id, "confirm", result="concern", note="")

    assert response.status_code == 303  # type: ignore[attr-defined]
    session.rollback()
    note = session.exec(select(NominationNote)).one()
    assert note.nomination_id == nomination.id
    assert "EST-1" in note.body
    assert session.exec(select(VettingCheck)).all() == []


def test_dismissed_pair_is_not_raised_again_unless_the_entry_changes(
    client: TestClient, session: Session, settings: Settings
) -> None:
    world = edition(client, session)
    make_nomination(session, world.youth, nominee_name="Luz Elena Paredes Ontiveros")
    import_fixtures(session, settings)
    match = session.exec(select(SanctionMatch)).one()

    response = _decide(client, match.id, "dismiss", note="Otra fecha de nacimiento y otro estado.")

    assert response.status_code == 303  # type: ignore[attr-defined]
    session.rollback()
    screen_edition(session, campaign=world.campaign, settings=settings, actor=None, now=utcnow())
    session.commit()
    assert open_pairs(session, world.campaign) == {}
    event = session.exec(
        select(AuditEvent).where(AuditEvent.action == "sanctions.match_dismiss")
    ).one()
    assert json.loads(event.after)["note"] == "Otra fecha de nacimiento y otro estado."
    assert event.actor_id == world.staff.id

    # Importing the same file again changes nothing; a newer text of the entry is raised again.
    load(session, settings, "pdn-s3", FIXTURES / "pdn_s3.json")
    assert open_pairs(session, world.campaign) == {}
    changed = (FIXTURES / "pdn_s3.json").read_text().replace("2029-11-05", "2031-11-05")
    load(session, settings, "pdn-s3", changed, file_name="pdn_s3_2.json")
    assert open_pairs(session, world.campaign) == {
        "Luz Elena Paredes Ontiveros": {("PDN servidores públicos sancionados", "PDN-0001")}
    }
    old = session.get(SanctionMatch, match.id)
    assert old is not None and old.status is MatchStatus.dismissed  # the decision stays


def test_dismiss_without_a_reason_is_refused_and_changes_nothing(
    client: TestClient, session: Session, settings: Settings
) -> None:
    world = edition(client, session)
    make_nomination(session, world.youth, nominee_name="Ramiro Garza Treviño")
    import_fixtures(session, settings)
    match = session.exec(select(SanctionMatch)).one()

    response = _decide(client, match.id, "dismiss", note="  ")

    assert response.status_code == 422  # type: ignore[attr-defined]
    assert "Indica por qué esta entrada es otra persona." in response.text  # type: ignore[attr-defined]
    session.rollback()
    assert session.get(SanctionMatch, match.id).status is MatchStatus.open  # type: ignore[union-attr]


def test_decision_applies_to_the_candidate_and_its_nominations(
    client: TestClient, session: Session, settings: Settings
) -> None:
    world = edition(client, session)
    candidate = make_candidate(session, world.youth, name="Ramiro Garza Treviño")
    for spelling in ("Ramiro Garza Treviño", "RAMIRO DE LA GARZA TREVIÑO"):
        make_nomination(session, world.youth, nominee_name=spelling, candidate_id=candidate.id)
    import_fixtures(session, settings)
    assert candidate.id is not None
    groups = match_groups(session, campaign_id=world.campaign.id or 0, candidate_id=candidate.id)
    assert len(groups) == 1 and len(groups[0].rows) == 3  # candidate and two nominations

    _decide(client, groups[0].id, "dismiss", note="Homónimo, otra generación.")

    session.rollback()
    statuses = {row.status for row in session.exec(select(SanctionMatch)).all()}
    assert statuses == {MatchStatus.dismissed}
    # A new nomination of the same person joins later: still decided.
    late = make_nomination(
        session, world.youth, nominee_name="Ramiro Garza", candidate_id=candidate.id
    )
    screen_edition(session, campaign=world.campaign, settings=settings, actor=None, now=utcnow())
    session.commit()
    assert session.exec(select(SanctionMatch).where(SanctionMatch.nomination_id == late.id)).one()
    assert open_pairs(session, world.campaign) == {}


def test_identifier_recorded_in_vetting_is_matched_first(
    client: TestClient, session: Session, settings: Settings
) -> None:
    world = edition(client, session)
    candidate = make_candidate(session, world.youth, name="Jorge A. Cárdenas")
    import_fixtures(session, settings)
    assert open_pairs(session, world.campaign) == {}
    page = client.get(f"/staff/sanctions/candidates/{candidate.id}")

    response = client.post(
        f"/staff/sanctions/candidates/{candidate.id}/identity",
        data={"csrf_token": csrf_token_from(page), "rfc": "capj-650415-ab1", "curp": ""},
        follow_redirects=False,
    )

    assert response.status_code == 303
    session.rollback()
    identity = session.get(CandidateIdentity, candidate.id)
    assert identity is not None and identity.rfc == "CAPJ650415AB1"
    match = session.exec(select(SanctionMatch)).one()
    assert (match.candidate_id, match.score) == (candidate.id, 100)
    assert json.loads(match.reasons) == [
        {"code": "identifier", "kind": "RFC", "value": "CAPJ650415AB1"}
    ]
    event = session.exec(select(AuditEvent).where(AuditEvent.action == "vetting.identity")).one()
    assert "CAPJ" not in event.after  # the trail says what changed, not the value
    shown = client.get(f"/staff/sanctions/candidates/{candidate.id}")
    assert "Same RFC: CAPJ650415AB1" in shown.text or "Mismo RFC: CAPJ650415AB1" in shown.text


def test_identity_with_an_invalid_curp_is_refused_beside_the_field(
    client: TestClient, session: Session, settings: Settings
) -> None:
    world = edition(client, session)
    candidate = make_candidate(session, world.youth, name="Ana Prueba")
    page = client.get(f"/staff/sanctions/candidates/{candidate.id}")

    response = client.post(
        f"/staff/sanctions/candidates/{candidate.id}/identity",
        data={"csrf_token": csrf_token_from(page), "curp": "NOESUNACURP", "rfc": ""},
    )

    assert response.status_code == 422
    assert 'id="error-curp"' in response.text
    assert 'value="NOESUNACURP"' in response.text
    session.rollback()
    assert session.get(CandidateIdentity, candidate.id) is None


def _close_the_call(session: Session, world: Edition) -> None:
    """Announcing needs the call closed (the stage guard), which these tests are not about."""
    themes = session.exec(select(Theme).where(Theme.campaign_id == world.campaign.id)).all()
    close_the_call(session, world.campaign, *themes)


def _announce(client: TestClient) -> object:
    page = client.get("/staff/publishing/finalists")
    previewed = page.text.split('name="previewed" value="', 1)[1].split('"', 1)[0]
    return client.post(
        "/staff/publishing/finalists/announce",
        data={"csrf_token": csrf_token_from(page), "previewed": previewed},
        follow_redirects=False,
    )


def test_finalist_with_an_open_match_cannot_be_announced_until_it_is_decided(
    client: TestClient, session: Session, settings: Settings
) -> None:
    world = edition(client, session)
    listed = make_finalist(
        session,
        world.youth,
        candidate=make_candidate(session, world.youth, name="Rosalba Muñoz Ávila"),
    )
    clean = make_finalist(session, world.youth, public_name="Persona Sin Coincidencias")
    for finalist in (listed, clean):
        candidate_name = finalist.public_name
        make_nomination(
            session, world.youth, nominee_name=candidate_name, candidate_id=finalist.candidate_id
        )
    import_fixtures(session, settings)
    _close_the_call(session, world)

    refused = _announce(client)

    assert refused.status_code == 409  # type: ignore[attr-defined]
    assert "Rosalba Muñoz Ávila" in refused.text  # type: ignore[attr-defined]
    assert "Persona Sin Coincidencias" not in refused.text  # type: ignore[attr-defined]
    session.rollback()
    assert session.get(Campaign, world.campaign.id).finalists_announced_at is None  # type: ignore[union-attr]

    group = match_groups(session, campaign_id=world.campaign.id or 0, status=MatchStatus.open)[0]
    _decide(client, group.id, "dismiss", note="Otra persona: RFC distinto.")
    announced = _announce(client)

    assert announced.status_code == 303  # type: ignore[attr-defined]


def test_finalist_not_screened_against_the_current_lists_cannot_be_announced(
    client: TestClient, session: Session, settings: Settings
) -> None:
    world = edition(client, session)
    import_fixtures(session, settings)
    finalist = make_finalist(session, world.youth, public_name="Nadia Nueva Ruiz")
    make_nomination(
        session, world.youth, nominee_name="Nadia Nueva Ruiz", candidate_id=finalist.candidate_id
    )

    _close_the_call(session, world)

    refused = _announce(client)
    page = client.get("/staff/sanctions")
    client.post("/staff/sanctions/screen", data={"csrf_token": csrf_token_from(page)})
    announced = _announce(client)

    assert refused.status_code == 409  # type: ignore[attr-defined]
    assert "Nadia Nueva Ruiz" in refused.text  # type: ignore[attr-defined]
    assert announced.status_code == 303  # type: ignore[attr-defined]


def test_judges_and_the_public_never_see_matches(
    client: TestClient, session: Session, settings: Settings
) -> None:
    world = edition(client, session)
    finalist = make_finalist(
        session,
        world.youth,
        candidate=make_candidate(session, world.youth, name="Griselda Treviño Salas"),
    )
    make_nomination(
        session,
        world.youth,
        nominee_name="Griselda Treviño Salas",
        candidate_id=finalist.candidate_id,
    )
    import_fixtures(session, settings)
    meeting = make_meeting(session, world.campaign, [finalist])
    judge = make_judge(session, world.youth)
    assert session.exec(select(SanctionMatch)).all()

    sign_in(client, session, judge)
    dossier = client.get(f"/judges/meetings/{meeting.id}/finalists/{finalist.id}")
    queue = client.get("/staff/sanctions", follow_redirects=False)
    client.cookies.clear()
    public = [client.get(path) for path in ("/", "/finalists", "/results")]

    assert dossier.status_code == 200
    assert queue.status_code == 403
    for page in [dossier, *public]:
        for secret in ("OCHOA MEDINA", "TREVINO SALAS", "SDNTK", "OFAC"):
            assert secret not in page.text


def test_upload_each_format_at_staff_sanctions(
    client: TestClient, session: Session, settings: Settings
) -> None:
    edition(client, session)
    uploads = [
        ("ofac-sdn", "", [("file", "SDN.CSV"), ("aliases", "ALT.CSV")], "OFAC SDN"),
        ("pdn-s3", "", [("file", "pdn_s3.json")], "PDN servidores públicos sancionados"),
        ("sat-69b", "", [("file", "sat_69b.csv")], "SAT 69-B"),
        ("csv", "Registro estatal", [("file", "state_list.csv")], "Registro estatal"),
    ]
    for source, name, files, shown in uploads:
        page = client.get("/staff/sanctions")
        response = client.post(
            "/staff/sanctions/import",
            data={"csrf_token": csrf_token_from(page), "source": source, "name": name},
            files=[
                (field, (file_name, (FIXTURES / file_name).read_bytes(), "text/csv"))
                for field, file_name in files
            ],
            follow_redirects=False,
        )
        assert response.status_code == 303, response.text
        listing = client.get(response.headers["location"])
        assert shown in listing.text
    session.rollback()
    versions = session.exec(select(SanctionEntry.source_id).distinct()).all()
    assert len(versions) == 4
    importer = session.exec(select(AuditEvent).where(AuditEvent.action == "sanctions.import")).all()
    assert len(importer) == 4


def test_upload_of_a_bad_file_is_refused_naming_the_line_and_stores_nothing(
    client: TestClient, session: Session, settings: Settings
) -> None:
    edition(client, session)
    page = client.get("/staff/sanctions?lang=en")
    bad = b"name,type\nAna Uno,person\nBeto Dos,alien\n"

    response = client.post(
        "/staff/sanctions/import",
        data={"csrf_token": csrf_token_from(page), "source": "csv", "name": "Mala"},
        files=[("file", ("mala.csv", bad, "text/csv"))],
    )

    assert response.status_code == 422
    assert "Line 3: type “alien” should be person or organisation." in response.text
    session.rollback()
    assert session.exec(select(SanctionEntry)).all() == []
    assert session.exec(select(col(Finalist.id))).all() == []


def test_candidate_merged_away_takes_its_identifiers_and_own_matches_with_it(
    client: TestClient, session: Session, settings: Settings
) -> None:
    from app.forms.sanctions import IdentityForm
    from app.services.candidates.grouping import merge_candidates
    from app.services.candidates.sanctions.adjudication import set_identity

    world = edition(client, session)
    import_fixtures(session, settings)
    kept = make_candidate(session, world.youth, name="Jorge Cárdenas Ponce")
    merged = make_candidate(session, world.youth, name="Jorge A. Cárdenas")
    for candidate in (kept, merged):
        make_nomination(
            session, world.youth, nominee_name=candidate.name, candidate_id=candidate.id
        )
    assert merged.id is not None and kept.id is not None
    set_identity(
        session,
        actor=world.staff,
        candidate_id=merged.id,
        form=IdentityForm(rfc="CAPJ650415AB1"),
        settings=settings,
        now=utcnow(),
    )
    session.commit()
    assert session.exec(select(SanctionMatch).where(SanctionMatch.candidate_id == merged.id)).all()

    merge_candidates(session, actor=world.staff, target_id=kept.id, source_id=merged.id)
    session.commit()

    assert session.get(CandidateIdentity, merged.id) is None
    assert (
        session.exec(select(SanctionMatch).where(SanctionMatch.candidate_id == merged.id)).all()
        == []
    )
    # The nominations follow the candidate kept, and are screened under it.
    screen_edition(session, campaign=world.campaign, settings=settings, actor=None, now=utcnow())
    session.commit()
    groups = match_groups(session, campaign_id=world.campaign.id or 0, candidate_id=kept.id)
    assert [g.entry.external_id for g in groups] == ["1003"]
