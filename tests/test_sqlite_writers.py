"""SQLite writers of one process queue on a lock of their own (app/db.py): one at a time, each
released when its connection goes back to the pool, whatever ended its transaction."""

import threading
import time
from datetime import timedelta

import pytest
from fastapi import FastAPI, Request
from sqlalchemy import Engine, text, update
from sqlmodel import Session

from app.db import HOLDS_WRITE_LOCK, WRITE
from app.models import Role, UserSession, utcnow
from app.services.accounts.sessions import start_session
from app.web.deps import SESSION_COOKIE, get_current_account, get_session
from tests.conftest import ON_POSTGRES
from tests.factories import make_account

pytestmark = pytest.mark.skipif(ON_POSTGRES, reason="SQLite's single writer")


def _write(engine: Engine, value: str) -> None:
    with Session(engine.execution_options(**WRITE)) as session:
        session.execute(
            text("INSERT INTO rate_limit_hit (bucket, created_at) VALUES (:b, '2026-01-01')"),
            {"b": value},
        )
        session.commit()


def test_a_second_writer_waits_for_the_first_and_then_writes(engine: Engine) -> None:
    order: list[str] = []
    first_in = threading.Event()

    def first() -> None:
        with Session(engine.execution_options(**WRITE)) as session:
            session.execute(text("SELECT 1"))
            first_in.set()
            time.sleep(0.2)
            order.append("first")
            session.commit()

    def second() -> None:
        first_in.wait()
        _write(engine, "second")
        order.append("second")

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(5)
    assert order == ["first", "second"]


@pytest.mark.parametrize("ending", ["commit", "rollback", "error", "close"])
def test_the_lock_is_released_however_the_transaction_ends(engine: Engine, ending: str) -> None:
    session = Session(engine.execution_options(**WRITE))
    try:
        connection = session.connection()
        assert connection.info.get(HOLDS_WRITE_LOCK)
        if ending == "commit":
            session.commit()
        elif ending == "rollback":
            session.rollback()
        elif ending == "error":
            with pytest.raises(Exception, match="no such table"):
                session.execute(text("INSERT INTO no_such_table VALUES (1)"))
            session.rollback()
    finally:
        session.close()
    # Another thread gets the lock at once (a leaked lock would block it for the busy timeout).
    done = threading.Event()
    threading.Thread(target=lambda: (_write(engine, ending), done.set())).start()
    assert done.wait(2)


def test_readers_do_not_wait_for_a_writer(engine: Engine) -> None:
    with Session(engine.execution_options(**WRITE)) as writer:
        writer.execute(text("SELECT 1"))
        read = threading.Event()

        def reader() -> None:
            with Session(engine) as session:
                session.execute(text("SELECT count(*) FROM nomination")).one()
            read.set()

        threading.Thread(target=reader).start()
        assert read.wait(2)
        writer.rollback()


@pytest.mark.parametrize("needs_touch", [False, True])
def test_a_signed_in_post_finds_its_account_without_keeping_the_write_lock(
    app: FastAPI, engine: Engine, session: Session, needs_touch: bool
) -> None:
    account = make_account(session, Role.staff)
    token = start_session(session, account=account, now=utcnow())
    if needs_touch:
        session.execute(update(UserSession).values(last_seen_at=utcnow() - timedelta(minutes=10)))
    session.commit()
    request = Request(
        {
            "type": "http",
            "method": "POST",
            "path": "/staff/anything",
            "headers": [(b"cookie", f"{SESSION_COOKIE}={token}".encode())],
            "app": app,
        }
    )
    # The session a POST handler gets (app.web.deps.get_session): its transactions hold the lock.
    dependency = get_session(request)
    request_session = next(dependency)
    try:
        assert get_current_account(request, request_session) is not None
        # What FastAPI does next is hop back to the event loop and wait for a thread for the
        # handler: the lock must be free meanwhile, or writers filling every thread deadlock.
        done = threading.Event()
        threading.Thread(target=lambda: (_write(engine, "other"), done.set())).start()
        assert done.wait(2)
        # The handler's own first query takes the lock again.
        assert request_session.connection().info.get(HOLDS_WRITE_LOCK)
    finally:
        dependency.close()
