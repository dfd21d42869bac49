"""`seed-demo --stage`: the current edition built up to each stage through the services, on a
fresh database (the suite runs on SQLite and on PostgreSQL), again without change, and one
stage after another."""

import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func
from sqlmodel import Session, SQLModel, col, select

from app.config import Settings
from app.db import session_scope
from app.models import (
    Account,
    AuditEvent,
    Campaign,
    Candidate,
    ConflictDeclaration,
    EvidenceFile,
    Finalist,
    Meeting,
    MeetingStatus,
    Nomination,
    NominationStatus,
    OutboxMessage,
    ResultsRevision,
    RevisionStatus,
    ScoreSheet,
    Theme,
    VettingCheck,
    VettingStatus,
    Winner,
    utcnow,
)
from app.services.campaigns.campaigns import get_current_campaign
from app.services.demo.edition import STAGES, Stage, build_edition, reached_stage
from app.services.files import FileStore
from app.services.judging.progress import meeting_progress
from tests.factories import sign_in

COUNTED: tuple[type[SQLModel], ...] = (
    Account,
    AuditEvent,
    Candidate,
    ConflictDeclaration,
    EvidenceFile,
    Finalist,
    Meeting,
    Nomination,
    OutboxMessage,
    ResultsRevision,
    ScoreSheet,
    VettingCheck,
    Winner,
)


ROOT = Path(__file__).resolve().parent.parent


def run_cli(settings: Settings, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    # From the data directory, the repository on the path: no developer's `.env` is read.
    environment = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DATA_DIR": str(settings.data_dir),
        "SECRET_KEY": settings.secret_key or "",
        "ENVIRONMENT": "test",
        **{name.upper(): value for name, value in env.items()},
    }
    environment.pop("DATABASE_URL", None)
    if settings.database_url:
        environment["DATABASE_URL"] = settings.database_url
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        capture_output=True,
        text=True,
        cwd=settings.data_dir,
        env=environment,
        timeout=300,
        check=False,
    )


def build(session: Session, settings: Settings, stage: Stage) -> bool:
    """As the command line does: in a session that writes from its start (SQLite's write
    lock), committed once at the end."""
    with session_scope(session.get_bind(), write=True) as writer:  # type: ignore[arg-type]
        result = build_edition(
            writer,
            stage=stage,
            now=utcnow(),
            store=FileStore(settings.files_dir),
            base_url="http://testserver",
        )
        writer.commit()
    session.rollback()  # a fresh snapshot, with what the writer committed
    return result.built


def counts(session: Session) -> dict[str, int]:
    session.rollback()
    return {
        model.__name__: int(session.exec(select(func.count()).select_from(model)).one())
        for model in COUNTED
    }


def current(session: Session) -> Campaign:
    campaign = get_current_campaign(session)
    assert campaign is not None and campaign.id is not None
    return campaign


def nominations_by_status(session: Session) -> dict[NominationStatus, int]:
    campaign = current(session)
    rows = session.exec(
        select(Nomination.status, func.count())
        .join(Theme, col(Theme.id) == Nomination.theme_id)
        .where(Theme.campaign_id == campaign.id)
        .group_by(col(Nomination.status))
    ).all()
    return {NominationStatus(status): int(count) for status, count in rows}


def candidate_names(session: Session) -> list[str]:
    return list(
        session.exec(
            select(Candidate.name).where(Candidate.campaign_id == current(session).id)
        ).all()
    )


def meetings_of(session: Session) -> dict[int, Meeting]:
    rows = session.exec(select(Meeting).where(Meeting.campaign_id == current(session).id)).all()
    return {meeting.number: meeting for meeting in rows}


def judge(session: Session, name: str) -> Account:
    return session.exec(
        select(Account).where(Account.email == f"{name}@demo.integrity-icon.invalid")
    ).one()


# What each stage must show; each check runs for its stage and every later one (`since`), or
# for exactly its stage (`only`).


def check_call(session: Session, stage: Stage) -> None:
    statuses = nominations_by_status(session)
    assert sum(statuses.values()) >= 60
    themes = session.exec(
        select(Theme.slug, func.count())
        .join(Nomination, col(Nomination.theme_id) == Theme.id)
        .where(Theme.campaign_id == current(session).id)
        .group_by(col(Theme.slug))
    ).all()
    assert dict(themes).keys() == {"youth", "sustainability"}
    states = session.exec(select(func.count(func.distinct(Nomination.state)))).one()
    assert states >= 20
    if stage is Stage.call:
        assert statuses == {NominationStatus.received: sum(statuses.values())}
        assert candidate_names(session) == []
        theme = session.exec(select(Theme).where(Theme.campaign_id == current(session).id)).first()
        assert theme is not None and theme.opens_at < utcnow() < theme.closes_at


def check_screening(session: Session, stage: Stage) -> None:
    statuses = nominations_by_status(session)
    assert statuses[NominationStatus.eligible] >= 40
    assert statuses[NominationStatus.ineligible] >= 5
    assert statuses[NominationStatus.withdrawn] >= 1
    reasons = session.exec(
        select(Nomination.status_reason).where(Nomination.status == NominationStatus.ineligible)
    ).all()
    assert all(reasons)
    names = candidate_names(session)
    assert len(names) >= 30
    # Duplicates to merge: one person as two candidates, as an earlier screener grouped them.
    assert {"Iván Torres Lozano (ficticio)", "José Iván Torres Lozano (ficticio)"} <= set(names)
    if stage is Stage.screening:
        assert 5 <= statuses.get(NominationStatus.received, 0) <= 15
        assert {"Gerardo Núñez Salas (ficticio)", "Gerardo Nunez Salas (ficticio)"} <= set(names)
        theme = session.exec(select(Theme).where(Theme.campaign_id == current(session).id)).first()
        assert theme is not None and theme.closes_at < utcnow()
    else:
        assert NominationStatus.received not in statuses
        assert "Gerardo Nunez Salas (ficticio)" not in names  # merged in the vetting stage


def check_vetting(session: Session, stage: Stage) -> None:
    rows = session.exec(
        select(Candidate.vetting_status, func.count())
        .where(Candidate.campaign_id == current(session).id)
        .group_by(col(Candidate.vetting_status))
    ).all()
    statuses = {VettingStatus(status): int(count) for status, count in rows}
    assert statuses[VettingStatus.flagged] == 2
    checks = session.exec(select(func.count()).select_from(VettingCheck)).one()
    assert checks >= 30
    expected_cleared = 6 if stage is Stage.vetting else 10
    assert statuses[VettingStatus.cleared] == expected_cleared


def check_judging(session: Session, stage: Stage) -> None:
    finalists = session.exec(
        select(Theme.slug, func.count())
        .join(Finalist, col(Finalist.theme_id) == Theme.id)
        .where(Theme.campaign_id == current(session).id)
        .group_by(col(Theme.slug))
    ).all()
    assert dict(finalists) == {"youth": 5, "sustainability": 5}
    first, second = meetings_of(session)[1], meetings_of(session)[2]
    assert first.status is MeetingStatus.closed
    sheets = meeting_progress(session, meeting=first)
    assert sheets.submitted == sheets.expected > 30
    judges = {line.judge.email.split("@")[0] for line in sheets.judges}
    assert {"judge1", "judge2"} <= judges
    assert any(line.recused for line in sheets.judges)
    if stage in (Stage.judging, Stage.voting):
        assert second.status is MeetingStatus.open
        assert second.closes_at is not None and second.closes_at > utcnow()
        progress = {
            line.judge.email.split("@")[0]: line
            for line in meeting_progress(session, meeting=second).judges
        }
        assert progress["judge1"].submitted == progress["judge1"].draft == 0
        assert progress["judge1"].missing == 6
        assert progress["judge3"].left == 0
        assert any(line.draft for line in progress.values())
    if stage is Stage.judging:
        assert current(session).finalists_announced_at is None


def check_voting(session: Session, stage: Stage) -> None:
    assert current(session).finalists_announced_at is not None


def check_published(session: Session, stage: Stage) -> None:
    second = meetings_of(session)[2]
    assert second.status is MeetingStatus.closed
    sheets = meeting_progress(session, meeting=second)
    assert sheets.submitted == sheets.expected
    winners = session.exec(
        select(func.count()).select_from(Winner).where(Winner.campaign_id == current(session).id)
    ).one()
    assert winners == 2
    published = session.exec(
        select(ResultsRevision).where(
            ResultsRevision.campaign_id == current(session).id,
            ResultsRevision.status == RevisionStatus.published,
        )
    ).all()
    assert len(published) == 1


CHECKS: dict[Stage, Callable[[Session, Stage], None]] = {
    Stage.call: check_call,
    Stage.screening: check_screening,
    Stage.vetting: check_vetting,
    Stage.judging: check_judging,
    Stage.voting: check_voting,
    Stage.published: check_published,
}


def check_up_to(session: Session, stage: Stage) -> None:
    session.rollback()
    assert reached_stage(session, current(session)) is stage
    for earlier in STAGES[: STAGES.index(stage) + 1]:
        CHECKS[earlier](session, stage)


@pytest.mark.parametrize("stage", STAGES)
def test_each_stage_builds_on_a_fresh_database_then_again_without_change(
    session: Session, settings: Settings, stage: Stage
) -> None:
    assert build(session, settings, stage)
    check_up_to(session, stage)
    before = counts(session)

    assert not build(session, settings, stage)
    for earlier in STAGES[: STAGES.index(stage)]:
        assert not build(session, settings, earlier)

    assert counts(session) == before
    check_up_to(session, stage)


def test_stages_build_one_after_another(session: Session, settings: Settings) -> None:
    for stage in STAGES:
        assert build(session, settings, stage)
        check_up_to(session, stage)


def test_judging_stage_a_demo_judge_finds_a_meeting_to_score_and_staff_every_stage(
    client: TestClient, session: Session, settings: Settings
) -> None:
    build(session, settings, Stage.judging)
    second = meetings_of(session)[2]

    sign_in(client, session, judge(session, "judge1"))
    agenda = client.get(f"/judges/meetings/{second.id}?lang=en")
    assert agenda.status_code == 200
    assert "Open for scoring" in agenda.text
    assert "Scored 0 of 6" in agenda.text
    assert "Scoring closes on" in agenda.text
    finalist = re.search(rf"/judges/meetings/{second.id}/finalists/(\d+)", agenda.text)
    assert finalist
    sheet = client.get(f"/judges/meetings/{second.id}/finalists/{finalist.group(1)}")
    assert sheet.status_code == 200
    assert 'name="csrf_token"' in sheet.text

    client.cookies.clear()
    sign_in(
        client,
        session,
        session.exec(
            select(Account).where(Account.email == "staff@demo.integrity-icon.invalid")
        ).one(),
    )
    dashboard = client.get("/staff?lang=en").text
    for label in ("Call for nominations", "Screening", "Vetting", "Finalists", "Deliberation"):
        assert label in dashboard
    assert dashboard.count('class="stage-done"') == 3
    assert dashboard.count('class="stage-in_progress"') == 2
    meeting_page = client.get(f"/staff/meetings/{second.id}").text
    assert "Julia Jueza (demo)" in meeting_page
    assert "Remind the judges with sheets left (4)" in meeting_page


def test_published_stage_shows_winners_on_the_public_results(
    client: TestClient, session: Session, settings: Settings
) -> None:
    build(session, settings, Stage.published)
    winners = session.exec(
        select(Finalist.public_name)
        .join(Winner, col(Winner.finalist_id) == Finalist.id)
        .where(Winner.campaign_id == current(session).id)
    ).all()

    page = client.get("/results?lang=en")

    assert page.status_code == 200
    for name in winners:
        assert name in page.text


def test_seed_demo_stage_from_the_command_line_prints_links_of_base_url(
    settings: Settings, session: Session
) -> None:
    done = run_cli(settings, "seed-demo", "--stage", "screening", base_url="http://demo.test:8123")

    assert done.returncode == 0, done.stderr
    assert "built up to the screening stage" in done.stdout
    assert "http://demo.test:8123/staff/nominations" in done.stdout
    assert "judge1@demo.integrity-icon.invalid" in done.stdout
    assert "screening decisions" in done.stderr  # progress on stderr
    again = run_cli(settings, "seed-demo", "--stage", "call")
    assert "already at the screening stage; nothing changed" in again.stdout


def test_seed_demo_from_the_command_line_signs_its_checkpoints(
    settings: Settings, session: Session
) -> None:
    # Announcing the finalists makes a signed checkpoint: the command signs it with the key
    # the server uses, so the record verifies afterwards.
    done = run_cli(settings, "seed-demo", "--stage", "voting")

    assert done.returncode == 0, done.stderr
    assert "built up to the voting stage" in done.stdout
    verified = run_cli(settings, "verify-log")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert verified.stdout.startswith("OK:")
    assert "0 checkpoint(s)" not in verified.stdout
