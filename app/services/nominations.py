import secrets
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from app.errors import NotFound, PermissionDenied
from app.forms.nomination import NominationForm
from app.i18n import N_, Translator
from app.mailer import render_mail
from app.models import EvidenceFile, Finalist, Nomination, Theme
from app.services.campaigns import ThemeView
from app.services.evidence import CleanFile, FileStore
from app.services.mail import queue_mail
from app.services.publishing import published_photo_hashes
from app.services.search import fold


@dataclass(frozen=True)
class Receipt:
    nomination: Nomination
    theme: Theme
    file_count: int


def find_by_submission_key(session: Session, key: str) -> Nomination | None:
    return session.exec(select(Nomination).where(Nomination.submission_key == key)).first()


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
    """Stores a nomination, its files and its e-mail receipt; a repeated form returns the first."""
    existing = find_by_submission_key(session, submission_key)
    if existing is not None:
        return existing
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
        search_text=fold(f"{form.nominee_name} {form.nominee_institution}")[:450],
    )
    session.add(nomination)
    session.flush()
    assert nomination.id is not None
    for position, file in enumerate(files):
        store.put(file)
        session.add(
            EvidenceFile(
                nomination_id=nomination.id,
                position=position,
                sha256=file.sha256,
                content_type=file.content_type,
                size=file.size,
                original_name=file.original_name,
                created_at=now,
            )
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
    queue_mail(session, to=nomination.nominator_email, subject=subject, body=body)
    session.flush()
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


def sweep_orphan_files(engine: Engine, store: FileStore, *, older_than: timedelta) -> list[str]:
    """Removes files no nomination references, such as those of a submission cut short by a
    crash between writing its files and committing; recent ones may still be committing."""

    def referenced(candidates: set[str]) -> set[str]:
        # Evidence files and finalists' photos share the store.
        with Session(engine) as session:
            evidence = select(EvidenceFile.sha256).where(col(EvidenceFile.sha256).in_(candidates))
            photos = select(Finalist.photo_sha256).where(col(Finalist.photo_sha256).in_(candidates))
            kept = set(session.exec(evidence).all()) | set(session.exec(photos).all())
            return kept | published_photo_hashes(session, among=candidates - kept)

    return store.sweep(referenced, older_than=older_than)


def get_receipt(session: Session, *, reference: str) -> Receipt:
    nomination = None
    if 10 <= len(reference) <= 40:
        nomination = session.exec(
            select(Nomination).where(Nomination.reference == reference)
        ).first()
    if nomination is None:
        raise NotFound(N_("We could not find a nomination with this reference."))
    theme = session.get(Theme, nomination.theme_id)
    assert theme is not None
    file_count = len(
        session.exec(
            select(EvidenceFile.id).where(EvidenceFile.nomination_id == nomination.id)
        ).all()
    )
    return Receipt(nomination=nomination, theme=theme, file_count=file_count)
