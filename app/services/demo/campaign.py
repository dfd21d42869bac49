"""The demo campaign of `python -m app seed-demo`: fictional, open for nominations today."""

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from sqlmodel import Session, select

from app.i18n import TIMEZONE
from app.models import Account, Campaign, Role, Theme
from app.services.accounts.accounts import create_account, set_demo_password
from app.services.campaigns.rubric import seed_demo_criteria

DEMO_ACCOUNTS = (
    ("admin@demo.integrity-icon.invalid", "Ana Administradora (demo)", Role.admin),
    ("staff@demo.integrity-icon.invalid", "Sergio Staff (demo)", Role.staff),
    ("judge1@demo.integrity-icon.invalid", "Julia Jueza (demo)", Role.judge),
    ("judge2@demo.integrity-icon.invalid", "Jorge Juez (demo)", Role.judge),
    # Enters paper, phone and event nominations at /staff/intake (issue 15).
    ("volunteer@demo.integrity-icon.invalid", "Valeria Voluntaria (demo)", Role.volunteer),
)


@dataclass(frozen=True)
class DemoResult:
    campaign: Campaign
    created: bool
    credentials: list[tuple[str, str, Role]]


def _at(day: datetime, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day.date(), time(hour, minute), tzinfo=TIMEZONE).astimezone(UTC)


def seed_demo(session: Session, *, now: datetime) -> DemoResult:
    """Creates this year's demo campaign and its rubric if they are missing; demo accounts get
    fresh passwords."""
    local = now.astimezone(TIMEZONE)
    campaign = session.exec(select(Campaign).where(Campaign.year == local.year)).first()
    created = campaign is None
    if campaign is None:
        opens = _at(local - timedelta(days=7), 0)
        closes = _at(local + timedelta(days=60), 23, 59)
        close_day = closes.astimezone(TIMEZONE).date()
        campaign = Campaign(
            year=local.year,
            title_es=f"Integrity Icon México {local.year}",
            title_en=f"Integrity Icon Mexico {local.year}",
            intro_es=(
                "Reconocemos a servidoras y servidores públicos que actúan con integridad. "
                "¿Conoces a alguien así? Nomínalo: tu identidad es confidencial."
            ),
            intro_en=(
                "We celebrate public servants who act with integrity. Do you know one? "
                "Nominate them: your identity stays confidential."
            ),
            nominations_open_on=opens.astimezone(TIMEZONE).date(),
            nominations_close_on=close_day,
            screening_until=close_day + timedelta(days=21),
            vetting_until=close_day + timedelta(days=42),
            finalists_on=close_day + timedelta(days=49),
            deliberation_on=close_day + timedelta(days=63),
            results_on=close_day + timedelta(days=77),
            created_at=now,
        )
        session.add(campaign)
        session.flush()
        assert campaign.id is not None
        session.add_all(
            [
                Theme(
                    campaign_id=campaign.id,
                    slug="youth",
                    position=1,
                    name_es="Jóvenes",
                    name_en="Youth",
                    description_es=(
                        "Servidoras y servidores públicos jóvenes que ya muestran que la "
                        "integridad es posible desde el inicio de una carrera."
                    ),
                    description_en=(
                        "Young public servants who already show that integrity is possible "
                        "from the start of a career."
                    ),
                    eligibility_es=(
                        "Personas de 35 años o menos que trabajen hoy en el servicio público "
                        "de México, en cualquier nivel de gobierno."
                    ),
                    eligibility_en=(
                        "People aged 35 or younger who work today in Mexico's public service, "
                        "at any level of government."
                    ),
                    max_age=35,
                    opens_at=opens,
                    closes_at=closes,
                ),
                Theme(
                    campaign_id=campaign.id,
                    slug="sustainability",
                    position=2,
                    name_es="Sustentabilidad",
                    name_en="Sustainability",
                    description_es=(
                        "Servidoras y servidores públicos que protegen el medio ambiente y los "
                        "recursos de todos con honestidad, aun bajo presión."
                    ),
                    description_en=(
                        "Public servants who protect the environment and shared resources "
                        "honestly, even under pressure."
                    ),
                    eligibility_es=(
                        "Personas que trabajen hoy en el servicio público de México y cuya labor "
                        "se relacione con el medio ambiente, el agua, la energía o el territorio."
                    ),
                    eligibility_en=(
                        "People who work today in Mexico's public service on the environment, "
                        "water, energy or land."
                    ),
                    max_age=None,
                    opens_at=opens,
                    closes_at=closes,
                ),
            ]
        )
    session.flush()
    seed_demo_criteria(session, campaign=campaign)
    credentials = []
    for email, name, role in DEMO_ACCOUNTS:
        password = secrets.token_urlsafe(12)
        account = session.exec(select(Account).where(Account.email == email)).first()
        if account is None:
            create_account(session, email=email, name=name, role=role, password=password, now=now)
        else:
            set_demo_password(session, account=account, password=password)
        credentials.append((email, password, role))
    session.flush()
    return DemoResult(campaign=campaign, created=created, credentials=credentials)
