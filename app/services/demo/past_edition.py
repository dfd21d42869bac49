"""A past edition for the demo: last year's campaign, from nominations to published results,
so /results/{last year} shows the whole cycle. Every person in it is fictional, and every
account has an unusable password and no session.

It writes the rows a real edition leaves behind (nominations, candidates, vetting, finalists,
rubric, panel, conflicts, two closed meetings with scores, winners) and freezes the results
with the same snapshot the staff action uses, then a correction, as a real edition might.
"""

import json
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol

from sqlmodel import Session, col, select

from app.i18n import TIMEZONE
from app.models import (
    Account,
    Campaign,
    Candidate,
    CheckKind,
    CheckResult,
    ConflictDeclaration,
    ConsentChannel,
    ConsentStatus,
    Criterion,
    Finalist,
    FinalistConsent,
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
from app.services.campaigns.rubric import seed_demo_criteria
from app.services.results.revisions import build_results_content
from app.services.text import fold, search_text

DEMO_DOMAIN = "demo.integrity-icon.invalid"

# (theme, nominee, position, institution, state, level, finalist?, citation es, citation en)
_PEOPLE = (
    (
        "youth",
        "Itzel Demo Ramírez (ficticia)",
        "Coordinadora de Transparencia",
        "Municipio Ficticio de San Ejemplo",
        "OAX",
        GovernmentLevel.municipal,
        True,
        "Abrió en línea cada contrato de obra del municipio y explicó a los vecinos cómo leerlos.",
        "She put every public-works contract of the municipality online and taught neighbours"
        " how to read them.",
    ),
    (
        "youth",
        "Bruno Ejemplar Soto (ficticio)",
        "Analista de Compras",
        "Secretaría Imaginaria de Salud",
        "JAL",
        GovernmentLevel.state,
        True,
        "Rechazó una compra de medicamentos con sobreprecio y documentó el caso ante la"
        " contraloría.",
        "He refused an overpriced purchase of medicines and documented the case for the"
        " comptroller.",
    ),
    (
        "youth",
        "Camila Prueba Núñez (ficticia)",
        "Auxiliar Administrativa",
        "Instituto Ficticio de la Juventud",
        "CMX",
        GovernmentLevel.federal,
        False,
        "",
        "",
    ),
    (
        "sustainability",
        "Rosa Muestra Herrera (ficticia)",
        "Inspectora Ambiental",
        "Procuraduría Imaginaria del Ambiente",
        "VER",
        GovernmentLevel.state,
        True,
        "Clausuró una descarga ilegal al río pese a las presiones y publicó sus inspecciones.",
        "She shut down an illegal discharge into the river despite pressure and published her"
        " inspections.",
    ),
    (
        "sustainability",
        "Tomás Ficción Lara (ficticio)",
        "Director de Agua Potable",
        "Organismo Ficticio de Agua de Villa Demo",
        "SON",
        GovernmentLevel.municipal,
        True,
        "Ordenó el padrón de usuarios del agua y terminó con los cobros a modo.",
        "He cleaned up the register of water users and ended arbitrary charges.",
    ),
    (
        "sustainability",
        "Elena Supuesta Vidal (ficticia)",
        "Guardaparques",
        "Comisión Imaginaria de Áreas Naturales",
        "YUC",
        GovernmentLevel.federal,
        False,
        "",
        "",
    ),
)
# Which people each nomination names (by index above): two independent nominators named the
# first person, so 7 nominations make 6 candidates. An eighth is found not eligible.
_NOMINATIONS = (0, 0, 1, 2, 3, 4, 5)
_INELIGIBLE = (
    "sustainability",
    "Pedro Inelegible Gómez (ficticio)",
    "Consultor",
    "Empresa Ficticia S.A.",
    "NLE",
    GovernmentLevel.state,
)
_JUDGES = (
    ("Jueza Ficticia Uno (demo)", "es"),
    ("Juez Ficticio Dos (demo)", "es"),
    ("Judge Fictional Three (demo)", "en"),
)
# Scores per (judge, finalist index among the four finalists) for each meeting, one value per
# criterion. Judge 3 is recused from finalist 0 (see _CONFLICT) and has no sheet for them.
_CONFLICT = (2, 0)
_SCORES = {
    1: (
        ((5, 4, 5, 5, 4, 5), (4, 4, 4, 4, 3, 4), (4, 5, 5, 4, 4, 4), (4, 4, 3, 4, 4, 4)),
        ((5, 5, 4, 5, 4, 5), (3, 4, 4, 3, 4, 4), (5, 4, 5, 5, 4, 5), (4, 3, 4, 4, 3, 4)),
        (None, (4, 4, 3, 4, 4, 3), (5, 5, 4, 5, 5, 4), (3, 4, 4, 4, 4, 3)),
    ),
    2: (
        ((5, 5, 5, 5, 4, 5), (4, 4, 4, 4, 4, 4), (5, 4, 5, 5, 5, 4), (4, 4, 4, 4, 3, 4)),
        ((5, 5, 5, 4, 5, 5), (4, 4, 3, 4, 4, 4), (5, 5, 5, 4, 4, 5), (4, 4, 4, 3, 4, 4)),
        (None, (4, 3, 4, 4, 4, 4), (5, 5, 5, 5, 4, 5), (4, 4, 4, 4, 4, 3)),
    ),
}
# The meetings proposed the first finalist of each theme (indexes 0 and 2) as winners.
_PROPOSED = (0, 2)
_CORRECTION = (
    "Se corrigió el nombre de la institución de una ganadora"
    " (antes: «Procuraduría Imaginaria Ambiental»)."
)


class HasId(Protocol):
    @property
    def id(self) -> int | None: ...


@dataclass(frozen=True)
class PastEdition:
    campaign: Campaign
    created: bool


def _at(day: date, hour: int = 12) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=TIMEZONE).astimezone(UTC)


def _id(row: HasId) -> int:
    """The id of a flushed row."""
    assert row.id is not None
    return row.id


def _account(session: Session, email: str, name: str, role: Role, locale: str) -> Account:
    account = session.exec(select(Account).where(Account.email == email)).first()
    if account is None:
        # No password hash: nobody can sign in as a fictional person of a past edition.
        account = Account(
            email=email, name=name, role=role, password_hash="", is_active=False, locale=locale
        )
        session.add(account)
        session.flush()
    return account


def seed_past_edition(session: Session, *, now: datetime) -> PastEdition:
    """Creates last year's edition with published results, unless that year exists already.
    Each stage below writes what that stage of a real edition leaves behind, in its order."""
    year = now.astimezone(TIMEZONE).year - 1
    existing = session.exec(select(Campaign).where(Campaign.year == year)).first()
    if existing is not None:
        return PastEdition(campaign=existing, created=False)

    campaign, themes = _open_the_call(session, year)
    staff, judges = _team(session, year)
    candidates = _screen_nominations(session, campaign, themes)
    finalists = _vet_and_choose_finalists(session, campaign, themes, candidates, staff=staff)
    criteria = _rubric(session, campaign)
    _seat_the_panel(session, themes, judges, finalists)
    _hold_meetings(session, campaign, judges, finalists, criteria)
    _confirm_winners(session, campaign, finalists, staff=staff)
    _publish_results(session, campaign, finalists, staff=staff)
    return PastEdition(campaign=campaign, created=True)


def _open_the_call(session: Session, year: int) -> tuple[Campaign, dict[str, Theme]]:
    """The campaign, its calendar and its two themes."""
    opens = date(year, 3, 1)
    campaign = Campaign(
        year=year,
        title_es=f"Integrity Icon México {year} (edición de demostración)",
        title_en=f"Integrity Icon Mexico {year} (demo edition)",
        intro_es="Una edición pasada, con personas ficticias, para mostrar el ciclo completo.",
        intro_en="A past edition with fictional people, to show the whole cycle.",
        nominations_open_on=opens,
        nominations_close_on=date(year, 4, 30),
        screening_until=date(year, 5, 21),
        vetting_until=date(year, 6, 11),
        finalists_on=date(year, 6, 18),
        deliberation_on=date(year, 7, 2),
        results_on=date(year, 7, 16),
        created_at=_at(date(year, 2, 15)),
        winners_per_theme=1,
    )
    session.add(campaign)
    session.flush()

    themes = {
        "youth": Theme(
            campaign_id=_id(campaign),
            slug="youth",
            position=1,
            name_es="Jóvenes",
            name_en="Youth",
            description_es="Servidoras y servidores públicos jóvenes que actúan con integridad.",
            description_en="Young public servants who act with integrity.",
            eligibility_es="Personas de 35 años o menos en el servicio público de México.",
            eligibility_en="People aged 35 or younger in Mexico's public service.",
            max_age=35,
            opens_at=_at(opens, 0),
            closes_at=_at(date(year, 4, 30), 23),
        ),
        "sustainability": Theme(
            campaign_id=_id(campaign),
            slug="sustainability",
            position=2,
            name_es="Sustentabilidad",
            name_en="Sustainability",
            description_es="Personas del servicio público que protegen el medio ambiente.",
            description_en="Public servants who protect the environment.",
            eligibility_es="Personas en el servicio público cuya labor toca el ambiente.",
            eligibility_en="Public servants whose work concerns the environment.",
            opens_at=_at(opens, 0),
            closes_at=_at(date(year, 4, 30), 23),
        ),
    }
    session.add_all(themes.values())
    session.flush()
    return campaign, themes


def _team(session: Session, year: int) -> tuple[Account, list[Account]]:
    """The staff member who ran the edition and its three judges."""
    staff = _account(
        session, f"staff-{year}@{DEMO_DOMAIN}", f"Equipo {year} (demo)", Role.staff, "es"
    )
    judges = [
        _account(session, f"judge-{year}-{i + 1}@{DEMO_DOMAIN}", name, Role.judge, locale)
        for i, (name, locale) in enumerate(_JUDGES)
    ]
    return staff, judges


def _screen_nominations(
    session: Session, campaign: Campaign, themes: dict[str, Theme]
) -> list[Candidate]:
    """The nominations, screened: the eligible ones grouped into one candidate per person,
    one found not eligible."""
    year = campaign.year
    candidates = []
    for theme_slug, name, _position, institution, state, *_rest in _PEOPLE:
        theme = themes[theme_slug]
        candidates.append(
            Candidate(
                campaign_id=_id(campaign),
                theme_id=_id(theme),
                name=name,
                institution=institution,
                state=state,
                match_key=fold(name),
                vetting_status=VettingStatus.pending,
                created_at=_at(date(year, 5, 10)),
            )
        )
    session.add_all(candidates)
    session.flush()

    opens = campaign.nominations_open_on
    named = [(_PEOPLE[person][:6], person) for person in _NOMINATIONS]
    for index, (nominee, person) in enumerate([*named, (_INELIGIBLE, None)]):
        theme_slug, name, position, institution, state, level = nominee
        submitted = _at(opens + timedelta(days=5 + 6 * index), 10)
        eligible = person is not None
        session.add(
            Nomination(
                reference=secrets.token_urlsafe(16),
                submission_key=secrets.token_urlsafe(24),
                theme_id=_id(themes[theme_slug]),
                status=NominationStatus.eligible if eligible else NominationStatus.ineligible,
                status_reason="" if eligible else "Trabaja en el sector privado desde hace un año.",
                candidate_id=_id(candidates[person]) if person is not None else None,
                search_text=search_text(name, institution),
                locale="es",
                nominee_name=name,
                nominee_position=position,
                nominee_institution=institution,
                government_level=level,
                state=state,
                years_of_service=3 + index,
                nominee_age=29 + index if theme_slug == "youth" else None,
                nominee_contact="",
                achievement="Historia ficticia de demostración.",
                impact="Impacto ficticio de demostración.",
                obstacles="Obstáculos ficticios de demostración.",
                how_known="Persona ficticia: esta nominación es de demostración.",
                reference1_name="Referencia Ficticia A",
                reference1_contact=f"ref-a-{index}@{DEMO_DOMAIN}",
                reference2_name="Referencia Ficticia B",
                reference2_contact=f"ref-b-{index}@{DEMO_DOMAIN}",
                nominator_name=f"Nominadora Ficticia {index + 1}",
                nominator_email=f"nominator-{year}-{index + 1}@{DEMO_DOMAIN}",
                nominator_relationship=Relationship.colleague,
                may_contact=False,
                privacy_consent_at=submitted,
                submitted_at=submitted,
            )
        )
    return candidates


def _vet_and_choose_finalists(
    session: Session,
    campaign: Campaign,
    themes: dict[str, Theme],
    candidates: list[Candidate],
    *,
    staff: Account,
) -> list[Finalist]:
    """Vetting checks of the candidates chosen, cleared, as finalists (two per theme), and the
    finalists' announcement."""
    year = campaign.year
    finalists: list[Finalist] = []
    for profile, candidate in zip(_PEOPLE, candidates, strict=True):
        theme_slug, name, position, institution, _state, _level, chosen, cite_es, cite_en = profile
        candidate.vetting_status = VettingStatus.cleared if chosen else VettingStatus.pending
        session.add(candidate)
        assert candidate.id is not None
        if not chosen:
            continue
        for kind in (CheckKind.references, CheckKind.press, CheckKind.sanctions):
            session.add(
                VettingCheck(
                    candidate_id=_id(candidate),
                    kind=kind,
                    result=CheckResult.clear,
                    note="Verificación ficticia de demostración.",
                    checked_on=date(year, 6, 1),
                    author_id=_id(staff),
                )
            )
        finalist = Finalist(
            candidate_id=_id(candidate),
            theme_id=_id(themes[theme_slug]),
            public_name=name,
            public_position=position,
            # The first published revision carried a typo here; the correction fixed it.
            public_institution=institution,
            citation_es=cite_es,
            citation_en=cite_en,
            created_at=_at(date(year, 6, 15)),
        )
        session.add(finalist)
        finalists.append(finalist)
    session.flush()
    # Each finalist consented by a signed letter, recorded by staff, before the announcement.
    for finalist in finalists:
        session.add(
            FinalistConsent(
                finalist_id=_id(finalist),
                status=ConsentStatus.given,
                name_and_position=True,
                photo=True,
                story=True,
                channel=ConsentChannel.letter,
                recorded_by_id=_id(staff),
                answered_at=_at(date(year, 6, 16)),
                created_at=_at(date(year, 6, 16)),
            )
        )
    session.flush()
    campaign.finalists_announced_at = _at(campaign.finalists_on, 10)
    session.add(campaign)
    return finalists


def _rubric(session: Session, campaign: Campaign) -> list[Criterion]:
    """The demo rubric, the same as the current edition's, in its order."""
    seed_demo_criteria(session, campaign=campaign)
    return list(
        session.exec(
            select(Criterion)
            .where(Criterion.campaign_id == campaign.id)
            .order_by(col(Criterion.position))
        ).all()
    )


def _seat_the_panel(
    session: Session,
    themes: dict[str, Theme],
    judges: list[Account],
    finalists: list[Finalist],
) -> None:
    """Every judge on both themes, each with a declaration about every finalist: one conflict
    (_CONFLICT), which recuses that judge from that finalist."""
    for judge in judges:
        session.add_all(
            [
                JudgeAssignment(account_id=_id(judge), theme_id=_id(theme))
                for theme in themes.values()
            ]
        )
    for judge_index, judge in enumerate(judges):
        for finalist_index, finalist in enumerate(finalists):
            conflict = (judge_index, finalist_index) == _CONFLICT
            session.add(
                ConflictDeclaration(
                    judge_id=_id(judge),
                    finalist_id=_id(finalist),
                    has_conflict=conflict,
                    description="Colaboramos en un proyecto (ficticio)." if conflict else "",
                    recorded_by_id=_id(judge),
                )
            )
    session.flush()


def _hold_meetings(
    session: Session,
    campaign: Campaign,
    judges: list[Account],
    finalists: list[Finalist],
    criteria: list[Criterion],
) -> None:
    """Two closed meetings with every finalist in scope: the first advanced them all, the
    second proposed the winners (_PROPOSED); the judges' sheets as in _SCORES."""
    year = campaign.year
    previous = None
    for number, held_on in ((1, date(year, 6, 25)), (2, date(year, 7, 2))):
        meeting = Meeting(
            campaign_id=_id(campaign),
            number=number,
            held_on=held_on,
            status=MeetingStatus.closed,
            source_meeting_id=_id(previous) if previous else None,
            minutes="Sesión ficticia de demostración.",
            opened_at=_at(held_on - timedelta(days=7)),
            closed_at=_at(held_on, 18),
        )
        session.add(meeting)
        session.flush()
        for index, finalist in enumerate(finalists):
            session.add(
                MeetingFinalist(
                    meeting_id=_id(meeting),
                    finalist_id=_id(finalist),
                    advanced=number == 1,
                    proposed_winner=number == 2 and index in _PROPOSED,
                )
            )
        _score(session, meeting, judges, finalists, criteria)
        previous = meeting
    session.flush()


def _score(
    session: Session,
    meeting: Meeting,
    judges: list[Account],
    finalists: list[Finalist],
    criteria: list[Criterion],
) -> None:
    """The submitted sheets of one meeting; a recused judge has none for that finalist."""
    submitted_at = _at(meeting.held_on, 11)
    for judge, judge_scores in zip(judges, _SCORES[meeting.number], strict=True):
        for finalist, values in zip(finalists, judge_scores, strict=True):
            if values is None:
                continue
            sheet = ScoreSheet(
                meeting_id=_id(meeting),
                judge_id=_id(judge),
                finalist_id=_id(finalist),
                submitted_at=submitted_at,
            )
            session.add(sheet)
            session.flush()
            session.add_all(
                [
                    Score(sheet_id=_id(sheet), criterion_id=_id(criterion), value=value)
                    for criterion, value in zip(criteria, values, strict=True)
                ]
            )


def _confirm_winners(
    session: Session, campaign: Campaign, finalists: list[Finalist], *, staff: Account
) -> None:
    """The winners the last meeting proposed, confirmed by staff."""
    for index in _PROPOSED:
        finalist = finalists[index]
        session.add(
            Winner(
                campaign_id=_id(campaign),
                theme_id=finalist.theme_id,
                finalist_id=_id(finalist),
                confirmed_by_id=_id(staff),
                confirmed_at=_at(date(campaign.year, 7, 9)),
            )
        )
    session.flush()


def _publish_results(
    session: Session, campaign: Campaign, finalists: list[Finalist], *, staff: Account
) -> None:
    """Revision 1 went out with a misspelt institution; revision 2 corrects it, so the demo
    shows how a correction is published without rewriting what was there. Both are frozen
    with the snapshot the staff action uses."""
    corrected = finalists[_PROPOSED[1]]
    right_institution = corrected.public_institution
    corrected.public_institution = "Procuraduría Imaginaria Ambiental"
    session.add(corrected)
    session.flush()
    first = build_results_content(session, campaign=campaign)
    corrected.public_institution = right_institution
    session.add(corrected)
    session.flush()
    second = build_results_content(session, campaign=campaign)
    for number, content, reason, day in (
        (1, first, "", campaign.results_on),
        (2, second, _CORRECTION, campaign.results_on + timedelta(days=3)),
    ):
        session.add(
            ResultsRevision(
                campaign_id=_id(campaign),
                number=number,
                status=RevisionStatus.published,
                reason=reason,
                content=json.dumps(content, ensure_ascii=False, sort_keys=True),
                created_by_id=_id(staff),
                created_at=_at(day, 9),
                published_at=_at(day, 12),
            )
        )
    session.flush()
