"""The retention period: the server itself deletes the nominations that never became candidates
once their edition's results are older than NOMINATION_RETENTION_DAYS, audited (issue 20)."""

import json
import time
from datetime import date, timedelta

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, func, select

from app.config import Settings
from app.main import create_app
from app.models import (
    AuditEvent,
    EvidenceFile,
    Nomination,
    NominationNote,
    Role,
    utcnow,
)
from app.services import leases
from app.services.files import FileStore, clean_upload
from app.services.privacy.retention import LEASE, purge_expired
from tests.factories import (
    make_account,
    make_campaign,
    make_candidate,
    make_open_campaign,
    make_pdf,
    make_theme,
)
from tests.test_staff_nominations import add_nomination

DAYS = 365


class Editions:
    """An edition whose results are 400 days old (past a 365-day period) and the current one."""

    def __init__(self, session: Session, store: FileStore) -> None:
        today = date.today()
        old = make_campaign(
            session,
            year=today.year - 2,
            results_on=today - timedelta(days=DAYS + 35),
            nominations_open_on=today - timedelta(days=DAYS + 200),
        )
        self.old_theme = make_theme(session, old, slug="youth")
        _, self.current_theme, _ = make_open_campaign(session)
        self.candidate = make_candidate(session, self.old_theme)
        self.forgotten = add_nomination(session, self.old_theme, nominator_name="Olvidada")
        self.screened_out = add_nomination(session, self.old_theme, nominator_name="Descartada")
        self.grouped = add_nomination(
            session, self.old_theme, candidate_id=self.candidate.id, nominator_name="Agrupada"
        )
        self.current = add_nomination(session, self.current_theme, nominator_name="Actual")
        staff = make_account(session, Role.staff)
        session.add(
            NominationNote(nomination_id=self.forgotten.id, author_id=staff.id, body="Sin datos.")
        )
        self.purged_ids = sorted([self.forgotten.id or 0, self.screened_out.id or 0])
        self.own_file = self.attach(session, store, self.forgotten, "solo de la olvidada")
        self.shared_file = self.attach(session, store, self.screened_out, "compartido")
        self.attach(session, store, self.current, "compartido")
        session.commit()

    @staticmethod
    def attach(session: Session, store: FileStore, nomination: Nomination, label: str) -> str:
        clean = clean_upload(make_pdf(label), "oficio.pdf", max_bytes=10**7, max_pixels=10**7)
        store.put(clean)
        assert nomination.id is not None
        session.add(
            EvidenceFile(
                nomination_id=nomination.id,
                position=0,
                sha256=clean.sha256,
                content_type=clean.content_type,
                size=clean.size,
                original_name="oficio.pdf",
            )
        )
        return clean.sha256


def nominator_names(session: Session) -> list[str]:
    session.commit()
    session.expire_all()
    return sorted(n.nominator_name for n in session.exec(select(Nomination)).all())


def purge_events(session: Session) -> list[AuditEvent]:
    session.commit()
    return list(session.exec(select(AuditEvent).where(AuditEvent.action == "retention.purged")))


def test_purge_deletes_old_nominations_that_never_became_candidates(
    engine: Engine, session: Session, settings: Settings
) -> None:
    store = FileStore(settings.files_dir)
    editions = Editions(session, store)

    done = purge_expired(engine, store, days=DAYS)

    assert done.nominations == 2 and done.evidence_files == 2
    assert nominator_names(session) == ["Actual", "Agrupada"]
    assert session.exec(select(func.count()).select_from(NominationNote)).one() == 0
    assert sorted(f.sha256 for f in session.exec(select(EvidenceFile))) == [editions.shared_file]
    assert not store.path_for(editions.own_file).exists()
    assert store.path_for(editions.shared_file).exists()
    [event] = purge_events(session)
    assert event.actor_id is None
    after = json.loads(event.after)
    assert after["nominations"] == editions.purged_ids
    assert after["evidence_files_deleted"] == 2 and after["retention_days"] == DAYS
    assert "Olvidada" not in event.after and "rosa@example.org" not in event.after


def test_purge_within_the_period_or_switched_off_deletes_nothing(
    engine: Engine, session: Session, settings: Settings
) -> None:
    store = FileStore(settings.files_dir)
    Editions(session, store)

    longer = purge_expired(engine, store, days=DAYS + 60)
    off = purge_expired(engine, store, days=0)

    assert longer.nominations == 0 and off.nominations == 0
    assert nominator_names(session) == ["Actual", "Agrupada", "Descartada", "Olvidada"]
    assert purge_events(session) == []


def test_purge_waits_while_another_process_holds_the_lease(
    engine: Engine, session: Session, settings: Settings
) -> None:
    store = FileStore(settings.files_dir)
    Editions(session, store)
    now = utcnow()
    leases.acquire(session, name=LEASE, holder="other", until=now + timedelta(minutes=5), now=now)
    session.commit()

    done = purge_expired(engine, store, days=DAYS)

    assert done.busy and done.nominations == 0
    assert len(nominator_names(session)) == 4


def test_purge_in_batches_audits_each_batch(
    engine: Engine, session: Session, settings: Settings
) -> None:
    store = FileStore(settings.files_dir)
    editions = Editions(session, store)
    for number in range(3):
        add_nomination(session, editions.old_theme, nominator_name=f"Más {number}")
    session.commit()

    done = purge_expired(engine, store, days=DAYS, batch=2)

    assert done.nominations == 5
    assert len(purge_events(session)) == 3
    assert nominator_names(session) == ["Actual", "Agrupada"]


def test_server_purges_by_itself_at_start(session: Session, settings: Settings) -> None:
    store = FileStore(settings.files_dir)
    Editions(session, store)
    # The same database and files, served by an app whose setting turns the purge on.
    app: FastAPI = create_app(settings.model_copy(update={"nomination_retention_days": DAYS}))
    try:
        with TestClient(app):
            deadline = time.monotonic() + 30
            while len(nominator_names(session)) > 2 and time.monotonic() < deadline:
                time.sleep(0.1)
    finally:
        app.state.engine.dispose()

    assert nominator_names(session) == ["Actual", "Agrupada"]
    assert len(purge_events(session)) == 1


def test_privacy_notice_states_the_retention_period_and_what_judges_see(
    settings: Settings,
) -> None:
    app = create_app(settings.model_copy(update={"nomination_retention_days": 400}))
    try:
        with TestClient(app) as client:
            english = client.get("/privacy?lang=en").text
            spanish = client.get("/privacy?lang=es").text
    finally:
        app.state.engine.dispose()

    assert "deleted, with their evidence files and notes, 400 days after the results" in english
    assert "nobody's contact details" in english
    assert "Nominees and references have these rights too" in english
    assert "400 días después de la fecha de resultados" in spanish
