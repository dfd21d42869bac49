"""The demo's current edition built up to a stage: `python -m app seed-demo --stage STAGE`.

    call       the call open, with its nominations coming in
    screening  the call closed; most nominations decided and grouped into candidates, some
               still to screen, duplicates to merge
    vetting    screening done; checks recorded on the shortlisted candidates, some cleared
    judging    ten finalists; meeting 1 closed with every score, meeting 2 open and partly
               scored: a demo judge finds finalists to score at once
    voting     as judging, with the finalists announced and a public vote open on every theme
    published  meeting 2 closed, winners confirmed, the results published

Everything goes through the services that citizens, staff and judges use (a nomination through
`submit_nomination`, a decision through `decide`, a score through `save_sheet`…), at the times a
real edition would have done it, so every page, audit line and e-mail is the one the app makes.
The calendar is set so that today falls in the stage asked for.

Each step looks first at what is there, so a stage can be run again, or a later one after an
earlier, without harm: an edition already at the stage asked for (or beyond it) is left as it
is, and nothing staff changed by hand is undone.
"""

import hashlib
import io
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from functools import cache

import pikepdf
from sqlalchemy import func
from sqlmodel import Session, col, select

from app.forms.candidates import VettingCheckForm
from app.forms.consent import StaffConsentForm
from app.forms.finalists import FinalistProfileForm
from app.forms.nomination import NominationForm
from app.i18n import TIMEZONE
from app.models import (
    Account,
    Campaign,
    Candidate,
    CheckKind,
    CheckResult,
    ConflictDeclaration,
    Criterion,
    Finalist,
    JudgeAssignment,
    Meeting,
    MeetingFinalist,
    MeetingStatus,
    Nomination,
    NominationStatus,
    ResultsRevision,
    RevisionStatus,
    Role,
    ScoreSheet,
    Theme,
    VettingCheck,
    VettingStatus,
    Winner,
)
from app.services.campaigns.campaigns import theme_view
from app.services.candidates import finalists as finalist_service
from app.services.candidates import grouping, vetting
from app.services.demo.campaign import DEMO_ACCOUNTS, DemoResult, seed_demo
from app.services.demo.people import (
    CONFLICTS,
    EXTRA_JUDGES,
    HOW_KNOWN,
    NOMINATORS,
    PEOPLE,
    RELATIONSHIPS,
    SEPARATE_VARIANTS,
    STORIES,
    Fate,
    Person,
)
from app.services.demo.voting import open_demo_votes
from app.services.files import CleanFile, FileStore, clean_upload
from app.services.judging import aggregation, conflicts, meetings, panel, progress, scoring
from app.services.nominations import intake, screening
from app.services.results import consent, revisions, winners
from app.services.results.shared import fingerprint

DEMO_DOMAIN = "demo.integrity-icon.invalid"
STAFF_EMAIL = f"staff@{DEMO_DOMAIN}"
# Nominators' addresses: a real domain reserved for examples (the form refuses `.invalid`).
NOMINATOR_DOMAIN = "demo.example.org"


@cache
def evidence_pdf(index: int) -> bytes:
    """A one-page PDF that says it is fictional demo evidence; valid, so that it passes the
    same checks as a nominator's file (a different line per nomination, so files differ)."""
    pdf = pikepdf.new()
    font = pdf.make_indirect(
        pikepdf.Dictionary(
            Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1, BaseFont=pikepdf.Name.Helvetica
        )
    )
    text = f"BT /F1 14 Tf 72 720 Td (Integrity Icon demo: fictional evidence no. {index}) Tj ET"
    page = pikepdf.Page(
        pikepdf.Dictionary(
            Type=pikepdf.Name.Page,
            MediaBox=[0, 0, 612, 792],
            Resources=pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=font)),
            Contents=pdf.make_stream(text.encode()),
        )
    )
    pdf.pages.append(page)
    buffer = io.BytesIO()
    pdf.save(buffer, deterministic_id=True)
    return buffer.getvalue()


# Finalists each meeting 1 sends on to meeting 2, per theme.
SHORTLIST = 3


class Stage(StrEnum):
    call = "call"
    screening = "screening"
    vetting = "vetting"
    judging = "judging"
    voting = "voting"
    published = "published"


STAGES = tuple(Stage)

# The call's last day, in days from today, for each stage (the rest of the calendar follows
# it as in campaign.py: screening three weeks, vetting three more, finalists a week later,
# deliberation two weeks after, results two more).
CLOSES_IN = {
    Stage.call: 40,
    Stage.screening: -10,
    Stage.vetting: -30,
    Stage.judging: -60,
    Stage.voting: -60,
    Stage.published: -80,
}
CALL_DAYS = 60

# How far each judge is in meeting 2 while it is open: all, all but one in draft, one draft,
# all but one not started, or none (judge1 signs in to a meeting with everything to score).
MEETING_2_PROGRESS = {
    "judge1": "none",
    "judge2": "all_but_one_draft",
    "judge3": "all",
    "judge4": "one_draft",
    "judge5": "all_but_one",
}


@dataclass(frozen=True)
class EditionResult:
    demo: DemoResult
    asked: Stage
    # The stage the edition had reached before (None: it had no nominations).
    before: Stage | None
    built: bool


def _local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=TIMEZONE).astimezone(UTC)


def _ids(rows: Sequence[object]) -> list[int]:
    return [int(row.id) for row in rows if row.id is not None]  # type: ignore[attr-defined]


# -- where the edition stands ----------------------------------------------------------------


def reached_stage(session: Session, campaign: Campaign) -> Stage | None:
    """The furthest stage the edition's rows show, whoever made them."""
    assert campaign.id is not None
    in_campaign = col(Theme.campaign_id) == campaign.id
    if session.exec(
        select(ResultsRevision.id).where(
            ResultsRevision.campaign_id == campaign.id,
            ResultsRevision.status == RevisionStatus.published,
        )
    ).first():
        return Stage.published
    if campaign.finalists_announced_at is not None:
        return Stage.voting
    if session.exec(select(Meeting.id).where(Meeting.campaign_id == campaign.id)).first():
        return Stage.judging
    if session.exec(
        select(VettingCheck.id)
        .join(Candidate, col(Candidate.id) == VettingCheck.candidate_id)
        .where(Candidate.campaign_id == campaign.id)
    ).first():
        return Stage.vetting
    nominations = select(Nomination.id).join(Theme, col(Theme.id) == Nomination.theme_id)
    if session.exec(
        nominations.where(in_campaign, Nomination.status != NominationStatus.received)
    ).first():
        return Stage.screening
    if session.exec(nominations.where(in_campaign)).first():
        return Stage.call
    return None


@dataclass(frozen=True)
class Calendar:
    opens: date
    closes: date
    today: date
    now: datetime

    @property
    def screening_until(self) -> date:
        return self.closes + timedelta(days=21)

    @property
    def vetting_until(self) -> date:
        return self.closes + timedelta(days=42)

    @property
    def finalists_on(self) -> date:
        return self.closes + timedelta(days=49)

    @property
    def deliberation_on(self) -> date:
        return self.closes + timedelta(days=63)

    @property
    def results_on(self) -> date:
        return self.closes + timedelta(days=77)

    def at(self, day: date, hour: int, minute: int = 0) -> datetime:
        """That moment, or just before now if it is still to come."""
        return min(_local(day, hour, minute), self.now - timedelta(minutes=5))


def _calendar(stage: Stage, now: datetime) -> Calendar:
    today = now.astimezone(TIMEZONE).date()
    closes = today + timedelta(days=CLOSES_IN[stage])
    return Calendar(opens=closes - timedelta(days=CALL_DAYS), closes=closes, today=today, now=now)


def _set_calendar(session: Session, campaign: Campaign, calendar: Calendar) -> None:
    """The campaign's dates and its themes' windows, so that today falls in the stage. No
    staff page edits a campaign's dates yet: this is the one change made directly."""
    campaign.nominations_open_on = calendar.opens
    campaign.nominations_close_on = calendar.closes
    campaign.screening_until = calendar.screening_until
    campaign.vetting_until = calendar.vetting_until
    campaign.finalists_on = calendar.finalists_on
    campaign.deliberation_on = calendar.deliberation_on
    campaign.results_on = calendar.results_on
    session.add(campaign)
    for theme in _themes(session, campaign).values():
        theme.opens_at = _local(calendar.opens, 0)
        theme.closes_at = _local(calendar.closes, 23, 59)
        session.add(theme)
    session.flush()


def _themes(session: Session, campaign: Campaign) -> dict[str, Theme]:
    return {
        theme.slug: theme
        for theme in session.exec(select(Theme).where(Theme.campaign_id == campaign.id)).all()
    }


def _account(session: Session, email: str) -> Account:
    return session.exec(select(Account).where(Account.email == email)).one()


# -- the building ----------------------------------------------------------------------------


def build_edition(
    session: Session,
    *,
    stage: Stage,
    now: datetime,
    store: FileStore,
    base_url: str,
    say: Callable[[str], None] = lambda _text: None,
) -> EditionResult:
    """The current demo edition up to `stage` (see the module's docstring); `say` hears of
    each step as it starts."""
    demo = seed_demo(session, now=now)
    campaign = demo.campaign
    before = reached_stage(session, campaign)
    if before is not None and STAGES.index(before) >= STAGES.index(stage):
        return EditionResult(demo=demo, asked=stage, before=before, built=False)
    calendar = _calendar(stage, now)
    _set_calendar(session, campaign, calendar)
    builder = _Builder(session, campaign, calendar, store=store, base_url=base_url)
    steps: list[tuple[Stage, str, Callable[[], None]]] = [
        (Stage.call, "nominations through the public form's service", builder.nominate),
        (
            Stage.screening,
            "screening decisions",
            lambda: builder.screen(all_of_them=stage is not Stage.screening),
        ),
        (Stage.screening, "grouping into candidates", builder.group),
        (Stage.vetting, "merging a duplicate candidate", builder.merge_duplicates),
        (
            Stage.vetting,
            "vetting checks",
            lambda: builder.vet(finished=stage is not Stage.vetting),
        ),
        (Stage.judging, "finalists and their profiles", builder.choose_finalists),
        (Stage.judging, "the panel and its conflict declarations", builder.seat_the_panel),
        (Stage.judging, "meeting 1: scores, closing, shortlist", builder.first_meeting),
        (
            Stage.judging,
            "meeting 2: open, scores so far",
            lambda: builder.second_meeting(finished=stage is Stage.published),
        ),
        (Stage.voting, "announcing the finalists", builder.announce_finalists),
        (
            Stage.voting,
            "the public vote on every theme",
            lambda: _open_the_public_vote(session, stage=stage, now=now),
        ),
        (Stage.published, "confirming the winners", builder.confirm_winners),
        (Stage.published, "publishing the results", builder.publish_results),
    ]
    for step_stage, text, run in steps:
        if STAGES.index(step_stage) > STAGES.index(stage):
            break
        say(f"{step_stage}: {text}")
        run()
    return EditionResult(demo=demo, asked=stage, before=before, built=True)


def _open_the_public_vote(session: Session, *, stage: Stage, now: datetime) -> None:
    """The public vote of the announced finalists, opened through its own service on every
    theme (app/services/demo/voting.py), so that `--stage voting` shows the vote running. A
    published edition is shown without one: its vote would have closed before the results."""
    if stage is Stage.voting:
        open_demo_votes(session, now=now)


class _Builder:
    """The steps of build_edition, each doing only what is not done yet."""

    def __init__(
        self,
        session: Session,
        campaign: Campaign,
        calendar: Calendar,
        *,
        store: FileStore,
        base_url: str,
    ) -> None:
        assert campaign.id is not None
        self.session = session
        self.campaign = campaign
        self.campaign_id = campaign.id
        self.calendar = calendar
        self.store = store
        self.base_url = base_url
        self.themes = _themes(session, campaign)
        self.staff = _account(session, STAFF_EMAIL)
        self.year = campaign.year
        # Each finalist's strength as the judges see it, by finalist id (choose_finalists).
        self._strength: dict[int, float] = {}

    # -- nominations, from the public form's service ----------------------------------------

    def _plan(self) -> list[tuple[Person, str]]:
        """Every nomination: (whom, the name written), in the order they arrive."""
        plan = []
        for person in PEOPLE:
            plan.append((person, person.name))
            plan += [(person, variant) for variant in person.variants]
            plan += [(person, person.name)] * person.more
        # Nominations arrive mixed over the weeks, not person by person.
        random.Random(self.year).shuffle(plan)  # noqa: S311 - demo data, no secret
        return plan

    def _key(self, index: int) -> str:
        return f"demo-{self.year}-{index:03d}"

    def _form(self, index: int, person: Person, name: str) -> NominationForm:
        rng = random.Random(f"{self.year}-{index}")  # noqa: S311 - demo data, no secret
        first, surname = NOMINATORS[index % len(NOMINATORS)]
        achievement, impact, obstacles = rng.choice(STORIES[person.theme])
        references = rng.sample(NOMINATORS, 2)
        return NominationForm.model_validate(
            {
                "nominee_name": name,
                "nominee_position": person.position,
                "nominee_institution": person.institution,
                "government_level": person.level.value,
                "state": person.state,
                "years_of_service": str(person.years),
                "nominee_age": str(person.age) if person.theme == "youth" else "",
                "nominee_contact": "",
                "nominee_gender": "woman" if person.woman else "man",
                "achievement": achievement,
                "impact": impact,
                "obstacles": obstacles,
                "how_known": rng.choice(HOW_KNOWN),
                "reference1_name": f"{references[0][0]} {references[0][1]} (ficticia)",
                "reference1_contact": f"referencia-{index}-1@{NOMINATOR_DOMAIN}",
                "reference2_name": f"{references[1][0]} {references[1][1]} (ficticia)",
                "reference2_contact": f"+52 55 5555 {index:04d}",
                "nominator_name": f"{first} {surname} (demo)",
                "nominator_email": f"nominadora-{index}@{NOMINATOR_DOMAIN}",
                "nominator_phone": "",
                "nominator_relationship": RELATIONSHIPS[index % len(RELATIONSHIPS)].value,
                "may_contact": "yes" if index % 3 else "",
                "reveal_identity": "yes" if index % 4 == 0 else "",
                "privacy_consent": "yes",
                "sensitive_consent": "yes" if index % 9 == 0 else "",
            }
        )

    def _evidence(self, index: int) -> list[CleanFile]:
        if index % 9:
            return []
        return [
            clean_upload(
                evidence_pdf(index),
                f"evidencia-{index}.pdf",
                max_bytes=10 * 1024 * 1024,
                max_pixels=40_000_000,
            )
        ]

    def nominate(self) -> None:
        plan = self._plan()
        start = _local(self.calendar.opens, 9)
        end = min(_local(self.calendar.closes, 20), self.calendar.now - timedelta(hours=1))
        step = (end - start) / len(plan)
        for index, (person, name) in enumerate(plan):
            key = self._key(index)
            if intake.find_by_submission_key(self.session, key):
                continue
            submitted = start + step * index
            theme = self.themes[person.theme]
            intake.submit_nomination(
                self.session,
                theme=theme_view(theme, now=submitted),
                form=self._form(index, person, name),
                files=self._evidence(index),
                store=self.store,
                submission_key=key,
                locale="es",
                now=submitted,
                base_url=self.base_url,
            )

    def _nominations(self) -> list[tuple[Nomination, Person, str]]:
        """The plan's nominations as stored, with whom each names."""
        plan = self._plan()
        keys = {self._key(index): index for index in range(len(plan))}
        rows = self.session.exec(
            select(Nomination).where(col(Nomination.submission_key).in_(list(keys)))
        ).all()
        found = []
        for nomination in sorted(rows, key=lambda n: keys[n.submission_key]):
            person, name = plan[keys[nomination.submission_key]]
            found.append((nomination, person, name))
        return found

    # -- screening ---------------------------------------------------------------------------

    def screen(self, *, all_of_them: bool) -> None:
        """Staff's decisions; the late ones wait for the vetting stage. Only nominations still
        received are decided: a decision taken by hand stands."""
        firsts: set[str] = set()
        for nomination, person, _name in self._nominations():
            first = person.name not in firsts
            firsts.add(person.name)
            if nomination.status is not NominationStatus.received:
                continue
            if person.late and first and not all_of_them:
                continue
            status = {
                Fate.ineligible: NominationStatus.ineligible,
                Fate.withdrawn: NominationStatus.withdrawn,
            }.get(person.fate, NominationStatus.eligible)
            assert nomination.id is not None
            screening.decide(
                self.session,
                nomination_id=nomination.id,
                actor=self.staff,
                status=status,
                reason=person.reason,
            )

    def group(self) -> None:
        """Eligible nominations grouped into one candidate per person, except the variants an
        earlier screener put apart: two candidates of one person, to merge."""
        apart = {variant for variant, _when in SEPARATE_VARIANTS}
        candidates: dict[str, int] = {}
        for nomination, person, name in self._nominations():
            if nomination.status is not NominationStatus.eligible:
                continue
            who = name if name in apart else person.name
            if nomination.candidate_id is not None:
                candidates.setdefault(who, nomination.candidate_id)
                continue
            assert nomination.id is not None
            if who in candidates:
                grouping.add_nomination(
                    self.session,
                    actor=self.staff,
                    candidate_id=candidates[who],
                    nomination_id=nomination.id,
                )
            else:
                candidate = grouping.create_candidate(
                    self.session, actor=self.staff, nomination_id=nomination.id
                )
                assert candidate.id is not None
                candidates[who] = candidate.id

    def _candidate_of(self, name: str) -> Candidate | None:
        """The candidate a person's nominations (written `name`) are grouped in."""
        nomination = next(
            (
                n
                for n, person, written in self._nominations()
                if written == name and n.candidate_id is not None
            ),
            None,
        )
        if nomination is None or nomination.candidate_id is None:
            return None
        return self.session.get(Candidate, nomination.candidate_id)

    def merge_duplicates(self) -> None:
        for variant, when in SEPARATE_VARIANTS:
            if when != "vetting":
                continue
            person = next(p for p in PEOPLE if variant in p.variants)
            target, source = self._candidate_of(person.name), self._candidate_of(variant)
            if target is None or source is None or target.id == source.id:
                continue
            assert target.id is not None and source.id is not None
            grouping.merge_candidates(
                self.session, actor=self.staff, target_id=target.id, source_id=source.id
            )

    # -- vetting -----------------------------------------------------------------------------

    def _check(self, candidate: Candidate, kind: CheckKind, result: CheckResult, note: str) -> None:
        assert candidate.id is not None
        done = self.session.exec(
            select(VettingCheck.id).where(
                VettingCheck.candidate_id == candidate.id, VettingCheck.kind == kind
            )
        ).first()
        if done is not None:
            return
        day = min(
            self.calendar.screening_until + timedelta(days=len(note) % 9),
            self.calendar.today,
        )
        vetting.add_check(
            self.session,
            actor=self.staff,
            candidate_id=candidate.id,
            form=VettingCheckForm(kind=kind, result=result, checked_on=day, note=note),
        )

    def vet(self, *, finished: bool) -> None:
        """Checks on the shortlist: every finalist-to-be cleared (in the vetting stage, the
        first three of each theme; the others halfway), two flagged, two halfway."""
        notes = {
            CheckKind.references: "Dos referencias confirmaron la historia (llamadas ficticias).",
            CheckKind.press: "Sin notas de prensa negativas en los últimos cinco años.",
            CheckKind.public_records: "Declaraciones patrimoniales y de intereses al día.",
            CheckKind.sanctions: "Sin coincidencias en los registros de servidores sancionados.",
        }
        per_theme: dict[str, int] = {}
        for person in PEOPLE:
            if person.fate not in (Fate.finalist, Fate.flagged, Fate.vetting):
                continue
            candidate = self._candidate_of(person.name)
            if candidate is None:
                continue
            rank = per_theme.get(person.theme, 0)
            per_theme[person.theme] = rank + 1
            complete = person.fate is Fate.finalist and (finished or rank < 3)
            kinds = vetting.STANDARD_CHECKS if complete else vetting.STANDARD_CHECKS[:2]
            for kind in kinds:
                self._check(candidate, kind, CheckResult.clear, notes[kind])
            assert candidate.id is not None
            if person.fate is Fate.flagged:
                concern = person.theme == "youth"
                self._check(
                    candidate,
                    CheckKind.other,
                    CheckResult.concern if concern else CheckResult.disqualifying,
                    "Una nota de prensa local menciona una investigación abierta (ficticia)."
                    if concern
                    else "Aparece en un registro de particulares sancionados (coincidencia"
                    " ficticia, confirmada con su CURP).",
                )
                if candidate.vetting_status is VettingStatus.pending:
                    vetting.set_status(
                        self.session,
                        actor=self.staff,
                        candidate_id=candidate.id,
                        status=VettingStatus.flagged,
                        note="Una verificación encontró un problema: revisarlo antes de decidir.",
                    )
            elif complete and candidate.vetting_status is VettingStatus.pending:
                vetting.set_status(
                    self.session,
                    actor=self.staff,
                    candidate_id=candidate.id,
                    status=VettingStatus.cleared,
                    note="Las cuatro verificaciones salieron limpias.",
                )

    # -- finalists and the panel ------------------------------------------------------------

    def _finalists(self) -> dict[str, Finalist]:
        """The finalists by the name of the person they are."""
        found = {}
        for person in PEOPLE:
            if person.fate is not Fate.finalist:
                continue
            candidate = self._candidate_of(person.name)
            if candidate is None:
                continue
            finalist = self.session.exec(
                select(Finalist).where(Finalist.candidate_id == candidate.id)
            ).first()
            if finalist is not None and finalist.id is not None:
                found[person.name] = finalist
                self._strength[finalist.id] = person.strength
        return found

    def choose_finalists(self) -> None:
        chosen = self._finalists()
        for person in PEOPLE:
            if person.fate is not Fate.finalist or person.name in chosen:
                continue
            candidate = self._candidate_of(person.name)
            if candidate is None or candidate.vetting_status is not VettingStatus.cleared:
                continue
            assert candidate.id is not None
            finalist = finalist_service.choose_finalist(
                self.session, actor=self.staff, candidate_id=candidate.id
            )
            assert finalist.id is not None
            finalist_service.update_profile(
                self.session,
                actor=self.staff,
                finalist_id=finalist.id,
                form=FinalistProfileForm(
                    public_name=person.name,
                    public_position=person.position,
                    public_institution=person.institution,
                    citation_es=person.citation_es,
                    citation_en=person.citation_en,
                ),
                photo=None,
                store=self.store,
            )
            # Each finalist consented in a signed letter, recorded by staff (issue 15).
            consent.record_by_staff(
                self.session,
                actor=self.staff,
                finalist_id=finalist.id,
                form=StaffConsentForm(
                    channel="letter",
                    decision="consent",
                    name_and_position=True,
                    photo=True,
                    story=True,
                ),
                evidence=None,
                store=self.store,
                now=self.calendar.at(self.calendar.finalists_on, 9),
            )

    def _judges(self) -> dict[str, Account]:
        """The panel by e-mail's local part (judge1 … judge5)."""
        emails = [email for email, _name, role in DEMO_ACCOUNTS if role is Role.judge]
        emails += [f"{local}@{DEMO_DOMAIN}" for _name, local, _themes, _locale in EXTRA_JUDGES]
        accounts = self.session.exec(select(Account).where(col(Account.email).in_(emails))).all()
        return {account.email.split("@")[0]: account for account in accounts}

    def seat_the_panel(self) -> None:
        theme_ids = {slug: theme.id for slug, theme in self.themes.items()}
        judges = self._judges()
        for email, _name, role in DEMO_ACCOUNTS:
            if role is Role.judge:
                assert judges[email.split("@")[0]].id is not None
                panel.set_judge_themes(
                    self.session,
                    campaign=self.campaign,
                    judge_id=judges[email.split("@")[0]].id or 0,
                    theme_ids=[i for i in theme_ids.values() if i is not None],
                    actor=self.staff,
                )
        for name, local, themes, locale in EXTRA_JUDGES:
            if local in judges:
                continue
            panel.invite_judge(
                self.session,
                campaign=self.campaign,
                name=name,
                email=f"{local}@{DEMO_DOMAIN}",
                theme_ids=[theme_ids[slug] or 0 for slug in themes],
                locale=locale,
                actor=self.staff,
                base_url=self.base_url,
                now=self.calendar.at(self.calendar.vetting_until, 10),
            )
        self._declare_conflicts()

    def _declare_conflicts(self) -> None:
        """Each judge answers for every finalist of their themes: no conflict, but two."""
        finalists = self._finalists()
        conflicted = {(local, name) for local, name in CONFLICTS}
        declared = {
            (row.judge_id, row.finalist_id)
            for row in self.session.exec(select(ConflictDeclaration)).all()
        }
        moment = self.calendar.at(self.calendar.vetting_until + timedelta(days=1), 11)
        for local, judge in sorted(self._judges().items()):
            themes = self._themes_of(judge)
            for name, finalist in finalists.items():
                if finalist.theme_id not in themes or (judge.id, finalist.id) in declared:
                    continue
                conflict = (local, name) in conflicted
                assert finalist.id is not None
                conflicts.declare(
                    self.session,
                    judge=judge,
                    campaign_id=self.campaign_id,
                    finalist_id=finalist.id,
                    has_conflict=conflict,
                    description="Trabajamos juntos en un proyecto hace dos años (ficticio)."
                    if conflict
                    else "",
                    now=moment,
                )

    def _themes_of(self, judge: Account) -> set[int]:
        return set(
            self.session.exec(
                select(JudgeAssignment.theme_id).where(JudgeAssignment.account_id == judge.id)
            ).all()
        )

    # -- deliberation ------------------------------------------------------------------------

    def _meeting(self, number: int) -> Meeting | None:
        return self.session.exec(
            select(Meeting).where(Meeting.campaign_id == self.campaign_id, Meeting.number == number)
        ).first()

    def _criteria(self) -> list[Criterion]:
        return list(
            self.session.exec(
                select(Criterion)
                .where(Criterion.campaign_id == self.campaign_id)
                .order_by(col(Criterion.position))
            ).all()
        )

    def _values(self, judge: Account, finalist: Finalist, meeting: int) -> dict[int, int]:
        """A judge's scores of a finalist: the finalist's strength, give or take a point."""
        strength = self._strength.get(finalist.id or 0, 3.5)
        values = {}
        for criterion in self._criteria():
            seed = f"{judge.email}|{finalist.public_name}|{criterion.position}|{meeting}"
            noise = int(hashlib.sha256(seed.encode()).hexdigest(), 16) % 5
            shift = (-1, 0, 0, 0, 1)[noise]
            assert criterion.id is not None
            values[criterion.id] = max(
                criterion.scale_min, min(criterion.scale_max, round(strength + shift * 0.6))
            )
        return values

    def _score(
        self, meeting: Meeting, judge: Account, finalist: Finalist, *, submit: bool, at: datetime
    ) -> None:
        sheet = self.session.exec(
            select(ScoreSheet).where(
                ScoreSheet.meeting_id == meeting.id,
                ScoreSheet.judge_id == judge.id,
                ScoreSheet.finalist_id == finalist.id,
            )
        ).first()
        if sheet is not None and (sheet.submitted_at is not None or not submit):
            return
        scoring.save_sheet(
            self.session,
            meeting=meeting,
            judge=judge,
            finalist=finalist,
            values=self._values(judge, finalist, meeting.number),
            comment="" if submit else "Me falta releer su expediente.",
            version=sheet.version if sheet else 0,
            submit=submit,
            now=at,
        )

    def _pairs(self, meeting: Meeting) -> list[tuple[str, Account, list[Finalist]]]:
        """Each judge of the panel with the meeting's finalists they score (not recused)."""
        assert meeting.id is not None
        scope = set(
            self.session.exec(
                select(MeetingFinalist.finalist_id).where(MeetingFinalist.meeting_id == meeting.id)
            ).all()
        )
        recused = {
            (row.judge_id, row.finalist_id)
            for row in self.session.exec(
                select(ConflictDeclaration).where(col(ConflictDeclaration.has_conflict).is_(True))
            ).all()
        }
        finalists = sorted(self._finalists().values(), key=lambda f: f.public_name)
        pairs = []
        for local, judge in sorted(self._judges().items()):
            themes = self._themes_of(judge)
            mine = [
                f
                for f in finalists
                if f.id in scope and f.theme_id in themes and (judge.id, f.id) not in recused
            ]
            pairs.append((local, judge, mine))
        return pairs

    def _hold(
        self,
        number: int,
        held_on: date,
        *,
        source: Meeting | None,
    ) -> Meeting:
        meeting = self._meeting(number)
        if meeting is None:
            meeting = meetings.create_meeting(
                self.session,
                campaign=self.campaign,
                number=number,
                held_on=held_on,
                theme_ids=[t.id for t in self.themes.values() if t.id is not None],
                source_meeting_id=source.id if source else None,
                actor=self.staff,
            )
        assert meeting.id is not None
        if meeting.status is MeetingStatus.draft:
            meetings.open_meeting(
                self.session,
                meeting_id=meeting.id,
                actor=self.staff,
                now=self.calendar.at(held_on - timedelta(days=6 if number == 1 else 10), 9),
                base_url=self.base_url,
            )
        return meeting

    def _close(self, meeting: Meeting, *, advance: int, propose: int) -> None:
        """Closes the meeting and records its decision from the panel's ranking: the first
        `advance` of each theme go on to the next meeting, the first `propose` are proposed."""
        assert meeting.id is not None
        if meeting.status is MeetingStatus.open:
            meetings.close_meeting(
                self.session,
                meeting_id=meeting.id,
                actor=self.staff,
                now=self.calendar.at(meeting.held_on, 18),
                base_url=self.base_url,
            )
        decided = self.session.exec(
            select(func.count()).where(
                MeetingFinalist.meeting_id == meeting.id,
                col(MeetingFinalist.advanced) | col(MeetingFinalist.proposed_winner),
            )
        ).one()
        if decided:
            return
        results = aggregation.meeting_results(self.session, meeting_id=meeting.id)
        advanced: list[int] = []
        proposed: list[int] = []
        for theme in results.themes:
            ranked = sorted(
                (r for r in theme.rows if r.rank is not None),
                key=lambda r: (r.rank, r.finalist.public_name),
            )
            advanced += _ids([r.finalist for r in ranked[:advance]])
            proposed += _ids([r.finalist for r in ranked[:propose]])
        aggregation.record_decision(
            self.session,
            meeting_id=meeting.id,
            actor=self.staff,
            advanced=advanced,
            proposed_winners=proposed,
            minutes=(
                "El jurado deliberó con el tablero de resultados a la vista; se registran las"
                " personas que pasan a la siguiente sesión (acta ficticia de demostración)."
                if advance
                else "El jurado propone a la persona mejor evaluada de cada tema como ganadora"
                " (acta ficticia de demostración)."
            ),
        )

    def first_meeting(self) -> None:
        """Meeting 1, every finalist: scored by every judge, closed, its shortlist decided."""
        held_on = self.calendar.deliberation_on - timedelta(days=14)
        meeting = self._hold(1, held_on, source=None)
        for day, (_local_part, judge, finalists) in enumerate(self._pairs(meeting)):
            for finalist in finalists:
                at = self.calendar.at(held_on - timedelta(days=5 - day % 5), 10 + day)
                self._score(meeting, judge, finalist, submit=True, at=at)
        self._close(meeting, advance=SHORTLIST, propose=0)

    def second_meeting(self, *, finished: bool) -> None:
        """Meeting 2, meeting 1's shortlist: open with a deadline and the judges part of the
        way (MEETING_2_PROGRESS), or, finished, every sheet in, closed and decided."""
        first = self._meeting(1)
        assert first is not None
        held_on = self.calendar.deliberation_on
        meeting = self._hold(2, held_on, source=first)
        assert meeting.id is not None
        if meeting.closes_at is None and meeting.status is MeetingStatus.open:
            progress.set_deadline(
                self.session,
                meeting_id=meeting.id,
                closes_at=_local(held_on, 18),
                reminder_hours=24,
                actor=self.staff,
            )
        opened = meeting.opened_at or self.calendar.now
        for day, (local, judge, finalists) in enumerate(self._pairs(meeting)):
            how = "all" if finished else MEETING_2_PROGRESS.get(local, "none")
            at = min(opened + timedelta(days=1 + day % 5, hours=2), self.calendar.now)
            for index, finalist in enumerate(finalists):
                last = index == len(finalists) - 1
                if how == "all" or (how == "all_but_one" and not last):
                    self._score(meeting, judge, finalist, submit=True, at=at)
                elif (how == "all_but_one_draft" and last) or (how == "one_draft" and index == 0):
                    self._score(meeting, judge, finalist, submit=False, at=at)
                elif how == "all_but_one_draft":
                    self._score(meeting, judge, finalist, submit=True, at=at)
        if finished:
            if meeting.status is MeetingStatus.open and meeting.held_on > self.calendar.today:
                # Built earlier for the judging stage: the meeting is held today instead.
                meetings.change_date(
                    self.session,
                    meeting_id=meeting.id,
                    held_on=self.calendar.today,
                    actor=self.staff,
                )
            self._close(meeting, advance=0, propose=self.campaign.winners_per_theme)

    # -- announcement and results ------------------------------------------------------------

    def announce_finalists(self) -> None:
        if self.campaign.finalists_announced_at is not None:
            return
        content = winners.finalists_content(self.session, campaign=self.campaign)
        winners.announce_finalists(
            self.session,
            campaign=self.campaign,
            actor=self.staff,
            previewed=fingerprint(content),
            now=self.calendar.at(self.calendar.finalists_on, 10),
            base_url=self.base_url,
        )

    def _after_the_meetings(self, planned: datetime) -> datetime:
        """`planned`, or just after the last meeting closed if that was later (an edition built
        for the judging stage, finished today), never after now."""
        closed = self.session.exec(
            select(func.max(Meeting.closed_at)).where(Meeting.campaign_id == self.campaign_id)
        ).one()
        if closed is not None and closed >= planned:
            planned = closed + timedelta(minutes=1)
        return min(planned, self.calendar.now)

    def confirm_winners(self) -> None:
        board = winners.winner_board(self.session, campaign=self.campaign)
        confirmed = {
            row.theme_id
            for row in self.session.exec(
                select(Winner).where(Winner.campaign_id == self.campaign_id)
            ).all()
        }
        for ranking in board.themes:
            theme_id = ranking.theme.id
            if theme_id is None or theme_id in confirmed or not ranking.suggested_ids:
                continue
            winners.confirm_winners(
                self.session,
                campaign=self.campaign,
                theme_id=theme_id,
                finalist_ids=sorted(ranking.suggested_ids),
                rationale="",
                actor=self.staff,
                now=self._after_the_meetings(
                    self.calendar.at(self.calendar.results_on - timedelta(days=7), 12)
                ),
            )

    def publish_results(self) -> None:
        overview = revisions.publishing_overview(self.session, campaign=self.campaign)
        if overview.latest is not None:
            return
        draft = overview.draft or revisions.prepare_revision(
            self.session,
            campaign=self.campaign,
            actor=self.staff,
            reason="",
            now=self._after_the_meetings(self.calendar.at(self.calendar.results_on, 9)),
        )
        view = revisions.staff_revision(self.session, campaign=self.campaign, number=draft.number)
        revisions.publish_revision(
            self.session,
            campaign=self.campaign,
            number=draft.number,
            previewed=view.fingerprint,
            actor=self.staff,
            now=self._after_the_meetings(self.calendar.at(self.calendar.results_on, 12)),
            base_url=self.base_url,
        )
