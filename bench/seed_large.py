"""Bulk data for the staff and judges' scenarios: `python bench/seed_large.py`, run by bench.run
after `python -m app migrate` and `python -m app seed-demo`, in the portal's environment
(DATABASE_URL, DATA_DIR), so it loads whichever checkout's `app` that environment imports.

In one transaction, with the app's own tables, it writes what a large year leaves behind:

- the current campaign (the one `seed-demo` opened): 100,000 nominations spread over its
  themes, statuses, Mexico's 32 states and the days since the call opened, with what the form
  stores (nominee, story, references, nominator) and evidence-file rows for some of them; the
  eligible ones grouped into candidates, as screening does. So that `GET /results` shows a real
  published edition and not a "stage" page, the campaign also gets a small result of the
  usual size: 10 finalists, a panel of 7 judges, one closed meeting, 2 winners and revision 1
  published with the same snapshot the staff action freezes (the finalists are not marked
  announced, which would end the call that the nomination scenarios need open);
- a large edition, two years back: 3,000 nominations, 1,000 finalists (500 per theme),
  30 judges on the panel of both themes, 6 weighted criteria, meeting 1 closed and meeting 2
  (its shortlist: everyone) open, every judge's submitted sheet for every finalist in both
  meetings, except where the judge declared a conflict (about 1% of pairs), as judges do.

Rows go in as executemany of SQLAlchemy core inserts on SQLite and as COPY on PostgreSQL, with
ids chosen here so that dependent rows can name them; sequences are then moved past them and
ANALYZE gives the planners the data's shape. Nothing goes through the ORM per row.

Accounts for the benchmark (one staff member and the 30 judges) share one random password. The
last line printed is `BENCH-SEED {json}`: the password, the accounts and the ids bench.run
builds its URLs from.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import secrets
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from enum import Enum
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, Table, func, text
from sqlmodel import Session, SQLModel, col, select

from app.config import get_settings
from app.db import make_engine
from app.i18n import TIMEZONE
from app.models import (
    MEXICAN_STATES,
    Account,
    Campaign,
    Candidate,
    CheckKind,
    CheckResult,
    ConflictDeclaration,
    ConsentChannel,
    ConsentStatus,
    Criterion,
    EvidenceFile,
    Finalist,
    FinalistConsent,
    Gender,
    GovernmentLevel,
    JudgeAssignment,
    Meeting,
    MeetingFinalist,
    MeetingStatus,
    Nomination,
    NominationStatus,
    Relationship,
    ResultsRevision,
    RevisionStatus,
    Role,
    Score,
    ScoreSheet,
    Theme,
    VettingCheck,
    VettingStatus,
    Winner,
)
from app.services.accounts.accounts import hash_password
from app.services.files import FileStore
from app.services.results.revisions import build_results_content
from app.services.text import fold

try:
    from app.services.text import search_text
except ImportError:  # a checkout from before the full-text search (--portal-dir)

    def search_text(*parts: str) -> str:
        return fold(" ".join(parts))[:450]


NOMINATIONS = 100_000
LARGE_NOMINATIONS = 3_000
LARGE_FINALISTS_PER_THEME = 500
JUDGES = 30
SMALL_FINALISTS_PER_THEME = 5
SMALL_PANEL = 7
CONFLICT_SHARE = 0.01
DOMAIN = "bench.integrity-icon.invalid"
STAFF_EMAIL = f"staff@{DOMAIN}"
# How many (judge, finalist) pairs of each meeting bench.run may rotate over.
SAMPLE_PAIRS = 64

# -- what people type ------------------------------------------------------------------------

FIRST_NAMES = (
    ("María", Gender.woman), ("José", Gender.man), ("Guadalupe", Gender.woman),
    ("Juan", Gender.man), ("Ana", Gender.woman), ("Luis", Gender.man),
    ("Fernanda", Gender.woman), ("Carlos", Gender.man), ("Ximena", Gender.woman),
    ("Miguel", Gender.man), ("Daniela", Gender.woman), ("Jorge", Gender.man),
    ("Sofía", Gender.woman), ("Alejandro", Gender.man), ("Valeria", Gender.woman),
    ("Ricardo", Gender.man), ("Itzel", Gender.woman), ("Eduardo", Gender.man),
    ("Mariana", Gender.woman), ("Fernando", Gender.man), ("Andrea", Gender.woman),
    ("Arturo", Gender.man), ("Paola", Gender.woman), ("Héctor", Gender.man),
    ("Gabriela", Gender.woman), ("Raúl", Gender.man), ("Leticia", Gender.woman),
    ("Sergio", Gender.man), ("Claudia", Gender.woman), ("Óscar", Gender.man),
    ("Rocío", Gender.woman), ("Iván", Gender.man), ("Natalia", Gender.woman),
    ("Tomás", Gender.man), ("Yolanda", Gender.woman), ("Emilio", Gender.man),
    ("Alex", Gender.non_binary), ("Cruz", Gender.undisclosed), ("Noemí", Gender.woman),
    ("Ángel", Gender.man),
)  # fmt: skip
SURNAMES = (
    "Hernández", "García", "Martínez", "López", "González", "Rodríguez", "Pérez", "Sánchez",
    "Ramírez", "Cruz", "Flores", "Gómez", "Morales", "Vázquez", "Reyes", "Jiménez", "Torres",
    "Díaz", "Gutiérrez", "Ruiz", "Mendoza", "Aguilar", "Ortiz", "Moreno", "Castillo", "Romero",
    "Álvarez", "Méndez", "Chávez", "Rivera", "Juárez", "Ramos", "Domínguez", "Herrera",
    "Medina", "Castro", "Vargas", "Guzmán", "Velázquez", "Rojas",
)  # fmt: skip
POSITIONS = {
    "youth": (
        "Analista de Compras", "Coordinadora de Transparencia", "Auxiliar Administrativo",
        "Jefa de Departamento de Licitaciones", "Enlace de Datos Abiertos", "Auditor Junior",
        "Técnica en Atención Ciudadana", "Asesor Jurídico", "Subdirectora de Padrones",
        "Inspector de Obra Pública", "Analista de Presupuesto", "Médica Residente",
    ),
    "sustainability": (
        "Inspectora Ambiental", "Director de Agua Potable", "Guardaparques",
        "Jefe de Residuos Sólidos", "Coordinadora de Ordenamiento Territorial",
        "Técnico Forestal", "Directora de Ecología", "Supervisor de Descargas",
        "Responsable de Energía", "Bióloga de Campo", "Jefe de Protección Civil",
        "Subdirectora de Impacto Ambiental",
    ),
}  # fmt: skip
INSTITUTIONS = (
    "Ayuntamiento de {city}", "Secretaría de Finanzas de {state}", "Contraloría de {state}",
    "Secretaría de Salud de {state}", "Organismo de Agua de {city}",
    "Procuraduría Ambiental de {state}", "Comisión Nacional del Agua ({state})",
    "Instituto de la Juventud de {state}", "Secretaría de Educación de {state}",
    "Poder Judicial de {state}", "Congreso de {state}", "Instituto de Transparencia de {state}",
    "Comisión Nacional Forestal ({state})", "Servicio de Administración Tributaria ({city})",
)  # fmt: skip
CITIES = (
    "Xalapa", "Oaxaca de Juárez", "Guadalajara", "Monterrey", "Mérida", "Puebla", "Toluca",
    "Hermosillo", "Chihuahua", "Morelia", "Querétaro", "Tuxtla Gutiérrez", "Pachuca",
    "Culiacán", "Zacatecas", "Campeche", "Tlaxcala", "Villahermosa", "Saltillo", "Durango",
)  # fmt: skip
LEVELS = (
    (GovernmentLevel.municipal, 35), (GovernmentLevel.state, 30),
    (GovernmentLevel.federal, 20), (GovernmentLevel.autonomous, 6),
    (GovernmentLevel.judicial, 5), (GovernmentLevel.legislative, 4),
)  # fmt: skip
ACHIEVEMENTS = (
    "Denunció un desvío de fondos en la compra de medidores y lo documentó paso a paso.",
    "Publicó en línea cada contrato de obra de su dependencia, con precios y proveedores.",
    "Rechazó un soborno de un contratista y presentó la queja ante el órgano interno de control.",
    "Ordenó el padrón de beneficiarios y dio de baja cientos de registros duplicados.",
    "Clausuró una descarga ilegal al río pese a las presiones de una empresa local.",
    "Diseñó un sistema de citas que terminó con el cobro de «mordidas» en ventanilla.",
    "Detectó sobreprecios en la compra de medicamentos y detuvo la licitación.",
    "Explicó a las comunidades cómo leer el presupuesto municipal y cómo pedir cuentas.",
    "Negó un permiso de construcción en zona protegida a pesar de las amenazas.",
    "Documentó la tala ilegal en un área natural y acompañó a las comunidades en la denuncia.",
)
IMPACTS = (
    "La auditoría recuperó recursos y cambió las reglas de compra de todo el estado.",
    "Otras dependencias copiaron su método y hoy publican sus contratos del mismo modo.",
    "Los vecinos recuperaron la confianza y aumentaron las denuncias ciudadanas.",
    "El ahorro se destinó a reparar escuelas y centros de salud de la región.",
    "El caso llegó a la prensa nacional y se abrió una investigación formal.",
    "El río volvió a tener peces después de dos años y la empresa pagó la multa.",
    "Cientos de familias recibieron el apoyo que les correspondía sin intermediarios.",
)
OBSTACLES = (
    "Recibió presiones de sus superiores y amenazas de despido.",
    "Lo cambiaron de área dos veces y le retiraron el equipo de trabajo.",
    "Enfrentó una campaña de desprestigio en redes sociales.",
    "Trabajó sin presupuesto y con un equipo de solo dos personas.",
    "Recibió amenazas anónimas y tuvo que pedir medidas de protección.",
    "Sus propios compañeros la aislaron por no aceptar las prácticas de siempre.",
)
HOW_KNOWN = (
    "Trabajé en la misma dirección durante tres años.",
    "Soy vecina del municipio y vi su trabajo de cerca.",
    "La conocí como periodista al cubrir el caso.",
    "Fui su jefe directo durante la auditoría.",
    "Participo en una organización que acompañó la denuncia.",
    "Me atendió en ventanilla y luego seguí su trabajo.",
)
INELIGIBLE_REASONS = (
    "Trabaja en el sector privado desde hace un año.",
    "Tiene más de 35 años, la edad máxima de esta categoría.",
    "La nominación no describe ninguna acción concreta.",
    "Es una autonominación, que las reglas no permiten.",
    "Ocupa un cargo de elección popular, que las reglas excluyen.",
)
STATUSES = (
    (NominationStatus.received, 55), (NominationStatus.eligible, 30),
    (NominationStatus.ineligible, 10), (NominationStatus.withdrawn, 5),
)  # fmt: skip
CLOSED_STATUSES = (
    (NominationStatus.eligible, 80), (NominationStatus.ineligible, 15),
    (NominationStatus.withdrawn, 5),
)  # fmt: skip
RELATIONSHIPS = tuple(Relationship)
# Each criterion's weight in the large edition: weights other than 1 exercise the weighting.
LARGE_WEIGHTS = (2.0, 1.5, 1.0, 1.0, 1.0, 0.5)
# One small, valid PDF that every evidence row of the benchmark points at: files are stored by
# content hash, so one stored file can serve many rows, and a download finds it.
EVIDENCE_PDF = b"%PDF-1.4\n% Integrity Icon benchmark evidence\n1 0 obj <<>> endobj\n%%EOF\n"


def _weighted(rng: random.Random, choices: Sequence[tuple[Any, int]]) -> Any:
    return rng.choices([c for c, _ in choices], weights=[w for _, w in choices])[0]


@dataclass(frozen=True)
class Person:
    theme: str
    name: str
    gender: Gender
    position: str
    institution: str
    state: str
    level: GovernmentLevel
    age: int


def make_people(rng: random.Random, count: int) -> list[Person]:
    states = list(MEXICAN_STATES)
    people = []
    for _ in range(count):
        theme = "youth" if rng.random() < 0.5 else "sustainability"
        first, gender = rng.choice(FIRST_NAMES)
        state = rng.choice(states)
        institution = rng.choice(INSTITUTIONS).format(
            city=rng.choice(CITIES), state=MEXICAN_STATES[state]
        )
        people.append(
            Person(
                theme=theme,
                name=f"{first} {rng.choice(SURNAMES)} {rng.choice(SURNAMES)}",
                gender=gender,
                position=rng.choice(POSITIONS[theme]),
                institution=institution,
                state=state,
                level=_weighted(rng, LEVELS),
                age=rng.randint(22, 35) if theme == "youth" else rng.randint(25, 64),
            )
        )
    return people


# -- writing rows fast ------------------------------------------------------------------------


def _table(model: type[SQLModel]) -> Table:
    table = model.__table__  # type: ignore[attr-defined]  # set on every table=True model
    assert isinstance(table, Table)
    return table


class Loader:
    """Inserts many rows of one table at once: COPY on PostgreSQL, executemany elsewhere."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.postgres = connection.dialect.name == "postgresql"
        self.counts: Counter[str] = Counter()

    def next_id(self, model: type[SQLModel]) -> int:
        table = _table(model)
        last = self.connection.execute(select(func.max(table.c.id))).scalar()
        return int(last or 0) + 1

    def insert(
        self, model: type[SQLModel], columns: Sequence[str], rows: Iterable[Sequence[Any]]
    ) -> None:
        table = _table(model)
        if self.postgres:
            self._copy(table, columns, rows)
            return
        statement = table.insert()
        batch: list[dict[str, Any]] = []
        for row in rows:
            batch.append(dict(zip(columns, row, strict=True)))
            if len(batch) == 20_000:
                self.connection.execute(statement, batch)
                self.counts[table.name] += len(batch)
                batch = []
        if batch:
            self.connection.execute(statement, batch)
            self.counts[table.name] += len(batch)

    def _copy(self, table: Table, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
        raw: Any = self.connection.connection.driver_connection
        names = ", ".join(f'"{name}"' for name in columns)
        count = 0
        with (
            raw.cursor() as cursor,
            cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy,
        ):
            for row in rows:
                # Enums as their stored value: the columns are plain VARCHARs.
                copy.write_row([v.value if isinstance(v, Enum) else v for v in row])
                count += 1
        self.counts[table.name] += count
        # The foreign-key checks of the rows loaded next plan their lookups on this table's
        # statistics: without them PostgreSQL takes it for empty and scans it for every row
        # (the scores took 8 minutes instead of seconds).
        self.connection.exec_driver_sql(f'ANALYZE "{table.name}"')

    def move_sequences(self) -> None:
        """After rows with chosen ids, the next id the database gives must be past them."""
        if not self.postgres:
            return  # SQLite's INTEGER PRIMARY KEY continues from the largest rowid
        for name in self.counts:
            self.connection.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('\"{name}\"', 'id'), "  # noqa: S608 - our table names
                    f'(SELECT coalesce(max(id), 1) FROM "{name}"))'
                )
            )


# -- the parts of an edition ------------------------------------------------------------------


@dataclass
class Edition:
    campaign: Campaign
    themes: dict[str, Theme]
    criteria: list[Criterion]
    # Filled as rows are written.
    candidate_people: dict[int, Person] = field(default_factory=dict)
    candidate_theme: dict[int, int] = field(default_factory=dict)
    nominations_of: Counter[int] = field(default_factory=Counter)
    finalists: list[int] = field(default_factory=list)
    finalist_theme: dict[int, int] = field(default_factory=dict)


def _at(day: date, hour: int = 12) -> datetime:
    return datetime.combine(day, clock(hour), tzinfo=TIMEZONE).astimezone(UTC)


def _id(row: Any) -> int:
    assert row.id is not None
    return int(row.id)


NOMINATION_COLUMNS = (
    "id", "reference", "submission_key", "theme_id", "status", "status_reason", "candidate_id",
    "search_text", "locale", "nominee_name", "nominee_position", "nominee_institution",
    "government_level", "state", "years_of_service", "nominee_age", "nominee_contact",
    "nominee_gender", "achievement", "impact", "obstacles", "how_known", "reference1_name",
    "reference1_contact", "reference2_name", "reference2_contact", "nominator_name",
    "nominator_email", "nominator_phone", "nominator_relationship", "may_contact",
    "reveal_identity", "privacy_consent_at", "sensitive_consent_at", "submitted_at",
)  # fmt: skip


def load_nominations(
    loader: Loader,
    rng: random.Random,
    edition: Edition,
    *,
    count: int,
    people: list[Person],
    statuses: Sequence[tuple[NominationStatus, int]],
    start: datetime,
    end: datetime,
    evidence_sha256: str,
) -> None:
    """`count` nominations naming `people` (a few of them many times, most once), and a
    candidate for every person with an eligible nomination, as screening groups them."""
    nomination_id = loader.next_id(Nomination)
    candidate_id = loader.next_id(Candidate)
    # A sixth of the people get a third of the nominations: campaigns have such favourites.
    popular = max(1, len(people) // 6)
    span = (end - start).total_seconds()
    candidates: dict[int, int] = {}  # person index -> candidate id
    rows = []
    files = []
    nominators = 0
    for index in range(count):
        person_index = (
            rng.randrange(popular) if rng.random() < 1 / 3 else rng.randrange(len(people))
        )
        person = people[person_index]
        theme = edition.themes[person.theme]
        status = _weighted(rng, statuses)
        candidate = None
        if status is NominationStatus.eligible:
            candidate = candidates.get(person_index)
            if candidate is None:
                candidate = candidates[person_index] = candidate_id
                candidate_id += 1
                edition.candidate_people[candidate] = person
                edition.candidate_theme[candidate] = _id(theme)
            edition.nominations_of[candidate] += 1
        # Some nominators send more than one nomination.
        if nominators == 0 or rng.random() < 0.9:
            nominators += 1
        nominator_first, _ = rng.choice(FIRST_NAMES)
        nominator = f"{nominator_first} {rng.choice(SURNAMES)}"
        submitted = start + timedelta(seconds=rng.random() * span)
        has_files = rng.random() < 0.15
        reason = ""
        if status is NominationStatus.ineligible or (
            status is NominationStatus.withdrawn and rng.random() < 0.5
        ):
            reason = rng.choice(INELIGIBLE_REASONS)
        rows.append(
            (
                nomination_id,
                secrets.token_urlsafe(16),
                secrets.token_urlsafe(24),
                _id(theme),
                status,
                reason,
                candidate,
                search_text(person.name, person.institution),
                "en" if rng.random() < 0.08 else "es",
                person.name,
                person.position,
                person.institution,
                person.level,
                person.state,
                rng.randint(1, min(40, max(1, person.age - 20))),
                person.age if theme.max_age is not None else None,
                rng.choice(("", "", f"{fold(person.name).split()[0]}@example.gob.mx")),
                person.gender,
                " ".join(rng.sample(ACHIEVEMENTS, 2)),
                " ".join(rng.sample(IMPACTS, 2)),
                rng.choice(OBSTACLES),
                rng.choice(HOW_KNOWN),
                f"{rng.choice(FIRST_NAMES)[0]} {rng.choice(SURNAMES)}",
                f"referencia{index}@example.org",
                f"{rng.choice(FIRST_NAMES)[0]} {rng.choice(SURNAMES)}",
                f"+52 {rng.randint(100, 999)} {rng.randint(100, 999)} {rng.randint(1000, 9999)}",
                nominator,
                f"nominador{nominators}@example.org",
                ""
                if rng.random() < 0.5
                else f"+52 55 {rng.randint(1000, 9999)} {index % 10000:04d}",
                rng.choice(RELATIONSHIPS),
                rng.random() < 0.7,
                rng.random() < 0.2,
                submitted,
                submitted if has_files else None,
                submitted,
            )
        )
        if has_files:
            for position in range(1 if rng.random() < 0.7 else 2):
                files.append(
                    (
                        nomination_id,
                        position,
                        evidence_sha256,
                        "application/pdf",
                        len(EVIDENCE_PDF),
                        f"evidencia-{position + 1}.pdf",
                        submitted,
                    )
                )
        nomination_id += 1

    # Candidates first: nominations name them.
    loader.insert(
        Candidate,
        (
            "id", "campaign_id", "theme_id", "name", "institution", "state", "match_key",
            "vetting_status", "vetting_note", "created_at", "updated_at",
        ),
        (
            (
                cid, _id(edition.campaign), edition.candidate_theme[cid], p.name,
                p.institution, p.state, fold(p.name), VettingStatus.pending, "", end, end,
            )
            for cid, p in edition.candidate_people.items()
        ),
    )  # fmt: skip
    loader.insert(Nomination, NOMINATION_COLUMNS, rows)
    loader.insert(
        EvidenceFile,
        ("nomination_id", "position", "sha256", "content_type", "size", "original_name",
         "created_at"),
        files,
    )  # fmt: skip


def choose_finalists(
    loader: Loader,
    rng: random.Random,
    edition: Edition,
    *,
    per_theme: int,
    staff_id: int,
    chosen_on: date,
) -> None:
    """The most nominated candidates of each theme become finalists, vetted and cleared."""
    by_theme: dict[int, list[int]] = defaultdict(list)
    for cid in sorted(edition.candidate_people, key=lambda c: (-edition.nominations_of[c], c)):
        by_theme[edition.candidate_theme[cid]].append(cid)
    chosen = [cid for ids in by_theme.values() for cid in ids[:per_theme]]
    finalist_id = loader.next_id(Finalist)
    rows, checks = [], []
    when = _at(chosen_on, 10)
    for cid in chosen:
        person = edition.candidate_people[cid]
        achievement = rng.choice(ACHIEVEMENTS)
        rows.append(
            (
                finalist_id, cid, edition.candidate_theme[cid], person.name, person.position,
                person.institution, achievement, "They acted with integrity under pressure.",
                "", when, when,
            )
        )  # fmt: skip
        edition.finalists.append(finalist_id)
        edition.finalist_theme[finalist_id] = edition.candidate_theme[cid]
        finalist_id += 1
        for kind in (CheckKind.references, CheckKind.press, CheckKind.sanctions):
            checks.append(
                (cid, kind, CheckResult.clear, "Sin hallazgos.", chosen_on - timedelta(days=7),
                 staff_id, when)
            )  # fmt: skip
    loader.connection.execute(
        _table(Candidate)
        .update()
        .where(_table(Candidate).c.id.in_(chosen))
        .values(vetting_status=VettingStatus.cleared)
    )
    loader.insert(
        Finalist,
        ("id", "candidate_id", "theme_id", "public_name", "public_position",
         "public_institution", "citation_es", "citation_en", "photo_sha256", "created_at",
         "updated_at"),
        rows,
    )  # fmt: skip
    # Every finalist consented by letter: public pages name no one without consent (issue 15).
    loader.insert(
        FinalistConsent,
        ("finalist_id", "status", "name_and_position", "photo", "story", "requested_name",
         "requested_position", "requested_note", "channel", "recorded_by_id", "answered_at",
         "evidence_sha256", "evidence_name", "evidence_type", "email", "locale", "created_at",
         "updated_at"),
        ((f, ConsentStatus.given, True, True, True, "", "", "", ConsentChannel.letter, staff_id,
          when, "", "", "", "", "es", when, when) for f in edition.finalists),
    )  # fmt: skip
    loader.insert(
        VettingCheck,
        ("candidate_id", "kind", "result", "note", "checked_on", "author_id", "created_at"),
        checks,
    )


def seat_panel(
    loader: Loader,
    rng: random.Random,
    edition: Edition,
    judges: Sequence[int],
    *,
    declared_at: datetime,
) -> set[tuple[int, int]]:
    """Judges on both themes' panels, each declaring for every finalist: about 1% of pairs a
    conflict (so the judge is recused), the others none. Returns the recused pairs."""
    loader.insert(
        JudgeAssignment,
        ("account_id", "theme_id", "created_at"),
        ((j, _id(t), declared_at) for j in judges for t in edition.themes.values()),
    )
    recused = set()
    rows = []
    for judge in judges:
        for finalist in edition.finalists:
            conflict = rng.random() < CONFLICT_SHARE
            if conflict:
                recused.add((judge, finalist))
            rows.append(
                (
                    judge, finalist, conflict,
                    "Trabajamos juntos en la misma dependencia." if conflict else "",
                    False, judge, declared_at, declared_at,
                )
            )  # fmt: skip
    loader.insert(
        ConflictDeclaration,
        ("judge_id", "finalist_id", "has_conflict", "description", "recorded_by_staff",
         "recorded_by_id", "created_at", "updated_at"),
        rows,
    )  # fmt: skip
    return recused


def hold_meetings(
    loader: Loader,
    session: Session,
    rng: random.Random,
    edition: Edition,
    judges: Sequence[int],
    recused: set[tuple[int, int]],
    *,
    days: Sequence[date],
    open_last: bool,
) -> list[Meeting]:
    """Numbered meetings over every finalist; every judge submits a sheet for every finalist
    they are not recused from. Scores follow each finalist's merit and each judge's leniency,
    so the aggregates have spread, ranks and a few ties, as real ones do."""
    merit = {f: rng.gauss(0, 0.8) for f in edition.finalists}
    leniency = {j: rng.gauss(0, 0.4) for j in judges}
    meetings: list[Meeting] = []
    for number, held_on in enumerate(days, start=1):
        is_open = open_last and number == len(days)
        meeting = Meeting(
            campaign_id=_id(edition.campaign),
            number=number,
            held_on=held_on,
            status=MeetingStatus.open if is_open else MeetingStatus.closed,
            source_meeting_id=_id(meetings[-1]) if meetings else None,
            minutes="" if is_open else "Sesión de deliberación del panel.",
            opened_at=_at(held_on - timedelta(days=7)),
            closed_at=None if is_open else _at(held_on, 18),
            created_at=_at(held_on - timedelta(days=10)),
        )
        session.add(meeting)
        session.flush()
        meetings.append(meeting)
        # Everyone advances from a meeting to the next: the last meeting judges them all again.
        advanced = number < len(days)
        loader.insert(
            MeetingFinalist,
            ("meeting_id", "finalist_id", "advanced", "proposed_winner"),
            ((_id(meeting), f, advanced, False) for f in edition.finalists),
        )
        sheet_id = loader.next_id(ScoreSheet)
        sheets, scores = [], []
        submitted = _at(held_on, 11)
        for judge in judges:
            for finalist in edition.finalists:
                if (judge, finalist) in recused:
                    continue
                comment = "Caso sólido y bien documentado." if rng.random() < 0.3 else ""
                sheets.append(
                    (sheet_id, _id(meeting), judge, finalist, comment, rng.randint(1, 3),
                     submitted, submitted)
                )  # fmt: skip
                base = 3.2 + merit[finalist] + leniency[judge]
                for criterion in edition.criteria:
                    value = round(base + rng.gauss(0, 0.7))
                    low, high = criterion.scale_min, criterion.scale_max
                    scores.append((sheet_id, _id(criterion), min(high, max(low, value))))
                sheet_id += 1
        loader.insert(
            ScoreSheet,
            ("id", "meeting_id", "judge_id", "finalist_id", "comment", "version",
             "submitted_at", "updated_at"),
            sheets,
        )  # fmt: skip
        loader.insert(Score, ("sheet_id", "criterion_id", "value"), scores)
    return meetings


# -- the whole load ---------------------------------------------------------------------------


def _judge_accounts(
    loader: Loader, rng: random.Random, password_hash: str, created: datetime
) -> tuple[int, list[int]]:
    account_id = loader.next_id(Account)
    rows = [
        (account_id, STAFF_EMAIL, "Equipo de evaluación (benchmark)", Role.staff, password_hash,
         True, "es", created)
    ]  # fmt: skip
    judges = []
    for number in range(1, JUDGES + 1):
        first, _ = rng.choice(FIRST_NAMES)
        judges.append(account_id + number)
        rows.append(
            (
                account_id + number, f"judge{number:02d}@{DOMAIN}",
                f"{first} {rng.choice(SURNAMES)} (jurado {number})", Role.judge, password_hash,
                True, "en" if number % 6 == 0 else "es", created,
            )
        )  # fmt: skip
    loader.insert(
        Account,
        ("id", "email", "name", "role", "password_hash", "is_active", "locale", "created_at"),
        rows,
    )
    return account_id, judges


def _large_campaign(session: Session, current: Campaign) -> Edition:
    """Two years before the current campaign, with its themes and a weighted rubric."""
    year = current.year - 2
    opens = date(year, 3, 1)
    campaign = Campaign(
        year=year,
        title_es=f"Integrity Icon México {year} (edición grande)",
        title_en=f"Integrity Icon Mexico {year} (large edition)",
        intro_es=current.intro_es,
        intro_en=current.intro_en,
        nominations_open_on=opens,
        nominations_close_on=date(year, 4, 30),
        screening_until=date(year, 5, 21),
        vetting_until=date(year, 6, 11),
        finalists_on=date(year, 6, 18),
        deliberation_on=date(year, 7, 2),
        results_on=date(year, 7, 16),
        created_at=_at(date(year, 2, 15)),
        finalists_announced_at=_at(date(year, 6, 18), 10),
    )
    session.add(campaign)
    session.flush()
    current_themes = session.exec(
        select(Theme).where(Theme.campaign_id == current.id).order_by(col(Theme.position))
    ).all()
    themes = {}
    for theme in current_themes:
        copy = Theme(
            **theme.model_dump(exclude={"id", "campaign_id", "opens_at", "closes_at"}),
            campaign_id=_id(campaign),
            opens_at=_at(opens, 0),
            closes_at=_at(date(year, 4, 30), 23),
        )
        session.add(copy)
        themes[copy.slug] = copy
    current_criteria = session.exec(
        select(Criterion)
        .where(Criterion.campaign_id == current.id)
        .order_by(col(Criterion.position))
    ).all()
    criteria = []
    for criterion, weight in zip(current_criteria, LARGE_WEIGHTS, strict=False):
        copy_criterion = Criterion(
            **criterion.model_dump(exclude={"id", "campaign_id", "weight"}),
            campaign_id=_id(campaign),
            weight=weight,
        )
        session.add(copy_criterion)
        criteria.append(copy_criterion)
    session.flush()
    return Edition(campaign=campaign, themes=themes, criteria=criteria)


def _publish_small_result(
    loader: Loader,
    session: Session,
    rng: random.Random,
    edition: Edition,
    judges: Sequence[int],
    staff_id: int,
    now: datetime,
) -> None:
    """Winners confirmed and revision 1 published, from the snapshot the staff action freezes."""
    today = now.astimezone(TIMEZONE).date()
    recused = seat_panel(loader, rng, edition, judges, declared_at=now - timedelta(days=3))
    (meeting,) = hold_meetings(
        loader, session, rng, edition, judges, recused, days=[today - timedelta(days=1)],
        open_last=False,
    )  # fmt: skip
    # The winner of each theme: the finalist with the best mean score (a simple stand-in for
    # the aggregate, which staff confirm anyway).
    means: dict[int, Any] = dict(
        loader.connection.execute(
            select(_table(ScoreSheet).c.finalist_id, func.avg(_table(Score).c.value))
            .join(_table(Score), _table(Score).c.sheet_id == _table(ScoreSheet).c.id)
            .where(_table(ScoreSheet).c.meeting_id == _id(meeting))
            .group_by(_table(ScoreSheet).c.finalist_id)
        ).all()
    )
    winners: dict[int, int] = {}
    for finalist in edition.finalists:
        theme = edition.finalist_theme[finalist]
        if theme not in winners or means.get(finalist, 0) > means.get(winners[theme], 0):
            winners[theme] = finalist
    links = _table(MeetingFinalist)
    loader.connection.execute(
        links.update()
        .where(links.c.meeting_id == _id(meeting), links.c.finalist_id.in_(winners.values()))
        .values(proposed_winner=True)
    )
    loader.insert(
        Winner,
        ("campaign_id", "theme_id", "finalist_id", "rationale", "confirmed_by_id", "confirmed_at"),
        ((_id(edition.campaign), t, f, "", staff_id, now) for t, f in winners.items()),
    )
    # finalists_announced_at stays unset: announcing ends the call (issue 21), and the
    # nomination scenarios need this campaign's form open; /results reads only the revision.
    content = build_results_content(session, campaign=edition.campaign)
    session.add(
        ResultsRevision(
            campaign_id=_id(edition.campaign),
            number=1,
            status=RevisionStatus.published,
            content=json.dumps(content, ensure_ascii=False, sort_keys=True),
            created_by_id=staff_id,
            created_at=now - timedelta(hours=2),
            published_at=now - timedelta(hours=1),
        )
    )
    session.flush()


def _sample_pairs(
    rng: random.Random,
    judges: Sequence[int],
    finalists: Sequence[int],
    recused: set[tuple[int, int]],
) -> list[tuple[int, int]]:
    """(judge index, finalist id) pairs a judge may open: spread over judges and finalists."""
    pairs: list[tuple[int, int]] = []
    while len(pairs) < SAMPLE_PAIRS:
        index = len(pairs) % len(judges)
        finalist = rng.choice(finalists)
        if (judges[index], finalist) not in recused:
            pairs.append((index, finalist))
    return pairs


def seed(engine: Engine, *, now: datetime, files_dir: Path, seed_value: int = 7) -> dict[str, Any]:
    rng = random.Random(seed_value)
    password = secrets.token_urlsafe(18)
    password_hash = hash_password(password)
    evidence_sha256 = hashlib.sha256(EVIDENCE_PDF).hexdigest()
    stored = FileStore(files_dir).path_for(evidence_sha256)
    stored.parent.mkdir(parents=True, exist_ok=True)
    stored.write_bytes(EVIDENCE_PDF)

    timings: dict[str, float] = {}
    began = time.monotonic()
    with engine.begin() as connection:
        loader = Loader(connection)
        session = Session(bind=connection, autoflush=False, expire_on_commit=False)
        current = session.exec(
            select(Campaign).order_by(col(Campaign.year).desc()).limit(1)
        ).first()
        if current is None:
            raise SystemExit("no campaign: run `python -m app seed-demo` first")
        themes = {
            t.slug: t
            for t in session.exec(select(Theme).where(Theme.campaign_id == current.id)).all()
        }
        criteria = list(
            session.exec(
                select(Criterion)
                .where(Criterion.campaign_id == current.id)
                .order_by(col(Criterion.position))
            ).all()
        )
        staff_id, judges = _judge_accounts(loader, rng, password_hash, now - timedelta(days=800))

        # The current campaign: the queue's 100,000 nominations, and a published result.
        edition = Edition(campaign=current, themes=themes, criteria=criteria)
        opened = min(t.opens_at for t in themes.values())
        load_nominations(
            loader, rng, edition, count=NOMINATIONS, people=make_people(rng, 70_000),
            statuses=STATUSES, start=opened, end=now - timedelta(minutes=5),
            evidence_sha256=evidence_sha256,
        )  # fmt: skip
        timings["nominations"] = time.monotonic() - began
        choose_finalists(
            loader, rng, edition, per_theme=SMALL_FINALISTS_PER_THEME, staff_id=staff_id,
            chosen_on=now.astimezone(TIMEZONE).date() - timedelta(days=5),
        )  # fmt: skip
        _publish_small_result(loader, session, rng, edition, judges[:SMALL_PANEL], staff_id, now)

        # The large edition.
        mark = time.monotonic()
        large = _large_campaign(session, current)
        year = large.campaign.year
        load_nominations(
            loader, rng, large, count=LARGE_NOMINATIONS, people=make_people(rng, 2_600),
            statuses=CLOSED_STATUSES, start=_at(date(year, 3, 1), 9),
            end=_at(date(year, 4, 30), 20), evidence_sha256=evidence_sha256,
        )  # fmt: skip
        choose_finalists(
            loader, rng, large, per_theme=LARGE_FINALISTS_PER_THEME, staff_id=staff_id,
            chosen_on=date(year, 6, 15),
        )  # fmt: skip
        recused = seat_panel(loader, rng, large, judges, declared_at=_at(date(year, 6, 20)))
        meetings = hold_meetings(
            loader, session, rng, large, judges, recused,
            days=[date(year, 6, 25), date(year, 7, 2)], open_last=True,
        )  # fmt: skip
        timings["large edition"] = time.monotonic() - mark
        loader.move_sequences()
        session.close()
    timings["commit"] = time.monotonic() - began - sum(timings.values())

    mark = time.monotonic()
    analyze(engine)
    timings["analyze"] = time.monotonic() - mark
    closed, opened_meeting = meetings
    return {
        "password": password,
        "staff": STAFF_EMAIL,
        "judges": [f"judge{n:02d}@{DOMAIN}" for n in range(1, JUDGES + 1)],
        "themes": sorted(themes),
        "states": sorted(MEXICAN_STATES),
        "closed_meeting": _id(closed),
        "open_meeting": _id(opened_meeting),
        "finalists": len(large.finalists),
        "pairs": _sample_pairs(rng, judges, large.finalists, recused),
        "rows": dict(loader.counts),
        "timings": {k: round(v, 2) for k, v in timings.items()},
    }


def analyze(engine: Engine) -> None:
    """Full statistics for both planners; the server's start adds SQLite's `PRAGMA optimize`.
    On PostgreSQL, VACUUM too: it marks the loaded pages all-visible, as autovacuum would have
    long done on a table filled over weeks, so that index-only scans can skip the table."""
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("VACUUM ANALYZE")
        return
    with engine.connect() as connection:
        connection.exec_driver_sql("ANALYZE")
        connection.commit()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/seed_large.py", description=__doc__)
    parser.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    args = parser.parse_args(argv)
    settings = get_settings()
    engine = make_engine(settings)
    began = time.monotonic()
    try:
        info = seed(
            engine, now=datetime.now(UTC), files_dir=settings.files_dir, seed_value=args.seed
        )
    finally:
        engine.dispose()
    info["seconds"] = round(time.monotonic() - began, 2)
    print("BENCH-SEED " + json.dumps(info), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
