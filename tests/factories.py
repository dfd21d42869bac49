"""Plain functions that make what a test needs; keyword overrides change any field."""

import re
import secrets
from datetime import date, timedelta
from typing import Any

from fastapi.testclient import TestClient
from httpx import Response
from sqlmodel import Session

from app.models import (
    Account,
    Campaign,
    Candidate,
    ConflictDeclaration,
    ConsentChannel,
    ConsentStatus,
    Criterion,
    Finalist,
    FinalistConsent,
    JudgeAssignment,
    Meeting,
    MeetingFinalist,
    MeetingStatus,
    Role,
    Theme,
    VettingStatus,
    utcnow,
)
from app.services.accounts.accounts import hash_password
from app.services.accounts.sessions import start_session
from app.web.cookies import cookie_name
from app.web.deps import SESSION_COOKIE

DEFAULT_PASSWORD = "una frase de prueba larga"
# Hashed once: Argon2 is slow on purpose, and most tests need accounts, not hashing.
DEFAULT_PASSWORD_HASH = hash_password(DEFAULT_PASSWORD)


def make_campaign(session: Session, **overrides: Any) -> Campaign:
    today = date.today()
    values: dict[str, Any] = {
        "year": today.year,
        "title_es": "Integrity Icon México de prueba",
        "title_en": "Integrity Icon Mexico test",
        "intro_es": "Reconocemos la integridad.",
        "intro_en": "We celebrate integrity.",
        "nominations_open_on": today - timedelta(days=7),
        "nominations_close_on": today + timedelta(days=30),
        "screening_until": today + timedelta(days=40),
        "vetting_until": today + timedelta(days=50),
        "finalists_on": today + timedelta(days=60),
        "deliberation_on": today + timedelta(days=70),
        "results_on": today + timedelta(days=80),
        **overrides,
    }
    campaign = Campaign(**values)
    session.add(campaign)
    session.flush()
    return campaign


def make_theme(session: Session, campaign: Campaign, **overrides: Any) -> Theme:
    now = utcnow()
    values: dict[str, Any] = {
        "campaign_id": campaign.id,
        "slug": "sustainability",
        "name_es": "Sustentabilidad",
        "name_en": "Sustainability",
        "description_es": "Cuidan lo de todos.",
        "description_en": "They protect what belongs to all.",
        "eligibility_es": "Personas en el servicio público.",
        "eligibility_en": "People in public service.",
        "opens_at": now - timedelta(days=1),
        "closes_at": now + timedelta(days=30),
        **overrides,
    }
    theme = Theme(**values)
    session.add(theme)
    session.flush()
    return theme


def make_open_campaign(session: Session) -> tuple[Campaign, Theme, Theme]:
    """The shape of the real campaign: a Youth theme with an age limit and a Sustainability one."""
    campaign = make_campaign(session)
    youth = make_theme(
        session,
        campaign,
        slug="youth",
        name_es="Jóvenes",
        name_en="Youth",
        max_age=35,
        position=1,
        eligibility_es="Personas de 35 años o menos.",
        eligibility_en="People aged 35 or younger.",
    )
    sustainability = make_theme(session, campaign, position=2)
    session.commit()
    return campaign, youth, sustainability


def nomination_data(**overrides: str) -> dict[str, str]:
    values = {
        "nominee_name": "María Fernanda López Ruiz",
        "nominee_position": "Directora de Agua Potable",
        "nominee_institution": "Ayuntamiento de Xalapa",
        "government_level": "municipal",
        "state": "VER",
        "years_of_service": "8",
        "nominee_age": "31",
        "nominee_contact": "agua@xalapa.example",
        "nominee_gender": "woman",
        "achievement": "Denunció un desvío de fondos en la compra de medidores y lo documentó.",
        "impact": "La auditoría recuperó recursos y cambió las reglas de compra del estado.",
        "obstacles": "Recibió presiones de sus superiores y amenazas de despido.",
        "how_known": "Trabajé en la misma dirección durante tres años.",
        "reference1_name": "Carlos Méndez",
        "reference1_contact": "carlos@example.org",
        "reference2_name": "Lucía Pérez",
        "reference2_contact": "+52 228 555 0101",
        "nominator_name": "Roberto Sánchez",
        "nominator_email": "roberto@example.org",
        "nominator_phone": "+52 55 5555 0000",
        "nominator_relationship": "colleague",
        "may_contact": "yes",
        "privacy_consent": "yes",
    }
    values.update(overrides)
    return {key: value for key, value in values.items() if value is not None}


def form_token(client: TestClient, slug: str) -> str:
    page = client.get(f"/nominate/{slug}")
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match, "the form has no csrf_token"
    return match.group(1)


def post_nomination(
    client: TestClient,
    slug: str = "youth",
    data: dict[str, str] | None = None,
    files: list[tuple[str, tuple[str, bytes, str]]] | None = None,
    token: str | None = None,
    **kwargs: Any,
) -> Response:
    fields = dict(data if data is not None else nomination_data())
    fields.setdefault("csrf_token", token or form_token(client, slug))
    return client.post(
        f"/nominate/{slug}", data=fields, files=files, follow_redirects=False, **kwargs
    )


def make_account(session: Session, role: Role = Role.staff, **overrides: Any) -> Account:
    values: dict[str, Any] = {
        "email": f"{role}-{secrets.token_hex(4)}@example.org",
        "name": f"Cuenta {role}",
        "role": role,
        "password_hash": DEFAULT_PASSWORD_HASH,
        **overrides,
    }
    account = Account(**values)
    session.add(account)
    session.commit()
    return account


def sign_in(client: TestClient, session: Session, account: Account) -> TestClient:
    """Gives the client a live session of `account`, as a successful login would."""
    token = start_session(session, account=account, now=utcnow())
    session.commit()
    settings = client.app.state.settings  # type: ignore[attr-defined]
    client.cookies.set(cookie_name(settings, SESSION_COOKIE), token)
    return client


def csrf_token_from(page: Response) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match, "the page has no form with a csrf_token"
    return match.group(1)


def make_candidate(session: Session, theme: Theme, **overrides: Any) -> Candidate:
    values: dict[str, Any] = {
        "campaign_id": theme.campaign_id,
        "theme_id": theme.id,
        "name": f"Persona Candidata {secrets.token_hex(2)}",
        "institution": "Ayuntamiento de Xalapa",
        "state": "VER",
        "vetting_status": VettingStatus.cleared,
        **overrides,
    }
    candidate = Candidate(**values)
    session.add(candidate)
    session.commit()
    return candidate


def make_finalist(session: Session, theme: Theme, **overrides: Any) -> Finalist:
    """A finalist who consented to every item (by letter), unless `consented=False`: public
    pages name no one without consent (issue 15)."""
    candidate = overrides.pop("candidate", None) or make_candidate(session, theme)
    consented = overrides.pop("consented", True)
    values: dict[str, Any] = {
        "candidate_id": candidate.id,
        "theme_id": theme.id,
        "public_name": candidate.name,
        "public_position": "Directora de Agua Potable",
        "public_institution": candidate.institution,
        "citation_es": "Defendió el agua de todos.",
        "citation_en": "She defended everyone's water.",
        **overrides,
    }
    finalist = Finalist(**values)
    session.add(finalist)
    session.commit()
    if consented:
        give_consent(session, finalist)
    return finalist


def give_consent(session: Session, finalist: Finalist, **items: bool) -> FinalistConsent:
    assert finalist.id is not None
    consent = FinalistConsent(
        finalist_id=finalist.id,
        status=ConsentStatus.given,
        name_and_position=True,
        photo=items.get("photo", True),
        story=items.get("story", True),
        channel=ConsentChannel.letter,
        answered_at=utcnow(),
    )
    session.add(consent)
    session.commit()
    return consent


def make_criteria(
    session: Session, campaign: Campaign, weights: tuple[float, ...] = (1, 1)
) -> list[Criterion]:
    criteria = [
        Criterion(
            campaign_id=campaign.id,
            position=i,
            name_es=f"Criterio {i + 1}",
            name_en=f"Criterion {i + 1}",
            weight=weight,
            scale_min=1,
            scale_max=5,
        )
        for i, weight in enumerate(weights)
    ]
    session.add_all(criteria)
    session.commit()
    return criteria


def make_judge(session: Session, *themes: Theme, **overrides: Any) -> Account:
    judge = make_account(session, Role.judge, **overrides)
    session.add_all([JudgeAssignment(account_id=judge.id, theme_id=theme.id) for theme in themes])
    session.commit()
    return judge


def make_meeting(
    session: Session, campaign: Campaign, finalists: list[Finalist], **overrides: Any
) -> Meeting:
    values: dict[str, Any] = {
        "campaign_id": campaign.id,
        "number": 1,
        "held_on": date.today(),
        "status": MeetingStatus.open,
        **overrides,
    }
    meeting = Meeting(**values)
    session.add(meeting)
    session.flush()
    session.add_all([MeetingFinalist(meeting_id=meeting.id, finalist_id=f.id) for f in finalists])
    session.commit()
    return meeting


def declare_conflict(
    session: Session, judge: Account, finalist: Finalist, **overrides: Any
) -> ConflictDeclaration:
    values: dict[str, Any] = {
        "judge_id": judge.id,
        "finalist_id": finalist.id,
        "has_conflict": True,
        "description": "Trabajamos juntos.",
        "recorded_by_id": judge.id,
        **overrides,
    }
    declaration = ConflictDeclaration(**values)
    session.add(declaration)
    session.commit()
    return declaration


def make_pdf(label: str = "", *, size: int = 0) -> bytes:
    """A valid one-page PDF that does nothing but show its page, as the upload check wants
    (qpdf reads it without repairs). `label` makes each one different (files are stored by
    content hash); `size` pads it to about that many bytes."""
    content = f"% {label}\n".encode()
    if size:
        content += b"%" + b"0" * max(size - 400, 0) + b"\n"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << >> /Contents 4 0 R >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)
