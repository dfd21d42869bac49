"""PDFs that could act on a reader's computer (JavaScript, files inside, launch and automatic
actions) or that nobody could open (a password) are refused with the reason; the others are
kept exactly as sent (issue 20)."""

import hashlib
import io
from collections.abc import Callable

import pikepdf
import pytest
from fastapi.testclient import TestClient
from pikepdf import Array, Dictionary, Name, String
from sqlmodel import Session, func, select

from app.config import Settings
from app.models import EvidenceFile, Nomination
from app.services.files import EvidenceRejected, clean_upload
from tests.factories import make_open_campaign, make_pdf, nomination_data, post_nomination

Change = Callable[[pikepdf.Pdf], None]


def pdf_with(change: Change, **save: object) -> bytes:
    """A one-page PDF written by qpdf, after `change`."""
    pdf = pikepdf.new()
    pdf.add_blank_page()
    change(pdf)
    out = io.BytesIO()
    pdf.save(out, **save)  # type: ignore[arg-type]  # the keywords pikepdf's save takes
    return out.getvalue()


def javascript(code: str = "app.alert(1)") -> Dictionary:
    return Dictionary(S=Name.JavaScript, JS=String(code))


def first_page(pdf: pikepdf.Pdf) -> pikepdf.Object:
    return pdf.pages[0].obj


def link(pdf: pikepdf.Pdf, action: Dictionary) -> None:
    annotation = Dictionary(Type=Name.Annot, Subtype=Name.Link, Rect=[0, 0, 100, 100], A=action)
    first_page(pdf).Annots = Array([pdf.make_indirect(annotation)])


def open_action_javascript(pdf: pikepdf.Pdf) -> None:
    pdf.Root.OpenAction = javascript()


def javascript_name_tree(pdf: pikepdf.Pdf) -> None:
    script = pdf.make_indirect(javascript())
    pdf.Root.Names = Dictionary(JavaScript=Dictionary(Names=Array([String("start"), script])))


def javascript_after_a_goto(pdf: pikepdf.Pdf) -> None:
    destination = Array([first_page(pdf), Name.Fit])
    link(pdf, Dictionary(S=Name.GoTo, D=destination, Next=javascript()))


def xfa_form(pdf: pikepdf.Pdf) -> None:
    pdf.Root.AcroForm = Dictionary(Fields=Array([]), XFA=Array([]))


def attached_file(pdf: pikepdf.Pdf) -> None:
    pdf.attachments["factura.exe"] = pikepdf.AttachedFileSpec(pdf, b"MZ\x90\x00 not a real program")


def launch_link(pdf: pikepdf.Pdf) -> None:
    link(pdf, Dictionary(S=Name.Launch, F=String("calc.exe")))


def submit_form_link(pdf: pikepdf.Pdf) -> None:
    link(pdf, Dictionary(S=Name.SubmitForm, F=String("https://example.org/collect")))


def launch_in_outline(pdf: pikepdf.Pdf) -> None:
    item = pdf.make_indirect(
        Dictionary(Title=String("Capítulo 1"), A=Dictionary(S=Name.GoToR, F=String("otro.pdf")))
    )
    outlines = pdf.make_indirect(Dictionary(Type=Name.Outlines, First=item, Last=item, Count=1))
    item.Parent = outlines
    pdf.Root.Outlines = outlines


def open_action_web_address(pdf: pikepdf.Pdf) -> None:
    pdf.Root.OpenAction = Dictionary(S=Name.URI, URI=String("https://example.org/phish"))


def page_opens_web_address(pdf: pikepdf.Pdf) -> None:
    first_page(pdf).AA = Dictionary(O=Dictionary(S=Name.URI, URI=String("https://example.org")))


@pytest.mark.parametrize(
    ("change", "code"),
    [
        (open_action_javascript, "pdf_javascript"),
        (javascript_name_tree, "pdf_javascript"),
        (javascript_after_a_goto, "pdf_javascript"),
        (xfa_form, "pdf_javascript"),
        (attached_file, "pdf_embedded"),
        (launch_link, "pdf_launch"),
        (submit_form_link, "pdf_launch"),
        (launch_in_outline, "pdf_launch"),
        (open_action_web_address, "pdf_automatic"),
        (page_opens_web_address, "pdf_automatic"),
    ],
)
def test_pdf_with_active_content_is_refused_with_its_reason(change: Change, code: str) -> None:
    data = pdf_with(change)

    with pytest.raises(EvidenceRejected) as refused:
        clean_upload(data, "oficio.pdf", max_bytes=10**7, max_pixels=10**7)

    assert refused.value.code == code
    assert refused.value.filename == "oficio.pdf"


def test_pdf_hidden_in_object_streams_is_still_read() -> None:
    """Compressed object streams hide every name from a byte search; qpdf reads them."""
    data = pdf_with(open_action_javascript, object_stream_mode=pikepdf.ObjectStreamMode.generate)
    assert b"/JavaScript" not in data

    with pytest.raises(EvidenceRejected) as refused:
        clean_upload(data, "oficio.pdf", max_bytes=10**7, max_pixels=10**7)

    assert refused.value.code == "pdf_javascript"


def test_pdf_with_a_password_is_refused() -> None:
    data = pdf_with(lambda pdf: None, encryption=pikepdf.Encryption(user="clave", owner="dueña"))

    with pytest.raises(EvidenceRejected) as refused:
        clean_upload(data, "oficio.pdf", max_bytes=10**7, max_pixels=10**7)

    assert refused.value.code == "pdf_encrypted"


def test_pdf_that_qpdf_cannot_read_is_refused_as_damaged() -> None:
    data = b"%PDF-1.4\n" + b"\x00\xff" * 500 + b"\n%%EOF\n"

    with pytest.raises(EvidenceRejected) as refused:
        clean_upload(data, "oficio.pdf", max_bytes=10**7, max_pixels=10**7)

    assert refused.value.code == "corrupt"


def ordinary_document(pdf: pikepdf.Pdf) -> None:
    """What office programs write: open at the first page, links within and to the web, an
    outline, and an action chain that loops back on itself."""
    page = first_page(pdf)
    pdf.Root.OpenAction = Array([page, Name.Fit])
    looping = pdf.make_indirect(Dictionary(S=Name.GoTo, D=Array([page, Name.Fit])))
    looping.Next = looping
    web = Dictionary(S=Name.URI, URI=String("https://example.org/informe"))
    page.Annots = Array(
        [
            pdf.make_indirect(
                Dictionary(Type=Name.Annot, Subtype=Name.Link, Rect=[0, 0, 9, 9], A=action)
            )
            for action in (web, looping)
        ]
    )
    item = pdf.make_indirect(Dictionary(Title=String("Inicio"), A=looping))
    pdf.Root.Outlines = pdf.make_indirect(Dictionary(First=item, Last=item, Count=1))


def test_ordinary_pdf_is_kept_exactly_as_sent() -> None:
    data = pdf_with(ordinary_document)

    kept = clean_upload(data, "informe.pdf", max_bytes=10**7, max_pixels=10**7)

    assert kept.content == data
    assert kept.content_type == "application/pdf"


def test_pdf_sent_as_a_photo_is_refused_as_the_wrong_type_unread() -> None:
    with pytest.raises(EvidenceRejected) as refused:
        clean_upload(
            pdf_with(open_action_javascript),
            "retrato.jpg",
            max_bytes=10**7,
            max_pixels=10**7,
            allow_pdf=False,
        )

    assert refused.value.code == "type"


def test_nomination_with_javascript_pdf_shows_why_and_keeps_the_form(
    client: TestClient, session: Session, settings: Settings
) -> None:
    make_open_campaign(session)
    client.get("/?lang=en")
    typed = nomination_data(sensitive_consent="yes", achievement="Publicó los contratos.")
    refused = pdf_with(open_action_javascript)

    response = post_nomination(
        client,
        data=typed,
        files=[
            ("evidence", ("contratos.pdf", refused, "application/pdf")),
            ("evidence", ("oficio.pdf", make_pdf("bueno"), "application/pdf")),
        ],
    )

    assert response.status_code == 422
    error = response.text.split('id="error-evidence"', 1)[1].split("</p>", 1)[0]
    assert "contratos.pdf contains JavaScript" in error
    assert "Save as PDF" in error
    assert "Publicó los contratos." in response.text
    session.expire_all()
    assert session.exec(select(func.count()).select_from(Nomination)).one() == 0
    assert session.exec(select(func.count()).select_from(EvidenceFile)).one() == 0
    # The good file may be kept for the form (issue 21); the refused one is nowhere on disk.
    on_disk = [p.read_bytes() for p in settings.files_dir.rglob("*") if p.is_file()]
    assert refused not in on_disk


def test_nomination_with_ordinary_pdf_is_stored_as_sent(
    client: TestClient, session: Session, settings: Settings
) -> None:
    make_open_campaign(session)
    data = pdf_with(ordinary_document)

    response = post_nomination(
        client,
        data=nomination_data(sensitive_consent="yes"),
        files=[("evidence", ("informe.pdf", data, "application/pdf"))],
    )

    assert response.status_code == 303
    session.expire_all()
    file = session.exec(select(EvidenceFile)).one()
    assert file.sha256 == hashlib.sha256(data).hexdigest()
