"""Personal-data requests of the people a nomination names: the nominee and the two references.

They gave us nothing themselves, so there is no address of theirs to look them up by: staff search
by a name or by the phone or e-mail the nominator gave for them, then tick which of the places
found are this person (a namesake is another person), and answer as for a nominator's request:
access (a file with what each place says about them), rectification (their name and contact),
cancellation. Cancelling a reference blanks their name and contact. Cancelling the nominee deletes
the nominations about them that never became candidates (as the retention period would); where
one is part of a candidate, its contact, age and gender are blanked and the rest stays as the
record of how the edition chose, with a note for staff to handle the candidate itself by hand.
The audit trail names the nominations and roles, never what they held.
"""

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select, update

from app.errors import NotFound
from app.forms.base import MAX_ROW_ID
from app.forms.named_person import MAX_PLACES
from app.i18n import N_
from app.models import Account, Campaign, Nomination, Theme, utcnow
from app.services import audit
from app.services.privacy import erasure
from app.services.text import fold


class Role(StrEnum):
    nominee = "nominee"
    reference1 = "reference1"
    reference2 = "reference2"


# The name and contact fields of each role.
FIELDS = {
    Role.nominee: ("nominee_name", "nominee_contact"),
    Role.reference1: ("reference1_name", "reference1_contact"),
    Role.reference2: ("reference2_name", "reference2_contact"),
}
# What else a nomination says about the nominee, beside their name and contact.
ABOUT_NOMINEE = (
    "nominee_position",
    "nominee_institution",
    "government_level",
    "state",
    "years_of_service",
    "nominee_age",
    "nominee_gender",
    "achievement",
    "impact",
    "obstacles",
)
# What cancelling the nominee blanks in a nomination that is part of a candidate.
NOMINEE_PERSONAL = {"nominee_contact": "", "nominee_age": None, "nominee_gender": None}


@dataclass(frozen=True)
class Place:
    """One nomination where the person appears, and as what."""

    nomination: Nomination
    role: Role
    year: int
    theme: Theme

    @property
    def key(self) -> str:
        return f"{self.nomination.id}:{self.role.value}"

    @property
    def name(self) -> str:
        return str(getattr(self.nomination, FIELDS[self.role][0]))

    @property
    def contact(self) -> str:
        return str(getattr(self.nomination, FIELDS[self.role][1]))


def _matches(query: str, value: str) -> bool:
    return bool(value) and query in fold(value)


def find_places(session: Session, *, query: str) -> list[Place]:
    """Every nomination naming someone by this name, or giving this phone or e-mail, accents and
    capitals aside. Names are compared in Python (the databases fold accents differently), over
    the few columns needed: a few thousand nominations a year read in milliseconds."""
    folded = fold(query)
    rows = session.execute(
        sa_select(
            col(Nomination.id),
            col(Nomination.nominee_name),
            col(Nomination.nominee_contact),
            col(Nomination.reference1_name),
            col(Nomination.reference1_contact),
            col(Nomination.reference2_name),
            col(Nomination.reference2_contact),
        )
    ).all()
    wanted: list[tuple[int, Role]] = []
    for nomination_id, *values in rows:
        for index, role in enumerate(Role):
            name, contact = values[2 * index], values[2 * index + 1]
            if _matches(folded, name) or _matches(folded, contact):
                wanted.append((nomination_id, role))
    return _load(session, wanted[: MAX_PLACES + 1])


def _load(session: Session, wanted: Sequence[tuple[int, Role]]) -> list[Place]:
    ids = sorted({nomination_id for nomination_id, _ in wanted})
    if not ids:
        return []
    loaded = {
        nomination.id: (nomination, theme, year)
        for nomination, theme, year in session.exec(
            select(Nomination, Theme, Campaign.year)
            .join(Theme, col(Theme.id) == Nomination.theme_id)
            .join(Campaign, col(Campaign.id) == Theme.campaign_id)
            .where(col(Nomination.id).in_(ids))
        ).all()
    }
    places = []
    for nomination_id, role in wanted:
        if nomination_id in loaded:
            nomination, theme, year = loaded[nomination_id]
            places.append(Place(nomination=nomination, role=role, year=year, theme=theme))
    return places


def parse_key(key: str) -> tuple[int, Role] | None:
    """A ticked place, "12:reference1"; None for anything else."""
    number, _, role = key.partition(":")
    if not (number.isascii() and number.isdigit() and len(number) <= 10):
        return None
    if not 1 <= int(number) <= MAX_ROW_ID:
        return None
    try:
        return int(number), Role(role)
    except ValueError:
        return None


def chosen_places(session: Session, *, keys: Iterable[str]) -> list[Place]:
    """The places staff ticked, still there; NotFound when none is."""
    wanted = sorted({parsed for key in keys if (parsed := parse_key(key))})
    places = _load(session, wanted)
    if not places:
        raise NotFound(N_("None of the chosen nominations names this person any more."))
    return places


def _audit_places(places: Sequence[Place]) -> list[list[Any]]:
    return [[place.nomination.id, place.role.value] for place in places]


def _plain(value: Any) -> Any:
    return value.value if isinstance(value, StrEnum) else value


def access_document(
    session: Session, *, actor: Account, keys: Iterable[str]
) -> tuple[bytes, list[Place]]:
    """What each ticked place says about the person, as JSON for them; never the nominator."""
    places = chosen_places(session, keys=keys)
    document = {
        "generated_at": utcnow().isoformat(timespec="seconds"),
        "places": [
            {
                "nomination": place.nomination.id,
                "campaign": place.year,
                "theme": place.theme.slug,
                "role": place.role.value,
                "name": place.name,
                "contact": place.contact,
                **(
                    {field: _plain(getattr(place.nomination, field)) for field in ABOUT_NOMINEE}
                    if place.role is Role.nominee
                    else {}
                ),
            }
            for place in places
        ],
    }
    audit.record(
        session,
        actor=actor,
        action="arco.named_access",
        object_type="named_person",
        after={"places": _audit_places(places)},
    )
    session.flush()
    return json.dumps(document, ensure_ascii=False, indent=2).encode(), places


def rectify_places(
    session: Session, *, actor: Account, keys: Iterable[str], name: str, contact: str
) -> int:
    """Sets the person's name and contact in each ticked place; returns how many changed."""
    places = chosen_places(session, keys=keys)
    changed = []
    for place in places:
        name_field, contact_field = FIELDS[place.role]
        values: dict[str, Any] = {name_field: name, contact_field: contact}
        if place.role is Role.nominee:
            institution = place.nomination.nominee_institution
            values["search_text"] = fold(f"{name} {institution}")[:450]
        if place.name == name and place.contact == contact:
            continue
        session.exec(
            update(Nomination)
            .where(col(Nomination.id) == place.nomination.id)
            .values(**values)
            .execution_options(synchronize_session="fetch")
        )
        changed.append(place)
    if changed:
        audit.record(
            session,
            actor=actor,
            action="arco.named_rectify",
            object_type="named_person",
            after={"places": _audit_places(changed), "fields": ["contact", "name"]},
        )
    session.flush()
    return len(changed)


@dataclass(frozen=True)
class NamedCancelled:
    places: int
    nominations_deleted: int
    # Nominations part of a candidate, whose nominee staff must now handle by hand.
    kept_for_candidates: list[int]
    file_hashes: set[str]


def cancel_places(session: Session, *, actor: Account, keys: Iterable[str]) -> NamedCancelled:
    places = chosen_places(session, keys=keys)
    references = [p for p in places if p.role is not Role.nominee]
    nominee = [p for p in places if p.role is Role.nominee]
    for place in references:
        name_field, contact_field = FIELDS[place.role]
        session.exec(
            update(Nomination)
            .where(col(Nomination.id) == place.nomination.id)
            .values(**{name_field: "", contact_field: ""})
            .execution_options(synchronize_session="fetch")
        )
    deletable = sorted(
        p.nomination.id
        for p in nominee
        if p.nomination.candidate_id is None and p.nomination.id is not None
    )
    kept = sorted(
        p.nomination.id
        for p in nominee
        if p.nomination.candidate_id is not None and p.nomination.id is not None
    )
    if kept:
        session.exec(
            update(Nomination)
            .where(col(Nomination.id).in_(kept))
            .values(**NOMINEE_PERSONAL)
            .execution_options(synchronize_session="fetch")
        )
    files, hashes = erasure.delete_nominations(session, nomination_ids=deletable)
    audit.record(
        session,
        actor=actor,
        action="arco.named_cancel",
        object_type="named_person",
        after={
            "references_blanked": _audit_places(references),
            "nominations_deleted": deletable,
            "evidence_files_deleted": files,
            "nominees_blanked": kept,
            "fields_blanked": sorted(NOMINEE_PERSONAL) if kept else [],
        },
    )
    session.flush()
    session.expire_all()
    return NamedCancelled(
        places=len(places),
        nominations_deleted=len(deletable),
        kept_for_candidates=kept,
        file_hashes=hashes,
    )
