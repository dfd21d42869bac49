"""A finalist's dossier as a judge reads it: the nominations and references without anything
about the nominators, the vetting summary without its authors or notes, the evidence files
served as attachments only to a judge who may open the dossier."""

from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.models import (
    Account,
    Campaign,
    CheckKind,
    CheckResult,
    EvidenceFile,
    Finalist,
    MeetingStatus,
    Nomination,
    NominationStatus,
    Role,
    VettingCheck,
)
from tests.factories import (
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

PDF = make_pdf()
NOMINATOR = {
    "nominator_name": "Marcelina Nominadora Zyxwv",
    "nominator_email": "marcelina.zyxwv@example.org",
    "nominator_phone": "+52 55 1234 9876",
    "how_known": "Soy su hermana y trabajo en la oficina de enfrente.",
}


class Dossier:
    def __init__(self, session: Session) -> None:
        campaign, self.youth, self.sustainability = make_open_campaign(session)
        make_criteria(session, campaign, (2, 1))
        self.finalist = make_finalist(session, self.youth, public_name="Fernanda Finalista")
        self.neighbour = make_finalist(session, self.youth, public_name="Vecino Finalista")
        self.judge = make_judge(session, self.youth)
        self.meeting = make_meeting(session, campaign, [self.finalist, self.neighbour])

    def url(self, finalist: Finalist | None = None) -> str:
        finalist = finalist or self.finalist
        return f"/judges/meetings/{self.meeting.id}/finalists/{finalist.id}"


def nominate(
    client: TestClient,
    session: Session,
    finalist: Finalist,
    *,
    status: NominationStatus = NominationStatus.eligible,
    files: list[tuple[str, tuple[str, bytes, str]]] | None = None,
    **fields: str,
) -> Nomination:
    data = nomination_data(**({"sensitive_consent": "yes"} if files else {}), **fields)
    response = post_nomination(
        client, "youth", data, files=files, token=form_token(client, "youth")
    )
    assert response.status_code == 303, response.text
    session.expire_all()
    nomination = session.exec(select(Nomination).order_by(Nomination.id.desc())).first()  # type: ignore[union-attr]
    assert nomination is not None
    nomination.candidate_id = finalist.candidate_id
    nomination.status = status
    session.add(nomination)
    session.commit()
    return nomination


@pytest.fixture
def world(client: TestClient, session: Session) -> Dossier:
    return Dossier(session)


def signed_in(client: TestClient, session: Session, judge: Account) -> None:
    sign_in(client, session, judge)
    client.get("/?lang=en")


def test_dossier_shows_profile_nominations_and_references_but_never_the_nominator(
    client: TestClient, session: Session, world: Dossier
) -> None:
    nominate(
        client,
        session,
        world.finalist,
        achievement="Publicó todos los contratos de agua del municipio.",
        reference1_name="Refugio Referencia",
        reference1_contact="refugio@example.org",
        nominee_contact="nominada.privada@example.org",
        **NOMINATOR,
    )
    signed_in(client, session, world.judge)

    page = client.get(world.url())

    assert page.status_code == 200
    for shown in (
        "Fernanda Finalista",
        "defended everyone",  # the citation, in the judge's language
        "María Fernanda López Ruiz",  # the nominee, as the nomination names them
        "Publicó todos los contratos de agua del municipio.",
        "Refugio Referencia",
        "1 independent nominator.",
    ):
        assert shown in page.text
    # Staff vet, judges score: nobody's contact details reach a judge.
    contacts = ("refugio@example.org", "nominada.privada@example.org", "+52 228 555 0101")
    for secret in (*NOMINATOR.values(), *contacts, "Marcelina", "zyxwv", "Colleague"):
        assert secret not in page.text


def test_dossier_counts_independent_nominators_and_leaves_out_withdrawn_nominations(
    client: TestClient, session: Session, world: Dossier
) -> None:
    nominate(client, session, world.finalist, nominator_email="una@example.org")
    # The same person again (their address in other capitals) is not another nominator.
    nominate(client, session, world.finalist, nominator_email="UNA@example.org")
    nominate(client, session, world.finalist, nominator_email="otra@example.org")
    nominate(
        client,
        session,
        world.finalist,
        status=NominationStatus.withdrawn,
        nominator_email="retirada@example.org",
        achievement="Historia retirada por quien nominó.",
    )
    nominate(
        client,
        session,
        world.finalist,
        status=NominationStatus.ineligible,
        nominator_email="inelegible@example.org",
        achievement="Historia que no era elegible.",
    )
    signed_in(client, session, world.judge)

    page = client.get(world.url())

    assert "2 independent nominators." in page.text
    assert page.text.count("Nomination 3") == 1 and "Nomination 4" not in page.text
    assert "Historia retirada por quien nominó." not in page.text
    assert "Historia que no era elegible." not in page.text


def test_dossier_shows_vetting_status_and_checks_without_author_or_notes(
    client: TestClient, session: Session, world: Dossier
) -> None:
    author = make_account(session, Role.staff, name="Autora Verificadora Qwerty")
    session.add(
        VettingCheck(
            candidate_id=world.finalist.candidate_id,
            kind=CheckKind.sanctions,
            result=CheckResult.clear,
            note="Nota interna: llamé a quien nominó.",
            checked_on=date(2026, 3, 14),
            author_id=author.id,
        )
    )
    session.commit()
    signed_in(client, session, world.judge)

    page = client.get(world.url())

    assert "Cleared" in page.text
    assert "Sanction registries" in page.text and "Clear" in page.text
    assert "March 14, 2026" in page.text
    assert "Autora Verificadora Qwerty" not in page.text
    assert "Nota interna" not in page.text


def test_dossier_file_is_served_as_an_attachment_that_never_runs(
    client: TestClient, session: Session, world: Dossier
) -> None:
    nominate(
        client,
        session,
        world.finalist,
        files=[("evidence", ("oficio de prueba.pdf", PDF, "application/pdf"))],
    )
    stored = session.exec(select(EvidenceFile)).one()
    signed_in(client, session, world.judge)
    page = client.get(world.url())
    link = f"{world.url()}/files/{stored.id}"

    response = client.get(link)

    assert link in page.text
    assert "oficio de prueba.pdf" in page.text and "PDF" in page.text
    assert response.status_code == 200
    assert response.content == PDF
    assert response.headers["content-type"].startswith("application/pdf")
    assert response.headers["content-disposition"].startswith("attachment;")
    assert "oficio" in response.headers["content-disposition"]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["content-security-policy"] == "sandbox; default-src 'none'"
    assert response.headers["cache-control"] == "no-store"


def test_dossier_file_is_refused_to_a_recused_judge_and_outside_the_dossier(
    client: TestClient, session: Session, world: Dossier
) -> None:
    nominate(
        client,
        session,
        world.finalist,
        files=[("evidence", ("oficio.pdf", PDF, "application/pdf"))],
    )
    stored = session.exec(select(EvidenceFile)).one()
    other_theme = make_judge(session, world.sustainability)
    recused = make_judge(session, world.youth)
    declare_conflict(session, recused, world.finalist)

    signed_in(client, session, world.judge)
    # The file through another finalist's dossier, or one that does not exist.
    assert client.get(f"{world.url(world.neighbour)}/files/{stored.id}").status_code == 404
    assert client.get(f"{world.url()}/files/999999").status_code == 404
    signed_in(client, session, recused)
    assert client.get(f"{world.url()}/files/{stored.id}").status_code == 403
    signed_in(client, session, other_theme)
    assert client.get(f"{world.url()}/files/{stored.id}").status_code == 404


def test_dossier_file_of_withdrawn_nomination_is_404(
    client: TestClient, session: Session, world: Dossier
) -> None:
    nominate(
        client,
        session,
        world.finalist,
        status=NominationStatus.withdrawn,
        files=[("evidence", ("retirado.pdf", PDF, "application/pdf"))],
    )
    stored = session.exec(select(EvidenceFile)).one()
    signed_in(client, session, world.judge)

    assert "retirado.pdf" not in client.get(world.url()).text
    assert client.get(f"{world.url()}/files/{stored.id}").status_code == 404


def test_dossier_file_in_a_draft_meeting_is_404(
    client: TestClient, session: Session, world: Dossier
) -> None:
    nominate(
        client,
        session,
        world.finalist,
        files=[("evidence", ("oficio.pdf", PDF, "application/pdf"))],
    )
    stored = session.exec(select(EvidenceFile)).one()
    campaign = session.get(Campaign, world.youth.campaign_id)
    assert campaign is not None
    draft = make_meeting(session, campaign, [world.finalist], number=2, status=MeetingStatus.draft)
    signed_in(client, session, world.judge)

    response = client.get(f"/judges/meetings/{draft.id}/finalists/{world.finalist.id}")
    download = client.get(
        f"/judges/meetings/{draft.id}/finalists/{world.finalist.id}/files/{stored.id}"
    )

    assert response.status_code == 404
    assert download.status_code == 404
