"""What staff see of a vote to judge it, and what they may do about it: the suspicious patterns
(bursts for one finalist, many addresses from one network or of one pattern, confirmations
seconds after sending, throttled attempts), voiding a set of votes with a reason, and the
export of the votes with their addresses, only with a written reason. Both are audited.

Every pattern is computed from one read of the vote's rows, whatever their number; addresses
themselves are never shown, only the patterns many of them share.
"""

import csv
import io
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from sqlalchemy import select as sa_select
from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from app.db import is_sqlite
from app.i18n import N_
from app.models import Account, GroundTally, Theme, ThemeVote, Vote, VoteRefusal, VoteVoiding
from app.services import audit
from app.services.results.shared import FieldInvalid
from app.services.text import neutralise
from app.services.voting.addresses import address_pattern
from app.services.voting.counting import FinalistCount, finalist_counts, refreeze_if_frozen
from app.services.voting.setup import VoteState, staff_vote, vote_state

# A burst: this many votes for one finalist within one window of this many minutes.
BURST_MINUTES = 10
BURST_MIN_VOTES = 20
# Networks and patterns shared by at least this many different addresses are listed.
SHARED_MIN_ADDRESSES = 5
# A confirmation this soon after the vote was sent is faster than people read their mail.
FAST_CONFIRM_SECONDS = 10
LISTED = 20


class Selector(StrEnum):
    network = "network"
    pattern = "pattern"
    burst = "burst"
    fast = "fast"


@dataclass(frozen=True)
class Burst:
    finalist_id: int
    finalist_name: str
    starts_at: datetime
    votes: int

    @property
    def value(self) -> str:
        return f"{self.finalist_id}@{int(self.starts_at.timestamp())}"


@dataclass(frozen=True)
class Shared:
    """A network or an address pattern, with the votes that came from it."""

    value: str
    addresses: int
    votes: int
    confirmed: int


@dataclass(frozen=True)
class Refused:
    network: str
    reason: str
    count: int


@dataclass
class Totals:
    cast: int = 0
    confirmed: int = 0
    pending: int = 0
    replaced: int = 0
    voided: int = 0


@dataclass(frozen=True)
class Review:
    theme: Theme
    vote: ThemeVote
    state: VoteState
    totals: Totals
    counts: list[FinalistCount]
    bursts: list[Burst]
    networks: list[Shared]
    patterns: list[Shared]
    fast: list[Shared]
    fast_total: int
    refusals: list[Refused]
    voidings: list[VoteVoiding]
    tallies: list[GroundTally]
    names: dict[int, str] = field(default_factory=dict)


@dataclass(frozen=True)
class _Row:
    id: int
    finalist_id: int
    address: str
    network: str
    created_at: datetime
    confirmed_at: datetime | None
    superseded_at: datetime | None
    voiding_id: int | None
    counted: bool


def _rows(session: Session, theme_vote_id: int) -> list[_Row]:
    return [
        _Row(*row)
        for row in session.execute(
            sa_select(
                col(Vote.id),
                col(Vote.finalist_id),
                col(Vote.address),
                col(Vote.network),
                col(Vote.created_at),
                col(Vote.confirmed_at),
                col(Vote.superseded_at),
                col(Vote.voiding_id),
                col(Vote.counted_key).is_not(None),
            )
            .where(col(Vote.theme_vote_id) == theme_vote_id)
            .order_by(col(Vote.id))
        ).all()
    ]


def _window(when: datetime) -> datetime:
    minutes = BURST_MINUTES * 60
    return datetime.fromtimestamp(int(when.timestamp()) // minutes * minutes, UTC)


def _is_fast(row: _Row) -> bool:
    return row.confirmed_at is not None and row.confirmed_at - row.created_at < timedelta(
        seconds=FAST_CONFIRM_SECONDS
    )


def _shared(rows: list[_Row], key: str) -> list[Shared]:
    addresses: dict[str, set[str]] = defaultdict(set)
    votes: Counter[str] = Counter()
    confirmed: Counter[str] = Counter()
    for row in rows:
        value = row.network if key == "network" else address_pattern(row.address)
        if not value or (key == "pattern" and "#" not in value):
            continue
        addresses[value].add(row.address)
        votes[value] += 1
        confirmed[value] += row.counted
    found = [
        Shared(value, len(addresses[value]), votes[value], confirmed[value])
        for value in addresses
        if len(addresses[value]) >= SHARED_MIN_ADDRESSES
    ]
    return sorted(found, key=lambda s: (-s.addresses, -s.votes, s.value))[:LISTED]


def review_page(session: Session, *, theme_id: int, now: datetime) -> Review:
    theme, vote = staff_vote(session, theme_id=theme_id)
    assert vote.id is not None
    rows = _rows(session, vote.id)
    counts = finalist_counts(session, vote=vote)
    names = {count.finalist_id: count.public_name for count in counts}
    totals = Totals(cast=len(rows))
    for row in rows:
        if row.voiding_id is not None:
            totals.voided += 1
        elif row.counted:
            totals.confirmed += 1
        elif row.superseded_at is not None:
            totals.replaced += 1
        elif row.confirmed_at is None:
            totals.pending += 1
    windows: Counter[tuple[int, datetime]] = Counter(
        (row.finalist_id, _window(row.created_at)) for row in rows if row.voiding_id is None
    )
    bursts = sorted(
        (
            Burst(finalist_id, names.get(finalist_id, "?"), starts_at, count)
            for (finalist_id, starts_at), count in windows.items()
            if count >= BURST_MIN_VOTES
        ),
        key=lambda b: (-b.votes, b.starts_at),
    )[:LISTED]
    fast_rows = [row for row in rows if _is_fast(row) and row.voiding_id is None]
    fast_by_network: dict[str, list[_Row]] = defaultdict(list)
    for row in fast_rows:
        fast_by_network[row.network].append(row)
    fast = sorted(
        (
            Shared(
                network, len({r.address for r in group}), len(group), sum(r.counted for r in group)
            )
            for network, group in fast_by_network.items()
        ),
        key=lambda s: (-s.votes, s.value),
    )[:LISTED]
    refusals: Counter[tuple[str, str]] = Counter()
    for network, reason, count in session.exec(
        select(VoteRefusal.network, VoteRefusal.reason, VoteRefusal.count).where(
            VoteRefusal.theme_vote_id == vote.id
        )
    ).all():
        refusals[(network, reason)] += count
    return Review(
        theme=theme,
        vote=vote,
        state=vote_state(vote, now),
        totals=totals,
        counts=counts,
        bursts=bursts,
        networks=_shared([r for r in rows if r.voiding_id is None], "network"),
        patterns=_shared([r for r in rows if r.voiding_id is None], "pattern"),
        fast=fast,
        fast_total=len(fast_rows),
        refusals=sorted(
            (Refused(network, reason, count) for (network, reason), count in refusals.items()),
            key=lambda r: (-r.count, r.network),
        )[:LISTED],
        voidings=list(
            session.exec(
                select(VoteVoiding)
                .where(VoteVoiding.theme_vote_id == vote.id)
                .order_by(col(VoteVoiding.id))
            ).all()
        ),
        tallies=list(
            session.exec(
                select(GroundTally)
                .where(GroundTally.theme_vote_id == vote.id)
                .order_by(col(GroundTally.counted_on), col(GroundTally.id))
            ).all()
        ),
        names=names,
    )


def _matches(row: _Row, selector: Selector, value: str) -> bool:
    if selector is Selector.network:
        return row.network == value
    if selector is Selector.pattern:
        return address_pattern(row.address) == value
    if selector is Selector.fast:
        return _is_fast(row) and (not value or row.network == value)
    finalist, _, start = value.partition("@")
    if not (finalist.isdigit() and start.isdigit()):
        return False
    return row.finalist_id == int(finalist) and _window(row.created_at) == datetime.fromtimestamp(
        int(start), UTC
    )


def describe(selector: Selector, value: str) -> str:
    return f"{selector.value} {value}".strip()[:300]


def void_votes(
    session: Session,
    *,
    actor: Account,
    theme_id: int,
    selector: Selector,
    value: str,
    reason: str,
    now: datetime,
) -> VoteVoiding:
    """Voids the votes of the set the selector names (those not voided already), with the
    reason; audited, and published in the count as votes voided."""
    if not reason.strip():
        raise FieldInvalid(N_("Write why these votes are voided."), field="reason")
    theme, vote = staff_vote(session, theme_id=theme_id)
    assert vote.id is not None and actor.id is not None
    chosen = [
        row
        for row in _rows(session, vote.id)
        if row.voiding_id is None and _matches(row, selector, value)
    ]
    if not chosen:
        raise FieldInvalid(N_("No vote that is not voided yet matches this set."), field="value")
    voiding = VoteVoiding(
        theme_vote_id=vote.id,
        reason=reason.strip(),
        selector=describe(selector, value),
        vote_count=len(chosen),
        counted_count=sum(row.counted for row in chosen),
        actor_id=actor.id,
        created_at=now,
    )
    session.add(voiding)
    session.flush()
    ids = [row.id for row in chosen]
    for start in range(0, len(ids), 500):
        session.execute(
            update(Vote)
            .where(col(Vote.id).in_(ids[start : start + 500]))
            .values(voiding_id=voiding.id, counted_key=None)
        )
    audit.record(
        session,
        actor=actor,
        action="vote.voided",
        object_type="theme_vote",
        object_id=vote.id,
        after={
            "theme": theme.slug,
            "voiding_id": voiding.id,
            "selector": voiding.selector,
            "reason": voiding.reason,
            "votes": voiding.vote_count,
            "counted": voiding.counted_count,
        },
    )
    refreeze_if_frozen(session, vote=vote, actor=actor, now=now)
    session.flush()
    return voiding


EXPORT_HEADER = (
    "vote_id",
    "finalist",
    "address",
    "network",
    "cast_at",
    "confirmed_at",
    "replaced_at",
    "voiding_id",
    "counted",
)


def export_votes(
    session: Session, *, actor: Account, theme_id: int, reason: str, now: datetime
) -> tuple[str, str]:
    """The votes of a theme with their addresses as CSV (file name, text), for staff who say
    why; the reason and the number of rows go to the audit trail first."""
    if not reason.strip():
        raise FieldInvalid(
            N_("Write why you need the voters' addresses: it is kept in the audit trail."),
            field="reason",
        )
    theme, vote = staff_vote(session, theme_id=theme_id)
    assert vote.id is not None
    names = {count.finalist_id: count.public_name for count in finalist_counts(session, vote=vote)}
    rows = _rows(session, vote.id)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(EXPORT_HEADER)
    for row in rows:
        writer.writerow(
            [
                row.id,
                neutralise(names.get(row.finalist_id, "")),
                neutralise(row.address),
                row.network,
                row.created_at.isoformat(),
                row.confirmed_at.isoformat() if row.confirmed_at else "",
                row.superseded_at.isoformat() if row.superseded_at else "",
                row.voiding_id or "",
                "yes" if row.counted else "no",
            ]
        )
    audit.record(
        session,
        actor=actor,
        action="vote.exported",
        object_type="theme_vote",
        object_id=vote.id,
        after={"theme": theme.slug, "reason": reason.strip(), "rows": len(rows)},
    )
    stamp = now.strftime("%Y%m%d-%H%M")
    return f"vote-{theme.slug}-{stamp}.csv", out.getvalue()


def record_refusal(
    session: Session, *, theme_vote_id: int, network: str, reason: str, now: datetime
) -> None:
    """Counts a refused vote for the review page, per network, reason and hour: one row per
    hour, however many are refused (a flood must not write a row per attempt)."""
    hour = now.replace(minute=0, second=0, microsecond=0)
    insert = sqlite_insert if is_sqlite(session.get_bind()) else postgresql_insert
    table = VoteRefusal.__table__  # type: ignore[attr-defined]
    statement = insert(table).values(
        theme_vote_id=theme_vote_id, network=network[:60], reason=reason, hour=hour, count=1
    )
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["theme_vote_id", "network", "reason", "hour"],
            set_={"count": table.c.count + 1},
        )
    )
