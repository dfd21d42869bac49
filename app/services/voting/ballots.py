"""Casting and confirming a vote.

A vote is cast with a finalist and an e-mail address, and counts only once the voter opens the
one-time link mailed to that address (valid 24 hours) and confirms. Confirming makes it the
address's one counted vote in the theme: an earlier counted vote of the same (folded) address
is replaced, and earlier unconfirmed ones can no longer be confirmed. A vote cast with someone
else's address therefore changes nothing until that person confirms it. Nothing is taken after
the close, neither a vote nor a confirmation.
"""

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, Select, and_, bindparam, or_, update
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from app.db import begin_write, insert_row
from app.errors import Conflict, NotFound, PermissionDenied
from app.i18n import N_, Translator
from app.models import Finalist, Theme, ThemeVote, Vote
from app.services import throttle
from app.services.mail.compose import render_mail
from app.services.mail.outbox import queue_mail
from app.services.results.shared import FieldInvalid
from app.services.voting.addresses import fold_address, is_disposable, network_of

TOKEN_VALID = timedelta(hours=24)
RATE_WINDOW = timedelta(hours=1)
THROTTLED = N_(
    "Many votes were sent from your connection in the last hour. Please try again in"
    " %(minutes)s min."
)
ADDRESS_THROTTLED = N_(
    "We already sent several confirmation e-mails to this address in the last hour. Open the"
    " latest one, or try again in %(minutes)s min."
)
CLOSED = N_("This vote closed on %(date)s. Votes are no longer taken.")
NOT_YET_OPEN = N_("This vote opens on %(date)s.")


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def client_hash(key: bytes, client: str) -> str:
    return hmac.new(key, f"vote-client:{client}".encode(), hashlib.sha256).hexdigest()[:32]


def rate_limits(
    *, key: bytes, client: str, per_client: int, per_network: int
) -> list[throttle.Limit]:
    """Votes one client, and one network, may send in an hour (VOTE_RATE_LIMIT,
    VOTE_NETWORK_RATE_LIMIT; 0: no limit)."""
    return [
        throttle.Limit(throttle.keyed_bucket(key, "vote", client), per_client, RATE_WINDOW),
        throttle.Limit(
            throttle.keyed_bucket(key, "vote-net", network_of(client)), per_network, RATE_WINDOW
        ),
    ]


def address_limit(*, key: bytes, address: str, per_hour: int) -> throttle.Limit:
    """Confirmation e-mails one address may be sent in an hour (VOTE_ADDRESS_RATE_LIMIT)."""
    return throttle.Limit(
        throttle.keyed_bucket(key, "vote-addr", fold_address(address)), per_hour, RATE_WINDOW
    )


def check_address(address: str) -> None:
    """Refuses an address at a disposable domain (a maintained list: see addresses.py)."""
    if is_disposable(address):
        raise FieldInvalid(
            N_(
                "Addresses of disposable e-mail services are not accepted for the vote. Use an"
                " address of your own."
            ),
            field="email",
        )


def find_by_submission_key(session: Session, key: str) -> str | None:
    return session.exec(select(Vote.reference).where(Vote.submission_key == key)).first()


class VoteNotOpen(PermissionDenied):
    """A vote or a confirmation outside the vote's window (403). The page says when it
    closed or opens, in the reader's language and time zone: `when` and `message` are for it."""

    def __init__(self, *, closed: bool, when: datetime) -> None:
        super().__init__(CLOSED if closed else NOT_YET_OPEN, date=when.isoformat())
        self.closed = closed
        self.when = when


def refuse_unless_open(opens_at: datetime, closes_at: datetime, now: datetime) -> None:
    if now >= closes_at:
        raise VoteNotOpen(closed=True, when=closes_at)
    if now < opens_at:
        raise VoteNotOpen(closed=False, when=opens_at)


@dataclass(frozen=True)
class Cast:
    vote: Vote
    token: str


def cast_vote(
    session: Session,
    *,
    theme: Theme,
    theme_vote: ThemeVote,
    finalist: Finalist,
    email: str,
    submission_key: str,
    client: str,
    key: bytes,
    address_limits: list[throttle.Limit],
    locale: str,
    now: datetime,
    base_url: str,
) -> Cast:
    """Stores an unconfirmed vote and mails its confirmation link, in the caller's write
    transaction. The caller has looked for the form's earlier copy (`find_by_submission_key`)."""
    assert theme_vote.id is not None and finalist.id is not None
    if finalist.theme_id != theme.id:
        raise FieldInvalid(N_("Choose one of the finalists."), field="finalist")
    check_address(email)
    token = secrets.token_urlsafe(32)
    vote = Vote(
        theme_vote_id=theme_vote.id,
        finalist_id=finalist.id,
        reference=secrets.token_urlsafe(16),
        submission_key=submission_key,
        address=fold_address(email),
        token_hash=token_hash(token),
        token_expires_at=now + TOKEN_VALID,
        locale=locale,
        created_at=now,
        client_hash=client_hash(key, client),
        network=network_of(client),
    )
    t = Translator(locale)
    subject, body = render_mail(
        "vote_confirm",
        locale,
        theme_name=t.pick(theme.name_es, theme.name_en),
        finalist_name=finalist.public_name,
        link=f"{base_url.rstrip('/')}/vote/confirm/{token}",
        expires_at=vote.token_expires_at,
        closes_at=theme_vote.closes_at,
    )
    # The rendering above runs before the write transaction: SQLite has one writer at a time.
    begin_write(session)
    # The vote may have been read from a cache: its window is asked again, under the lock.
    current = session.exec(
        select(ThemeVote.opens_at, ThemeVote.closes_at).where(ThemeVote.id == theme_vote.id)
    ).one()
    refuse_unless_open(current[0], current[1], now)
    message = queue_mail(session, to=email, subject=subject, body=body)
    vote.outbox_message_id = message.id
    insert_row(session, vote)
    throttle.record_hits(session, limits=address_limits, now=now)
    return Cast(vote=vote, token=token)


@dataclass(frozen=True)
class Confirmation:
    """What the confirmation page shows: never the address."""

    reference: str
    theme_slug: str
    theme_name_es: str
    theme_name_en: str
    finalist_name: str
    confirmed: bool
    closes_at: datetime


def _confirmation(session: Session, vote: Vote) -> Confirmation:
    row = session.exec(
        select(Theme, Finalist, ThemeVote)
        .join(ThemeVote, col(ThemeVote.theme_id) == col(Theme.id))
        .join(Finalist, col(Finalist.theme_id) == col(Theme.id))
        .where(ThemeVote.id == vote.theme_vote_id, Finalist.id == vote.finalist_id)
    ).one()
    theme, finalist, theme_vote = row
    return Confirmation(
        reference=vote.reference,
        theme_slug=theme.slug,
        theme_name_es=theme.name_es,
        theme_name_en=theme.name_en,
        finalist_name=finalist.public_name,
        confirmed=vote.confirmed_at is not None,
        closes_at=theme_vote.closes_at,
    )


LINK_UNKNOWN = N_(
    "This confirmation link is not valid. Check that you opened the whole link from the e-mail."
)


def _by_token(session: Session, token: str) -> Vote:
    vote = None
    if 20 <= len(token) <= 100:
        vote = session.exec(select(Vote).where(Vote.token_hash == token_hash(token))).first()
    if vote is None:
        raise NotFound(LINK_UNKNOWN)
    return vote


def _refuse_unconfirmable(vote: Vote, theme_vote: ThemeVote, now: datetime) -> None:
    if vote.voiding_id is not None:
        raise Conflict(N_("This vote was voided by the organisers and cannot be confirmed."))
    if vote.superseded_at is not None:
        raise Conflict(
            N_("A later vote from the same address was confirmed: this one no longer counts.")
        )
    refuse_unless_open(theme_vote.opens_at, theme_vote.closes_at, now)
    if vote.token_expires_at <= now:
        raise Conflict(
            N_(
                "This confirmation link has expired (it works for 24 hours). Vote again to get"
                " a new one."
            )
        )


def confirmation_page(session: Session, *, token: str, now: datetime) -> Confirmation:
    """What the link shows before the voter confirms (a GET never confirms: mail scanners
    open links)."""
    vote = _by_token(session, token)
    theme_vote = session.get(ThemeVote, vote.theme_vote_id)
    assert theme_vote is not None
    if vote.confirmed_at is None:
        _refuse_unconfirmable(vote, theme_vote, now)
    return _confirmation(session, vote)


def confirm_vote(session: Session, *, token: str, now: datetime) -> Confirmation:
    """Confirms the vote behind a link; confirming it again changes nothing."""
    vote = _by_token(session, token)
    if vote.confirmed_at is not None:
        return _confirmation(session, vote)
    theme_vote = session.get(ThemeVote, vote.theme_vote_id)
    assert theme_vote is not None and vote.id is not None
    _refuse_unconfirmable(vote, theme_vote, now)
    same_address = and_(
        col(Vote.theme_vote_id) == vote.theme_vote_id,
        col(Vote.address) == vote.address,
        col(Vote.id) != vote.id,
    )
    # The address's counted vote is replaced; its older unconfirmed ones are left behind.
    session.execute(
        update(Vote)
        .where(
            same_address,
            or_(
                col(Vote.counted_key).is_not(None),
                and_(col(Vote.confirmed_at).is_(None), col(Vote.created_at) <= vote.created_at),
            ),
            col(Vote.superseded_at).is_(None),
        )
        .values(superseded_at=now, counted_key=None)
    )
    vote.confirmed_at = now
    vote.counted_key = vote.address
    session.add(vote)
    session.flush()
    return _confirmation(session, vote)


@dataclass(frozen=True)
class SentView:
    theme_slug: str
    theme_name_es: str
    theme_name_en: str
    finalist_name: str
    confirmed: bool
    superseded: bool
    voided: bool
    token_expires_at: datetime
    closes_at: datetime


_SENT: Select = (
    sa_select(
        col(Theme.slug).label("theme_slug"),
        col(Theme.name_es).label("theme_name_es"),
        col(Theme.name_en).label("theme_name_en"),
        col(Finalist.public_name).label("finalist_name"),
        col(Vote.confirmed_at),
        col(Vote.superseded_at),
        col(Vote.voiding_id),
        col(Vote.token_expires_at),
        col(ThemeVote.closes_at),
    )
    .join(ThemeVote, col(ThemeVote.id) == col(Vote.theme_vote_id))
    .join(Theme, col(Theme.id) == col(ThemeVote.theme_id))
    .join(Finalist, col(Finalist.id) == col(Vote.finalist_id))
    .where(col(Vote.reference) == bindparam("reference"))
)


def sent_view(connection: Connection, *, reference: str) -> SentView:
    """The page a voter lands on after voting: where the link went is not repeated."""
    found = None
    if 10 <= len(reference) <= 40:
        found = connection.execute(_SENT, {"reference": reference}).first()
    if found is None:
        raise NotFound(N_("We could not find this vote."))
    values = found._mapping
    return SentView(
        theme_slug=values["theme_slug"],
        theme_name_es=values["theme_name_es"],
        theme_name_en=values["theme_name_en"],
        finalist_name=values["finalist_name"],
        confirmed=values["confirmed_at"] is not None,
        superseded=values["superseded_at"] is not None,
        voided=values["voiding_id"] is not None,
        token_expires_at=values["token_expires_at"],
        closes_at=values["closes_at"],
    )
