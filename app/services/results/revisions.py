"""Results revisions: the frozen content of the results, the staff overview of what is ready,
and preparing, publishing and discarding a revision (a correction is a new one)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import case, distinct, func
from sqlmodel import Session, col, select

from app.errors import Conflict, NotFound
from app.i18n import N_, Translator
from app.models import (
    Account,
    Campaign,
    Candidate,
    ConflictDeclaration,
    ConsentStatus,
    Criterion,
    Finalist,
    Meeting,
    MeetingFinalist,
    MeetingStatus,
    Nomination,
    NominationStatus,
    ResultsRevision,
    RevisionStatus,
    ScoreSheet,
    Theme,
)
from app.services import audit
from app.services.judging import method
from app.services.mail import notifications
from app.services.results import transparency
from app.services.results.shared import (
    FieldInvalid,
    campaign_header,
    consents_of,
    finalists_of,
    fingerprint,
    lock_campaign,
    may_be_named,
    profile,
    theme_header,
    themes_of,
    winners_of,
)
from app.services.results.winners import confirmed_before, final_meetings, open_meetings

CONTENT_FORMAT = 1
# The method's words (app/services/judging/method.py) are frozen into each revision in both
# languages like any other published text, so a later change of wording never alters what was
# published.


def aggregation_text(locale: str) -> str:
    """How scores became winners, as a revision freezes it: paragraphs apart by a blank line."""
    return "\n\n".join(method.published_explanation(Translator(locale)))


# --- the results snapshot -----------------------------------------------------------------


def _count_by_theme(session: Session, query: Any) -> dict[int, int]:
    return {int(theme_id): int(n) for theme_id, n in session.execute(query).all()}


def build_results_content(session: Session, *, campaign: Campaign) -> dict[str, Any]:
    """The frozen content of a results revision: winners' public profiles per theme, the
    finalists, and how they were chosen, in aggregate figures only."""
    campaign_id = campaign.id
    assert campaign_id is not None
    themes = themes_of(session, campaign_id)
    theme_ids = [theme.id for theme in themes]
    finalists = finalists_of(session, campaign_id)
    by_id = {f.id: f for f in finalists}
    winners = winners_of(session, campaign_id)
    # Only finalists who consent to being named are in the snapshot; the figures count all.
    consents = consents_of(session, [f.id for f in finalists if f.id is not None])

    def named(chosen: list[Finalist]) -> list[dict[str, Any]]:
        return [
            profile(f, consents.get(f.id or 0))
            for f in chosen
            if may_be_named(consents.get(f.id or 0))
        ]

    nominations = session.execute(
        select(
            col(Nomination.theme_id),
            func.count(),
            func.sum(case((col(Nomination.status) == NominationStatus.eligible, 1), else_=0)),
        )
        .where(
            col(Nomination.theme_id).in_(theme_ids),
            col(Nomination.status) != NominationStatus.withdrawn,
        )
        .group_by(col(Nomination.theme_id))
    ).all()
    received = {int(theme_id): int(n) for theme_id, n, _ in nominations}
    eligible = {int(theme_id): int(e or 0) for theme_id, _, e in nominations}
    candidates = _count_by_theme(
        session,
        select(col(Candidate.theme_id), func.count())
        .where(Candidate.campaign_id == campaign_id)
        .group_by(col(Candidate.theme_id)),
    )
    # People who took part: judges with a submitted sheet in a closed meeting, not everyone
    # invited to the panel (an invited judge who never scored is no judge of this result).
    judges = session.execute(
        select(func.count(distinct(col(ScoreSheet.judge_id))))
        .join(Meeting, col(Meeting.id) == ScoreSheet.meeting_id)
        .where(
            Meeting.campaign_id == campaign_id,
            Meeting.status == MeetingStatus.closed,
            col(ScoreSheet.submitted_at).is_not(None),
        )
    ).scalar_one()
    recusals = session.execute(
        select(func.count())
        .select_from(ConflictDeclaration)
        .where(
            col(ConflictDeclaration.has_conflict).is_(True),
            col(ConflictDeclaration.finalist_id).in_(list(by_id)),
        )
    ).scalar_one()
    meetings = session.execute(
        select(col(Meeting.number), col(Meeting.held_on), func.count(col(MeetingFinalist.id)))
        .outerjoin(MeetingFinalist, col(MeetingFinalist.meeting_id) == col(Meeting.id))
        .where(Meeting.campaign_id == campaign_id, Meeting.status == MeetingStatus.closed)
        .group_by(col(Meeting.id), col(Meeting.number), col(Meeting.held_on))
        .order_by(col(Meeting.number))
    ).all()
    meeting_themes: dict[int, list[str]] = {}
    for number, slug in session.execute(
        select(col(Meeting.number), col(Theme.slug))
        .join(MeetingFinalist, col(MeetingFinalist.meeting_id) == col(Meeting.id))
        .join(Finalist, col(Finalist.id) == col(MeetingFinalist.finalist_id))
        .join(Theme, col(Theme.id) == col(Finalist.theme_id))
        .where(Meeting.campaign_id == campaign_id, Meeting.status == MeetingStatus.closed)
        .distinct()
        .order_by(col(Meeting.number), col(Theme.slug))
    ).all():
        meeting_themes.setdefault(int(number), []).append(slug)
    finals = final_meetings(session, campaign_id=campaign_id)
    criteria = session.exec(
        select(Criterion)
        .where(Criterion.campaign_id == campaign_id)
        .order_by(col(Criterion.position), col(Criterion.id))
    ).all()
    total_weight = sum(c.weight for c in criteria)

    theme_entries = []
    for theme in themes:
        assert theme.id is not None
        theme_finalists = [f for f in finalists if f.theme_id == theme.id]
        theme_winners = sorted(
            (by_id[w.finalist_id] for w in winners if w.theme_id == theme.id),
            key=lambda f: (f.public_name, f.id),
        )
        named_winners = named(theme_winners)
        # Winners who declined or withdrew: the page says a winner is not named at their
        # request. (Announcing needs everyone's consent, so no winner is merely unasked.)
        unnamed = sum(
            1
            for f in theme_winners
            if (c := consents.get(f.id or 0)) is not None
            and c.status in (ConsentStatus.declined, ConsentStatus.withdrawn)
        )
        theme_entries.append(
            {
                **theme_header(theme),
                "winners": named_winners,
                # Winners who did not consent to being named are counted, never named: the
                # page says a winner exists rather than showing a theme without one. The key
                # is there only when there are such winners, as in revisions made before it.
                **({"unnamed_winners": unnamed} if unnamed else {}),
                "finalists": named(theme_finalists),
                # The meeting whose ranking the theme's winners were confirmed from.
                "final_meeting": finals[theme.id].number if theme.id in finals else None,
                "figures": {
                    "nominations": received.get(theme.id, 0),
                    "eligible_nominations": eligible.get(theme.id, 0),
                    "candidates": candidates.get(theme.id, 0),
                    "finalists": len(theme_finalists),
                },
            }
        )
    return {
        "format": CONTENT_FORMAT,
        "campaign": campaign_header(campaign),
        "themes": theme_entries,
        "how_chosen": {
            "criteria": [
                {
                    "name_es": c.name_es,
                    "name_en": c.name_en,
                    "description_es": c.description_es,
                    "description_en": c.description_en,
                    "weight": c.weight,
                    "share_percent": round(100 * c.weight / total_weight, 1)
                    if total_weight
                    else 0.0,
                    "scale_min": c.scale_min,
                    "scale_max": c.scale_max,
                }
                for c in criteria
            ],
            "figures": {
                "nominations": sum(received.values()),
                "eligible_nominations": sum(eligible.values()),
                "candidates": sum(candidates.values()),
                "finalists": len(finalists),
                "judges": int(judges),
                "meetings": len(meetings),
                "recusals": int(recusals),
            },
            "meetings": [
                {
                    "number": int(number),
                    "held_on": held_on.isoformat(),
                    "finalists": int(n),
                    "themes": meeting_themes.get(int(number), []),
                }
                for number, held_on, n in meetings
            ],
            "aggregation": {"es": aggregation_text("es"), "en": aggregation_text("en")},
        },
    }


def winner_ids(content: dict[str, Any]) -> list[int]:
    return [w["finalist_id"] for theme in content["themes"] for w in theme["winners"]]


# --- revisions -------------------------------------------------------------------------------


def revisions_of(session: Session, campaign_id: int) -> list[ResultsRevision]:
    return list(
        session.exec(
            select(ResultsRevision)
            .where(ResultsRevision.campaign_id == campaign_id)
            .order_by(col(ResultsRevision.number))
        ).all()
    )


def published_only(revisions: list[ResultsRevision]) -> list[ResultsRevision]:
    return [r for r in revisions if r.status is RevisionStatus.published]


@dataclass(frozen=True)
class ThemeStatus:
    theme: Theme
    finalists: int
    winners: list[Finalist]
    # Confirmed winners whom no public page names (no consent to their name, or withdrawn).
    unnamed_winners: list[Finalist] = field(default_factory=list)
    # The theme's final meeting, and a meeting still open with its finalists.
    final_meeting: Meeting | None = None
    open_meeting: Meeting | None = None
    # The winners were confirmed before the final meeting closed (a run-off closed since).
    reconfirm: bool = False


@dataclass(frozen=True)
class ContentChanges:
    """What differs between two results snapshots, told apart so staff read what really
    changed: a run-off of one theme changes the figures (one more meeting), not the winners."""

    winners: list[Theme]
    profiles: bool
    figures: bool

    def __bool__(self) -> bool:
        return bool(self.winners) or self.profiles or self.figures


def content_changes(
    before: dict[str, Any], after: dict[str, Any], *, themes: list[Theme]
) -> ContentChanges:
    def winners(content: dict[str, Any]) -> dict[str, list[int]]:
        return {
            theme["slug"]: sorted(w["finalist_id"] for w in theme["winners"])
            for theme in content["themes"]
        }

    def profiles(content: dict[str, Any]) -> dict[int, Any]:
        return {
            entry["finalist_id"]: entry
            for theme in content["themes"]
            for entry in [*theme["winners"], *theme["finalists"]]
        }

    def rest(content: dict[str, Any]) -> dict[str, Any]:
        # Unnamed winners change only with the winners named, compared above; revisions
        # published before the count existed lack it.
        return {
            **content,
            "themes": [
                {
                    k: v
                    for k, v in theme.items()
                    if k not in ("winners", "finalists", "unnamed_winners")
                }
                for theme in content["themes"]
            ],
        }

    old, new = winners(before), winners(after)
    return ContentChanges(
        winners=[theme for theme in themes if old.get(theme.slug) != new.get(theme.slug)],
        profiles=profiles(before) != profiles(after),
        figures=rest(before) != rest(after),
    )


@dataclass(frozen=True)
class PublishingOverview:
    campaign: Campaign
    themes: list[ThemeStatus]
    revisions: list[ResultsRevision]
    draft: ResultsRevision | None
    latest: ResultsRevision | None
    # What changed since the draft was prepared, and since the latest published revision.
    draft_changes: ContentChanges | None
    published_changes: ContentChanges | None
    missing_winners: list[Theme] = field(default_factory=list)

    @property
    def draft_outdated(self) -> bool:
        return bool(self.draft_changes)

    @property
    def published_outdated(self) -> bool:
        return bool(self.published_changes)

    @property
    def open_meetings(self) -> list[ThemeStatus]:
        return [s for s in self.themes if s.open_meeting is not None]

    @property
    def reconfirm(self) -> list[ThemeStatus]:
        return [s for s in self.themes if s.reconfirm]

    @property
    def unnamed_winners(self) -> list[ThemeStatus]:
        """Themes with a confirmed winner whom the public pages cannot name."""
        return [s for s in self.themes if s.unnamed_winners]

    @property
    def blocked(self) -> bool:
        """Something must be done before results can be prepared."""
        return (
            self.campaign.finalists_announced_at is None
            or bool(self.missing_winners)
            or bool(self.open_meetings)
            or bool(self.reconfirm)
        )


def publishing_overview(session: Session, *, campaign: Campaign) -> PublishingOverview:
    assert campaign.id is not None
    finalists = finalists_of(session, campaign.id)
    by_id = {f.id: f for f in finalists}
    winners = winners_of(session, campaign.id)
    finals = final_meetings(session, campaign_id=campaign.id)
    running = open_meetings(session, campaign_id=campaign.id)
    themes = themes_of(session, campaign.id)
    consents = consents_of(session, [w.finalist_id for w in winners])
    statuses = []
    for theme in themes:
        assert theme.id is not None
        final = finals.get(theme.id)
        theme_winners = [w for w in winners if w.theme_id == theme.id]
        statuses.append(
            ThemeStatus(
                theme=theme,
                finalists=sum(1 for f in finalists if f.theme_id == theme.id),
                winners=[by_id[w.finalist_id] for w in theme_winners],
                unnamed_winners=[
                    by_id[w.finalist_id]
                    for w in theme_winners
                    if not may_be_named(consents.get(w.finalist_id))
                ],
                final_meeting=final,
                open_meeting=running.get(theme.id),
                reconfirm=confirmed_before(final, theme_winners),
            )
        )
    revisions = revisions_of(session, campaign.id)
    draft = next((r for r in revisions if r.status is RevisionStatus.draft), None)
    published = published_only(revisions)
    latest = published[-1] if published else None
    current = build_results_content(session, campaign=campaign) if draft or latest else None
    return PublishingOverview(
        campaign=campaign,
        themes=statuses,
        revisions=revisions,
        draft=draft,
        latest=latest,
        draft_changes=content_changes(json.loads(draft.content), current, themes=themes)
        if draft is not None and current is not None
        else None,
        published_changes=content_changes(json.loads(latest.content), current, themes=themes)
        if latest is not None and current is not None
        else None,
        missing_winners=[s.theme for s in statuses if s.finalists and not s.winners],
    )


def _names(statuses: list[ThemeStatus]) -> str:
    return ", ".join(s.theme.name_es for s in statuses)


def prepare_revision(
    session: Session,
    *,
    campaign: Campaign,
    actor: Account,
    reason: str,
    now: datetime,
) -> ResultsRevision:
    """Freezes the current winners and figures into the draft revision (one at a time) for
    staff to preview; after a first publication it is a correction and needs its reason.
    It comes after every stage before it: the finalists announced (which needs the call closed,
    and ends it), no meeting of a theme still open, and each theme's winners confirmed from its
    final meeting."""
    campaign = lock_campaign(session, campaign)
    overview = publishing_overview(session, campaign=campaign)
    if campaign.finalists_announced_at is None:
        raise Conflict(N_("Announce the finalists before publishing the results."))
    if overview.open_meetings:
        meeting = overview.open_meetings[0].open_meeting
        assert meeting is not None
        raise Conflict(
            N_(
                "Meeting %(number)s is still open for scoring (%(themes)s): close it before"
                " publishing the results."
            ),
            number=meeting.number,
            themes=_names(overview.open_meetings),
        )
    if overview.missing_winners:
        raise Conflict(
            N_("Confirm the winners of every theme before publishing the results: %(themes)s."),
            themes=", ".join(theme.name_es for theme in overview.missing_winners),
        )
    if overview.reconfirm:
        raise Conflict(
            N_(
                "Confirm the winners of %(themes)s again: the theme's final meeting closed"
                " after they were confirmed."
            ),
            themes=_names(overview.reconfirm),
        )
    if overview.latest is not None and not reason.strip():
        raise FieldInvalid(
            N_("Results already published are corrected by a new revision: say what it corrects."),
            field="reason",
        )
    content = build_results_content(session, campaign=campaign)
    if overview.latest is not None and json.loads(overview.latest.content) == content:
        raise FieldInvalid(
            N_("Nothing changed since the published revision: there is nothing to correct."),
            field="reason",
        )
    assert campaign.id is not None and actor.id is not None
    text = json.dumps(content, ensure_ascii=False, sort_keys=True)
    draft = overview.draft
    before = None
    if draft is None:
        number = max((r.number for r in overview.revisions), default=0) + 1
        draft = ResultsRevision(
            campaign_id=campaign.id, number=number, created_by_id=actor.id, created_at=now
        )
    else:
        before = {"reason": draft.reason, "content_sha256": fingerprint(json.loads(draft.content))}
    draft.status = RevisionStatus.draft
    draft.reason = reason.strip()
    draft.content = text
    draft.created_by_id = actor.id
    draft.created_at = now
    session.add(draft)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="results.draft_prepared",
        object_type="results_revision",
        object_id=draft.id,
        before=before,
        after={
            "number": draft.number,
            "reason": draft.reason,
            "content_sha256": fingerprint(content),
            "winner_ids": winner_ids(content),
        },
    )
    return draft


@dataclass(frozen=True)
class RevisionView:
    campaign: Campaign
    revision: ResultsRevision
    content: dict[str, Any]
    # Published revisions of the campaign, oldest first: the page's history of corrections.
    history: list[ResultsRevision]

    @property
    def latest(self) -> ResultsRevision | None:
        return self.history[-1] if self.history else None

    @property
    def is_latest(self) -> bool:
        return self.latest is not None and self.latest.id == self.revision.id

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.content)

    @property
    def meetings(self) -> list[dict[str, Any]]:
        """The meetings held, with their dates as dates (the snapshot keeps them as text)."""
        return [
            {**m, "held_on": date.fromisoformat(m["held_on"])}
            for m in self.content["how_chosen"]["meetings"]
        ]


def staff_revision(session: Session, *, campaign: Campaign, number: int) -> RevisionView:
    """Any revision of the current campaign, drafts included, for staff to preview."""
    assert campaign.id is not None
    revisions = revisions_of(session, campaign.id)
    revision = next((r for r in revisions if r.number == number), None)
    if revision is None:
        raise NotFound(N_("This revision of the results does not exist."))
    return RevisionView(
        campaign=campaign,
        revision=revision,
        content=json.loads(revision.content),
        history=published_only(revisions),
    )


def publish_revision(
    session: Session,
    *,
    campaign: Campaign,
    number: int,
    previewed: str,
    actor: Account,
    now: datetime,
    base_url: str,
) -> ResultsRevision:
    """Publishes the draft exactly as previewed, then tells the nominators who agreed to be
    contacted about winners this revision adds. Sent again from the same preview once it is
    published (a double click, a browser's retry), it does nothing more."""
    campaign = lock_campaign(session, campaign)
    view = staff_revision(session, campaign=campaign, number=number)
    revision = view.revision
    if revision.status is not RevisionStatus.draft:
        if revision.status is RevisionStatus.published and previewed == view.fingerprint:
            return revision
        raise Conflict(N_("This revision is already published."))
    if previewed != view.fingerprint:
        raise Conflict(
            N_("This draft changed since you opened its preview. Check the preview again.")
        )
    previous = view.latest
    before_ids = set(winner_ids(json.loads(previous.content))) if previous else set()
    new_winners = [i for i in winner_ids(view.content) if i not in before_ids]
    revision.status = RevisionStatus.published
    revision.published_at = now
    session.add(revision)
    session.flush()
    sent = notifications.notify_winners_published(
        session, campaign, finalist_ids=new_winners, base_url=base_url
    )
    audit.record(
        session,
        actor=actor,
        action="results.published",
        object_type="results_revision",
        object_id=revision.id,
        before={"status": RevisionStatus.draft.value},
        after={
            "status": RevisionStatus.published.value,
            "number": revision.number,
            "reason": revision.reason,
            "content_sha256": view.fingerprint,
            "winner_ids": winner_ids(view.content),
            "emails_queued": sent,
        },
    )
    transparency.seal_revision(session, campaign=campaign, revision=revision)
    return revision


def discard_draft(session: Session, *, campaign: Campaign, number: int, actor: Account) -> None:
    campaign = lock_campaign(session, campaign)
    view = staff_revision(session, campaign=campaign, number=number)
    if view.revision.status is not RevisionStatus.draft:
        raise Conflict(N_("A published revision cannot be discarded; publish a correction."))
    revision_id = view.revision.id
    session.delete(view.revision)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="results.draft_discarded",
        object_type="results_revision",
        object_id=revision_id,
        before={"number": number, "content_sha256": view.fingerprint},
    )
