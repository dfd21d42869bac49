"""Finalists: cleared candidates chosen per theme, and the public profile of each.

A finalist's photo is processed like evidence images (re-encoded, metadata removed) and kept in
the same content-addressed file store; the finalist row holds its hash.
"""

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import delete, func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app.errors import NotFound
from app.forms.finalists import FinalistProfileForm
from app.i18n import N_
from app.models import (
    Account,
    Campaign,
    Candidate,
    Finalist,
    FinalistConsent,
    Nomination,
    Theme,
    VettingStatus,
    utcnow,
)
from app.services import audit
from app.services.campaigns.campaigns import get_current_campaign
from app.services.candidates.grouping import Refused, lock_candidate, row_for_update
from app.services.files import CleanFile, FileStore
from app.services.text import fold

PHOTO_TYPES = frozenset({"image/jpeg", "image/png", "image/webp"})
PROFILE_FIELDS = (
    "public_name",
    "public_position",
    "public_institution",
    "citation_es",
    "citation_en",
    "photo_sha256",
)


@dataclass(frozen=True)
class FinalistRow:
    finalist: Finalist
    candidate: Candidate
    consent: FinalistConsent | None = None


@dataclass(frozen=True)
class ThemeFinalists:
    theme: Theme
    finalists: list[FinalistRow]
    # Cleared candidates not yet finalists: the ones that may be chosen.
    choosable: list[Candidate]
    # Candidates of the theme whose vetting is pending or flagged.
    not_cleared: int


@dataclass(frozen=True)
class FinalistsOverview:
    campaign: Campaign | None
    themes: list[ThemeFinalists]


def finalists_overview(session: Session) -> FinalistsOverview:
    campaign = get_current_campaign(session)
    if campaign is None:
        return FinalistsOverview(None, [])
    themes = session.exec(
        select(Theme).where(Theme.campaign_id == campaign.id).order_by(col(Theme.position))
    ).all()
    rows = session.exec(
        select(Finalist, Candidate)
        .join(Candidate, col(Candidate.id) == Finalist.candidate_id)
        .where(Candidate.campaign_id == campaign.id)
        .order_by(col(Finalist.created_at), col(Finalist.id))
    ).all()
    chosen = {candidate.id for _, candidate in rows}
    consents = {
        c.finalist_id: c
        for c in session.exec(
            select(FinalistConsent).where(
                col(FinalistConsent.finalist_id).in_([f.id for f, _ in rows])
            )
        ).all()
    }
    cleared = session.exec(
        select(Candidate).where(
            Candidate.campaign_id == campaign.id,
            Candidate.vetting_status == VettingStatus.cleared,
        )
    ).all()
    not_cleared = dict(
        session.exec(
            select(Candidate.theme_id, func.count())
            .where(
                Candidate.campaign_id == campaign.id,
                Candidate.vetting_status != VettingStatus.cleared,
            )
            .group_by(col(Candidate.theme_id))
        ).all()
    )
    return FinalistsOverview(
        campaign=campaign,
        themes=[
            ThemeFinalists(
                theme=theme,
                finalists=[
                    FinalistRow(f, c, consents.get(f.id or 0))
                    for f, c in rows
                    if f.theme_id == theme.id
                ],
                choosable=sorted(
                    (c for c in cleared if c.theme_id == theme.id and c.id not in chosen),
                    key=lambda c: fold(c.name),
                ),
                not_cleared=int(not_cleared.get(theme.id or 0, 0)),
            )
            for theme in themes
        ],
    )


@dataclass(frozen=True)
class FinalistView:
    finalist: Finalist
    candidate: Candidate
    theme: Theme


def get_finalist(session: Session, *, finalist_id: int) -> FinalistView:
    finalist = session.get(Finalist, finalist_id) if 0 < finalist_id < 2**31 else None
    if finalist is None:
        raise NotFound(N_("There is no finalist with this number."))
    candidate = session.get(Candidate, finalist.candidate_id)
    theme = session.get(Theme, finalist.theme_id)
    assert candidate is not None and theme is not None
    return FinalistView(finalist, candidate, theme)


def _lock_finalist(session: Session, finalist_id: int) -> Finalist:
    finalist = row_for_update(session, Finalist, finalist_id)
    if finalist is None:
        raise NotFound(N_("There is no finalist with this number."))
    return finalist


def _profile(finalist: Finalist) -> dict[str, str]:
    return {name: getattr(finalist, name) for name in PROFILE_FIELDS}


def choose_finalist(session: Session, *, actor: Account, candidate_id: int) -> Finalist:
    """Makes a cleared candidate a finalist of its theme, its profile drafted from the
    candidate and its latest nomination."""
    candidate = lock_candidate(session, candidate_id)
    if candidate.vetting_status is not VettingStatus.cleared:
        raise Refused(
            N_("Only candidates whose vetting is cleared can become finalists."),
            field="candidate_id",
        )
    existing = session.exec(
        select(Finalist.id).where(Finalist.candidate_id == candidate.id)
    ).first()
    if existing is not None:
        raise Refused(N_("This candidate is already a finalist."), field="candidate_id")
    position = session.exec(
        select(Nomination.nominee_position)
        .where(Nomination.candidate_id == candidate.id)
        .order_by(col(Nomination.submitted_at).desc(), col(Nomination.id).desc())
        .limit(1)
    ).first()
    now = utcnow()
    assert candidate.id is not None
    finalist = Finalist(
        candidate_id=candidate.id,
        theme_id=candidate.theme_id,
        public_name=candidate.name,
        public_position=position or "",
        public_institution=candidate.institution,
        created_at=now,
        updated_at=now,
    )
    session.add(finalist)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="finalist.create",
        object_type="finalist",
        object_id=finalist.id,
        after={"candidate_id": candidate.id, "theme_id": candidate.theme_id, **_profile(finalist)},
    )
    return finalist


def remove_finalist(session: Session, *, actor: Account, finalist_id: int) -> None:
    finalist = _lock_finalist(session, finalist_id)
    before = {"candidate_id": finalist.candidate_id, **_profile(finalist)}
    try:
        # Judging refers to finalists (declared conflicts, meetings, scores, winners); the
        # database refuses to lose a finalist they name, and so do we, with a reason.
        with session.begin_nested():
            # Their consent goes with them (the trail keeps its history).
            session.exec(
                delete(FinalistConsent).where(col(FinalistConsent.finalist_id) == finalist.id)
            )
            session.delete(finalist)
            session.flush()
    except IntegrityError:
        raise Refused(
            N_(
                "This finalist already takes part in the judging (conflict declarations,"
                " meetings or scores) and can no longer be removed."
            )
        ) from None
    audit.record(
        session,
        actor=actor,
        action="finalist.remove",
        object_type="finalist",
        object_id=finalist_id,
        before=before,
    )
    session.flush()


def update_profile(
    session: Session,
    *,
    actor: Account,
    finalist_id: int,
    form: FinalistProfileForm,
    photo: CleanFile | None,
    store: FileStore,
) -> Finalist:
    """Changes the public profile; a new photo is written to the store before the row refers
    to it. The trail records the fields that changed, the photo by its hash."""
    finalist = _lock_finalist(session, finalist_id)
    if photo is not None and photo.content_type not in PHOTO_TYPES:
        raise Refused(N_("The photo must be a JPEG, PNG or WebP image."), field="photo")
    before = _profile(finalist)
    finalist.public_name = form.public_name
    finalist.public_position = form.public_position
    finalist.public_institution = form.public_institution
    finalist.citation_es = form.citation_es
    finalist.citation_en = form.citation_en
    if photo is not None:
        store.put(photo)
        finalist.photo_sha256 = photo.sha256
    elif form.remove_photo:
        finalist.photo_sha256 = ""
    after = _profile(finalist)
    changed = [name for name in PROFILE_FIELDS if before[name] != after[name]]
    if not changed:
        return finalist
    finalist.updated_at = utcnow()
    session.add(finalist)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="finalist.profile",
        object_type="finalist",
        object_id=finalist.id,
        before={name: before[name] for name in changed},
        after={name: after[name] for name in changed},
    )
    return finalist


def _sniff(content: bytes) -> str | None:
    if content.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if content.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if content.startswith(b"RIFF") and content[8:12] == b"WEBP":
        return "image/webp"
    return None


@dataclass(frozen=True)
class Photo:
    path: Path
    content_type: str
    sha256: str


def photo_of(session: Session, *, finalist_id: int, store: FileStore) -> Photo:
    """The stored photo; its type is read from its first bytes, which are ours (re-encoded)."""
    view = get_finalist(session, finalist_id=finalist_id)
    sha256 = view.finalist.photo_sha256
    if not sha256:
        raise NotFound(N_("This finalist has no photo."))
    path = store.path_for(sha256)
    try:
        with path.open("rb") as handle:
            content_type = _sniff(handle.read(16))
    except FileNotFoundError:
        raise NotFound(N_("This finalist has no photo.")) from None
    if content_type is None:
        raise NotFound(N_("This finalist has no photo."))
    return Photo(path, content_type, sha256)
