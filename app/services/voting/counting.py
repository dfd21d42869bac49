"""Counting the public vote: confirmed votes per finalist, voided votes, tallies from the
ground as a line of their own; freezing the count at the close with its hash in the audit
trail; what the results page and `vote tally` publish.

The count is never mixed into the judges' decision: the results page shows it beside it.
"""

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from app.errors import Conflict
from app.i18n import N_
from app.models import (
    Account,
    Campaign,
    Finalist,
    GroundTally,
    GroundTallyLine,
    Theme,
    ThemeVote,
    Vote,
    VoteVoiding,
)
from app.services import audit
from app.services.voting.setup import named_theme_finalists, theme_finalists


@dataclass(frozen=True)
class FinalistCount:
    finalist_id: int
    public_name: str
    confirmed: int
    voided: int
    ground: int


def confirmed_counts(session: Session, *, theme_vote_id: int) -> dict[int, int]:
    """Votes that count now, per finalist: confirmed, not replaced, not voided."""
    rows = session.exec(
        select(Vote.finalist_id, func.count())
        .where(Vote.theme_vote_id == theme_vote_id, col(Vote.counted_key).is_not(None))
        .group_by(col(Vote.finalist_id))
    ).all()
    return {int(finalist_id): int(count) for finalist_id, count in rows}


def voided_counts(session: Session, *, theme_vote_id: int) -> dict[int, int]:
    """Confirmed votes staff voided (and not replaced by the voter before), per finalist."""
    rows = session.exec(
        select(Vote.finalist_id, func.count())
        .where(
            Vote.theme_vote_id == theme_vote_id,
            col(Vote.voiding_id).is_not(None),
            col(Vote.confirmed_at).is_not(None),
            col(Vote.superseded_at).is_(None),
        )
        .group_by(col(Vote.finalist_id))
    ).all()
    return {int(finalist_id): int(count) for finalist_id, count in rows}


def ground_counts(session: Session, *, theme_vote_id: int) -> dict[int, int]:
    rows = session.exec(
        select(GroundTallyLine.finalist_id, func.sum(GroundTallyLine.votes))
        .join(GroundTally, col(GroundTally.id) == col(GroundTallyLine.tally_id))
        .where(GroundTally.theme_vote_id == theme_vote_id)
        .group_by(col(GroundTallyLine.finalist_id))
    ).all()
    return {int(finalist_id): int(total or 0) for finalist_id, total in rows}


def finalist_counts(session: Session, *, vote: ThemeVote) -> list[FinalistCount]:
    """Every finalist of the vote's theme with its counts (four queries, whatever the size)."""
    assert vote.id is not None
    confirmed = confirmed_counts(session, theme_vote_id=vote.id)
    voided = voided_counts(session, theme_vote_id=vote.id)
    ground = ground_counts(session, theme_vote_id=vote.id)
    return [
        FinalistCount(
            finalist_id=finalist.id,
            public_name=finalist.public_name,
            confirmed=confirmed.get(finalist.id, 0),
            voided=voided.get(finalist.id, 0),
            ground=ground.get(finalist.id, 0),
        )
        for finalist in theme_finalists(session, theme_id=vote.theme_id)
        if finalist.id is not None
    ]


def count_content(session: Session, *, vote: ThemeVote, theme: Theme) -> dict[str, Any]:
    """The count as it is published: what the hash is taken of."""
    counts = finalist_counts(session, vote=vote)
    # Only finalists who consented to being named are named in what is published; the
    # totals count every vote.
    named = {f.id for f, _consent in named_theme_finalists(session, theme_id=vote.theme_id)}
    tallies = session.exec(
        select(GroundTally)
        .where(GroundTally.theme_vote_id == vote.id)
        .order_by(col(GroundTally.counted_on), col(GroundTally.id))
    ).all()
    voidings = session.exec(
        select(func.count(), func.coalesce(func.sum(VoteVoiding.vote_count), 0)).where(
            VoteVoiding.theme_vote_id == vote.id
        )
    ).one()
    return {
        "theme": {"slug": theme.slug, "name_es": theme.name_es, "name_en": theme.name_en},
        "opens_at": vote.opens_at.isoformat(),
        "closes_at": vote.closes_at.isoformat(),
        "finalists": [
            {
                "finalist_id": count.finalist_id,
                "public_name": count.public_name,
                "confirmed": count.confirmed,
                "voided": count.voided,
                "ground": count.ground,
            }
            for count in sorted(counts, key=lambda c: (-c.confirmed - c.ground, c.public_name))
            if count.finalist_id in named
        ],
        "confirmed": sum(count.confirmed for count in counts),
        "voided": sum(count.voided for count in counts),
        "ground": sum(count.ground for count in counts),
        "voiding_sets": int(voidings[0]),
        "ground_batches": [
            {
                "place": tally.place,
                "counted_on": tally.counted_on.isoformat(),
                "counted_by": tally.counted_by,
            }
            for tally in tallies
        ],
    }


def content_hash(content: dict[str, Any]) -> str:
    text = json.dumps(content, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _locked(session: Session, vote_id: int) -> ThemeVote:
    return session.exec(
        select(ThemeVote)
        .where(ThemeVote.id == vote_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()


def freeze(session: Session, *, vote: ThemeVote, actor: Account | None, now: datetime) -> ThemeVote:
    """Freezes the vote's count as it stands: its content, its hash (also in the audit trail)
    and a number that grows with each freeze, so a correction after the close is visible."""
    assert vote.id is not None
    vote = _locked(session, vote.id)
    theme = session.get(Theme, vote.theme_id)
    assert theme is not None
    content = count_content(session, vote=vote, theme=theme)
    digest = content_hash(content)
    vote.frozen_content = json.dumps(content, ensure_ascii=False, sort_keys=True)
    vote.frozen_hash = digest
    vote.frozen_at = now
    vote.freeze_number += 1
    vote.updated_at = now
    session.add(vote)
    audit.record(
        session,
        actor=actor,
        action="vote.frozen",
        object_type="theme_vote",
        object_id=vote.id,
        after={
            "theme": theme.slug,
            "sha256": digest,
            "freeze_number": vote.freeze_number,
            "confirmed": content["confirmed"],
            "voided": content["voided"],
            "ground": content["ground"],
        },
    )
    session.flush()
    return vote


def refreeze_if_frozen(
    session: Session, *, vote: ThemeVote, actor: Account | None, now: datetime
) -> None:
    """A change to a closed vote's count (a void, a tally) is published at once, as a new
    freeze with its own hash."""
    if vote.frozen_at is not None:
        freeze(session, vote=vote, actor=actor, now=now)


def freeze_closed_votes(session: Session, *, now: datetime) -> int:
    """Freezes every vote that has closed and is not frozen yet (the server does it)."""
    closed = session.exec(
        select(ThemeVote).where(col(ThemeVote.closes_at) <= now, col(ThemeVote.frozen_at).is_(None))
    ).all()
    frozen = 0
    for vote in closed:
        assert vote.id is not None
        if _locked(session, vote.id).frozen_at is None:
            freeze(session, vote=vote, actor=None, now=now)
            frozen += 1
    return frozen


@dataclass(frozen=True)
class PublishedVote:
    content: dict[str, Any]
    sha256: str
    frozen_at: datetime
    freeze_number: int


def published_votes(session: Session, *, campaign: Campaign) -> list[PublishedVote]:
    """The frozen counts of a campaign's votes, in the order of its themes."""
    rows = session.exec(
        select(ThemeVote)
        .join(Theme, col(Theme.id) == col(ThemeVote.theme_id))
        .where(Theme.campaign_id == campaign.id, col(ThemeVote.frozen_at).is_not(None))
        .order_by(col(Theme.position), col(Theme.id))
    ).all()
    return [
        PublishedVote(
            content=json.loads(vote.frozen_content),
            sha256=vote.frozen_hash,
            frozen_at=vote.frozen_at,
            freeze_number=vote.freeze_number,
        )
        for vote in rows
        if vote.frozen_at is not None
    ]


TALLY_CSV_HEADER = ("theme", "finalist", "confirmed_votes", "voided_votes")


def tally_rows(session: Session, *, campaign: Campaign) -> list[tuple[str, str, int, int]]:
    """`vote tally`: one row per finalist of each theme with a vote, as counted now."""
    rows: list[tuple[str, str, int, int]] = []
    votes = session.exec(
        select(Theme, ThemeVote)
        .join(ThemeVote, col(ThemeVote.theme_id) == col(Theme.id))
        .where(Theme.campaign_id == campaign.id)
        .order_by(col(Theme.position), col(Theme.id))
    ).all()
    for theme, vote in votes:
        for count in finalist_counts(session, vote=vote):
            rows.append((theme.slug, count.public_name, count.confirmed, count.voided))
    return rows


def finalist_names(session: Session, *, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return {
        int(finalist_id): name
        for finalist_id, name in session.exec(
            select(Finalist.id, Finalist.public_name).where(col(Finalist.id).in_(ids))
        ).all()
        if finalist_id is not None
    }


def freeze_by_staff(
    session: Session, *, actor: Account, vote: ThemeVote, now: datetime
) -> ThemeVote:
    """Staff freeze a closed vote's count now, rather than wait for the server's next round."""
    if now < vote.closes_at:
        raise Conflict(N_("The vote is still open: its count is frozen when it closes."))
    return freeze(session, vote=vote, actor=actor, now=now)
