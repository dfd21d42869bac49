"""E-mails about the campaign's progress, written to the outbox in the caller's transaction
(they leave only if the change they report is committed), each in its recipient's language.

Every message goes to one person and names no one else: a nominator never learns who else
nominated the same person, and a finalist never learns who nominated them.

Links in the messages start with the `base_url` the caller passes (its settings' BASE_URL):
this module reads no configuration of its own.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from email_validator import EmailNotValidError, validate_email
from sqlmodel import Session, col, select

from app.i18n import LOCALES, Translator
from app.models import (
    Account,
    Campaign,
    Finalist,
    JudgeAssignment,
    Meeting,
    MeetingFinalist,
    Nomination,
    NominationStatus,
    Role,
    Theme,
)
from app.services.mail.compose import render_mail
from app.services.mail.outbox import queue_mail


def _locale(value: str) -> str:
    return value if value in LOCALES else "es"


def _email_address(value: str) -> str | None:
    """The address if `value` is an e-mail address (nominee contacts may be phone numbers)."""
    if "@" not in value:
        return None
    try:
        return validate_email(value.strip(), check_deliverability=False).normalized
    except EmailNotValidError:
        return None


def _send(session: Session, template: str, *, to: str, locale: str, **context: object) -> None:
    subject, body = render_mail(template, _locale(locale), **context)
    queue_mail(session, to=to, subject=subject, body=body)


# --- judges ---------------------------------------------------------------------------------


def meeting_judges(session: Session, meeting: Meeting) -> list[Account]:
    """Active judges assigned to the themes of the meeting's finalists (to every theme of the
    campaign while its scope is still empty)."""
    scope_themes = (
        select(Finalist.theme_id)
        .join(MeetingFinalist, col(MeetingFinalist.finalist_id) == col(Finalist.id))
        .where(MeetingFinalist.meeting_id == meeting.id)
    )
    theme_ids: list[int | None] = list(session.exec(scope_themes.distinct()).all())
    if not theme_ids:
        theme_ids = list(
            session.exec(select(Theme.id).where(Theme.campaign_id == meeting.campaign_id)).all()
        )
    return list(
        session.exec(
            select(Account)
            .where(
                col(Account.id).in_(
                    select(JudgeAssignment.account_id).where(
                        col(JudgeAssignment.theme_id).in_(theme_ids)
                    )
                ),
                Account.role == Role.judge,
                col(Account.is_active).is_(True),
            )
            .order_by(col(Account.id))
        ).all()
    )


def _notify_judges(session: Session, meeting: Meeting, template: str, base_url: str) -> int:
    base = base_url.rstrip("/")
    judges = meeting_judges(session, meeting)
    for judge in judges:
        _send(
            session,
            template,
            to=judge.email,
            locale=judge.locale,
            recipient=judge.name,
            meeting=meeting,
            meeting_url=f"{base}/judges/meetings/{meeting.id}",
            conflicts_url=f"{base}/judges/conflicts",
        )
    session.flush()
    return len(judges)


def notify_meeting_opened(session: Session, meeting: Meeting, *, base_url: str) -> int:
    """Tells the meeting's judges that they can score now; returns how many were told."""
    return _notify_judges(session, meeting, "meeting_opened", base_url)


def notify_meeting_closed(session: Session, meeting: Meeting, *, base_url: str) -> int:
    """Tells the meeting's judges that scoring is over and the scores are locked."""
    return _notify_judges(session, meeting, "meeting_closed", base_url)


# --- finalists, winners and their nominators -------------------------------------------------


@dataclass(frozen=True)
class _Recipient:
    address: str
    name: str
    locale: str


@dataclass(frozen=True)
class _FinalistMail:
    finalist: Finalist
    theme: Theme
    contact: _Recipient | None
    nominators: list[_Recipient]


def _finalist_mail(
    session: Session, campaign: Campaign, finalist_ids: Iterable[int] | None
) -> list[_FinalistMail]:
    """For each finalist: their own address, and the nominators who agreed to be contacted.

    Nominations are read in one query. The nominee's address is the one most nominations give
    (the earliest on a tie): sending to every address typed by someone would reach strangers
    when one nominator mistyped it."""
    query = (
        select(Finalist, Theme)
        .join(Theme, col(Theme.id) == Finalist.theme_id)
        .where(Theme.campaign_id == campaign.id)
        .order_by(col(Finalist.id))
    )
    if finalist_ids is not None:
        query = query.where(col(Finalist.id).in_(list(finalist_ids)))
    rows = list(session.exec(query).all())
    candidate_ids = [finalist.candidate_id for finalist, _ in rows]
    nominations = session.exec(
        select(Nomination)
        .where(
            col(Nomination.candidate_id).in_(candidate_ids),
            Nomination.status != NominationStatus.withdrawn,
        )
        .order_by(col(Nomination.submitted_at), col(Nomination.id))
    ).all()
    by_candidate: dict[int, list[Nomination]] = {}
    for nomination in nominations:
        assert nomination.candidate_id is not None
        by_candidate.setdefault(nomination.candidate_id, []).append(nomination)

    result = []
    for finalist, theme in rows:
        own = by_candidate.get(finalist.candidate_id, [])
        contacts: dict[str, list[Nomination]] = {}
        for nomination in own:
            address = _email_address(nomination.nominee_contact)
            if address:
                contacts.setdefault(address.lower(), []).append(nomination)
        contact = None
        if contacts:
            address, given_by = max(contacts.items(), key=lambda item: len(item[1]))
            contact = _Recipient(address, finalist.public_name, given_by[0].locale)
        nominators: dict[str, _Recipient] = {}
        for nomination in own:
            key = nomination.nominator_email.strip().lower()
            if nomination.may_contact and key and key not in nominators:
                nominators[key] = _Recipient(
                    nomination.nominator_email.strip(), nomination.nominator_name, nomination.locale
                )
        result.append(_FinalistMail(finalist, theme, contact, list(nominators.values())))
    return result


def notify_finalists_announced(session: Session, campaign: Campaign, *, base_url: str) -> int:
    """Tells each finalist, and each nominator who agreed to be contacted, that the nominee is
    a finalist; returns how many e-mails were queued."""
    base = base_url.rstrip("/")
    sent = 0
    for item in _finalist_mail(session, campaign, None):
        if item.contact is not None:
            t = Translator(_locale(item.contact.locale))
            _send(
                session,
                "finalist_announced",
                to=item.contact.address,
                locale=item.contact.locale,
                recipient=item.finalist.public_name,
                year=campaign.year,
                theme_name=t.pick(item.theme.name_es, item.theme.name_en),
                finalists_url=f"{base}/finalists",
            )
            sent += 1
        for nominator in item.nominators:
            t = Translator(_locale(nominator.locale))
            _send(
                session,
                "nominee_finalist",
                to=nominator.address,
                locale=nominator.locale,
                recipient=nominator.name,
                nominee=item.finalist.public_name,
                year=campaign.year,
                theme_name=t.pick(item.theme.name_es, item.theme.name_en),
                finalists_url=f"{base}/finalists",
            )
            sent += 1
    session.flush()
    return sent


def notify_winners_published(
    session: Session,
    campaign: Campaign,
    *,
    finalist_ids: Sequence[int],
    base_url: str,
) -> int:
    """Tells the nominators who agreed to be contacted that their nominee is a winner, for the
    winners in `finalist_ids`; returns how many e-mails were queued."""
    if not finalist_ids:
        return 0
    base = base_url.rstrip("/")
    sent = 0
    for item in _finalist_mail(session, campaign, finalist_ids):
        for nominator in item.nominators:
            t = Translator(_locale(nominator.locale))
            _send(
                session,
                "nominee_winner",
                to=nominator.address,
                locale=nominator.locale,
                recipient=nominator.name,
                nominee=item.finalist.public_name,
                year=campaign.year,
                theme_name=t.pick(item.theme.name_es, item.theme.name_en),
                winner_url=f"{base}/results/{campaign.year}/winners/{item.finalist.id}",
                results_url=f"{base}/results/{campaign.year}",
            )
            sent += 1
    session.flush()
    return sent
