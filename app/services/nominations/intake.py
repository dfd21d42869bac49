import secrets
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, Select, bindparam, func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from app.db import begin_write, insert_row
from app.errors import NotFound, PermissionDenied
from app.forms.nomination import NominationForm
from app.i18n import N_, Translator
from app.models import (
    Campaign,
    EvidenceFile,
    Finalist,
    FinalistConsent,
    GroundTally,
    Nomination,
    Theme,
)
from app.services import throttle
from app.services.campaigns.campaigns import ThemeView
from app.services.files import CleanFile, FileStore
from app.services.mail.compose import render_mail
from app.services.mail.outbox import queue_mail
from app.services.results.public import published_photo_hashes
from app.services.text import search_text

RATE_WINDOW = timedelta(hours=1)
THROTTLED = N_(
    "You have sent many nominations in the last hour. Please try again in %(minutes)s min."
)


def rate_limit(*, key: bytes, client: str, per_hour: int) -> throttle.Limit:
    """The nominations one client may send in an hour (NOMINATION_RATE_LIMIT; 0: no limit)."""
    return throttle.Limit(throttle.keyed_bucket(key, "nominate", client), per_hour, RATE_WINDOW)


def rate_limits(
    *, key: bytes, client: str, browser: str, per_client: int, per_browser: int
) -> list[throttle.Limit]:
    """The limits a nomination is counted against, those that are on: per client address
    (NOMINATION_RATE_LIMIT), which many phones of a mobile carrier may share, and per browser
    (NOMINATION_BROWSER_LIMIT), told apart by the cookie its form token is bound to."""
    limits = [
        rate_limit(key=key, client=client, per_hour=per_client),
        throttle.Limit(
            throttle.keyed_bucket(key, "nominate-browser", browser), per_browser, RATE_WINDOW
        ),
    ]
    return [limit for limit in limits if limit.hits > 0]


@dataclass(frozen=True)
class Receipt:
    """What the nominator's receipt page shows, and nothing more."""

    reference: str
    nominee_name: str
    nominee_position: str
    nominee_institution: str
    may_contact: bool
    reveal_identity: bool
    submitted_at: datetime
    theme_name_es: str
    theme_name_en: str
    screening_until: date
    finalists_on: date
    results_on: date
    file_count: int


_file_count = (
    sa_select(func.count())
    .where(col(EvidenceFile.nomination_id) == col(Nomination.id))
    .correlate(Nomination)
    .scalar_subquery()
)
# One query on a plain connection, not through the ORM (a third of the cost): the receipt is
# the page every nominator lands on.
_RECEIPT: Select[*tuple[Any, ...]] = (
    sa_select(
        col(Nomination.reference),
        col(Nomination.nominee_name),
        col(Nomination.nominee_position),
        col(Nomination.nominee_institution),
        col(Nomination.may_contact),
        col(Nomination.reveal_identity),
        col(Nomination.submitted_at),
        col(Theme.name_es).label("theme_name_es"),
        col(Theme.name_en).label("theme_name_en"),
        col(Campaign.screening_until),
        col(Campaign.finalists_on),
        col(Campaign.results_on),
        _file_count.label("file_count"),
    )
    .join(Theme, col(Theme.id) == Nomination.theme_id)
    .join(Campaign, col(Campaign.id) == Theme.campaign_id)
    .where(col(Nomination.reference) == bindparam("reference"))
)


def find_by_submission_key(session: Session, key: str) -> str | None:
    """The reference of the nomination a form (its token's nonce) already stored, if any."""
    return session.exec(
        select(Nomination.reference).where(Nomination.submission_key == key)
    ).first()


def submit_nomination(
    session: Session,
    *,
    theme: ThemeView,
    form: NominationForm,
    files: Sequence[CleanFile],
    store: FileStore,
    submission_key: str,
    locale: str,
    now: datetime,
    base_url: str,
) -> Nomination:
    """Stores a nomination, its files and its e-mail receipt. The caller has looked for the
    form's earlier copy (`find_by_submission_key`); one arriving at the same moment is refused
    by the unique submission key."""
    if not theme.is_open:
        raise PermissionDenied(N_("This theme does not accept nominations now."))
    assert theme.theme.id is not None
    data = form.model_dump(exclude={"privacy_consent", "sensitive_consent"})
    nomination = Nomination(
        **data,
        reference=secrets.token_urlsafe(16),
        submission_key=submission_key,
        theme_id=theme.theme.id,
        locale=locale,
        privacy_consent_at=now,
        sensitive_consent_at=now if files else None,
        submitted_at=now,
        search_text=search_text(form.nominee_name, form.nominee_institution),
    )
    t = Translator(locale)
    subject, body = render_mail(
        "nomination_receipt",
        locale,
        nomination=nomination,
        theme_name=t.pick(theme.theme.name_es, theme.theme.name_en),
        receipt_url=f"{base_url.rstrip('/')}/nominations/{nomination.reference}",
        file_count=len(files),
    )
    for file in files:
        store.put(file)
    # Everything above runs before the write transaction: SQLite has one writer at a time, and
    # it should only wait for others' inserts, not for their templates and files.
    begin_write(session)
    # The theme may come from a cache, and its window may still be open: once the finalists
    # are announced the call is over. Asked inside the write transaction, so an announcement
    # committed a moment ago is seen.
    announced = session.exec(
        select(Campaign.finalists_announced_at).where(Campaign.id == theme.theme.campaign_id)
    ).first()
    if announced is not None:
        raise PermissionDenied(
            N_("The call for nominations has ended: the finalists have been announced.")
        )
    nomination_id = insert_row(session, nomination)
    for position, file in enumerate(files):
        session.add(
            EvidenceFile(
                nomination_id=nomination_id,
                position=position,
                sha256=file.sha256,
                content_type=file.content_type,
                size=file.size,
                original_name=file.original_name,
                created_at=now,
            )
        )
    queue_mail(session, to=nomination.nominator_email, subject=subject, body=body)
    return nomination


@contextmanager
def files_kept_only_if_referenced(
    engine: Engine, store: FileStore, files: Sequence[CleanFile]
) -> Iterator[None]:
    """Whatever happens in the block (refused, repeated, failed), a file written for it that no
    stored nomination references is removed afterwards, so no orphan file is left."""
    hashes = {file.sha256 for file in files}
    existed = {sha for sha in hashes if store.path_for(sha).exists()}
    try:
        yield
    finally:
        new = hashes - existed
        if new:
            with Session(engine) as session:
                kept = set(
                    session.exec(
                        select(EvidenceFile.sha256).where(col(EvidenceFile.sha256).in_(new))
                    ).all()
                )
            for sha in new - kept:
                store.remove(sha)


def referenced_files(session: Session, *, among: set[str]) -> set[str]:
    """Which of these stored files something still names: evidence files, finalists' photos,
    consent letters and the scans of the public vote's tallies share the store, and published
    revisions keep the photos they froze."""
    evidence = select(EvidenceFile.sha256).where(col(EvidenceFile.sha256).in_(among))
    photos = select(Finalist.photo_sha256).where(col(Finalist.photo_sha256).in_(among))
    consent = select(FinalistConsent.evidence_sha256).where(
        col(FinalistConsent.evidence_sha256).in_(among)
    )
    scans = select(GroundTally.scan_sha256).where(col(GroundTally.scan_sha256).in_(among))
    kept = set(session.exec(evidence).all()) | set(session.exec(photos).all())
    kept |= set(session.exec(consent).all())
    kept |= set(session.exec(scans).all())
    return kept | published_photo_hashes(session, among=among - kept)


def sweep_orphan_files(engine: Engine, store: FileStore, *, older_than: timedelta) -> list[str]:
    """Removes files no nomination references, such as those of a submission cut short by a
    crash between writing its files and committing; recent ones may still be committing."""

    def referenced(candidates: set[str]) -> set[str]:
        with Session(engine) as session:
            return referenced_files(session, among=candidates)

    return store.sweep(referenced, older_than=older_than)


def get_receipt(connection: Connection, *, reference: str) -> Receipt:
    found = None
    if 10 <= len(reference) <= 40:
        found = connection.execute(_RECEIPT, {"reference": reference}).first()
    if found is None:
        raise NotFound(N_("We could not find a nomination with this reference."))
    return Receipt(**found._mapping)


@dataclass(frozen=True)
class StatusView:
    """Where a nomination stands, for whoever holds its reference: no name, no contact, no
    reason written by staff (only the nominator's receipt shows what they typed)."""

    theme_name_es: str
    theme_name_en: str
    submitted_at: datetime
    status: str
    finalists_on: date
    results_on: date


_STATUS: Select[*tuple[Any, ...]] = (
    sa_select(
        col(Theme.name_es).label("theme_name_es"),
        col(Theme.name_en).label("theme_name_en"),
        col(Nomination.submitted_at),
        col(Nomination.status),
        col(Campaign.finalists_on),
        col(Campaign.results_on),
    )
    .join(Theme, col(Theme.id) == Nomination.theme_id)
    .join(Campaign, col(Campaign.id) == Theme.campaign_id)
    .where(col(Nomination.reference) == bindparam("reference"))
)


def find_status(connection: Connection, *, reference: str) -> StatusView | None:
    """The status of the nomination with this reference, None when there is none."""
    if not 10 <= len(reference) <= 40:
        return None
    found = connection.execute(_STATUS, {"reference": reference}).first()
    if found is None:
        return None
    values = dict(found._mapping)
    values["status"] = str(getattr(values["status"], "value", values["status"]))
    return StatusView(**values)
