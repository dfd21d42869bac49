"""A receipt shown means the nomination survives the server process being killed."""

import hashlib
import os
import re
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
from sqlalchemy import Engine
from sqlmodel import Session, select

from app.config import Settings
from app.models import EvidenceFile, Nomination
from app.services.files import FileStore, clean_upload
from tests.factories import make_open_campaign, make_pdf, nomination_data
from tests.server import PortalProcess

PDF = make_pdf()


def test_nomination_acknowledged_survives_sigkill(
    settings: Settings, engine: Engine, session: Session
) -> None:
    make_open_campaign(session)
    server = PortalProcess(settings).start()
    try:
        with httpx.Client(base_url=server.url) as browser:
            form = browser.get("/nominate/youth")
            token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
            assert token
            response = browser.post(
                "/nominate/youth",
                data={**nomination_data(sensitive_consent="yes"), "csrf_token": token.group(1)},
                files=[("evidence", ("prueba.pdf", PDF, "application/pdf"))],
            )
            assert response.status_code == 303
            receipt = browser.get(response.headers["location"])
            assert receipt.status_code == 200
    finally:
        server.kill()

    reference = response.headers["location"].rsplit("/", 1)[1]
    engine.dispose()
    with Session(engine) as fresh:
        stored = fresh.exec(select(Nomination).where(Nomination.reference == reference)).one()
        evidence = fresh.exec(
            select(EvidenceFile).where(EvidenceFile.nomination_id == stored.id)
        ).one()
    path = FileStore(settings.files_dir).path_for(evidence.sha256)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == evidence.sha256


def test_nomination_same_form_sent_concurrently_stores_one(
    settings: Settings, engine: Engine, session: Session
) -> None:
    make_open_campaign(session)
    server = PortalProcess(settings, workers=2).start()
    try:
        with httpx.Client(base_url=server.url) as browser:
            form = browser.get("/nominate/youth")
            token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
            assert token
            data = {**nomination_data(), "csrf_token": token.group(1)}
            with ThreadPoolExecutor(max_workers=8) as pool:
                responses = list(
                    pool.map(lambda _: browser.post("/nominate/youth", data=data), range(8))
                )
    finally:
        server.stop()

    assert {r.status_code for r in responses} == {303}
    assert len({r.headers["location"] for r in responses}) == 1
    session.expire_all()
    assert len(session.exec(select(Nomination)).all()) == 1


def test_serve_removes_orphan_files_left_by_a_crash(settings: Settings, engine: Engine) -> None:
    store = FileStore(settings.files_dir)
    orphan = clean_upload(PDF, "huérfano.pdf", max_bytes=10**6, max_pixels=10**6)
    store.put(orphan)
    old = time.time() - 3600
    os.utime(store.path_for(orphan.sha256), (old, old))

    PortalProcess(settings).start().stop()

    assert not store.path_for(orphan.sha256).exists()
