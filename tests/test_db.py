"""app/db.py's connections: what they leave behind in the pool."""

from sqlalchemy import Connection, Engine, text

from app.db import single_read
from tests.conftest import ON_POSTGRES


def _autocommit(connection: Connection) -> bool:
    driver = connection.connection.driver_connection
    # psycopg says so; sqlite3 is in autocommit when its own transaction handling is off
    # (the engine issues BEGIN itself, app.db), so ask whether a transaction is open.
    return bool(driver.autocommit) if ON_POSTGRES else not driver.in_transaction


def test_single_read_reads_and_leaves_the_pool_as_it_found_it(engine: Engine) -> None:
    with single_read(engine) as connection:
        assert connection.execute(text("SELECT count(*) FROM nomination")).scalar_one() == 0
        in_autocommit = _autocommit(connection)

    # PostgreSQL: one statement in autocommit, with no BEGIN and ROLLBACK around it; SQLite
    # reads in a transaction, as every SQLite connection of the portal does.
    assert in_autocommit is ON_POSTGRES
    # The next user of the pool gets transactions as before: a write rolled back is gone.
    with engine.connect() as connection:
        connection.execute(
            text("INSERT INTO rate_limit_hit (bucket, created_at) VALUES ('b', '2026-01-01')")
        )
        assert not _autocommit(connection)
        connection.rollback()
        assert connection.execute(text("SELECT count(*) FROM rate_limit_hit")).scalar_one() == 0
