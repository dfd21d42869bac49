"""Candidates: the nominations of one person grouped into one, and who might be the same person.

A candidate's strength is its number of independent nominators: distinct nominator e-mails
(folded) among its nominations that were not withdrawn. Only eligible nominations are grouped,
and only with a candidate of their own theme.

Suggestions are computed in Python (candidates.matching) over the campaign's candidates and
ungrouped nominations, loaded once per page (a few thousand short rows at the largest editions),
with an index on word prefixes so that only names sharing words are scored.
"""

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

from sqlalchemy import select as sql_select
from sqlalchemy import update
from sqlmodel import Session, col, select

from app.errors import InvalidInput, NotFound
from app.i18n import N_
from app.models import (
    Account,
    Campaign,
    Candidate,
    Finalist,
    Nomination,
    NominationStatus,
    Theme,
    VettingCheck,
    VettingStatus,
    utcnow,
)
from app.services import audit
from app.services.campaigns.campaigns import get_current_campaign
from app.services.candidates.matching import Entry, Match, MatchIndex, MatchKind, Person, match_key
from app.services.text import fold


class Refused(InvalidInput):
    """A change the rules refuse (422), with the form field it is about, if any."""

    def __init__(self, message: str, *, field: str = "", **params: object) -> None:
        super().__init__(message, **params)
        self.field = field


# --- Reading --------------------------------------------------------------------------------

PAGE_SIZE = 50


def count_independent(nominations: Iterable[tuple[str, NominationStatus]]) -> int:
    """Distinct nominator e-mails, folded, among nominations not withdrawn."""
    return len(
        {
            fold(email)
            for email, status in nominations
            if status is not NominationStatus.withdrawn and email
        }
    )


@dataclass(frozen=True)
class CandidateSummary:
    candidate: Candidate
    nominations: int
    independent_nominators: int
    is_finalist: bool


@dataclass(frozen=True)
class UngroupedNomination:
    id: int
    theme_id: int
    nominee_name: str
    nominee_position: str
    nominee_institution: str
    state: str
    submitted_at: datetime

    @property
    def person(self) -> Person:
        return Person(self.nominee_name, self.nominee_institution, self.state)


@dataclass(frozen=True)
class Suggestion:
    match: Match
    # One of the two: the candidate suggested, with its counts, or the nomination.
    candidate: CandidateSummary | None = None
    nomination: UngroupedNomination | None = None


@dataclass(frozen=True)
class UngroupedRow:
    nomination: UngroupedNomination
    theme: Theme
    suggestions: list[Suggestion]


@dataclass(frozen=True)
class ThemeCandidates:
    theme: Theme
    candidates: list[CandidateSummary]
    ungrouped: int


@dataclass(frozen=True)
class CandidatesOverview:
    campaign: Campaign | None
    themes: list[ThemeCandidates]
    theme: Theme | None
    ungrouped: list[UngroupedRow]
    ungrouped_total: int
    page: int
    pages: int


@dataclass
class _CampaignData:
    themes: list[Theme]
    candidates: list[Candidate]
    summaries: dict[int, CandidateSummary]
    ungrouped: list[UngroupedNomination]
    index: MatchIndex = field(init=False)
    _ungrouped_by_id: dict[int, UngroupedNomination] = field(init=False)

    def __post_init__(self) -> None:
        self._ungrouped_by_id = {n.id: n for n in self.ungrouped}
        entries = [
            Entry("candidate", c.id, c.theme_id, Person(c.name, c.institution, c.state))
            for c in self.candidates
            if c.id is not None
        ]
        entries += [Entry("nomination", n.id, n.theme_id, n.person) for n in self.ungrouped]
        self.index = MatchIndex(entries)

    def suggestions(
        self, person: Person, *, theme_id: int, exclude: tuple[MatchKind, int]
    ) -> list[Suggestion]:
        found = []
        for match in self.index.suggest(person, theme_id=theme_id, exclude=exclude):
            if match.entry.kind == "candidate":
                found.append(Suggestion(match, candidate=self.summaries[match.entry.id]))
            else:
                found.append(Suggestion(match, nomination=self._ungrouped_by_id[match.entry.id]))
        return found


def _summaries(
    session: Session, campaign_id: int, candidates: Sequence[Candidate]
) -> dict[int, CandidateSummary]:
    """Counts for every candidate of a campaign, in two queries whatever their number."""
    if not candidates:
        return {}
    rows = session.exec(
        select(Nomination.candidate_id, Nomination.nominator_email, Nomination.status)
        .join(Candidate, col(Candidate.id) == Nomination.candidate_id)
        .where(Candidate.campaign_id == campaign_id)
    ).all()
    by_candidate: dict[int, list[tuple[str, NominationStatus]]] = defaultdict(list)
    for candidate_id, email, status in rows:
        if candidate_id is not None:
            by_candidate[candidate_id].append((email, NominationStatus(status)))
    finalists = set(
        session.exec(
            select(Finalist.candidate_id)
            .join(Candidate, col(Candidate.id) == Finalist.candidate_id)
            .where(Candidate.campaign_id == campaign_id)
        ).all()
    )
    return {
        c.id: CandidateSummary(
            candidate=c,
            nominations=len(by_candidate[c.id]),
            independent_nominators=count_independent(by_candidate[c.id]),
            is_finalist=c.id in finalists,
        )
        for c in candidates
        if c.id is not None
    }


def _load_campaign(session: Session, campaign: Campaign) -> _CampaignData:
    assert campaign.id is not None
    themes = list(
        session.exec(
            select(Theme).where(Theme.campaign_id == campaign.id).order_by(col(Theme.position))
        ).all()
    )
    candidates = list(
        session.exec(select(Candidate).where(Candidate.campaign_id == campaign.id)).all()
    )
    theme_ids = [theme.id for theme in themes]
    # Only the columns suggestions need: the long texts of a nomination stay in the database.
    rows = session.execute(
        sql_select(
            col(Nomination.id),
            col(Nomination.theme_id),
            col(Nomination.nominee_name),
            col(Nomination.nominee_position),
            col(Nomination.nominee_institution),
            col(Nomination.state),
            col(Nomination.submitted_at),
        )
        .where(
            col(Nomination.theme_id).in_(theme_ids),
            col(Nomination.status) == NominationStatus.eligible,
            col(Nomination.candidate_id).is_(None),
        )
        .order_by(col(Nomination.submitted_at), col(Nomination.id))
    ).all()
    ungrouped = [UngroupedNomination(*row) for row in rows]
    return _CampaignData(
        themes, candidates, _summaries(session, campaign.id, candidates), ungrouped
    )


def _strength_order(summary: CandidateSummary) -> tuple[int, int, str]:
    return (-summary.independent_nominators, -summary.nominations, fold(summary.candidate.name))


def candidates_overview(
    session: Session, *, theme_slug: str | None = None, page: int = 1
) -> CandidatesOverview:
    """The current campaign's candidates per theme, strongest first, and a page of eligible
    nominations not yet grouped, each with its suggested matches."""
    campaign = get_current_campaign(session)
    if campaign is None:
        return CandidatesOverview(None, [], None, [], 0, 1, 1)
    data = _load_campaign(session, campaign)
    theme = next((t for t in data.themes if t.slug == theme_slug), None)
    per_theme = []
    for each in data.themes:
        if theme is not None and each.id != theme.id:
            continue
        summaries = [s for s in data.summaries.values() if s.candidate.theme_id == each.id]
        per_theme.append(
            ThemeCandidates(
                theme=each,
                candidates=sorted(summaries, key=_strength_order),
                ungrouped=sum(1 for n in data.ungrouped if n.theme_id == each.id),
            )
        )
    waiting = [n for n in data.ungrouped if theme is None or n.theme_id == theme.id]
    pages = max(1, -(-len(waiting) // PAGE_SIZE))
    page = min(max(page, 1), pages)
    themes_by_id = {t.id: t for t in data.themes}
    rows = [
        UngroupedRow(
            nomination=n,
            theme=themes_by_id[n.theme_id],
            suggestions=data.suggestions(
                n.person, theme_id=n.theme_id, exclude=("nomination", n.id)
            ),
        )
        for n in waiting[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    ]
    return CandidatesOverview(
        campaign=campaign,
        themes=per_theme,
        theme=theme,
        ungrouped=rows,
        ungrouped_total=len(waiting),
        page=page,
        pages=pages,
    )


@dataclass(frozen=True)
class CandidateDetail:
    summary: CandidateSummary
    theme: Theme
    nominations: list[Nomination]
    finalist: Finalist | None
    suggestions: list[Suggestion]
    # Other candidates of the same theme, strongest first, to merge into this one.
    others: list[CandidateSummary]

    @property
    def candidate(self) -> Candidate:
        return self.summary.candidate


def get_candidate(session: Session, *, candidate_id: int) -> Candidate:
    candidate = session.get(Candidate, candidate_id) if 0 < candidate_id < 2**31 else None
    if candidate is None:
        raise NotFound(N_("There is no candidate with this number."))
    return candidate


def candidate_detail(session: Session, *, candidate_id: int) -> CandidateDetail:
    candidate = get_candidate(session, candidate_id=candidate_id)
    theme = session.get(Theme, candidate.theme_id)
    campaign = session.get(Campaign, candidate.campaign_id)
    assert theme is not None and campaign is not None
    nominations = list(
        session.exec(
            select(Nomination)
            .where(Nomination.candidate_id == candidate.id)
            .order_by(col(Nomination.submitted_at), col(Nomination.id))
        ).all()
    )
    finalist = session.exec(select(Finalist).where(Finalist.candidate_id == candidate.id)).first()
    data = _load_campaign(session, campaign)
    person = Person(candidate.name, candidate.institution, candidate.state)
    assert candidate.id is not None
    suggestions = data.suggestions(
        person, theme_id=candidate.theme_id, exclude=("candidate", candidate.id)
    )
    others = sorted(
        (
            s
            for s in data.summaries.values()
            if s.candidate.theme_id == candidate.theme_id and s.candidate.id != candidate.id
        ),
        key=_strength_order,
    )
    return CandidateDetail(
        summary=data.summaries[candidate.id],
        theme=theme,
        nominations=nominations,
        finalist=finalist,
        suggestions=suggestions,
        others=others,
    )


# --- Changing -------------------------------------------------------------------------------
# Rows about to change are read FOR UPDATE (a no-op on SQLite, whose writers take turns), so two
# staff members grouping the same nomination at once cannot both succeed on PostgreSQL.


_Row = TypeVar("_Row", Candidate, Nomination, Finalist)


def row_for_update(session: Session, model: type[_Row], row_id: int) -> _Row | None:
    """The row with this id read FOR UPDATE, or None (also for a number no id can have)."""
    if not 0 < row_id < 2**31:
        return None
    return session.exec(select(model).where(col(model.id) == row_id).with_for_update()).first()


def lock_candidate(session: Session, candidate_id: int) -> Candidate:
    """The candidate, locked until commit: every change to a candidate (grouping, merging,
    vetting, choosing a finalist) starts here."""
    candidate = row_for_update(session, Candidate, candidate_id)
    if candidate is None:
        raise NotFound(N_("There is no candidate with this number."))
    return candidate


def _locked_nomination(session: Session, nomination_id: int) -> Nomination:
    nomination = row_for_update(session, Nomination, nomination_id)
    if nomination is None:
        raise Refused(
            N_("There is no nomination number %(id)s."), id=nomination_id, field="nomination_id"
        )
    return nomination


def _check_groupable(nomination: Nomination, *, field: str = "nomination_id") -> None:
    if nomination.candidate_id is not None:
        raise Refused(
            N_(
                "Nomination %(id)s already belongs to candidate %(candidate)s: detach it there"
                " first, or merge the two candidates."
            ),
            id=nomination.id,
            candidate=nomination.candidate_id,
            field=field,
        )
    if nomination.status is not NominationStatus.eligible:
        raise Refused(
            N_(
                "Nomination %(id)s is not marked eligible: only eligible nominations can be"
                " grouped into candidates."
            ),
            id=nomination.id,
            field=field,
        )


def _nomination_ids(session: Session, candidate_id: int) -> list[int]:
    ids = session.exec(
        select(Nomination.id)
        .where(Nomination.candidate_id == candidate_id)
        .order_by(col(Nomination.id))
    ).all()
    return [i for i in ids if i is not None]


def snapshot(candidate: Candidate, nominations: list[int]) -> dict[str, object]:
    """What the audit trail keeps of a candidate: no nominator's details, only numbers."""
    return {
        "name": candidate.name,
        "institution": candidate.institution,
        "state": candidate.state,
        "theme_id": candidate.theme_id,
        "vetting_status": candidate.vetting_status.value,
        "nominations": nominations,
    }


def record_moves(
    session: Session,
    *,
    actor: Account,
    nominations: Iterable[int],
    before: int | None,
    after: int | None,
) -> None:
    """One line per nomination too, so each nomination's own history shows its grouping."""
    for nomination_id in nominations:
        audit.record(
            session,
            actor=actor,
            action="nomination.candidate",
            object_type="nomination",
            object_id=nomination_id,
            before={"candidate_id": before},
            after={"candidate_id": after},
        )


def create_candidate(
    session: Session,
    *,
    actor: Account,
    nomination_id: int,
    with_nomination_id: int | None = None,
) -> Candidate:
    """A new candidate named as in an eligible, ungrouped nomination (and, if given, a second
    one of the same theme grouped with it)."""
    ids = sorted({nomination_id, with_nomination_id or nomination_id})
    locked = {i: _locked_nomination(session, i) for i in ids}
    nomination = locked[nomination_id]
    _check_groupable(nomination)
    others = [n for i, n in locked.items() if i != nomination_id]
    for other in others:
        _check_groupable(other, field="with_nomination_id")
        if other.theme_id != nomination.theme_id:
            raise Refused(
                N_("Only nominations of the same theme can be grouped into one candidate."),
                field="with_nomination_id",
            )
    theme = session.get(Theme, nomination.theme_id)
    assert theme is not None
    now = utcnow()
    candidate = Candidate(
        campaign_id=theme.campaign_id,
        theme_id=nomination.theme_id,
        name=nomination.nominee_name,
        institution=nomination.nominee_institution,
        state=nomination.state,
        match_key=match_key(nomination.nominee_name),
        created_at=now,
        updated_at=now,
    )
    session.add(candidate)
    session.flush()
    for each in locked.values():
        each.candidate_id = candidate.id
        session.add(each)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="candidate.create",
        object_type="candidate",
        object_id=candidate.id,
        after=snapshot(candidate, ids),
    )
    record_moves(session, actor=actor, nominations=ids, before=None, after=candidate.id)
    return candidate


def add_nomination(
    session: Session, *, actor: Account, candidate_id: int, nomination_id: int
) -> Candidate:
    """Groups an eligible, ungrouped nomination of the candidate's theme into the candidate."""
    candidate = lock_candidate(session, candidate_id)
    nomination = _locked_nomination(session, nomination_id)
    if nomination.candidate_id == candidate.id:
        raise Refused(
            N_("Nomination %(id)s is already grouped in this candidate."),
            id=nomination.id,
            field="nomination_id",
        )
    _check_groupable(nomination)
    if nomination.theme_id != candidate.theme_id:
        raise Refused(
            N_(
                "Nomination %(id)s is under another theme: only nominations of the candidate's"
                " theme can be grouped into it."
            ),
            id=nomination.id,
            field="nomination_id",
        )
    assert candidate.id is not None
    before = _nomination_ids(session, candidate.id)
    nomination.candidate_id = candidate.id
    candidate.updated_at = utcnow()
    session.add_all([nomination, candidate])
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="candidate.add_nomination",
        object_type="candidate",
        object_id=candidate.id,
        before={"nominations": before},
        after={"nominations": sorted([*before, nomination_id])},
    )
    record_moves(session, actor=actor, nominations=[nomination_id], before=None, after=candidate.id)
    return candidate


def group_many(
    session: Session, *, actor: Account, choices: list[tuple[int, str, int | None]]
) -> list[Candidate]:
    """The list's one-step grouping: for each (nomination, kind, other id) in order, a new
    candidate ("new"), the suggested candidate ("candidate") or a new candidate with another
    ungrouped nomination ("nomination"); a pair already grouped by an earlier choice of the
    same step joins that candidate instead. Each move is audited as if done on its own; any
    refusal refuses the whole step."""
    grouped: dict[int, int] = {}
    touched: list[Candidate] = []
    for nomination_id, kind, other_id in choices:
        if nomination_id in grouped:
            continue
        if kind == "candidate" and other_id is not None:
            candidate = add_nomination(
                session, actor=actor, candidate_id=other_id, nomination_id=nomination_id
            )
        elif kind == "nomination" and other_id is not None and other_id in grouped:
            candidate = add_nomination(
                session, actor=actor, candidate_id=grouped[other_id], nomination_id=nomination_id
            )
        else:
            candidate = create_candidate(
                session,
                actor=actor,
                nomination_id=nomination_id,
                with_nomination_id=other_id if kind == "nomination" else None,
            )
            if kind == "nomination" and other_id is not None:
                assert candidate.id is not None
                grouped[other_id] = candidate.id
        assert candidate.id is not None
        grouped[nomination_id] = candidate.id
        touched.append(candidate)
    return touched


def _merged_status(target: VettingStatus, source: VettingStatus) -> VettingStatus:
    if target == source:
        return target
    # New nominations and checks join a vetted candidate: it is reviewed again, and a concern
    # about either one stays visible.
    if VettingStatus.flagged in (target, source):
        return VettingStatus.flagged
    return VettingStatus.pending


def merge_candidates(
    session: Session, *, actor: Account, target_id: int, source_id: int
) -> Candidate:
    """Moves every nomination and vetting check of `source` to `target` and deletes `source`."""
    if target_id == source_id:
        raise Refused(N_("Choose another candidate to merge."), field="other_id")
    first, second = sorted((target_id, source_id))
    locked = {first: lock_candidate(session, first), second: lock_candidate(session, second)}
    target, source = locked[target_id], locked[source_id]
    assert target.id is not None and source.id is not None
    if target.theme_id != source.theme_id:
        raise Refused(N_("Only candidates of the same theme can be merged."), field="other_id")
    finalists = set(
        session.exec(
            select(Finalist.candidate_id).where(col(Finalist.candidate_id).in_([first, second]))
        ).all()
    )
    if source.id in finalists:
        raise Refused(
            N_(
                "Candidate %(id)s is a finalist and cannot disappear in a merge: merge the other"
                " candidate into it instead."
            ),
            id=source.id,
            field="other_id",
        )
    status = _merged_status(target.vetting_status, source.vetting_status)
    if target.id in finalists and status is not VettingStatus.cleared:
        raise Refused(
            N_(
                "This candidate is a finalist and must stay cleared: clear candidate %(id)s"
                " first, or remove this finalist."
            ),
            id=source.id,
            field="other_id",
        )
    before_target = snapshot(target, _nomination_ids(session, target.id))
    source_nominations = _nomination_ids(session, source.id)
    before_source = snapshot(source, source_nominations)
    session.exec(
        update(Nomination)
        .where(col(Nomination.candidate_id) == source.id)
        .values(candidate_id=target.id)
    )
    session.exec(
        update(VettingCheck)
        .where(col(VettingCheck.candidate_id) == source.id)
        .values(candidate_id=target.id)
    )
    target.vetting_status = status
    if source.vetting_note:
        target.vetting_note = "\n\n".join(
            n for n in (target.vetting_note, source.vetting_note) if n
        )
    target.updated_at = utcnow()
    session.add(target)
    session.delete(source)
    session.flush()
    after = snapshot(target, _nomination_ids(session, target.id))
    audit.record(
        session,
        actor=actor,
        action="candidate.merge",
        object_type="candidate",
        object_id=target.id,
        before={**before_target, "merged": before_source},
        after={**after, "merged_from": source_id},
    )
    audit.record(
        session,
        actor=actor,
        action="candidate.delete",
        object_type="candidate",
        object_id=source_id,
        before=before_source,
        after={"merged_into": target.id},
    )
    record_moves(
        session,
        actor=actor,
        nominations=source_nominations,
        before=source_id,
        after=target.id,
    )
    return target


def detach_nomination(
    session: Session, *, actor: Account, candidate_id: int, nomination_id: int
) -> Candidate | None:
    """Ungroups a nomination; a candidate left with none is deleted (None is returned), unless
    its vetting or its place among the finalists would be lost with it."""
    candidate = lock_candidate(session, candidate_id)
    nomination = row_for_update(session, Nomination, nomination_id)
    if nomination is None or nomination.candidate_id != candidate.id:
        raise NotFound(N_("This nomination is not grouped in this candidate."))
    assert candidate.id is not None
    before = _nomination_ids(session, candidate.id)
    remaining = [i for i in before if i != nomination_id]
    if not remaining:
        has_checks = session.exec(
            select(VettingCheck.id).where(VettingCheck.candidate_id == candidate.id).limit(1)
        ).first()
        is_finalist = session.exec(
            select(Finalist.id).where(Finalist.candidate_id == candidate.id)
        ).first()
        if is_finalist is not None:
            raise Refused(
                N_(
                    "This is the only nomination of a finalist: remove the finalist first, or"
                    " group another nomination into this candidate before detaching this one."
                )
            )
        if has_checks is not None:
            raise Refused(
                N_(
                    "This is the candidate's only nomination and the candidate has vetting"
                    " checks, which would be lost: group another nomination into it first."
                )
            )
    snapshot_before = snapshot(candidate, before)
    nomination.candidate_id = None
    session.add(nomination)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="candidate.detach_nomination",
        object_type="candidate",
        object_id=candidate.id,
        before={"nominations": before},
        after={"nominations": remaining, "detached": nomination_id},
    )
    record_moves(session, actor=actor, nominations=[nomination_id], before=candidate.id, after=None)
    if remaining:
        candidate.updated_at = utcnow()
        session.add(candidate)
        session.flush()
        return candidate
    session.delete(candidate)
    audit.record(
        session,
        actor=actor,
        action="candidate.delete",
        object_type="candidate",
        object_id=candidate_id,
        before=snapshot_before,
        after={"reason": "no nominations left"},
    )
    session.flush()
    return None
