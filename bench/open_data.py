"""Generating an open-data release (issue 16) for an edition of 100,000 nominations, next to a
bare baseline measured in the same run: the least the same work needs (the two GROUP BY
queries over the nominations, written out as CSV, with no suppression, other files, checksums
or storage).

    .venv/bin/python -m bench.open_data                      # SQLite in a temporary directory
    .venv/bin/python -m bench.open_data --database-url postgresql://postgres@127.0.0.1/db

The database is filled as bench.run fills it: `seed-demo`, then bench/seed_large.py (100,000
nominations in the current campaign with a small published result, and a large edition two
years back). The PostgreSQL database named must exist and be empty; it is left filled. The
portal's figure is `data release` as the command and the server's refresh run it: build every
dataset, suppress, write CSV and JSON, hash, compare with the latest release, store. It is
timed three times: the first release, an unchanged second (nothing stored), and a release
after one more nomination. Target: under 5 s.
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import text
from sqlmodel import Session

from app.config import Settings
from app.db import make_engine
from app.migrate import upgrade
from app.services.demo.campaign import seed_demo
from app.services.results.data_releases import make_release
from app.services.results.shared import current_campaign
from bench.seed_large import seed

TARGET_SECONDS = 5.0
BASELINE_QUERIES = (
    "SELECT theme_id, state, government_level, nominee_gender, count(*) FROM nomination"
    " WHERE status != 'withdrawn' GROUP BY theme_id, state, government_level, nominee_gender",
    "SELECT theme_id, date(submitted_at), count(*) FROM nomination"
    " WHERE status != 'withdrawn' GROUP BY theme_id, date(submitted_at)",
)


def baseline(engine: object) -> float:
    began = time.monotonic()
    with engine.connect() as connection:  # type: ignore[attr-defined]
        for query in BASELINE_QUERIES:
            out = io.StringIO()
            writer = csv.writer(out)
            for row in connection.execute(text(query)):
                writer.writerow(row)
    return time.monotonic() - began


def portal(engine: object, *, min_count: int) -> tuple[float, bool]:
    began = time.monotonic()
    with Session(engine) as session:  # type: ignore[call-overload]
        campaign = current_campaign(session)
        outcome = make_release(
            session,
            campaign=campaign,
            min_count=min_count,
            made_by="command",
            now=datetime.now(UTC),
        )
        session.commit()
    return time.monotonic() - began, outcome.release is not None


def add_one_nomination(engine: object) -> None:
    with engine.begin() as connection:  # type: ignore[attr-defined]
        connection.execute(
            text(
                "INSERT INTO nomination (reference, submission_key, theme_id, status,"
                " status_reason, search_text, locale, nominee_name, nominee_position,"
                " nominee_institution, government_level, state, years_of_service,"
                " nominee_contact, achievement, impact, obstacles, how_known, reference1_name,"
                " reference1_contact, reference2_name, reference2_contact, nominator_name,"
                " nominator_email, nominator_phone, nominator_relationship, may_contact,"
                " reveal_identity, privacy_consent_at, submitted_at)"
                " SELECT 'BENCH-OPEN-DATA', 'bench-open-data', theme_id, 'received', '', '',"
                " 'es', 'x', 'x', 'x', 'federal', 'YUC', 1, '', 'x', 'x', 'x', 'x', 'x', 'x',"
                " 'x', 'x', 'x', 'x@example.org', '', 'other', false, false,"
                " privacy_consent_at, submitted_at FROM nomination ORDER BY id LIMIT 1"
            )
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.open_data", description=__doc__)
    parser.add_argument("--database-url", help="an empty PostgreSQL database (default: SQLite)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-open-data-") as tmp:
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            data_dir=Path(tmp),
            database_url=args.database_url,
            secret_key="bench-" + "x" * 40,
            environment="test",
        )
        engine = make_engine(settings)
        upgrade(engine)
        print("seeding 100,000 nominations…", file=sys.stderr, flush=True)
        with Session(engine) as session:
            seed_demo(session, now=datetime.now(UTC))
            session.commit()
        seed(engine, now=datetime.now(UTC), files_dir=settings.files_dir)
        rows = []
        base = baseline(engine)
        first, made = portal(engine, min_count=settings.open_data_min_count)
        rows.append(("first release", first, made))
        again, made_again = portal(engine, min_count=settings.open_data_min_count)
        rows.append(("unchanged (nothing stored)", again, made_again))
        add_one_nomination(engine)
        changed, made_changed = portal(engine, min_count=settings.open_data_min_count)
        rows.append(("after one more nomination", changed, made_changed))
        engine.dispose()
    print(f"{'open data, ' + engine.dialect.name:<32} {'seconds':>8} {'× baseline':>11}  target")
    print(f"{'baseline (2 GROUP BY + CSV)':<32} {base:>8.2f} {1.0:>11.1f}")
    for name, seconds, _made in rows:
        verdict = "PASS" if seconds < TARGET_SECONDS else "MISS"
        ratio = seconds / base
        print(f"{name:<32} {seconds:>8.2f} {ratio:>11.1f}  {verdict} (< {TARGET_SECONDS:.0f} s)")
    # A release is made when the data changed, and only then.
    return 0 if made and not made_again and made_changed else 1


if __name__ == "__main__":
    sys.exit(main())
