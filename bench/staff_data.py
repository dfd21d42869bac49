"""The staff's work on 100,000 nominations, measured where it runs (in the portal's process, not
over HTTP): the queue's full-text search and the big exports (issue 19's targets).

    .venv/bin/python -m bench.staff_data [--db sqlite,postgres] [--rounds N] [--strict]

For each database it makes a throw-away one, migrates and seeds it as bench.run does (seed-demo,
then bench/seed_large.py: 100,000 nominations in the current campaign), then:

- search: staff's typical searches, built from the seeded names (a full name, a first name and
  a surname, a surname and the institution's town, beginnings of words, accents and capitals
  as typed, some with the theme or status filter), and two broad ones (a common surname, two
  letters), each run `--rounds` times through `queue_page`, the service behind
  /staff/nominations?q=…: the matches counted and ordered, and the page's 50 rows loaded.
  Target: p50 under 10 ms;
- exports: every nomination of the campaign as CSV and as XLSX through `export_nominations`,
  each in a fresh process, with its time and the process's peak memory; then those of one state
  (about 3,000), to show that memory does not grow with the rows. Target: under 15 s each.

Progress goes to stderr; the table and the targets (PASS or MISS) to stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

if not __package__ and __name__ == "__main__" and sys.argv[1:2] != ["probe"]:
    # Run as `python bench/staff_data.py`: make the repository importable, as `-m` would.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

ROOT = Path(__file__).resolve().parent.parent
SEARCH_P50_MS = 10.0
EXPORT_SECONDS = 15.0


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# -- in the portal's process -----------------------------------------------------------------
# Run as `python bench/staff_data.py probe …` with the portal's environment, so that `app` is
# the measured checkout's; prints one JSON line.


def _probe_search(rounds: int) -> dict[str, object]:
    import random

    from sqlmodel import Session, col, select

    from app.config import get_settings
    from app.db import make_engine, refresh_statistics
    from app.forms.filters import NominationFilter
    from app.models import Nomination, Theme
    from app.services.campaigns.campaigns import get_current_campaign
    from app.services.nominations.screening import queue_page

    engine = make_engine(get_settings())
    refresh_statistics(engine)
    rng = random.Random(19)
    with Session(engine) as session:
        campaign = get_current_campaign(session)
        assert campaign is not None and campaign.id is not None
        sample = session.exec(
            select(Nomination.nominee_name, Nomination.nominee_institution, Theme.slug)
            .join(Theme, col(Theme.id) == Nomination.theme_id)
            .where(Theme.campaign_id == campaign.id)
            .order_by(col(Nomination.id))
            .offset(rng.randrange(50_000))
            .limit(400)
        ).all()
        picks = rng.sample(list(sample), 12)
        typical: list[dict[str, str]] = []
        for index, (name, institution, theme) in enumerate(picks):
            first, *_, surname = name.split()
            town = institution.replace("(", " ").replace(")", " ").split()[-1]
            typical.append(
                [
                    {"q": name},
                    {"q": f"{first} {surname}"},
                    {"q": f"{surname} {town}"},
                    {"q": f"{first[:4]} {surname[:4]}"},
                    {"q": name.upper()},
                    {"q": f"{first} {surname}", "theme": theme},
                    {"q": name, "status": "received"},
                ][index % 7]
            )
        broad = [{"q": "hernández"}, {"q": "ra"}]
        figures: dict[str, object] = {}
        for label, queries in (("typical", typical), ("broad", broad)):
            timings: list[float] = []
            matches: list[int] = []
            for query in queries:
                filters = NominationFilter(**query)  # type: ignore[arg-type]
                queue_page(session, filters, campaign_id=campaign.id)  # warm-up
                session.rollback()
                for _ in range(rounds):
                    began = time.perf_counter()
                    page = queue_page(session, filters, campaign_id=campaign.id)
                    timings.append((time.perf_counter() - began) * 1000)
                    session.rollback()
                matches.append(page.total)
            timings.sort()
            figures[label] = {
                "queries": len(queries),
                "samples": len(timings),
                "p50_ms": round(statistics.median(timings), 2),
                "p90_ms": round(timings[int(len(timings) * 0.9) - 1], 2),
                "max_ms": round(timings[-1], 2),
                "matches": matches,
            }
    engine.dispose()
    return figures


def _probe_export(file_format: str, one_state: bool) -> dict[str, object]:
    from datetime import date

    from sqlmodel import Session

    from app.config import get_settings
    from app.db import make_engine
    from app.forms.filters import NominationFilter
    from app.i18n import Translator
    from app.services.campaigns.campaigns import get_current_campaign
    from app.services.nominations.exports import ExportFormat, export_nominations

    engine = make_engine(get_settings())
    with Session(engine) as session:
        campaign = get_current_campaign(session)
        assert campaign is not None and campaign.id is not None
        filters = NominationFilter(state="JAL") if one_state else NominationFilter()
        began_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        began = time.perf_counter()
        export = export_nominations(
            session,
            filters=filters,
            campaign_id=campaign.id,
            file_format=ExportFormat(file_format),
            t=Translator("es"),
            today=date.today(),
        )
        seconds = time.perf_counter() - began
        export.content.close()
    engine.dispose()
    return {
        "format": file_format,
        "rows": export.rows,
        "bytes": export.size,
        "seconds": round(seconds, 2),
        "start_mb": round(began_rss / 1024, 1),
        "peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def probe(argv: list[str]) -> int:
    what = argv[0]
    if what == "search":
        result = _probe_search(int(argv[1]))
    else:
        result = _probe_export(argv[1], one_state=argv[2:] == ["one-state"])
    print("STAFF-DATA " + json.dumps(result), flush=True)
    return 0


# -- the run ---------------------------------------------------------------------------------


def _run_probe(env: dict[str, str], workdir: Path, *args: str) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "probe", *args],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    line = next((x for x in done.stdout.splitlines() if x.startswith("STAFF-DATA ")), None)
    if done.returncode != 0 or line is None:
        raise RuntimeError(f"probe {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return json.loads(line.removeprefix("STAFF-DATA "))  # type: ignore[no-any-return]


def measure(database: object, workdir: Path, rounds: int, portal_dir: Path) -> dict[str, object]:
    from bench.run import app_command, portal_env, seed_large

    env = portal_env(database, secrets.token_urlsafe(48), portal_dir)  # type: ignore[arg-type]
    name = database.name  # type: ignore[attr-defined]
    log(f"{name}: migrate, seed-demo, then 100,000 nominations (bench/seed_large.py)…")
    app_command(env, workdir, "migrate")
    app_command(env, workdir, "seed-demo")
    seeded = seed_large(env, workdir)
    log(f"{name}: seeded in {seeded.seconds:.0f} s; searching ({rounds} rounds per query)…")
    figures: dict[str, object] = {"search": _run_probe(env, workdir, "search", str(rounds))}
    exports = []
    for file_format in ("csv", "xlsx"):
        for one_state in (False, True):
            which = "one state's nominations" if one_state else "every nomination"
            log(f"{name}: exporting {which} as {file_format}…")
            args = ("export", file_format, *(["one-state"] if one_state else []))
            exports.append(_run_probe(env, workdir, *args))
    figures["exports"] = exports
    return figures


def report(results: dict[str, dict[str, object]]) -> tuple[str, bool]:
    lines = []
    passed = True
    for name, figures in results.items():
        search: dict[str, dict[str, object]] = figures["search"]  # type: ignore[assignment]
        lines.append(f"{name}: the queue's search, queue_page() at 100,000 nominations")
        lines.append(
            f"  {'searches':10} {'queries':>7} {'p50 ms':>8} {'p90 ms':>8} {'max ms':>8}  matches"
        )
        for label, row in search.items():
            lines.append(
                f"  {label:10} {row['queries']:>7} {row['p50_ms']:>8} {row['p90_ms']:>8}"
                f" {row['max_ms']:>8}  {row['matches']}"
            )
        lines.append(f"{name}: exports of the campaign's nominations")
        lines.append(f"  {'format':6} {'rows':>7} {'MB':>7} {'seconds':>8} {'peak MB':>8}")
        for row in figures["exports"]:  # type: ignore[attr-defined]
            lines.append(
                f"  {row['format']:6} {row['rows']:>7} {row['bytes'] / 1e6:>7.1f}"
                f" {row['seconds']:>8} {row['peak_mb']:>8}"
            )
        p50 = float(search["typical"]["p50_ms"])  # type: ignore[arg-type]
        ok = p50 < SEARCH_P50_MS
        passed &= ok
        verdict = "PASS" if ok else "MISS"
        lines.append(f"  target: typical search p50 < {SEARCH_P50_MS:g} ms: {p50} {verdict}")
        for row in figures["exports"]:  # type: ignore[attr-defined]
            if row["rows"] < 50_000:
                continue
            ok = row["seconds"] < EXPORT_SECONDS
            passed &= ok
            lines.append(
                f"  target: {row['format']} of {row['rows']} rows < {EXPORT_SECONDS:g} s:"
                f" {row['seconds']} {'PASS' if ok else 'MISS'}"
            )
        lines.append("")
    return "\n".join(lines), passed


def main(argv: list[str] | None = None) -> int:
    from bench.run import DEFAULT_POSTGRES, _database

    parser = argparse.ArgumentParser(prog="python -m bench.staff_data", description=__doc__)
    parser.add_argument("--db", default="sqlite,postgres", help="sqlite, postgres or both")
    parser.add_argument("--rounds", type=int, default=20, help="runs of each search (20)")
    parser.add_argument(
        "--postgres-url", default=os.environ.get("BENCH_POSTGRES_URL", DEFAULT_POSTGRES)
    )
    parser.add_argument("--portal-dir", type=Path, default=ROOT)
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)
    kinds = [d.strip() for d in args.db.split(",") if d.strip()]
    workdir = Path(tempfile.mkdtemp(prefix="icon-staff-data-"))
    results: dict[str, dict[str, object]] = {}
    try:
        for kind in kinds:
            with _database(kind, workdir, args.postgres_url) as database:
                if database is None:
                    continue
                results[database.name] = measure(
                    database, workdir, args.rounds, args.portal_dir.resolve()
                )
                shutil.rmtree(database.portal_data_dir, ignore_errors=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    text, passed = report(results)
    print(text)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2))
    return 1 if args.strict and not passed else 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["probe"]:
        sys.exit(probe(sys.argv[2:]))
    sys.exit(main())
