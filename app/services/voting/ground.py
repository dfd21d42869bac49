"""Votes from the ground: tallies of a paper ballot box or an event, entered by staff as one
batch with its place, date, who counted, and a scan of the tally sheet (stored like evidence
files, by content hash, served only to staff). Published as a line of their own."""

from dataclasses import dataclass
from datetime import date, datetime

from sqlmodel import Session, select

from app.errors import NotFound
from app.i18n import N_
from app.models import Account, GroundTally, GroundTallyLine
from app.services import audit
from app.services.files import CleanFile, FileStore
from app.services.results.shared import FieldInvalid
from app.services.voting.counting import refreeze_if_frozen
from app.services.voting.setup import staff_vote, theme_finalists

MAX_VOTES_PER_LINE = 10_000_000


def add_tally(
    session: Session,
    *,
    actor: Account,
    theme_id: int,
    place: str,
    counted_on: date,
    counted_by: str,
    counts: dict[int, int],
    scan: CleanFile,
    store: FileStore,
    now: datetime,
) -> GroundTally:
    theme, vote = staff_vote(session, theme_id=theme_id)
    assert vote.id is not None and actor.id is not None
    finalists = {f.id for f in theme_finalists(session, theme_id=theme_id)}
    if set(counts) - finalists:
        raise FieldInvalid(N_("Choose one of the finalists."), field="counts")
    if any(n < 0 or n > MAX_VOTES_PER_LINE for n in counts.values()):
        raise FieldInvalid(N_("Enter a whole number."), field="counts")
    if not any(counts.values()):
        raise FieldInvalid(N_("Enter the votes of at least one finalist."), field="counts")
    store.put(scan)
    tally = GroundTally(
        theme_vote_id=vote.id,
        place=place,
        counted_on=counted_on,
        counted_by=counted_by,
        scan_sha256=scan.sha256,
        scan_content_type=scan.content_type,
        scan_name=scan.original_name,
        entered_by_id=actor.id,
        created_at=now,
    )
    session.add(tally)
    session.flush()
    assert tally.id is not None
    session.add_all(
        GroundTallyLine(tally_id=tally.id, finalist_id=finalist_id, votes=votes)
        for finalist_id, votes in sorted(counts.items())
        if votes
    )
    audit.record(
        session,
        actor=actor,
        action="vote.tally_added",
        object_type="ground_tally",
        object_id=tally.id,
        after={
            "theme": theme.slug,
            "place": place,
            "counted_on": counted_on.isoformat(),
            "counted_by": counted_by,
            "scan_sha256": scan.sha256,
            "votes": {str(k): v for k, v in sorted(counts.items()) if v},
        },
    )
    session.flush()
    refreeze_if_frozen(session, vote=vote, actor=actor, now=now)
    return tally


@dataclass(frozen=True)
class Scan:
    content: bytes
    content_type: str
    name: str


def tally_scan(session: Session, *, theme_id: int, tally_id: int, store: FileStore) -> Scan:
    _theme, vote = staff_vote(session, theme_id=theme_id)
    tally = session.exec(
        select(GroundTally).where(GroundTally.id == tally_id, GroundTally.theme_vote_id == vote.id)
    ).first()
    if tally is None:
        raise NotFound(N_("We could not find this tally."))
    try:
        content = store.path_for(tally.scan_sha256).read_bytes()
    except (FileNotFoundError, ValueError):
        raise NotFound(N_("We could not find this tally.")) from None
    return Scan(content, tally.scan_content_type, tally.scan_name)
