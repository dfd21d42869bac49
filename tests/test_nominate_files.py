"""Evidence files attached to a nomination: checked by content, cleaned, stored by hash."""

import hashlib
import io
import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from PIL import Image
from sqlmodel import Session, func, select

from app.config import Settings
from app.models import EvidenceFile, Nomination, Theme
from app.services.files import FileStore, sweep_held_files
from tests.factories import (
    csrf_token_from,
    form_token,
    make_open_campaign,
    make_pdf,
    nomination_data,
    post_nomination,
)

PDF = make_pdf()
ELF = b"\x7fELF\x02\x01\x01" + b"\x00" * 200
SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'


def jpeg_with_gps() -> bytes:
    image = Image.new("RGB", (64, 48), (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "SpyCam Inc."  # Make
    exif[0x013B] = "Fotógrafa Secreta"  # Artist
    exif[0x8825] = {1: "N", 2: (19.0, 25.0, 42.0), 3: "W", 4: (99.0, 7.0, 36.0)}  # GPS
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


@pytest.fixture
def themes(session: Session) -> tuple[Theme, Theme]:
    _, youth, sustainability = make_open_campaign(session)
    return youth, sustainability


def stored_files(session: Session) -> list[EvidenceFile]:
    session.expire_all()
    return list(session.exec(select(EvidenceFile).order_by(EvidenceFile.position)).all())


def files_on_disk(settings: Settings) -> list[str]:
    """The store's files, not those kept for a refused form (held_on_disk)."""
    root = settings.files_dir
    if not root.exists():
        return []
    held = root / "held"
    return sorted(p.name for p in root.rglob("*") if p.is_file() and held not in p.parents)


def held_on_disk(settings: Settings) -> list[str]:
    held = settings.files_dir / "held"
    return sorted(p.name for p in held.rglob("*") if p.is_file()) if held.exists() else []


def nominations(session: Session) -> int:
    session.expire_all()
    return int(session.exec(select(func.count()).select_from(Nomination)).one())


def test_nomination_with_pdf_and_image_stores_both_by_hash(
    client: TestClient, session: Session, settings: Settings, themes: tuple[Theme, Theme]
) -> None:
    response = post_nomination(
        client,
        data=nomination_data(sensitive_consent="yes"),
        files=[
            ("evidence", ("oficio.pdf", PDF, "application/pdf")),
            ("evidence", ("foto.jpg", jpeg_with_gps(), "image/jpeg")),
        ],
    )

    assert response.status_code == 303
    pdf, jpeg = stored_files(session)
    assert (pdf.content_type, pdf.original_name, pdf.sha256) == (
        "application/pdf",
        "oficio.pdf",
        hashlib.sha256(PDF).hexdigest(),
    )
    assert jpeg.content_type == "image/jpeg"
    store = FileStore(settings.files_dir)
    for file in (pdf, jpeg):
        content = store.path_for(file.sha256).read_bytes()
        assert hashlib.sha256(content).hexdigest() == file.sha256
        assert not str(store.path_for(file.sha256)).startswith(str(settings.data_dir / "static"))
    assert session.exec(select(Nomination)).one().sensitive_consent_at is not None
    assert "2 archivos" in client.get(response.headers["location"]).text


def test_nomination_image_is_stored_without_location_or_camera(
    client: TestClient, session: Session, settings: Settings, themes: tuple[Theme, Theme]
) -> None:
    original = jpeg_with_gps()
    assert b"SpyCam" in original

    post_nomination(
        client,
        data=nomination_data(sensitive_consent="yes"),
        files=[("evidence", ("foto.jpg", original, "image/jpeg"))],
    )

    [file] = stored_files(session)
    stored = FileStore(settings.files_dir).path_for(file.sha256).read_bytes()
    assert b"SpyCam" not in stored
    assert b"Secreta" not in stored
    reopened = Image.open(io.BytesIO(stored))
    assert dict(reopened.getexif()) == {}
    assert reopened.size == (64, 48)


@pytest.mark.parametrize(
    ("name", "content", "declared"),
    [
        ("programa.pdf", ELF, "application/pdf"),
        ("dibujo.svg", SVG, "image/svg+xml"),
        ("dibujo.png", SVG, "image/png"),
        ("pagina.pdf", b"<html><body>hola</body></html>", "application/pdf"),
    ],
)
def test_nomination_file_of_wrong_type_is_refused_by_content(
    client: TestClient,
    session: Session,
    settings: Settings,
    themes: tuple[Theme, Theme],
    name: str,
    content: bytes,
    declared: str,
) -> None:
    response = post_nomination(
        client,
        data=nomination_data(sensitive_consent="yes"),
        files=[("evidence", (name, content, declared))],
    )

    assert response.status_code == 422
    error = response.text.split('id="error-evidence"', 1)[1].split("</p>", 1)[0]
    assert name in error
    assert "PDF, JPEG, PNG" in error
    assert nominations(session) == 0
    assert files_on_disk(settings) == []


def test_nomination_file_over_limit_is_refused_with_413(
    client: TestClient, session: Session, settings: Settings, themes: tuple[Theme, Theme]
) -> None:
    big = b"%PDF-1.4\n" + b"0" * settings.max_file_bytes + b"\n%%EOF\n"

    response = post_nomination(
        client,
        data=nomination_data(sensitive_consent="yes"),
        files=[("evidence", ("grande.pdf", big, "application/pdf"))],
    )

    assert response.status_code == 413
    assert "10 MB" in response.text
    assert nominations(session) == 0
    assert files_on_disk(settings) == []


def test_nomination_file_over_limit_shows_the_form_again_as_typed(
    client: TestClient, session: Session, settings: Settings, themes: tuple[Theme, Theme]
) -> None:
    big = b"%PDF-1.4\n" + b"0" * settings.max_file_bytes + b"\n%%EOF\n"
    story = "Una historia larga. " * 240  # a 4,800-character story
    data = nomination_data(sensitive_consent="yes", achievement=story)
    response = post_nomination(
        client,
        data=data,
        files=[
            ("evidence", ("oficio.pdf", PDF, "application/pdf")),
            ("evidence", ("foto-del-telefono.pdf", big, "application/pdf")),
        ],
    )

    assert response.status_code == 413
    assert story.strip() in response.text
    assert "Roberto Sánchez" in response.text
    error = response.text.split('id="error-evidence"', 1)[1].split("</p>", 1)[0]
    assert "foto-del-telefono.pdf" in error
    assert "10 MB" in error
    assert nominations(session) == 0
    assert files_on_disk(settings) == []


def test_nomination_files_over_the_total_show_the_form_again_as_typed(
    client: TestClient, session: Session, settings: Settings, themes: tuple[Theme, Theme]
) -> None:
    nine_mb = make_pdf(size=9 * 1024 * 1024)
    files = [("evidence", (f"foto{i}.pdf", nine_mb, "application/pdf")) for i in range(3)]

    response = post_nomination(client, data=nomination_data(sensitive_consent="yes"), files=files)

    assert response.status_code == 413
    assert "María Fernanda López Ruiz" in response.text
    error = response.text.split('id="error-evidence"', 1)[1].split("</p>", 1)[0]
    assert "foto2.pdf" in error
    assert "25 MB" in error
    assert nominations(session) == 0
    assert files_on_disk(settings) == []


def test_nomination_too_many_files_is_refused(
    client: TestClient, session: Session, settings: Settings, themes: tuple[Theme, Theme]
) -> None:
    files = [("evidence", (f"f{i}.pdf", PDF + bytes([i]), "application/pdf")) for i in range(6)]

    response = post_nomination(client, data=nomination_data(sensitive_consent="yes"), files=files)

    assert response.status_code == 422
    assert nominations(session) == 0
    assert files_on_disk(settings) == []


def test_nomination_files_need_express_consent_and_leave_no_orphan(
    client: TestClient, session: Session, settings: Settings, themes: tuple[Theme, Theme]
) -> None:
    response = post_nomination(client, files=[("evidence", ("oficio.pdf", PDF, "application/pdf"))])

    assert response.status_code == 422
    assert 'id="error-sensitive_consent"' in response.text
    assert nominations(session) == 0
    assert files_on_disk(settings) == []


def test_nomination_repeated_with_files_stores_one_copy(
    client: TestClient, session: Session, settings: Settings, themes: tuple[Theme, Theme]
) -> None:
    token = form_token(client, "youth")
    files = [("evidence", ("oficio.pdf", PDF, "application/pdf"))]
    data = nomination_data(sensitive_consent="yes")

    first = post_nomination(client, data=data, files=files, token=token)
    second = post_nomination(client, data=data, files=files, token=token)

    assert first.headers["location"] == second.headers["location"]
    assert len(stored_files(session)) == 1
    assert len(files_on_disk(settings)) == 1


def test_nomination_malformed_multipart_is_a_clear_400(
    client: TestClient, session: Session, themes: tuple[Theme, Theme]
) -> None:
    client.get("/nominate/youth")
    response = client.post(
        "/nominate/youth",
        content=b'--xyz\r\nContent-Disposition: form-data; name="a"\r\n\r\nunterminated',
        headers={"content-type": "multipart/form-data; boundary=xyz"},
    )

    assert response.status_code == 400
    assert "<h1>" in response.text
    assert nominations(session) == 0


def test_nomination_body_declared_too_large_is_refused_before_reading(
    client: TestClient, session: Session, themes: tuple[Theme, Theme]
) -> None:
    response = client.post(
        "/nominate/youth",
        content=b"x" * 100,
        headers={
            "content-type": "multipart/form-data; boundary=xyz",
            "content-length": str(200 * 1024 * 1024),
        },
    )

    assert response.status_code == 413
    assert nominations(session) == 0


def hidden_value(page: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]+)"', page)
    assert match, f"the page has no {name}"
    return match.group(1)


def send_again(client: TestClient, refused: Response, **fields: str) -> Response:
    """The refused form sent again as the browser would: its token, its origin, no new file."""
    data = nomination_data(form_origin=hidden_value(refused.text, "form_origin"), **fields)
    return post_nomination(client, data=data, token=csrf_token_from(refused))


def test_files_of_a_refused_nomination_are_kept_and_sent_with_the_corrected_form(
    client: TestClient, session: Session, settings: Settings, themes: tuple[Theme, Theme]
) -> None:
    refused = post_nomination(
        client,
        data=nomination_data(sensitive_consent="yes", nominee_name=""),
        files=[("evidence", ("oficio.pdf", PDF, "application/pdf"))],
    )
    assert refused.status_code == 422
    assert "oficio.pdf" in refused.text.split('id="attached-evidence"', 1)[1]
    assert 'name="remove_file"' in refused.text

    response = send_again(client, refused, sensitive_consent="yes")

    assert response.status_code == 303
    receipt = client.get(response.headers["location"])
    assert "1 archivo" in receipt.text
    assert [f.original_name for f in stored_files(session)] == ["oficio.pdf"]
    assert held_on_disk(settings) == []  # kept for the form until it was stored


def test_a_kept_file_can_be_removed_before_sending(
    client: TestClient, session: Session, settings: Settings, themes: tuple[Theme, Theme]
) -> None:
    refused = post_nomination(
        client,
        data=nomination_data(nominee_name=""),
        files=[("evidence", ("oficio.pdf", PDF, "application/pdf"))],
    )
    sha = hidden_value(refused.text, "remove_file")

    removed = send_again(client, refused, nominee_name="", remove_file=sha)

    assert removed.status_code == 200
    assert 'id="attached-evidence"' not in removed.text
    assert "Roberto Sánchez" in removed.text  # what was typed stays
    assert held_on_disk(settings) == []
    response = send_again(client, removed)
    assert response.status_code == 303
    assert stored_files(session) == []


def test_files_kept_for_an_expired_form_are_purged(
    client: TestClient, session: Session, settings: Settings, themes: tuple[Theme, Theme]
) -> None:
    post_nomination(
        client,
        data=nomination_data(nominee_name=""),
        files=[("evidence", ("oficio.pdf", PDF, "application/pdf"))],
    )
    assert held_on_disk(settings) != []

    assert sweep_held_files(settings.files_dir, older_than=timedelta(hours=1)) == 0
    assert sweep_held_files(settings.files_dir, older_than=timedelta(seconds=-1)) == 1
    assert held_on_disk(settings) == []
