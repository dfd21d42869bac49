"""The campaign's rubric: criteria with their weights and scales.

The rubric may change only until the first score is given with it: after that, a change would
make earlier scores mean something else, so every change is refused (409) and nothing moves.
"""

from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import exists, func
from sqlmodel import Session, col, select

from app.errors import Conflict, InvalidInput, NotFound
from app.forms.campaigns import MAX_WEIGHT, SCALE_BOUNDS
from app.i18n import N_
from app.models import Account, Campaign, Criterion, Score
from app.services import audit
from app.services.campaigns.campaigns import get_current_campaign

FROZEN_MESSAGE = N_(
    "The rubric is frozen: judges have already given scores with it, so its criteria can no"
    " longer change."
)


def current_campaign(session: Session) -> Campaign:
    """The campaign the staff and judges' areas work on; 404 while there is none."""
    campaign = get_current_campaign(session)
    if campaign is None:
        raise NotFound(N_("There is no campaign yet."))
    return campaign


def list_criteria(session: Session, *, campaign_id: int) -> list[Criterion]:
    return list(
        session.exec(
            select(Criterion)
            .where(Criterion.campaign_id == campaign_id)
            .order_by(col(Criterion.position), col(Criterion.id))
        ).all()
    )


def is_frozen(session: Session, *, campaign_id: int) -> bool:
    """True once any score exists for a criterion of the campaign."""
    return bool(
        session.exec(
            select(
                exists().where(
                    col(Score.criterion_id) == col(Criterion.id),
                    col(Criterion.campaign_id) == campaign_id,
                )
            )
        ).one()
    )


def ensure_editable(session: Session, *, campaign_id: int) -> None:
    if is_frozen(session, campaign_id=campaign_id):
        raise Conflict(FROZEN_MESSAGE)


@dataclass(frozen=True)
class RubricView:
    campaign: Campaign
    criteria: list[Criterion]
    frozen: bool

    @property
    def total_weight(self) -> float:
        return sum(criterion.weight for criterion in self.criteria)

    def share(self, criterion: Criterion) -> float:
        """The criterion's part of the weighted mean, in percent."""
        total = self.total_weight
        return 100 * criterion.weight / total if total else 0.0


def rubric_view(session: Session, *, campaign: Campaign) -> RubricView:
    assert campaign.id is not None
    return RubricView(
        campaign=campaign,
        criteria=list_criteria(session, campaign_id=campaign.id),
        frozen=is_frozen(session, campaign_id=campaign.id),
    )


def get_criterion(session: Session, *, campaign_id: int, criterion_id: int) -> Criterion:
    criterion = session.get(Criterion, criterion_id)
    if criterion is None or criterion.campaign_id != campaign_id:
        raise NotFound(N_("This criterion does not exist in the current campaign."))
    return criterion


def _snapshot(criterion: Criterion) -> dict[str, Any]:
    return {
        "position": criterion.position,
        "name_es": criterion.name_es,
        "name_en": criterion.name_en,
        "description_es": criterion.description_es,
        "description_en": criterion.description_en,
        "weight": criterion.weight,
        "scale_min": criterion.scale_min,
        "scale_max": criterion.scale_max,
    }


def _check_values(*, weight: float, scale_min: int, scale_max: int) -> None:
    # The form already says this beside each field; here it guards every other caller.
    if not 0 < weight <= MAX_WEIGHT:
        raise InvalidInput(
            N_("The weight must be greater than 0 and at most %(max)s."), max=int(MAX_WEIGHT)
        )
    low, high = SCALE_BOUNDS
    if not low <= scale_min < scale_max <= high:
        raise InvalidInput(
            N_(
                "The scale must run from a lower to a higher whole number, within %(low)s–%(high)s."
            ),
            low=low,
            high=high,
        )


def add_criterion(
    session: Session,
    *,
    campaign: Campaign,
    actor: Account,
    name_es: str,
    name_en: str,
    description_es: str,
    description_en: str,
    weight: float,
    scale_min: int,
    scale_max: int,
) -> Criterion:
    assert campaign.id is not None
    ensure_editable(session, campaign_id=campaign.id)
    _check_values(weight=weight, scale_min=scale_min, scale_max=scale_max)
    last = session.exec(
        select(func.max(Criterion.position)).where(Criterion.campaign_id == campaign.id)
    ).one()
    criterion = Criterion(
        campaign_id=campaign.id,
        position=(last if last is not None else -1) + 1,
        name_es=name_es,
        name_en=name_en,
        description_es=description_es,
        description_en=description_en,
        weight=weight,
        scale_min=scale_min,
        scale_max=scale_max,
    )
    session.add(criterion)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="criterion.created",
        object_type="criterion",
        object_id=criterion.id,
        after=_snapshot(criterion),
    )
    return criterion


def update_criterion(
    session: Session,
    *,
    campaign: Campaign,
    criterion_id: int,
    actor: Account,
    name_es: str,
    name_en: str,
    description_es: str,
    description_en: str,
    weight: float,
    scale_min: int,
    scale_max: int,
) -> Criterion:
    assert campaign.id is not None
    criterion = get_criterion(session, campaign_id=campaign.id, criterion_id=criterion_id)
    ensure_editable(session, campaign_id=campaign.id)
    _check_values(weight=weight, scale_min=scale_min, scale_max=scale_max)
    before = _snapshot(criterion)
    criterion.name_es = name_es
    criterion.name_en = name_en
    criterion.description_es = description_es
    criterion.description_en = description_en
    criterion.weight = weight
    criterion.scale_min = scale_min
    criterion.scale_max = scale_max
    after = _snapshot(criterion)
    if after != before:
        session.add(criterion)
        session.flush()
        audit.record(
            session,
            actor=actor,
            action="criterion.updated",
            object_type="criterion",
            object_id=criterion.id,
            before={k: v for k, v in before.items() if after[k] != v},
            after={k: v for k, v in after.items() if before[k] != v},
        )
    return criterion


def _renumber(session: Session, criteria: list[Criterion]) -> None:
    for position, criterion in enumerate(criteria):
        if criterion.position != position:
            criterion.position = position
            session.add(criterion)


def delete_criterion(
    session: Session, *, campaign: Campaign, criterion_id: int, actor: Account
) -> None:
    assert campaign.id is not None
    criterion = get_criterion(session, campaign_id=campaign.id, criterion_id=criterion_id)
    ensure_editable(session, campaign_id=campaign.id)
    before = _snapshot(criterion)
    session.delete(criterion)
    session.flush()
    _renumber(session, list_criteria(session, campaign_id=campaign.id))
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="criterion.deleted",
        object_type="criterion",
        object_id=criterion_id,
        before=before,
    )


def move_criterion(
    session: Session,
    *,
    campaign: Campaign,
    criterion_id: int,
    direction: Literal["up", "down"],
    actor: Account,
) -> None:
    """Swaps the criterion with its neighbour; at either end nothing changes."""
    assert campaign.id is not None
    criterion = get_criterion(session, campaign_id=campaign.id, criterion_id=criterion_id)
    ensure_editable(session, campaign_id=campaign.id)
    criteria = list_criteria(session, campaign_id=campaign.id)
    index = next(i for i, c in enumerate(criteria) if c.id == criterion.id)
    other = index - 1 if direction == "up" else index + 1
    if not 0 <= other < len(criteria):
        return
    before = [c.id for c in criteria]
    criteria[index], criteria[other] = criteria[other], criteria[index]
    _renumber(session, criteria)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="criterion.moved",
        object_type="criterion",
        object_id=criterion.id,
        before={"order": before},
        after={"order": [c.id for c in criteria]},
    )


# The rubric the real campaign publishes, with equal weights and a 1-5 scale.
DEMO_CRITERIA: tuple[tuple[str, str, str, str], ...] = (
    (
        "Importancia del impacto",
        "Significance of the impact",
        "Qué tanto mejoró la vida de las personas o el funcionamiento de una institución"
        " gracias a su trabajo.",
        "How much their work improved people's lives or the way an institution works.",
    ),
    (
        "Alcance más allá de su ámbito",
        "Reach beyond the nominee's own sphere",
        "Si su ejemplo o sus resultados llegaron más allá de su oficina, su institución o su"
        " comunidad.",
        "Whether their example or results reached beyond their own office, institution or"
        " community.",
    ),
    (
        "Obstáculos superados",
        "Obstacles overcome",
        "Las presiones, los riesgos y las dificultades que enfrentó para actuar con integridad.",
        "The pressure, risks and difficulties they faced to act with integrity.",
    ),
    (
        "Valor como ejemplo",
        "Value as an example for others",
        "Qué tanto puede inspirar su historia a otras personas del servicio público a actuar"
        " igual.",
        "How much their story can inspire other public servants to act the same way.",
    ),
    (
        "Uso de la influencia de su cargo",
        "Use of the leverage of their position",
        "Cómo usó el poder y los recursos de su cargo para servir al interés público.",
        "How they used the power and resources of their position to serve the public interest.",
    ),
    (
        "Integridad más allá de la competencia",
        "Integrity beyond simple competence",
        "Si su conducta va más allá de hacer bien su trabajo y muestra honestidad cuando nadie"
        " la exige.",
        "Whether their conduct goes beyond doing their job well and shows honesty when no one"
        " demands it.",
    ),
)


def seed_demo_criteria(session: Session, *, campaign: Campaign) -> int:
    """Adds the campaign's published rubric if the campaign has no criteria yet; returns how
    many were added (0 on a second run)."""
    assert campaign.id is not None
    if list_criteria(session, campaign_id=campaign.id):
        return 0
    session.add_all(
        [
            Criterion(
                campaign_id=campaign.id,
                position=position,
                name_es=name_es,
                name_en=name_en,
                description_es=description_es,
                description_en=description_en,
                weight=1.0,
                scale_min=1,
                scale_max=5,
            )
            for position, (name_es, name_en, description_es, description_en) in enumerate(
                DEMO_CRITERIA
            )
        ]
    )
    session.flush()
    return len(DEMO_CRITERIA)
