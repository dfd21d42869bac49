"""Assisted intake (issue 15): staff and volunteers enter nominations received on paper, by
phone, WhatsApp/SMS, e-mail or at an event. They go to the same screening queue as the web's,
marked with their channel. A volunteer sees only the entries it made itself."""

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import and_, func
from sqlmodel import Session, col, select

from app.errors import InvalidInput, NotFound, PermissionDenied
from app.forms.nomination import IntakeForm
from app.i18n import N_, TIMEZONE, Translator
from app.models import (
    Account,
    Campaign,
    Channel,
    EvidenceFile,
    Nomination,
    Role,
    Theme,
)
from app.services import audit
from app.services.campaigns.campaigns import get_current_campaign
from app.services.files import CleanFile, FileStore
from app.services.mail.compose import render_mail
from app.services.mail.outbox import queue_mail
from app.services.text import search_text

# Who may enter nominations; the router checks it once, the service again for the CLI and tests.
INTAKE_ROLES = (Role.staff, Role.admin, Role.volunteer)
PAGE_SIZE = 50
MAX_ID = 2**31 - 1
# The prefix of an entered nomination's submission key, before the form's random value.
KEY_PREFIX = "intake:"

CHANNEL_LABELS = {
    Channel.web: N_("Web form"),
    Channel.paper: N_("Paper form"),
    Channel.phone: N_("Phone"),
    Channel.whatsapp_sms: N_("WhatsApp or SMS"),
    Channel.email: N_("E-mail"),
    Channel.event: N_("Event"),
}
CONSENT_LABELS = {
    "web_form": N_("Ticked on the web form"),
    "read_aloud": N_("The privacy notice was read to them and they agreed"),
    "signed_paper": N_("Signed on the paper form"),
}
ENTRY_NOT_FOUND = N_("We could not find this entry.")
CALL_ENDED = N_("The call for nominations has ended: the finalists have been announced.")


class ReceivedLate(InvalidInput):
    """A nomination received after its theme's call closed: named beside the date received."""

    default_message = N_(
        "The call for this theme closed on %(date)s: a nomination received later cannot be entered."
    )


def require_intake_role(actor: Account) -> None:
    if actor.role not in INTAKE_ROLES:
        raise PermissionDenied()


def sees_all_entries(actor: Account) -> bool:
    """Staff and admins see every entry; a volunteer only its own."""
    return actor.role in (Role.staff, Role.admin)


def new_submission_key() -> str:
    """Drawn into the form when it is shown; see IntakeForm.submission_key."""
    return secrets.token_urlsafe(16)


def intake_themes(session: Session) -> tuple[Campaign | None, list[Theme]]:
    """The current campaign and its themes, under which nominations are entered."""
    campaign = get_current_campaign(session)
    if campaign is None:
        return None, []
    themes = session.exec(
        select(Theme).where(Theme.campaign_id == campaign.id).order_by(col(Theme.position))
    ).all()
    return campaign, list(themes)


def get_intake_theme(session: Session, *, slug: str) -> Theme:
    """A theme of the current campaign; any other is not found."""
    _campaign, themes = intake_themes(session)
    for theme in themes:
        if theme.slug == slug:
            return theme
    raise NotFound(N_("We could not find this theme."))


def check_accepts(session: Session, *, theme: Theme, received_on: date) -> None:
    """A nomination received during the call may be entered until the finalists are announced,
    even after the call closed (paper travels slowly); one received after it closed may not."""
    refuse_after_announcement(session, campaign_id=theme.campaign_id)
    check_received_on(theme, received_on)


def refuse_after_announcement(session: Session, *, campaign_id: int) -> None:
    announced = session.exec(
        select(Campaign.finalists_announced_at).where(Campaign.id == campaign_id)
    ).first()
    if announced is not None:
        raise PermissionDenied(CALL_ENDED)


def check_received_on(theme: Theme, received_on: date) -> None:
    closes_on = theme.closes_at.astimezone(TIMEZONE).date()
    if received_on > closes_on:
        raise ReceivedLate(date=closes_on.isoformat())


def render_receipt(
    nomination: Nomination | SimpleNamespace, *, theme: Theme, base_url: str, file_count: int
) -> tuple[str, str]:
    """The subject and body of the nominator's receipt, in the nomination's language."""
    t = Translator(nomination.locale)
    return render_mail(
        "nomination_receipt",
        nomination.locale,
        nomination=nomination,
        theme_name=t.pick(theme.name_es, theme.name_en),
        receipt_url=f"{base_url.rstrip('/')}/nominations/{nomination.reference}",
        file_count=file_count,
    )


def new_nomination(
    form: IntakeForm,
    *,
    theme: Theme,
    submission_key: str,
    actor: Account | None,
    locale: str,
    now: datetime,
    import_id: int | None = None,
    channel: Channel | None = None,
) -> Nomination:
    """The row of an entered or imported nomination (not added to the session)."""
    assert theme.id is not None
    return Nomination(
        **row_values(form, now=now),
        channel=channel or form.channel,
        reference=secrets.token_urlsafe(16),
        submission_key=submission_key,
        theme_id=theme.id,
        locale=locale,
        privacy_consent_at=now,
        submitted_at=now,
        search_text=search_text(form.nominee_name, form.nominee_institution),
        entered_by_id=actor.id if actor else None,
        import_id=import_id,
    )


def row_values(form: IntakeForm, *, now: datetime) -> dict[str, Any]:
    """The nomination's columns that come from what was typed."""
    return {
        **form.model_dump(
            exclude={"privacy_consent", "sensitive_consent", "submission_key", "channel"}
        ),
        "sensitive_consent_at": now if form.sensitive_consent else None,
    }


def find_entry_by_key(session: Session, *, key: str) -> Nomination | None:
    """The nomination an intake form (its random value) already stored, if any."""
    if not key:
        return None
    return session.exec(
        select(Nomination).where(Nomination.submission_key == KEY_PREFIX + key)
    ).first()


def enter_nomination(
    session: Session,
    *,
    actor: Account,
    theme: Theme,
    form: IntakeForm,
    files: Sequence[CleanFile],
    store: FileStore,
    locale: str,
    now: datetime,
    base_url: str,
) -> Nomination:
    """Stores an entered nomination with its scans and, when the nominator gave an e-mail
    address, queues their receipt; without one, nothing is sent and the reference is shown to
    be written on the paper form."""
    require_intake_role(actor)
    check_accepts(session, theme=theme, received_on=form.received_on)
    key = form.submission_key or new_submission_key()
    nomination = new_nomination(
        form,
        theme=theme,
        submission_key=KEY_PREFIX + key,
        actor=actor,
        locale=locale,
        now=now,
    )
    for file in files:
        store.put(file)
    session.add(nomination)
    session.flush()
    assert nomination.id is not None
    for position, file in enumerate(files):
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
    if nomination.nominator_email:
        subject, body = render_receipt(
            nomination, theme=theme, base_url=base_url, file_count=len(files)
        )
        queue_mail(session, to=nomination.nominator_email, subject=subject, body=body)
    # The trail names the channel and theme, never the nominator (see audit.record).
    audit.record(
        session,
        actor=actor,
        action="nomination.entered",
        object_type="nomination",
        object_id=nomination.id,
        after={"channel": nomination.channel.value, "theme": theme.slug, "files": len(files)},
    )
    session.flush()
    return nomination


@dataclass(frozen=True)
class EntryRow:
    nomination: Nomination
    theme: Theme
    # None: imported from the command line.
    entered_by: str | None


@dataclass(frozen=True)
class EntriesPage:
    rows: list[EntryRow]
    total: int
    page: int
    pages: int


def _entries(actor: Account) -> Any:
    """Staff: every nomination not sent by the web (imports from the command line have no
    account); a volunteer: those it entered itself."""
    if sees_all_entries(actor):
        return col(Nomination.channel) != Channel.web
    return col(Nomination.entered_by_id) == actor.id


def _in_current_campaign(session: Session) -> Any:
    campaign = get_current_campaign(session)
    themes = select(Theme.id).where(Theme.campaign_id == (campaign.id if campaign else None))
    return col(Nomination.theme_id).in_(themes)


def list_entries(session: Session, *, actor: Account, page: int = 1) -> EntriesPage:
    """Entered and imported nominations, newest first: all of them for staff, a volunteer's
    own for a volunteer. One statement for the count, one for the page."""
    require_intake_role(actor)
    condition = and_(_in_current_campaign(session), _entries(actor))
    total = int(session.exec(select(func.count()).where(condition)).one())
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(page, 1), pages)
    found = session.exec(
        select(Nomination, Theme, Account.name)
        .join(Theme, col(Theme.id) == Nomination.theme_id)
        .outerjoin(Account, col(Account.id) == Nomination.entered_by_id)
        .where(condition)
        .order_by(col(Nomination.submitted_at).desc(), col(Nomination.id).desc())
        .limit(PAGE_SIZE)
        .offset((page - 1) * PAGE_SIZE)
    ).all()
    return EntriesPage(
        rows=[EntryRow(n, theme, name) for n, theme, name in found],
        total=total,
        page=page,
        pages=pages,
    )


@dataclass(frozen=True)
class EntryView:
    nomination: Nomination
    theme: Theme
    files: list[EvidenceFile]
    entered_by: str | None
    # A receipt went to the nominator's e-mail (none without an address).
    mailed: bool


def get_entry(session: Session, *, actor: Account, nomination_id: int) -> EntryView:
    """One entry; a volunteer asking for another's entry (or a web nomination) finds nothing."""
    require_intake_role(actor)
    row = None
    if 1 <= nomination_id <= MAX_ID:
        row = session.exec(
            select(Nomination, Theme, Account.name)
            .join(Theme, col(Theme.id) == Nomination.theme_id)
            .outerjoin(Account, col(Account.id) == Nomination.entered_by_id)
            .where(Nomination.id == nomination_id, _entries(actor))
        ).first()
    if row is None:
        raise NotFound(ENTRY_NOT_FOUND)
    nomination, theme, entered_by = row
    files = session.exec(
        select(EvidenceFile)
        .where(EvidenceFile.nomination_id == nomination_id)
        .order_by(col(EvidenceFile.position), col(EvidenceFile.id))
    ).all()
    return EntryView(
        nomination=nomination,
        theme=theme,
        files=list(files),
        entered_by=entered_by,
        mailed=bool(nomination.nominator_email),
    )
