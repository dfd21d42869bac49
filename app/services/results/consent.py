"""The nominee's consent to being named in public (issue 15): asked by a one-time link mailed
to them or recorded by staff after a call or a signed letter, item by item (name and position,
photo, the story told about them), with changes they ask for; and its withdrawal, which takes
the person off every public page at once and supersedes a published results revision naming
them with a new visible one, their data redacted from the earlier snapshots.

The rule public pages follow is shared.may_be_named / shared.profile; announcing refuses while
a consent is missing (winners.check_consent)."""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from app.errors import Conflict, NotFound
from app.forms.consent import ConsentAnswerForm, StaffConsentForm
from app.i18n import N_
from app.models import (
    Account,
    Campaign,
    ConsentChannel,
    ConsentStatus,
    Finalist,
    FinalistConsent,
    Nomination,
    NominationStatus,
    ResultsRevision,
    RevisionStatus,
    Theme,
    Winner,
)
from app.services import audit
from app.services.candidates.grouping import row_for_update
from app.services.files import CleanFile, FileStore
from app.services.mail.compose import render_mail
from app.services.mail.outbox import queue_mail
from app.services.results import data_releases, transparency
from app.services.results.shared import (
    FieldInvalid,
    consents_of,
    finalists_of,
    fingerprint,
    lock_campaign,
    themes_of,
)

CONSENT_LINK_LIFETIME = timedelta(days=30)
ITEMS = ("name_and_position", "photo", "story")
EVIDENCE_TYPES = frozenset({"application/pdf", "image/jpeg", "image/png", "image/webp"})
# The reason of the revision a withdrawal publishes, in both languages: a revision's reason is
# one text, shown as written on the Spanish and the English page alike.
WITHDRAWAL_REASON = (
    "Una persona finalista retiró su consentimiento a ser nombrada públicamente; sus datos ya"
    " no se muestran. / A finalist withdrew their consent to being named in public; their"
    " details are no longer shown."
)
LINK_NOT_VALID = N_(
    "This consent link is not valid or has expired. Write to us and we will send you a new one."
)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def consent_link(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/consent/{token}"


# --- reading ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConsentView:
    finalist: Finalist
    theme: Theme
    campaign: Campaign
    consent: FinalistConsent | None
    # A confirmed winner: without consent to being named, the results name no one in their place.
    is_winner: bool = False


def _view(session: Session, finalist: Finalist, consent: FinalistConsent | None) -> ConsentView:
    theme = session.get(Theme, finalist.theme_id)
    assert theme is not None
    campaign = session.get(Campaign, theme.campaign_id)
    assert campaign is not None
    is_winner = (
        session.exec(select(Winner.id).where(Winner.finalist_id == finalist.id)).first() is not None
    )
    return ConsentView(
        finalist=finalist, theme=theme, campaign=campaign, consent=consent, is_winner=is_winner
    )


def _finalist(session: Session, finalist_id: int, *, lock: bool = False) -> Finalist:
    if lock:
        finalist = row_for_update(session, Finalist, finalist_id)
    else:
        finalist = session.get(Finalist, finalist_id) if 0 < finalist_id < 2**31 else None
    if finalist is None:
        raise NotFound(N_("There is no finalist with this number."))
    return finalist


def _consent(session: Session, finalist_id: int) -> FinalistConsent | None:
    return session.exec(
        select(FinalistConsent).where(FinalistConsent.finalist_id == finalist_id)
    ).first()


def staff_view(session: Session, *, finalist_id: int) -> ConsentView:
    finalist = _finalist(session, finalist_id)
    return _view(session, finalist, _consent(session, finalist_id))


def _by_token(
    session: Session, token: str, now: datetime, *, lock: bool = False
) -> FinalistConsent:
    """The consent a link was mailed for: before an answer while it has not expired; after
    one, for as long as the row keeps its hash, so the nominee can see and withdraw it."""
    found = None
    if 20 <= len(token) <= 100:
        query = select(FinalistConsent).where(FinalistConsent.token_hash == _token_hash(token))
        found = session.exec(query.with_for_update() if lock else query).first()
    if found is None:
        raise NotFound(LINK_NOT_VALID)
    expires = found.token_expires_at
    if found.status is ConsentStatus.requested and (expires is None or expires <= now):
        raise NotFound(LINK_NOT_VALID)
    return found


def view_for_token(session: Session, *, token: str, now: datetime) -> ConsentView:
    consent = _by_token(session, token, now)
    return _view(session, _finalist(session, consent.finalist_id), consent)


# --- what the trail keeps -----------------------------------------------------------------


def _snapshot(consent: FinalistConsent | None) -> dict[str, Any] | None:
    """The answer without the nominee's address (the trail cannot be anonymised later)."""
    if consent is None:
        return None
    return {
        "status": consent.status.value,
        **{item: getattr(consent, item) for item in ITEMS},
        "requested_changes": consent.requested_changes,
        "channel": consent.channel.value if consent.channel else None,
        "recorded_by_id": consent.recorded_by_id,
        "evidence_sha256": consent.evidence_sha256,
    }


# --- asking --------------------------------------------------------------------------------


def request_consent(
    session: Session,
    *,
    actor: Account,
    finalist_id: int,
    email: str,
    locale: str,
    now: datetime,
    base_url: str,
) -> FinalistConsent:
    """Mails the nominee a one-time link to /consent/{token} (a new link replaces an older
    one). Refused once they consented or withdrew: there is nothing left to ask."""
    finalist = _finalist(session, finalist_id, lock=True)
    assert finalist.id is not None
    consent = _consent(session, finalist.id)
    if consent is not None and consent.status in (ConsentStatus.given, ConsentStatus.withdrawn):
        raise Conflict(N_("This finalist has already answered; there is nothing to ask."))
    before = _snapshot(consent)
    if consent is None:
        consent = FinalistConsent(finalist_id=finalist.id, created_at=now)
    token = secrets.token_urlsafe(32)
    consent.status = ConsentStatus.requested
    consent.token_hash = _token_hash(token)
    consent.token_expires_at = now + CONSENT_LINK_LIFETIME
    consent.email = email
    consent.locale = locale
    consent.requested_at = now
    consent.updated_at = now
    session.add(consent)
    session.flush()
    view = _view(session, finalist, consent)
    subject, body = render_mail(
        "consent_request",
        locale,
        person=finalist.public_name,
        year=view.campaign.year,
        theme_name=view.theme.name_es if locale == "es" else view.theme.name_en,
        link=consent_link(base_url, token),
        days=CONSENT_LINK_LIFETIME.days,
    )
    queue_mail(session, to=email, subject=subject, body=body)
    audit.record(
        session,
        actor=actor,
        action="consent.requested",
        object_type="finalist",
        object_id=finalist.id,
        before=before,
        after={**(_snapshot(consent) or {}), "locale": locale, "expires_at": now.isoformat()},
    )
    return consent


# --- asking every finalist at once ------------------------------------------------------------

_EMAIL_LIKE = re.compile(r"[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+")


@dataclass(frozen=True)
class AskRow:
    """A finalist on the page that asks many at once: whether they may be asked, and the address
    staff would most likely use (the one asked before, or one a nomination gave for them)."""

    finalist: Finalist
    theme: Theme
    consent: FinalistConsent | None
    suggested_email: str

    @property
    def askable(self) -> bool:
        return self.consent is None or self.consent.status in (
            ConsentStatus.requested,
            ConsentStatus.declined,
        )

    @property
    def preselected(self) -> bool:
        """Ticked when the page opens: nobody asked them yet."""
        return self.consent is None


def ask_rows(session: Session, *, campaign: Campaign) -> list[AskRow]:
    """The edition's finalists by theme, in four queries whatever their number."""
    assert campaign.id is not None
    themes = {theme.id: theme for theme in themes_of(session, campaign.id)}
    finalists = finalists_of(session, campaign.id)
    consents = consents_of(session, [f.id for f in finalists if f.id is not None])
    contacts: dict[int, str] = {}
    for candidate_id, contact in session.execute(
        select(col(Nomination.candidate_id), col(Nomination.nominee_contact))
        .where(
            col(Nomination.candidate_id).in_([f.candidate_id for f in finalists]),
            col(Nomination.status) != NominationStatus.withdrawn,
            col(Nomination.nominee_contact) != "",
        )
        .order_by(col(Nomination.submitted_at), col(Nomination.id))
    ).all():
        found = _EMAIL_LIKE.search(contact or "")
        if found and int(candidate_id) not in contacts:
            contacts[int(candidate_id)] = found.group(0)
    rows = []
    for finalist in finalists:
        assert finalist.id is not None
        consent = consents.get(finalist.id)
        rows.append(
            AskRow(
                finalist=finalist,
                theme=themes[finalist.theme_id],
                consent=consent,
                suggested_email=(consent.email if consent and consent.email else "")
                or contacts.get(finalist.candidate_id, ""),
            )
        )
    positions = {theme_id: n for n, theme_id in enumerate(themes)}
    rows.sort(key=lambda r: (positions[r.theme.id], r.finalist.public_name, r.finalist.id))
    return rows


def request_many(
    session: Session,
    *,
    actor: Account,
    requests: list[tuple[int, str, str]],
    now: datetime,
    base_url: str,
) -> int:
    """Asks each (finalist id, address, language) as `request_consent` does, in the caller's
    one transaction: a refusal of any leaves nothing sent."""
    for finalist_id, email, locale in requests:
        request_consent(
            session,
            actor=actor,
            finalist_id=finalist_id,
            email=email,
            locale=locale,
            now=now,
            base_url=base_url,
        )
    return len(requests)


# --- answering -----------------------------------------------------------------------------


def _apply_answer(consent: FinalistConsent, form: ConsentAnswerForm, now: datetime) -> None:
    if form.decision == "consent" and not form.name_and_position:
        raise FieldInvalid(
            N_(
                "Without your name and position we cannot show anything about you: tick it, or"
                " choose not to be named."
            ),
            field="name_and_position",
        )
    given = form.decision == "consent"
    consent.status = ConsentStatus.given if given else ConsentStatus.declined
    consent.name_and_position = given and form.name_and_position
    consent.photo = given and form.photo
    consent.story = given and form.story
    consent.requested_name = form.requested_name if given else ""
    consent.requested_position = form.requested_position if given else ""
    consent.requested_note = form.requested_note if given else ""
    consent.changes_handled_at = None
    consent.answered_at = now
    consent.updated_at = now


def answer_by_link(
    session: Session, *, token: str, form: ConsentAnswerForm, now: datetime, client_hash: str
) -> FinalistConsent:
    """The nominee's own answer, once: afterwards the link shows it and offers withdrawal."""
    consent = _by_token(session, token, now, lock=True)
    if consent.status is not ConsentStatus.requested:
        raise Conflict(N_("You have already answered. You can still withdraw below."))
    before = _snapshot(consent)
    _apply_answer(consent, form, now)
    consent.channel = ConsentChannel.link
    consent.recorded_by_id = None
    session.add(consent)
    session.flush()
    audit.record(
        session,
        actor=None,
        action=f"consent.{consent.status.value}",
        object_type="finalist",
        object_id=consent.finalist_id,
        before=before,
        after=_snapshot(consent),
        client_hash=client_hash,
    )
    return consent


def record_by_staff(
    session: Session,
    *,
    actor: Account,
    finalist_id: int,
    form: StaffConsentForm,
    evidence: CleanFile | None,
    store: FileStore,
    now: datetime,
) -> FinalistConsent:
    """The answer the nominee gave by phone or in a signed letter, with who recorded it and
    when, and the letter (or a note of the call) kept like evidence files."""
    finalist = _finalist(session, finalist_id, lock=True)
    assert finalist.id is not None and actor.id is not None
    consent = _consent(session, finalist.id)
    if consent is not None and consent.status in (ConsentStatus.given, ConsentStatus.withdrawn):
        raise Conflict(
            N_(
                "This finalist's answer is already recorded. If they no longer consent, record"
                " their withdrawal."
            )
        )
    if evidence is not None and evidence.content_type not in EVIDENCE_TYPES:
        raise FieldInvalid(N_("Send a PDF, JPEG, PNG or WebP file."), field="evidence")
    before = _snapshot(consent)
    if consent is None:
        consent = FinalistConsent(finalist_id=finalist.id, created_at=now)
    _apply_answer(consent, form, now)
    consent.channel = ConsentChannel(form.channel)
    consent.recorded_by_id = actor.id
    if evidence is not None:
        store.put(evidence)
        consent.evidence_sha256 = evidence.sha256
        consent.evidence_name = evidence.original_name[:200]
        consent.evidence_type = evidence.content_type
    session.add(consent)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action=f"consent.{consent.status.value}",
        object_type="finalist",
        object_id=finalist.id,
        before=before,
        after=_snapshot(consent),
    )
    return consent


def mark_changes_handled(
    session: Session, *, actor: Account, finalist_id: int, now: datetime
) -> FinalistConsent:
    """Staff applied the changes the nominee asked for (in the profile form) and say so."""
    _finalist(session, finalist_id, lock=True)
    consent = _consent(session, finalist_id)
    if consent is None or not consent.requested_changes or consent.changes_handled_at:
        raise Conflict(N_("There are no changes waiting to be applied."))
    consent.changes_handled_at = now
    consent.updated_at = now
    session.add(consent)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="consent.changes_handled",
        object_type="finalist",
        object_id=finalist_id,
        after={"changes_handled_at": now.isoformat()},
    )
    return consent


@dataclass(frozen=True)
class Evidence:
    content: bytes
    content_type: str
    name: str


def evidence_of(session: Session, *, finalist_id: int, store: FileStore) -> Evidence:
    consent = _consent(session, finalist_id)
    if consent is None or not consent.evidence_sha256:
        raise NotFound(N_("There is no consent evidence for this finalist."))
    try:
        data = store.path_for(consent.evidence_sha256).read_bytes()
    except (FileNotFoundError, ValueError):
        raise NotFound(N_("There is no consent evidence for this finalist.")) from None
    return Evidence(content=data, content_type=consent.evidence_type, name=consent.evidence_name)


# --- withdrawing ---------------------------------------------------------------------------


def _withdraw(
    session: Session,
    consent: FinalistConsent,
    *,
    actor: Account | None,
    channel: ConsentChannel,
    now: datetime,
    client_hash: str = "",
) -> ResultsRevision | None:
    if consent.status is ConsentStatus.withdrawn:
        raise Conflict(N_("The consent was already withdrawn."))
    if consent.status is not ConsentStatus.given:
        raise Conflict(N_("There is no consent to withdraw."))
    finalist = _finalist(session, consent.finalist_id)
    view = _view(session, finalist, consent)
    campaign = lock_campaign(session, view.campaign)
    before = _snapshot(consent)
    consent.status = ConsentStatus.withdrawn
    consent.name_and_position = consent.photo = consent.story = False
    consent.withdrawn_at = now
    consent.updated_at = now
    if actor is not None:
        consent.recorded_by_id = actor.id
        consent.channel = channel
    session.add(consent)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="consent.withdrawn",
        object_type="finalist",
        object_id=consent.finalist_id,
        before=before,
        after={**(_snapshot(consent) or {}), "withdrawn_at": now.isoformat()},
        client_hash=client_hash,
    )
    return supersede_revisions(session, campaign=campaign, finalist=finalist, actor=actor, now=now)


def withdraw_by_link(
    session: Session, *, token: str, now: datetime, client_hash: str
) -> ResultsRevision | None:
    consent = _by_token(session, token, now, lock=True)
    return _withdraw(
        session, consent, actor=None, channel=ConsentChannel.link, now=now, client_hash=client_hash
    )


def withdraw_by_staff(
    session: Session, *, actor: Account, finalist_id: int, channel: ConsentChannel, now: datetime
) -> ResultsRevision | None:
    _finalist(session, finalist_id, lock=True)
    consent = _consent(session, finalist_id)
    if consent is None:
        raise Conflict(N_("There is no consent to withdraw."))
    return _withdraw(session, consent, actor=actor, channel=channel, now=now)


# --- the published results after a withdrawal ----------------------------------------------


def _without(content: dict[str, Any], finalist_id: int) -> tuple[dict[str, Any], int]:
    """The snapshot without this finalist's entries, and how many entries were taken out."""
    removed = 0
    themes = []
    for theme in content.get("themes", []):
        lists: dict[str, Any] = {}
        for key in ("winners", "finalists"):
            kept = [e for e in theme.get(key, []) if e.get("finalist_id") != finalist_id]
            removed += len(theme.get(key, [])) - len(kept)
            lists[key] = kept
        if len(lists["winners"]) < len(theme.get("winners", [])):
            # Still a winner, no longer named: the page says so (as build_results_content).
            lists["unnamed_winners"] = int(theme.get("unnamed_winners", 0)) + 1
        themes.append({**theme, **lists})
    return {**content, "themes": themes}, removed


def redact_revision_snapshot(
    session: Session,
    *,
    revision: ResultsRevision,
    finalist_id: int,
    actor: Account | None,
) -> bool:
    """The one place a stored revision's snapshot changes after it was written: a finalist
    who withdrew is taken out of it, so their data is public nowhere. The trail records the
    fingerprints of the snapshot before and after, so whoever checks the revisions against
    the trail can tell a redaction from tampering."""
    content = json.loads(revision.content)
    redacted, removed = _without(content, finalist_id)
    if not removed:
        return False
    before = fingerprint(content)
    redacted["redacted_withdrawals"] = int(content.get("redacted_withdrawals", 0)) + 1
    revision.content = json.dumps(redacted, ensure_ascii=False, sort_keys=True)
    session.add(revision)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="results.revision_redacted",
        object_type="results_revision",
        object_id=revision.id,
        before={"content_sha256": before},
        after={
            "content_sha256": fingerprint(redacted),
            "number": revision.number,
            "finalist_id": finalist_id,
            "reason": "consent.withdrawn",
        },
    )
    return True


def supersede_revisions(
    session: Session,
    *,
    campaign: Campaign,
    finalist: Finalist,
    actor: Account | None,
    now: datetime,
) -> ResultsRevision | None:
    """When the latest published revision named the finalist: a new published revision
    without them, its reason saying a finalist withdrew; then every revision of the campaign
    (earlier ones and a staff draft too) is redacted. Returns the new revision, if any."""
    assert campaign.id is not None and finalist.id is not None
    revisions = list(
        session.exec(
            select(ResultsRevision)
            .where(ResultsRevision.campaign_id == campaign.id)
            .order_by(col(ResultsRevision.number))
            .with_for_update()
        ).all()
    )
    published = [r for r in revisions if r.status is RevisionStatus.published]
    latest = published[-1] if published else None
    created = None
    if latest is not None:
        content, removed = _without(json.loads(latest.content), finalist.id)
        if removed:
            draft = next((r for r in revisions if r.status is RevisionStatus.draft), None)
            number = max(r.number for r in revisions) + 1
            if draft is not None:
                # The staff draft stays the next correction, after the withdrawal's revision.
                draft_number, draft.number = draft.number, number + 1
                session.add(draft)
                session.flush()
                number = draft_number
            created = ResultsRevision(
                campaign_id=campaign.id,
                number=number,
                status=RevisionStatus.published,
                reason=WITHDRAWAL_REASON,
                content=json.dumps(content, ensure_ascii=False, sort_keys=True),
                # Staff who recorded the withdrawal; none when the nominee withdrew by link.
                created_by_id=actor.id if actor is not None else None,
                created_at=now,
                published_at=now,
            )
            session.add(created)
            session.flush()
            audit.record(
                session,
                actor=actor,
                action="results.published",
                object_type="results_revision",
                object_id=created.id,
                after={
                    "status": RevisionStatus.published.value,
                    "number": created.number,
                    "reason": "consent.withdrawn",
                    "content_sha256": fingerprint(content),
                    "supersedes": latest.number,
                },
            )
            # Signed like any publication: a checkpoint of the chain at its commit.
            transparency.seal_revision(session, campaign=campaign, revision=created)
    for revision in revisions:
        redact_revision_snapshot(session, revision=revision, finalist_id=finalist.id, actor=actor)
    # And out of every open-data file of the edition, published ones included.
    data_releases.redact_finalist(
        session, campaign_id=campaign.id, finalist_id=finalist.id, actor=actor
    )
    return created


# --- the staff overview --------------------------------------------------------------------


def status_label(consent: FinalistConsent | None) -> str:
    """The short status staff read in lists, as a message id."""
    if consent is None:
        return N_("not asked")
    return {
        ConsentStatus.requested: N_("asked, no answer yet"),
        ConsentStatus.given: N_("consented"),
        ConsentStatus.declined: N_("declined"),
        ConsentStatus.withdrawn: N_("withdrawn"),
    }[consent.status]
