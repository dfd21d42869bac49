"""`python -m app sanctions ...` as an operator runs it: import prints what changed, screen
prints what it did, matches writes the CSV with its fixed header; a bad file stores nothing."""

import csv
import io
from collections.abc import Iterator

import pytest
from sqlmodel import Session, func, select

from app.config import Settings
from app.db import make_engine
from app.models import SanctionEntry, SanctionListVersion
from tests.factories import make_open_campaign
from tests.test_cli import run_cli
from tests.test_sanctions_import import FIXTURES
from tests.test_staff_candidates import make_nomination


@pytest.fixture
def db(settings: Settings, app: object) -> Iterator[Session]:
    engine = make_engine(settings)
    with Session(engine, expire_on_commit=False) as session:
        yield session
    engine.dispose()


def test_cli_import_screen_and_matches(settings: Settings, db: Session) -> None:
    _, youth, _ = make_open_campaign(db)
    make_nomination(db, youth, nominee_name="Rogelio Esteban Zambrano Villaseñor")
    make_nomination(db, youth, nominee_name="Rogelio Esteban Zambrano Ruiz")

    first = run_cli(
        settings,
        "sanctions",
        "import",
        "ofac-sdn",
        str(FIXTURES / "SDN.CSV"),
        "--aliases",
        str(FIXTURES / "ALT.CSV"),
    )
    again = run_cli(settings, "sanctions", "import", "ofac-sdn", str(FIXTURES / "SDN.CSV"))
    screen = run_cli(settings, "sanctions", "screen")
    matches = run_cli(settings, "sanctions", "matches", "--status", "all")

    assert first.returncode == 0, first.stderr
    assert "6 added, 0 changed, 0 removed" in first.stdout
    assert "Screened 2 names: 1 possible matches open." in first.stdout
    # Without ALT.CSV, the three entries that had aliases changed.
    assert "0 added, 3 changed, 0 removed" in again.stdout
    assert screen.returncode == 0
    assert "Screened 2 names of" in screen.stdout and "1 possible matches open" in screen.stdout
    rows = list(csv.reader(io.StringIO(matches.stdout)))
    assert rows[0] == [
        "nomination_reference",
        "candidate_id",
        "nominee_name",
        "source",
        "entry_id",
        "entry_name",
        "score",
        "status",
    ]
    assert len(rows) == 2
    reference, candidate_id, name, source, entry_id, entry_name, score, status = rows[1]
    assert (candidate_id, name, source, entry_id) == (
        "",
        "Rogelio Esteban Zambrano Villaseñor",
        "OFAC SDN",
        "1001",
    )
    assert len(reference) > 10
    assert (entry_name, score, status) == ("ZAMBRANO VILLASENOR, Rogelio Esteban", "100", "open")
    dismissed = run_cli(settings, "sanctions", "matches", "--status", "dismissed")
    assert dismissed.stdout.count("\n") == 1


def test_cli_import_of_a_bad_file_exits_1_and_stores_nothing(
    settings: Settings, db: Session
) -> None:
    bad = FIXTURES / "state_list.csv"
    result = run_cli(settings, "sanctions", "import", "pdn-s3", str(bad))
    missing = run_cli(settings, "sanctions", "import", "csv", "no-such-file.csv")

    assert result.returncode == 1
    assert "error: The file is not JSON" in result.stderr
    assert missing.returncode == 1
    db.rollback()
    assert db.exec(select(func.count()).select_from(SanctionEntry)).one() == 0
    assert db.exec(select(func.count()).select_from(SanctionListVersion)).one() == 0


def test_cli_screen_of_an_edition_that_does_not_exist(settings: Settings, db: Session) -> None:
    result = run_cli(settings, "sanctions", "screen", "--year", "1990")

    assert result.returncode == 1
    assert "There is no edition of 1990." in result.stderr
