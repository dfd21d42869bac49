"""Plain functions that make what a test needs; keyword overrides change any field."""

import re
from datetime import date, timedelta
from typing import Any

from fastapi.testclient import TestClient
from httpx import Response
from sqlmodel import Session

from app.models import Campaign, Theme, utcnow


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
