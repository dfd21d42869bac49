"""Finalists: chosen among cleared candidates, their public profile and its photo."""

import io
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from PIL import ExifTags, Image
from sqlalchemy import Engine
from sqlmodel import Session, select

from app.config import Settings
from app.models import (
    Account,
    AuditEvent,
    Candidate,
    ConflictDeclaration,
    Finalist,
    Role,
    Theme,
    VettingStatus,
)
from app.services.files import FileStore
from app.services.nominations.intake import sweep_orphan_files
from tests.factories import csrf_token_from, make_account, make_open_campaign, make_pdf, sign_in
from tests.test_staff_candidates import (
    audit_events,
    count,
    make_candidate,
    make_nomination,
)

PDF = make_pdf()


def jpeg_with_gps() -> bytes:
    image = Image.new("RGB", (64, 48), (30, 120, 60))
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "SpyCam Inc."
    exif[ExifTags.Base.Artist] = "Fotógrafa Secreta"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (19.0, 25.0, 42.0)
    gps[ExifTags.GPS.GPSLongitudeRef] = "W"
    gps[ExifTags.GPS.GPSLongitude] = (99.0, 7.0, 36.0)
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


def files_on_disk(settings: Settings) -> list[Path]:
    root = settings.files_dir
    if not root.exists():
        return []
    return sorted(p for p in root.rglob("*") if p.is_file() and p.parent.name != "tmp")


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


def post(
    client: TestClient,
    url: str,
    data: dict[str, str],
    files: list[tuple[str, tuple[str, bytes, str]]] | None = None,
) -> Response:
    token = csrf_token_from(client.get("/staff/finalists"))
    return client.post(url, data={**data, "csrf_token": token}, files=files, follow_redirects=False)


def cleared_candidate(
    session: Session, staff: Account, theme: Theme, **overrides: Any
) -> Candidate:
    nomination = make_nomination(session, theme, **overrides)
    return make_candidate(session, staff, [nomination], status=VettingStatus.cleared, checks=True)


def make_finalist(session: Session, staff: Account, theme: Theme) -> Finalist:
    candidate = cleared_candidate(session, staff, theme)
    assert candidate.id is not None
    finalist = Finalist(
        candidate_id=candidate.id,
        theme_id=candidate.theme_id,
        public_name=candidate.name,
        public_institution=candidate.institution,
    )
    session.add(finalist)
    session.commit()
    return finalist


# --- Choosing -----------------------------------------------------------------------------------


def test_choose_a_cleared_candidate_drafts_the_profile_and_is_audited(
    client: TestClient, session: Session, staff: Account, themes: tuple[Theme, Theme]
) -> None:
    youth, _ = themes
    candidate = cleared_candidate(
        session, staff, youth, nominee_position="Jefa de Compras", nominee_name="Ana Ruiz Soto"
    )

    response = post(client, "/staff/finalists", {"candidate_id": str(candidate.id)})

    finalist = session.exec(select(Finalist)).one()
    assert response.status_code == 303
    assert response.headers["location"] == f"/staff/finalists/{finalist.id}"
    assert (finalist.candidate_id, finalist.theme_id) == (candidate.id, youth.id)
    assert (finalist.public_name, finalist.public_position, finalist.public_institution) == (
        "Ana Ruiz Soto",
        "Jefa de Compras",
        "Ayuntamiento de Xalapa",
    )
    [created] = audit_events(session, "finalist.create")
    assert created.actor_id == staff.id
    assert json.loads(created.after)["candidate_id"] == candidate.id


@pytest.mark.parametrize("status", [VettingStatus.pending, VettingStatus.flagged])
def test_choose_a_candidate_not_cleared_is_refused(
    client: TestClient,
    session: Session,
    staff: Account,
    themes: tuple[Theme, Theme],
    status: VettingStatus,
) -> None:
    youth, _ = themes
    candidate = make_candidate(
        session, staff, [make_nomination(session, youth)], status=status, checks=True
    )

    response = post(client, "/staff/finalists", {"candidate_id": str(candidate.id)})

    assert response.status_code == 422
    assert "Only candidates whose vetting is cleared can become finalists." in response.text
    assert count(session, Finalist) == 0
    assert audit_events(session, "finalist.create") == []


def test_choose_the_same_candidate_twice_is_refused(
    client: TestClient, session: Session, staff: Account, themes: tuple[Theme, Theme]
) -> None:
    youth, _ = themes
    finalist = make_finalist(session, staff, youth)

    response = post(client, "/staff/finalists", {"candidate_id": str(finalist.candidate_id)})

    assert response.status_code == 422
    assert "This candidate is already a finalist." in response.text
    assert count(session, Finalist) == 1


def test_choose_an_unknown_candidate_is_404(
    client: TestClient, session: Session, staff: Account, themes: tuple[Theme, Theme]
) -> None:
    response = post(client, "/staff/finalists", {"candidate_id": "4242"})

    assert response.status_code == 404
    assert count(session, Finalist) == 0


def test_finalists_page_lists_finalists_per_theme_and_cleared_candidates_to_choose(
    client: TestClient, session: Session, staff: Account, themes: tuple[Theme, Theme]
) -> None:
    youth, sustainability = themes
    finalist = make_finalist(session, staff, youth)
    waiting = cleared_candidate(session, staff, sustainability, nominee_name="Eva Cleared Díaz")
    pending = make_candidate(
        session, staff, [make_nomination(session, sustainability, nominee_name="Pia Pending")]
    )

    page = client.get("/staff/finalists")

    assert page.status_code == 200
    youth_part, sustainability_part = page.text.split('id="theme-sustainability"')
    assert f'href="/staff/finalists/{finalist.id}"' in youth_part
    assert f'<option value="{waiting.id}">Eva Cleared Díaz' in sustainability_part
    assert f'value="{pending.id}"' not in page.text
    assert "1 candidate of this theme is not cleared yet." in sustainability_part


# --- Removing -----------------------------------------------------------------------------------


def test_remove_a_finalist_deletes_it_keeps_the_candidate_and_is_audited(
    client: TestClient, session: Session, staff: Account, themes: tuple[Theme, Theme]
) -> None:
    youth, _ = themes
    finalist = make_finalist(session, staff, youth)
    finalist_id, candidate_id = finalist.id, finalist.candidate_id

    response = post(client, f"/staff/finalists/{finalist_id}/remove", {})

    assert response.status_code == 303
    assert count(session, Finalist) == 0
    assert session.get(Candidate, candidate_id) is not None
    [removed] = audit_events(session, "finalist.remove")
    assert removed.object_id == str(finalist_id)
    assert json.loads(removed.before)["candidate_id"] == candidate_id


def test_remove_a_finalist_the_judging_refers_to_is_refused(
    client: TestClient, session: Session, staff: Account, themes: tuple[Theme, Theme]
) -> None:
    youth, _ = themes
    finalist = make_finalist(session, staff, youth)
    judge = make_account(session, Role.judge)
    assert finalist.id is not None and judge.id is not None and staff.id is not None
    session.add(
        ConflictDeclaration(
            judge_id=judge.id, finalist_id=finalist.id, has_conflict=False, recorded_by_id=judge.id
        )
    )
    session.commit()

    response = post(client, f"/staff/finalists/{finalist.id}/remove", {})

    assert response.status_code == 422
    assert "can no longer be removed" in response.text
    assert count(session, Finalist) == 1
    assert audit_events(session, "finalist.remove") == []


# --- The profile --------------------------------------------------------------------------------


def profile_data(**changes: str) -> dict[str, str]:
    return {
        "public_name": "María Fernanda López Ruiz",
        "public_position": "Directora de Agua Potable",
        "public_institution": "Ayuntamiento de Xalapa",
        "citation_es": "Denunció un desvío de fondos.",
        "citation_en": "She reported a diversion of funds.",
        **changes,
    }


def test_profile_change_is_normalised_stored_and_audited_by_field(
    client: TestClient, session: Session, staff: Account, themes: tuple[Theme, Theme]
) -> None:
    youth, _ = themes
    finalist = make_finalist(session, staff, youth)
    assert finalist.public_name == "María Fernanda López Ruiz"

    response = post(
        client,
        f"/staff/finalists/{finalist.id}",
        # The same name typed with a combining accent and spaces around it: no change.
        profile_data(
            public_name="  Mari\u0301a Fernanda López Ruiz ", citation_es="Línea 1\r\nLínea 2"
        ),
    )

    assert response.status_code == 303
    session.refresh(finalist)
    assert finalist.public_name == "María Fernanda López Ruiz"
    assert finalist.citation_es == "Línea 1\nLínea 2"
    assert finalist.public_position == "Directora de Agua Potable"
    [changed] = audit_events(session, "finalist.profile")
    assert changed.actor_id == staff.id
    before, after = json.loads(changed.before), json.loads(changed.after)
    assert set(after) == {"public_position", "citation_es", "citation_en"}
    assert before == {"public_position": "", "citation_es": "", "citation_en": ""}
    assert after["citation_es"] == "Línea 1\nLínea 2"


def test_profile_with_a_citation_too_long_is_refused_and_kept(
    client: TestClient, session: Session, staff: Account, themes: tuple[Theme, Theme]
) -> None:
    youth, _ = themes
    finalist = make_finalist(session, staff, youth)

    response = post(
        client,
        f"/staff/finalists/{finalist.id}",
        profile_data(citation_en="x" * 2001, public_position="Nuevo cargo escrito"),
    )

    assert response.status_code == 422
    assert 'id="error-citation_en"' in response.text
    assert "Nuevo cargo escrito" in response.text
    session.refresh(finalist)
    assert finalist.citation_en == ""
    assert audit_events(session, "finalist.profile") == []


def test_profile_without_a_public_name_is_refused(
    client: TestClient, session: Session, staff: Account, themes: tuple[Theme, Theme]
) -> None:
    youth, _ = themes
    finalist = make_finalist(session, staff, youth)

    response = post(client, f"/staff/finalists/{finalist.id}", profile_data(public_name="   "))

    assert response.status_code == 422
    assert 'id="error-public_name"' in response.text


def test_photo_is_stored_without_its_metadata_served_inline_and_audited_by_hash(
    client: TestClient,
    session: Session,
    settings: Settings,
    staff: Account,
    themes: tuple[Theme, Theme],
) -> None:
    youth, _ = themes
    finalist = make_finalist(session, staff, youth)
    original = jpeg_with_gps()

    response = post(
        client,
        f"/staff/finalists/{finalist.id}",
        profile_data(),
        files=[("photo", ("retrato.jpg", original, "image/jpeg"))],
    )

    assert response.status_code == 303
    session.refresh(finalist)
    assert len(finalist.photo_sha256) == 64
    stored = FileStore(settings.files_dir).path_for(finalist.photo_sha256).read_bytes()
    assert stored != original
    for telltale in (b"SpyCam", "Fotógrafa".encode(), b"Exif\x00\x00"):
        assert telltale not in stored
    with Image.open(io.BytesIO(stored)) as image:
        assert image.format == "JPEG"
        assert len(image.getexif()) == 0
        assert not image.getexif().get_ifd(ExifTags.IFD.GPSInfo)
    [changed] = audit_events(session, "finalist.profile")
    assert json.loads(changed.after)["photo_sha256"] == finalist.photo_sha256
    assert json.loads(changed.before)["photo_sha256"] == ""

    served = client.get(f"/staff/finalists/{finalist.id}/photo")

    assert served.status_code == 200
    assert served.content == stored
    assert served.headers["content-type"] == "image/jpeg"
    assert served.headers["x-content-type-options"] == "nosniff"
    assert served.headers["content-security-policy"] == "default-src 'none'"
    assert served.headers["content-disposition"] == "inline"
    assert (
        f'src="/staff/finalists/{finalist.id}/photo'
        in client.get(f"/staff/finalists/{finalist.id}").text
    )


def test_a_pdf_as_photo_is_refused_and_nothing_is_stored(
    client: TestClient,
    session: Session,
    settings: Settings,
    staff: Account,
    themes: tuple[Theme, Theme],
) -> None:
    youth, _ = themes
    finalist = make_finalist(session, staff, youth)

    response = post(
        client,
        f"/staff/finalists/{finalist.id}",
        profile_data(public_position="Cargo nuevo"),
        files=[("photo", ("retrato.jpg", PDF, "image/jpeg"))],
    )

    assert response.status_code == 422
    assert 'id="error-photo"' in response.text
    assert "The photo must be a JPEG, PNG or WebP image." in response.text
    session.refresh(finalist)
    assert finalist.photo_sha256 == ""
    assert finalist.public_position == ""
    assert files_on_disk(settings) == []
    assert audit_events(session, "finalist.profile") == []


def test_removing_the_photo_clears_it(
    client: TestClient, session: Session, staff: Account, themes: tuple[Theme, Theme]
) -> None:
    youth, _ = themes
    finalist = make_finalist(session, staff, youth)
    post(
        client,
        f"/staff/finalists/{finalist.id}",
        profile_data(),
        files=[("photo", ("retrato.jpg", jpeg_with_gps(), "image/jpeg"))],
    )

    response = post(client, f"/staff/finalists/{finalist.id}", profile_data(remove_photo="yes"))

    assert response.status_code == 303
    session.refresh(finalist)
    assert finalist.photo_sha256 == ""
    assert client.get(f"/staff/finalists/{finalist.id}/photo").status_code == 404


def test_photo_of_a_finalist_without_one_is_404(
    client: TestClient, session: Session, staff: Account, themes: tuple[Theme, Theme]
) -> None:
    youth, _ = themes
    finalist = make_finalist(session, staff, youth)

    assert client.get(f"/staff/finalists/{finalist.id}/photo").status_code == 404
    assert client.get("/staff/finalists/999/photo").status_code == 404
    assert client.get("/staff/finalists/999").status_code == 404


def test_photo_survives_the_orphan_file_sweep(
    client: TestClient,
    session: Session,
    engine: Engine,
    settings: Settings,
    staff: Account,
    themes: tuple[Theme, Theme],
) -> None:
    youth, _ = themes
    finalist = make_finalist(session, staff, youth)
    post(
        client,
        f"/staff/finalists/{finalist.id}",
        profile_data(),
        files=[("photo", ("retrato.jpg", jpeg_with_gps(), "image/jpeg"))],
    )
    session.refresh(finalist)
    store = FileStore(settings.files_dir)

    sweep_orphan_files(engine, store, older_than=timedelta(seconds=-1))

    assert store.path_for(finalist.photo_sha256).exists()


def test_nothing_here_is_visible_to_a_judge(
    client: TestClient, session: Session, themes: tuple[Theme, Theme]
) -> None:
    youth, _ = themes
    staff = make_account(session, Role.staff)
    finalist = make_finalist(session, staff, youth)
    sign_in(client, session, make_account(session, Role.judge))

    assert client.get(f"/staff/finalists/{finalist.id}").status_code == 403
    assert client.get(f"/staff/finalists/{finalist.id}/photo").status_code == 403
    events = session.exec(select(AuditEvent).where(AuditEvent.action == "access.denied")).all()
    assert len(events) == 2
