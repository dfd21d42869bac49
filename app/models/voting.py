"""The People's Choice public vote (issue 18): a vote per theme, the votes cast in it, tallies
from paper ballot boxes and events, the sets of votes staff voided, and the refusals counted
for review."""

from datetime import date, datetime

from sqlalchemy import Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.models.base import timestamp


class ThemeVote(SQLModel, table=True):
    """The public vote of one theme: when it is open, whether running counts are shown, and
    its count frozen at the close (the hash of that count is in the audit trail too)."""

    __tablename__ = "theme_vote"

    id: int | None = Field(default=None, primary_key=True)
    theme_id: int = Field(foreign_key="theme.id", unique=True)
    opens_at: datetime = timestamp()
    closes_at: datetime = timestamp(index=True)
    show_running_counts: bool = False
    # The count as published at the close (JSON), its SHA-256, and how many times it was
    # frozen: a void or a tally entered after the close freezes it again, visibly.
    frozen_at: datetime | None = timestamp(nullable=True)
    frozen_hash: str = Field(default="", max_length=64)
    frozen_content: str = Field(default="", sa_type=Text)
    freeze_number: int = 0
    # When the voters' addresses were deleted, VOTE_RETENTION_DAYS after the close.
    addresses_deleted_at: datetime | None = timestamp(nullable=True)
    created_by_id: int = Field(foreign_key="account.id")
    created_at: datetime = timestamp(default_now=True)
    updated_at: datetime = timestamp(default_now=True)


class VoteVoiding(SQLModel, table=True):
    """A set of votes staff voided at once, with the reason (also in the audit trail)."""

    __tablename__ = "vote_voiding"

    id: int | None = Field(default=None, primary_key=True)
    theme_vote_id: int = Field(foreign_key="theme_vote.id", index=True)
    reason: str = Field(sa_type=Text)
    # Which votes: the review page's selector as staff chose it (e.g. "network 203.0.113.0/24").
    selector: str = Field(max_length=300)
    # Votes voided by this set, and how many of them were counted until then.
    vote_count: int = 0
    counted_count: int = 0
    actor_id: int = Field(foreign_key="account.id")
    created_at: datetime = timestamp(default_now=True)


class Vote(SQLModel, table=True):
    """One vote as cast: it counts once its address confirms it, until a later confirmed vote
    from the same address replaces it or staff void it. `counted_key` is the folded address
    while the vote counts and NULL otherwise, so that the database itself refuses two counted
    votes of one address in one theme."""

    __table_args__ = (
        UniqueConstraint("theme_vote_id", "counted_key"),
        Index("ix_vote_theme_vote_id_address", "theme_vote_id", "address"),
        Index("ix_vote_theme_vote_id_finalist_id", "theme_vote_id", "finalist_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    theme_vote_id: int = Field(foreign_key="theme_vote.id")
    finalist_id: int = Field(foreign_key="finalist.id")
    # The public handle of the "check your e-mail" page, and the form it was sent with.
    reference: str = Field(max_length=40, unique=True)
    submission_key: str = Field(max_length=64, unique=True)
    # The address folded (case; dots and +tags where the provider ignores them): personal
    # data, never shown, deleted VOTE_RETENTION_DAYS after the close.
    address: str = Field(default="", max_length=254)
    counted_key: str | None = Field(default=None, max_length=254)
    # Only the confirmation link's hash is kept; the link works for 24 hours.
    token_hash: str | None = Field(default=None, max_length=64, unique=True)
    token_expires_at: datetime = timestamp()
    locale: str = Field(default="es", max_length=5)
    created_at: datetime = timestamp(default_now=True, index=True)
    confirmed_at: datetime | None = timestamp(nullable=True)
    # Replaced by a later confirmed vote of the same address.
    superseded_at: datetime | None = timestamp(nullable=True)
    voiding_id: int | None = Field(default=None, foreign_key="vote_voiding.id", index=True)
    # For the review page: a keyed hash of the client address and its network prefix
    # (/24 or /48); both deleted with the address.
    client_hash: str = Field(default="", max_length=64)
    network: str = Field(default="", max_length=60)
    # The confirmation e-mail, deleted from the outbox with the address.
    outbox_message_id: int | None = None


class VoteRefusal(SQLModel, table=True):
    """Votes refused by a throttle or as disposable addresses, counted per network and hour for
    the review page (never the votes themselves)."""

    __tablename__ = "vote_refusal"
    __table_args__ = (UniqueConstraint("theme_vote_id", "network", "reason", "hour"),)

    id: int | None = Field(default=None, primary_key=True)
    theme_vote_id: int = Field(foreign_key="theme_vote.id")
    network: str = Field(max_length=60)
    reason: str = Field(max_length=20)
    hour: datetime = timestamp()
    count: int = 0


class GroundTally(SQLModel, table=True):
    """Votes from the ground: one paper ballot box or event, counted by people, entered by
    staff with a scan of the tally sheet (stored like evidence files). Published as a line of
    its own, never as individual votes."""

    __tablename__ = "ground_tally"

    id: int | None = Field(default=None, primary_key=True)
    theme_vote_id: int = Field(foreign_key="theme_vote.id", index=True)
    place: str = Field(max_length=200)
    counted_on: date
    counted_by: str = Field(max_length=200)
    scan_sha256: str = Field(max_length=64, index=True)
    scan_content_type: str = Field(max_length=40)
    scan_name: str = Field(max_length=200)
    entered_by_id: int = Field(foreign_key="account.id")
    created_at: datetime = timestamp(default_now=True)


class GroundTallyLine(SQLModel, table=True):
    __tablename__ = "ground_tally_line"
    __table_args__ = (UniqueConstraint("tally_id", "finalist_id"),)

    id: int | None = Field(default=None, primary_key=True)
    tally_id: int = Field(foreign_key="ground_tally.id")
    finalist_id: int = Field(foreign_key="finalist.id")
    votes: int
