"""The queue's full-text search (q=): the same nominations found on SQLite and PostgreSQL, by
every word's beginning, whatever its case and accents, through each engine's own index."""

import random
import secrets
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlmodel import Session, select

from app.forms.filters import NominationFilter
from app.models import (
    Campaign,
    GovernmentLevel,
    Nomination,
    NominationStatus,
    Relationship,
    Role,
    Theme,
    utcnow,
)
from app.services.nominations import search
from app.services.nominations.screening import nomination_query, queue_page
from app.services.text import search_text, search_words
from tests.factories import make_account, make_open_campaign, sign_in

# Names and institutions as people type them: accents, case, punctuation, quotes, digits.
PEOPLE = (
    ("María Fernanda López Ruiz", "Ayuntamiento de Xalapa"),
    ("MARIA LOPEZ", "Secretaría de Salud de Jalisco"),
    ("José Ángel Núñez-Peña", "Comisión Estatal del Agua"),
    ("Jose Angel Nunez", "IMSS"),
    ("Ana O'Higgins", "Procuraduría «Ambiental» de Oaxaca"),
    ("Lucía Gómez", "Instituto G20 de la Juventud (CDMX)"),
    ("Raúl Pérez Gómez", "Escuela “Benito Juárez” No. 23"),
    ("Zoë Müller", "Łódź Partnership S.A. de C.V."),
    ("Itzel Ramírez", "Ayuntamiento de San Andrés Tuxtla"),
    ("Andrés Ramos", "Congreso de Tlaxcala"),
)
# (what staff type, the nominees it finds)
QUERIES = (
    ("lopez", {"María Fernanda López Ruiz", "MARIA LOPEZ"}),
    ("LÓPEZ  maría", {"María Fernanda López Ruiz", "MARIA LOPEZ"}),
    ("lop xal", {"María Fernanda López Ruiz"}),
    ("pez", set()),
    ("nuñez peña", {"José Ángel Núñez-Peña"}),
    ("nunez", {"José Ángel Núñez-Peña", "Jose Angel Nunez"}),
    ("ángel", {"José Ángel Núñez-Peña", "Jose Angel Nunez"}),
    ("higgins", {"Ana O'Higgins"}),
    ("ambiental", {"Ana O'Higgins"}),
    ("g20", {"Lucía Gómez"}),
    ("cdmx", {"Lucía Gómez"}),
    ("benito juarez 23", {"Raúl Pérez Gómez"}),
    ("gómez", {"Lucía Gómez", "Raúl Pérez Gómez"}),
    ("zoe muller", {"Zoë Müller"}),
    ("lodz", {"Zoë Müller"}),
    ("s.a. de c.v.", {"Zoë Müller"}),
    ("andres", {"Itzel Ramírez", "Andrés Ramos"}),
    ("ra", {"Raúl Pérez Gómez", "Itzel Ramírez", "Andrés Ramos"}),
    ("%", set()),
    ("_", set()),
    # Not a wildcard: "%" separates two words, "a" and "z", as a space would.
    ("a%z", {"Zoë Müller"}),
    ("'", set()),
    ('"', set()),
    ("lopez OR ramos", set()),
    ("*", set()),
)


def add_nomination(session: Session, theme: Theme, name: str, institution: str) -> Nomination:
    now = utcnow()
    nomination = Nomination(
        reference=secrets.token_urlsafe(16),
        submission_key=secrets.token_hex(16),
        theme_id=theme.id,
        search_text=search_text(name, institution),
        nominee_name=name,
        nominee_position="Servidora pública",
        nominee_institution=institution,
        government_level=GovernmentLevel.state,
        state="VER",
        years_of_service=4,
        achievement="Algo concreto.",
        impact="Un impacto.",
        obstacles="Obstáculos.",
        how_known="La conozco.",
        reference1_name="Ref Uno",
        reference1_contact="uno@example.org",
        reference2_name="Ref Dos",
        reference2_contact="dos@example.org",
        nominator_name="Nominadora",
        nominator_email="nominadora@example.org",
        nominator_relationship=Relationship.colleague,
        privacy_consent_at=now,
        submitted_at=now,
    )
    session.add(nomination)
    session.flush()
    return nomination


def found(session: Session, campaign: Campaign, typed: str, **filters: Any) -> set[str]:
    query = nomination_query(NominationFilter(q=typed, **filters), campaign_id=campaign.id or 0)
    return {nomination.nominee_name for nomination, _theme in session.exec(query).all()}


@pytest.fixture
def people(session: Session) -> tuple[Campaign, Theme, Theme]:
    campaign, youth, sustainability = make_open_campaign(session)
    for index, (name, institution) in enumerate(PEOPLE):
        add_nomination(session, youth if index % 2 else sustainability, name, institution)
    session.commit()
    return campaign, youth, sustainability


@pytest.mark.parametrize(("typed", "expected"), QUERIES)
def test_search_finds_the_same_nominations_on_both_engines(
    session: Session, people: tuple[Campaign, Theme, Theme], typed: str, expected: set[str]
) -> None:
    # The suite runs on SQLite and again on PostgreSQL: these sets hold on both.
    campaign, _, _ = people

    assert found(session, campaign, typed) == expected


def test_search_combines_with_the_other_filters(
    session: Session, people: tuple[Campaign, Theme, Theme]
) -> None:
    campaign, youth, _ = people

    assert found(session, campaign, "ra", theme=youth.slug) == {"Andrés Ramos"}
    assert found(session, campaign, "ra", status=NominationStatus.eligible) == set()


def test_search_agrees_with_its_rule_on_random_names(session: Session) -> None:
    # The rule, in Python: each word typed begins a word of the name or the institution.
    campaign, youth, _ = make_open_campaign(session)
    rng = random.Random(19)
    syllables = ("ma", "rí", "a", "ló", "pez", "ñu", "ÑE", "gó", "mez", "jo", "sé", "ü", "ra")
    separators = (" ", "-", "'", ". ", " (", ") ", "«", "» ", "2", " 0")
    people = []
    for _ in range(120):
        words = [
            "".join(rng.choice(syllables) for _ in range(rng.randint(1, 3)))
            for _ in range(rng.randint(2, 5))
        ]
        name = "".join(w + rng.choice(separators) for w in words).strip()
        people.append((name, "Ayuntamiento de Xalapa"))
        add_nomination(session, youth, name, "Ayuntamiento de Xalapa")
    session.commit()

    for _ in range(60):
        typed = " ".join(rng.choice(syllables) + rng.choice(("", "a", "z")) for _ in range(2))
        wanted = search_words(typed)
        expected = {
            name
            for name, institution in people
            if all(
                any(word.startswith(w) for word in search_words(f"{name} {institution}"))
                for w in wanted
            )
        }
        assert found(session, campaign, typed) == expected, typed


def test_search_follows_changes_and_removals(
    session: Session, people: tuple[Campaign, Theme, Theme]
) -> None:
    campaign, _, _ = people
    nomination = session.exec(
        select(Nomination).where(Nomination.nominee_name == "Andrés Ramos")
    ).one()

    nomination.search_text = search_text("Andrea Rosales", nomination.nominee_institution)
    session.add(nomination)
    session.commit()
    assert found(session, campaign, "rosales") == {"Andrés Ramos"}
    assert found(session, campaign, "ramos") == set()

    session.delete(nomination)
    session.commit()
    assert found(session, campaign, "rosales") == set()


def test_search_is_served_by_the_full_text_index(
    session: Session, people: tuple[Campaign, Theme, Theme]
) -> None:
    condition = search.matches("lopez")
    assert condition is not None
    query = select(Nomination.id).where(condition)
    statement = query.compile(session.get_bind(), compile_kwargs={"literal_binds": True})
    if session.get_bind().dialect.name == "postgresql":
        # Bitmap scans only: one needs an index whose expression is the search's own.
        for scan in ("seqscan", "indexscan", "indexonlyscan"):
            session.execute(text(f"SET LOCAL enable_{scan} = off"))
        plan = "\n".join(session.execute(text(f"EXPLAIN {statement}")).scalars())
        session.rollback()
        assert "Bitmap Index Scan on ix_nomination_search_vector" in plan
    else:
        rows = session.execute(text(f"EXPLAIN QUERY PLAN {statement}")).all()
        assert any("nomination_search VIRTUAL TABLE" in row[-1] for row in rows)


def test_queue_page_searches_and_counts(
    client: TestClient, session: Session, people: tuple[Campaign, Theme, Theme]
) -> None:
    campaign, _, _ = people
    sign_in(client, session, make_account(session, Role.staff))

    page = client.get("/staff/nominations", params={"q": "Gómez", "sort": "nominee"})

    assert page.status_code == 200
    assert ">Lucía Gómez</a>" in page.text
    assert ">Raúl Pérez Gómez</a>" in page.text
    assert ">MARIA LOPEZ</a>" not in page.text
    counted = queue_page(session, NominationFilter(q="gómez"), campaign_id=campaign.id or 0)
    assert counted.total == 2
