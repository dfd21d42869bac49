"""Screening nominees against sanction lists: names per second and peak memory of the portal's
matcher, next to a bare `rapidfuzz.process.cdist` over the same names (measured on a sample and
scaled), on synthetic Mexican names.

    .venv/bin/python -m bench.sanctions            # 5,000 and 100,000 names, 50,000 entries
    .venv/bin/python -m bench.sanctions --quick    # 1,000 names, 10,000 entries

Each cell runs in a fresh process pinned to one core, so that its peak memory (ru_maxrss) is its
own. The edition cell ("edition, SQLite") is the whole way a staff member or `sanctions screen`
goes: 50,000 entries imported into a SQLite database as a CSV list, 5,000 nominations stored,
then `screen_edition` reads both and stores the matches; its target is 10 s. The matcher cells
time the matcher alone (index, blocking, scoring) on names already in memory.

The names: given names and surnames drawn with Mexico's skew (a few very common ones), one or
two given names and two surnames, a fifth of entries organisations, a third with one or two
aliases; 1 nominee in 50 is a planted listed person (some with the second surname left out),
1 in 50 a look-alike (same given names and first surname, another second surname). The run
checks that every planted person is found and no look-alike is.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_SECONDS = 10.0


def _words(text: str) -> list[str]:
    return text.split()


GIVEN = _words(
    """
    maria jose juan luis carlos jorge jesus francisco antonio miguel alejandro manuel pedro
    guadalupe ana fernanda sofia daniela andrea gabriela patricia veronica laura rosa elena
    ricardo roberto eduardo javier fernando sergio arturo raul hector enrique ramon alberto
    martha leticia adriana claudia monica silvia teresa lucia isabel carmen beatriz alicia
    oscar rafael victor mario gerardo ruben alfredo armando salvador ernesto rodrigo diego
    ximena valeria regina camila renata paola karla diana lorena susana norma blanca yolanda
    """
)
SURNAMES = _words(
    """
    hernandez garcia martinez lopez gonzalez rodriguez perez sanchez ramirez cruz flores gomez
    morales vazquez reyes jimenez torres diaz gutierrez ruiz mendoza aguilar ortiz moreno
    castillo romero alvarez mendez chavez rivera juarez ramos dominguez herrera medina castro
    vargas guzman velazquez munoz rojas salazar contreras luna ortega guerrero estrada
    bautista cortes soto alvarado espinoza sandoval rios delgado vega carrillo fuentes
    cervantes navarro campos cabrera ibarra acosta pacheco valencia leon marquez figueroa
    zamora villanueva trevino salinas esquivel quintero barragan paredes ontiveros villasenor
    """
)
ORG_WORDS = _words(
    """
    comercializadora constructora servicios grupo transportes inmobiliaria consultores
    distribuidora soluciones integrales corporativo logistica del norte sur centro pacifico
    """
)


SYLLABLES = _words(
    """
    ba be bi bo ca ce co da de do fa ga go la le li lo ma me mi mo na ne no ra re ri ro sa se
    so ta te to va ve za zo
    """
)


def _vocabulary(real: list[str], size: int, rng: random.Random) -> list[str]:
    """The real words first (most common first), then made-up ones for the long tail that real
    names have (thousands of surnames)."""
    words = list(real)
    seen = set(words)
    while len(words) < size:
        word = "".join(rng.choice(SYLLABLES) for _ in range(rng.choice((2, 3, 3, 4))))
        if word not in seen:
            seen.add(word)
            words.append(word)
    return words


class _Zipf:
    """Draws rank r with weight 1/(r+2): the commonest surname about 5% of people, as
    Hernández is in Mexico, and a long tail."""

    def __init__(self, words: list[str]) -> None:
        self.words = words
        self.weights = [1 / (rank + 2) for rank in range(len(words))]

    def draw(self, rng: random.Random) -> str:
        return rng.choices(self.words, weights=self.weights)[0]


_VOCAB = random.Random(0)
GIVEN_NAMES = _Zipf(_vocabulary(GIVEN, 1500, _VOCAB))
SURNAME_NAMES = _Zipf(_vocabulary(SURNAMES, 4000, _VOCAB))


def _person(rng: random.Random) -> tuple[str, str, str]:
    given = " ".join(GIVEN_NAMES.draw(rng) for _ in range(1 if rng.random() < 0.5 else 2))
    return given, SURNAME_NAMES.draw(rng), SURNAME_NAMES.draw(rng)


def make_entries(rng: random.Random, count: int) -> list[dict[str, str]]:
    entries = []
    for number in range(count):
        if rng.random() < 0.2:
            name = " ".join(rng.sample(ORG_WORDS, 3)).upper() + " SA DE CV"
            entries.append({"id": str(number), "name": name, "type": "organisation", "aliases": ""})
            continue
        given, first, second = _person(rng)
        name = f"{first} {second}, {given}".upper()
        aliases = []
        for _ in range(rng.choice((0, 0, 1, 2))):
            alias_given, _, alias_second = _person(rng)
            # A former (married) surname, or another given name under the same surnames.
            aliases.append(
                f"{given} {first} {alias_second}"
                if rng.random() < 0.5
                else f"{alias_given} {first} {second}"
            )
        entries.append(
            {"id": str(number), "name": name, "type": "person", "aliases": "; ".join(aliases)}
        )
    return entries


def make_names(
    rng: random.Random, count: int, entries: list[dict[str, str]]
) -> tuple[list[str], dict[int, int], dict[int, int]]:
    """Nominee names; planted listed people and look-alikes, by position, with their entry."""
    people = [e for e in entries if e["type"] == "person"]
    names: list[str] = []
    planted: dict[int, int] = {}
    look_alikes: dict[int, int] = {}
    for position in range(count):
        roll = rng.random()
        if roll < 0.02:
            entry = rng.choice(people)
            surnames, given = entry["name"].split(", ")
            first, second = surnames.split(" ", 1)
            full = f"{given.title()} {first.title()} {second.title()}"
            names.append(full if rng.random() < 0.8 else f"{given.title()} {first.title()}")
            planted[position] = int(entry["id"])
        elif roll < 0.04:
            entry = rng.choice(people)
            surnames, given = entry["name"].split(", ")
            first, second = surnames.split(" ", 1)
            # Another second surname: not one the entry (or an alias of it) has.
            taken = set(f"{entry['name']} {entry['aliases']}".lower().replace(",", " ").split())
            other = rng.choice([s for s in SURNAMES if s not in taken])
            names.append(f"{given.title()} {first.title()} {other.title()}")
            look_alikes[position] = int(entry["id"])
        else:
            given, first, second = _person(rng)
            names.append(f"{given} {first} {second}".title())
    return names, planted, look_alikes


def _pin_to_one_core() -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cell_matcher(names_count: int, entries_count: int, seed: int) -> dict[str, object]:
    from app.services.candidates.sanctions.matcher import Listed, Settings, Subject, screen

    rng = random.Random(seed)
    entries = make_entries(rng, entries_count)
    names, planted, look_alikes = make_names(rng, names_count, entries)
    listed = [
        Listed(
            key=int(e["id"]),
            names=(e["name"], *[a for a in e["aliases"].split("; ") if a]),
            organisation=e["type"] == "organisation",
        )
        for e in entries
    ]
    subjects = [Subject(key=i, names=(name,)) for i, name in enumerate(names)]
    before = _peak_mb()
    start = time.perf_counter()
    hits = list(screen(subjects, listed, Settings()))
    seconds = time.perf_counter() - start
    found = {(hit.subject, hit.entry) for hit in hits}
    return {
        "cell": f"matcher, {names_count:,} names",
        "names": names_count,
        "entries": entries_count,
        "names_with_aliases": sum(len(e.names) for e in listed),
        "seconds": seconds,
        "names_per_second": names_count / seconds,
        "peak_mb": _peak_mb(),
        "data_mb": before,
        "matches": len(hits),
        "planted_found": sum(1 for pair in planted.items() if pair in found),
        "planted": len(planted),
        "look_alikes_raised": sum(1 for pair in look_alikes.items() if pair in found),
    }


def cell_cdist(names_count: int, entries_count: int, seed: int, sample: int) -> dict[str, object]:
    """A plain all-pairs comparison: every name against every name and alias of the lists."""
    from rapidfuzz import fuzz, process

    from app.services.text import fold

    rng = random.Random(seed)
    entries = make_entries(rng, entries_count)
    names, _, _ = make_names(rng, names_count, entries)
    choices = [fold(n) for e in entries for n in (e["name"], *e["aliases"].split("; ")) if n]
    queries = [fold(n) for n in names[:sample]]
    start = time.perf_counter()
    process.cdist(queries, choices, scorer=fuzz.token_sort_ratio, workers=1, score_cutoff=75)
    seconds = time.perf_counter() - start
    return {
        "cell": f"rapidfuzz cdist, {names_count:,} names (scaled from {sample})",
        "names": names_count,
        "seconds": seconds * names_count / sample,
        "names_per_second": sample / seconds,
        "peak_mb": _peak_mb(),
    }


def cell_edition(names_count: int, entries_count: int, seed: int) -> dict[str, object]:
    """The whole edition through the portal's services on SQLite: import, then screen."""
    data_dir = Path(tempfile.mkdtemp(prefix="bench_sanctions_"))
    os.environ.update({"DATA_DIR": str(data_dir), "ENVIRONMENT": "test", "SECRET_KEY": "x" * 40})
    os.environ.pop("DATABASE_URL", None)
    from datetime import UTC, datetime, timedelta

    from sqlmodel import Session

    from app.config import Settings
    from app.db import make_engine
    from app.migrate import upgrade
    from app.models import (
        Campaign,
        GovernmentLevel,
        ListFormat,
        Nomination,
        Relationship,
        Theme,
        utcnow,
    )
    from app.services.candidates.sanctions.importers import store_list
    from app.services.candidates.sanctions.screening import screen_edition

    settings = Settings(_env_file=None)
    engine = make_engine(settings)
    upgrade(engine)
    rng = random.Random(seed)
    entries = make_entries(rng, entries_count)
    names, planted, _ = make_names(rng, names_count, entries)
    list_file = data_dir / "list.csv"
    with list_file.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["id", "name", "type", "aliases"])
        writer.writeheader()
        writer.writerows(entries)
    now = utcnow()
    with Session(engine) as session:
        today = now.date()
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
        theme = Theme(
            campaign_id=campaign.id,
            slug="t",
            name_es="T",
            name_en="T",
            opens_at=now - timedelta(days=1),
            closes_at=now + timedelta(days=1),
        )
        session.add(theme)
        session.flush()
        assert theme.id is not None
        for position, name in enumerate(names):
            session.add(
                Nomination(
                    reference=f"ref-{position}",
                    submission_key=f"key-{position}",
                    theme_id=theme.id,
                    nominee_name=name,
                    nominee_position="x",
                    nominee_institution="x",
                    government_level=GovernmentLevel.municipal,
                    state="CMX",
                    years_of_service=1,
                    achievement="x",
                    impact="x",
                    obstacles="x",
                    how_known="x",
                    reference1_name="x",
                    reference1_contact="x",
                    reference2_name="x",
                    reference2_contact="x",
                    nominator_name="x",
                    nominator_email=f"n{position}@example.org",
                    nominator_relationship=Relationship.colleague,
                    privacy_consent_at=datetime.now(UTC),
                )
            )
        session.commit()
        start = time.perf_counter()
        with list_file.open("rb") as handle:
            store_list(
                session,
                list_format=ListFormat.csv,
                file=handle,
                file_name="list.csv",
                name="bench",
                actor=None,
                now=now,
            )
        session.commit()
        imported = time.perf_counter() - start
        start = time.perf_counter()
        run = screen_edition(session, campaign=campaign, settings=settings, actor=None, now=now)
        session.commit()
        seconds = time.perf_counter() - start
    engine.dispose()
    return {
        "cell": f"edition, SQLite, {names_count:,} names",
        "names": names_count,
        "entries": entries_count,
        "import_seconds": imported,
        "seconds": seconds,
        "names_per_second": names_count / seconds,
        "peak_mb": _peak_mb(),
        "matches": run.found,
        "planted": len(planted),
    }


def _run_cell(args: list[str]) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-m", "bench.sanctions", "--cell", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.sanctions", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="1,000 names, 10,000 entries")
    parser.add_argument("--entries", type=int, default=50_000)
    parser.add_argument("--names", default="5000,100000", help="nominee counts, comma-separated")
    parser.add_argument("--sample", type=int, default=200, help="names the cdist baseline runs")
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument("--cell", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.cell:
        _pin_to_one_core()
        kind, names, entries, seed = args.cell
        if kind == "matcher":
            result = cell_matcher(int(names), int(entries), int(seed))
        elif kind == "edition":
            result = cell_edition(int(names), int(entries), int(seed))
        else:
            result = cell_cdist(int(names), int(entries), int(seed), sample=int(kind[5:]))
        print(json.dumps(result))
        return 0

    entries = 10_000 if args.quick else args.entries
    counts = [1_000] if args.quick else [int(n) for n in args.names.split(",")]
    print(f"Screening against {entries:,} entries (with aliases), one core per cell.", flush=True)
    results = []
    edition_names = counts[0]
    for cell in (
        ["edition", str(edition_names)],
        *[["matcher", str(n)] for n in counts],
        *[[f"cdist{args.sample}", str(n)] for n in counts],
    ):
        result = _run_cell([cell[0], cell[1], str(entries), str(args.seed)])
        results.append(result)
        extra = ""
        if "planted" in result and "planted_found" in result:
            extra = (
                f"  planted found {result['planted_found']}/{result['planted']},"
                f" look-alikes raised {result['look_alikes_raised']}"
            )
        if "import_seconds" in result:
            extra = f"  (import of the list: {result['import_seconds']:.1f} s)"
        print(
            f"{result['cell']:<48} {result['seconds']:>9.2f} s"
            f" {result['names_per_second']:>10,.0f} names/s"
            f" {result['peak_mb']:>7.0f} MB peak{extra}",
            flush=True,
        )
    edition = results[0]
    verdict = "PASS" if float(edition["seconds"]) < TARGET_SECONDS else "MISS"  # type: ignore[arg-type]
    print(
        f"Target: the edition of {edition_names:,} names screened in under {TARGET_SECONDS:.0f} s"
        f" on one core: {float(edition['seconds']):.1f} s {verdict}"  # type: ignore[arg-type]
    )
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
