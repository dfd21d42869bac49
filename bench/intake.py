"""Batch intake (issue 15): importing a CSV of nominations through the portal's service, next to
a bare baseline that reads the same file with `csv.reader` and inserts its rows into a table of
the same columns with one `executemany`, on SQLite.

    .venv/bin/python -m bench.intake              # 200 and 20,000 rows
    .venv/bin/python -m bench.intake --quick      # 200 and 2,000 rows
    .venv/bin/python -m bench.intake --rows 200,5000

Each cell runs in a fresh process pinned to one core, so that its peak memory (ru_maxrss) is its
own. The portal cell is the whole way `python -m app nominations import` goes: the file hashed,
every row checked with the web form's validation, then read again and stored in one transaction
(with a receipt queued for each row that has an e-mail address: a third of them here); it then
imports the same file again, which must store nothing, and checks the count. No target: the
figures show what a large batch costs, and that memory does not grow with the file.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _pin_to_one_core() -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def write_csv(path: Path, rows: int, *, received_on: str) -> None:
    from app.services.nominations.batch import COLUMNS

    states = ("VER", "OAX", "CMX", "JAL", "CHP", "GRO", "NLE", "YUC")
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for number in range(rows):
            values = {
                "theme": "youth" if number % 2 else "sustainability",
                "received_on": received_on,
                "collected_by": f"Brigada {number % 40}",
                "consent_method": "signed_paper" if number % 3 else "read_aloud",
                "privacy_consent": "yes",
                "nominee_name": f"Persona Nominada {number:06d}",
                "nominee_position": "Directora de Agua Potable",
                "nominee_institution": f"Ayuntamiento {number % 500}",
                "government_level": "municipal",
                "state": states[number % len(states)],
                "years_of_service": str(number % 30),
                "nominee_age": str(20 + number % 15),
                "nominee_contact": "",
                "nominee_gender": "woman" if number % 2 else "man",
                "achievement": "Denunció un desvío de fondos y lo documentó. " * 8,
                "impact": "La auditoría recuperó recursos y cambió las reglas de compra. " * 5,
                "obstacles": "Recibió presiones de sus superiores. " * 4,
                "how_known": "Trabajamos en la misma dirección.",
                "reference1_name": "Carlos Méndez",
                "reference1_contact": "+52 228 555 0101",
                "reference2_name": "Lucía Pérez",
                "reference2_contact": "lucia@example.org",
                "nominator_name": f"Nominadora {number}",
                "nominator_email": f"n{number}@example.org" if number % 3 == 0 else "",
                "nominator_phone": "",
                "nominator_relationship": "citizen_served",
                "may_contact": "sí" if number % 2 else "no",
                "reveal_identity": "no",
            }
            writer.writerow([values[name] for name in COLUMNS])


def _settings_env(data_dir: Path) -> None:
    os.environ.update({"DATA_DIR": str(data_dir), "ENVIRONMENT": "test", "SECRET_KEY": "x" * 40})
    os.environ.pop("DATABASE_URL", None)


def cell_portal(rows: int) -> dict[str, object]:
    data_dir = Path(tempfile.mkdtemp(prefix="bench_intake_"))
    _settings_env(data_dir)
    from sqlalchemy import func
    from sqlmodel import Session, select

    from app.config import Settings
    from app.db import make_engine
    from app.i18n import Translator
    from app.migrate import upgrade
    from app.models import Campaign, Channel, Nomination, Theme, utcnow
    from app.services.nominations.batch import import_batch

    settings = Settings(_env_file=None)
    engine = make_engine(settings)
    upgrade(engine)
    now = utcnow()
    today = now.date()
    path = data_dir / "batch.csv"
    write_csv(path, rows, received_on=today.isoformat())
    with Session(engine, expire_on_commit=False) as session:
        campaign = Campaign(
            year=today.year,
            title_es="Bench",
            title_en="Bench",
            nominations_open_on=today,
            nominations_close_on=today,
            screening_until=today,
            vetting_until=today,
            finalists_on=today,
            deliberation_on=today,
            results_on=today,
        )
        session.add(campaign)
        session.flush()
        assert campaign.id is not None
        for position, slug in enumerate(("youth", "sustainability")):
            session.add(
                Theme(
                    campaign_id=campaign.id,
                    slug=slug,
                    position=position,
                    name_es=slug,
                    name_en=slug,
                    max_age=35 if slug == "youth" else None,
                    opens_at=now - timedelta(days=1),
                    closes_at=now + timedelta(days=1),
                )
            )
        session.commit()

        def run() -> tuple[float, int]:
            start = time.perf_counter()
            with path.open("rb") as handle:
                report = import_batch(
                    session,
                    file=handle,
                    file_name=path.name,
                    channel=Channel.event,
                    campaign=campaign,
                    actor=None,
                    t=Translator("es"),
                    now=now,
                    base_url="http://127.0.0.1:8000",
                    default_locale="es",
                )
            assert report.ok, report.errors[:5]
            session.commit()
            return time.perf_counter() - start, report.imported

        seconds, imported = run()
        again, imported_again = run()
        stored = int(session.exec(select(func.count()).select_from(Nomination)).one())
    engine.dispose()
    if imported != rows or imported_again != 0 or stored != rows:
        raise SystemExit(f"expected {rows} rows once, got {imported}, {imported_again}, {stored}")
    return {
        "cell": f"portal, {rows:,} rows",
        "rows": rows,
        "bytes": path.stat().st_size,
        "seconds": seconds,
        "again_seconds": again,
        "rows_per_second": rows / seconds,
        "peak_mb": _peak_mb(),
    }


def cell_baseline(rows: int) -> dict[str, object]:
    """The least the same work needs: read the CSV, insert its cells as they are."""
    from app.services.nominations.batch import COLUMNS

    data_dir = Path(tempfile.mkdtemp(prefix="bench_intake_base_"))
    path = data_dir / "batch.csv"
    write_csv(path, rows, received_on="2026-01-01")
    connection = sqlite3.connect(data_dir / "bare.sqlite3")
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=FULL")
    columns = ", ".join(f'"{name}" TEXT' for name in COLUMNS)
    connection.execute(f"CREATE TABLE nomination (id INTEGER PRIMARY KEY, {columns})")
    marks = ", ".join("?" for _ in COLUMNS)
    names = ", ".join(f'"{name}"' for name in COLUMNS)
    start = time.perf_counter()
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        next(reader)
        with connection:
            connection.executemany(f"INSERT INTO nomination ({names}) VALUES ({marks})", reader)  # noqa: S608 - our own column names
    seconds = time.perf_counter() - start
    stored = connection.execute("SELECT count(*) FROM nomination").fetchone()[0]
    connection.close()
    if stored != rows:
        raise SystemExit(f"baseline stored {stored} of {rows}")
    return {
        "cell": f"baseline, {rows:,} rows",
        "rows": rows,
        "bytes": path.stat().st_size,
        "seconds": seconds,
        "rows_per_second": rows / seconds,
        "peak_mb": _peak_mb(),
    }


def _run_cell(kind: str, rows: int) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-m", "bench.intake", "--cell", kind, str(rows)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.intake", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="200 and 2,000 rows")
    parser.add_argument("--rows", default="200,20000", help="row counts, comma-separated")
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument("--cell", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.cell:
        _pin_to_one_core()
        kind, rows = args.cell
        result = cell_portal(int(rows)) if kind == "portal" else cell_baseline(int(rows))
        print(json.dumps(result))
        return 0

    counts = [200, 2_000] if args.quick else [int(n) for n in args.rows.split(",")]
    print("Batch intake on SQLite, one core per cell.", flush=True)
    results = []
    for rows in counts:
        baseline = _run_cell("baseline", rows)
        portal = _run_cell("portal", rows)
        results += [baseline, portal]
        share = float(portal["rows_per_second"]) / float(baseline["rows_per_second"])  # type: ignore[arg-type]
        for result in (baseline, portal):
            extra = ""
            if result is portal:
                extra = (
                    f"  {share:.1%} of the baseline; the same file again:"
                    f" {float(portal['again_seconds']):.2f} s, nothing stored"  # type: ignore[arg-type]
                )
            print(
                f"{result['cell']:<28} {float(result['seconds']):>8.2f} s"  # type: ignore[arg-type]
                f" {float(result['rows_per_second']):>10,.0f} rows/s"  # type: ignore[arg-type]
                f" {float(result['peak_mb']):>7.0f} MB peak{extra}",  # type: ignore[arg-type]
                flush=True,
            )
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
