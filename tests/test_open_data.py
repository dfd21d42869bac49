"""Open data (issue 16): releases built from the database, small-cell suppression that no
subtraction undoes, the DCAT catalogue and its files, the dictionary, the history of
releases, the staff button and the command, the charts, and the read-only API."""

import csv
import hashlib
import io
import json
import random
import secrets
from datetime import timedelta
from fractions import Fraction
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pyld import jsonld
from sqlalchemy import Engine
from sqlmodel import Session, col, func, select

from app.config import Settings
from app.main import create_app
from app.models import (
    Campaign,
    Channel,
    DataRelease,
    Gender,
    GovernmentLevel,
    Nomination,
    NominationStatus,
    Role,
    Theme,
    utcnow,
)
from app.services.results.data_refresh import refresh_due
from app.services.results.data_releases import make_release
from app.services.results.datasets import CountTable, suppress
from tests.conftest import make_settings
from tests.factories import (
    csrf_token_from,
    make_account,
    make_finalist,
    make_open_campaign,
    sign_in,
)
from tests.test_cli import run_cli

MIN = 5
NOMINATOR_NAME = "Nominadora Plantada Qwx"
NOMINATOR_EMAIL = "plantada-qwx@example.org"
HIDDEN_NOMINEE = "Persona Nominada Oculta Vbn"
HIDDEN_FINALIST = "Finalista No Anunciada Jkl"
NO_CONSENT_FINALIST = "Finalista Sin Consentimiento Mnb"


def add_nominations(
    session: Session,
    theme: Theme,
    state: str,
    count: int,
    *,
    level: GovernmentLevel = GovernmentLevel.municipal,
    gender: Gender | None = Gender.woman,
    days_ago: int = 0,
) -> None:
    now = utcnow()
    for _ in range(count):
        key = secrets.token_hex(8)
        session.add(
            Nomination(
                reference=f"REF-{key}",
                submission_key=key,
                theme_id=theme.id,
                status=NominationStatus.received,
                nominee_name=HIDDEN_NOMINEE,
                nominee_position="Directora",
                nominee_institution="Ayuntamiento",
                government_level=level,
                state=state,
                years_of_service=3,
                nominee_gender=gender,
                achievement="Logro.",
                impact="Impacto.",
                obstacles="Obstáculos.",
                how_known="La conozco.",
                reference1_name="Ref Uno",
                reference1_contact="uno@example.org",
                reference2_name="Ref Dos",
                reference2_contact="dos@example.org",
                nominator_name=NOMINATOR_NAME,
                nominator_email=NOMINATOR_EMAIL,
                nominator_relationship="colleague",
                channel=Channel.web,
                privacy_consent_at=now,
                submitted_at=now - timedelta(days=days_ago),
            )
        )
    session.commit()


def few_and_many(session: Session) -> tuple[Campaign, Theme, Theme]:
    """Two nominations from Chiapas, many from Jalisco and Veracruz, in two themes."""
    campaign, youth, sustainability = make_open_campaign(session)
    add_nominations(session, youth, "CHP", 2)
    add_nominations(session, youth, "JAL", 12)
    add_nominations(session, youth, "JAL", 7, level=GovernmentLevel.state, days_ago=6)
    add_nominations(session, sustainability, "JAL", 9, gender=Gender.man)
    add_nominations(session, sustainability, "VER", 8, level=GovernmentLevel.federal)
    add_nominations(session, sustainability, "VER", 1, gender=None, days_ago=3)
    # A finalist who was never announced: named nowhere; one who gave no consent: named
    # nowhere even once the finalists are announced.
    make_finalist(session, youth, public_name=HIDDEN_FINALIST)
    make_finalist(session, sustainability, public_name=NO_CONSENT_FINALIST, consented=False)
    return campaign, youth, sustainability


def release_now(session: Session, campaign: Campaign, **kwargs: Any) -> DataRelease | None:
    outcome = make_release(
        session, campaign=campaign, min_count=MIN, made_by="command", now=utcnow(), **kwargs
    )
    session.commit()
    return outcome.release


def read_csv(content: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(content.decode("utf-8"))))


def release_files(client: TestClient, year: int) -> dict[str, bytes]:
    catalogue = client.get(f"/data/{year}/catalog.json").json()
    files = {}
    for dataset in catalogue["dataset"]:
        for dist in dataset["distribution"]:
            url = dist["downloadURL"].replace("http://testserver", "")
            files[url.rsplit("/", 1)[1]] = client.get(url).content
    return files


# --- suppression ----------------------------------------------------------------------------


def published_cells(files: dict[str, bytes]) -> tuple[dict[tuple[str, ...], int | None], list]:
    """Every count of nominations the files publish, keyed as the files name them, and every
    relation between them that a reader can see (a total equals the sum of its parts)."""
    cells: dict[tuple[str, ...], int | None] = {}

    def value(row: dict[str, str], name: str = "nominations") -> int | None:
        if row[f"{name}_suppressed"] == "yes":
            assert row[name] == ""
            return None
        return int(row[name])

    detail: dict[tuple[str, str], list[tuple[str, ...]]] = {}
    for row in read_csv(files["participation.csv"]):
        key = (
            "detail",
            row["theme"],
            row["cve_ent"],
            row["government_level"],
            row["nominee_gender"],
        )
        cells[key] = value(row)
        detail.setdefault((row["theme"], row["cve_ent"]), []).append(key)
    for row in read_csv(files["participation_by_state.csv"]):
        cells[("state", row["theme"], row["cve_ent"])] = value(row)
    for row in read_csv(files["participation_by_theme.csv"]):
        cells[("theme", row["theme"])] = value(row)
    for row in read_csv(files["participation_by_week.csv"]):
        cells[("week", row["theme"], row["week_start"])] = value(row)
    themes = sorted({k[1] for k in cells if k[0] == "theme" and k[1] != "all"})
    states = sorted({k[2] for k in cells if k[0] == "state"})
    weeks = sorted({k[2] for k in cells if k[0] == "week"})
    relations = []
    for (theme, cve), parts in detail.items():
        relations.append((("state", theme, cve), parts))
    for cve in states:
        relations.append((("state", "all", cve), [("state", t, cve) for t in themes]))
    for key in [*themes, "all"]:
        relations.append((("theme", key), [("state", key, s) for s in states]))
        relations.append((("theme", key), [("week", key, w) for w in weeks]))
    relations.append((("theme", "all"), [("theme", t) for t in themes]))
    for week in weeks:
        relations.append((("week", "all", week), [("week", t, week) for t in themes]))
    relations = [(total, [p for p in parts if p in cells]) for total, parts in relations]
    return cells, relations


def determined_cells(cells: dict[tuple[str, ...], int | None], relations: list) -> set:
    """The hidden cells that the relations pin down exactly, by Gaussian elimination over the
    hidden unknowns (every subtraction, and every combination of subtractions, at once)."""
    hidden = sorted(k for k, v in cells.items() if v is None)
    index = {k: i for i, k in enumerate(hidden)}
    rows = []
    for total, parts in relations:
        row = [Fraction(0)] * (len(hidden) + 1)
        constant = Fraction(0)
        for ref, sign in [(total, 1), *((p, -1) for p in parts)]:
            if cells.get(ref) is None:
                row[index[ref]] += sign
            else:
                constant -= sign * (cells[ref] or 0)
        row[-1] = constant
        if any(row[:-1]):
            rows.append(row)
    # Reduced row echelon form.
    pivot_row = 0
    pivots = []
    for column in range(len(hidden)):
        found = next((r for r in range(pivot_row, len(rows)) if rows[r][column] != 0), None)
        if found is None:
            continue
        rows[pivot_row], rows[found] = rows[found], rows[pivot_row]
        lead = rows[pivot_row][column]
        rows[pivot_row] = [x / lead for x in rows[pivot_row]]
        for r in range(len(rows)):
            if r != pivot_row and rows[r][column] != 0:
                factor = rows[r][column]
                rows[r] = [a - factor * b for a, b in zip(rows[r], rows[pivot_row], strict=True)]
        pivots.append(column)
        pivot_row += 1
    found_cells = set()
    for r, column in enumerate(pivots):
        if sum(1 for x in rows[r][:-1] if x != 0) == 1:
            found_cells.add(hidden[column])
    return found_cells


def test_release_small_state_count_cannot_be_recovered_by_any_subtraction(
    client: TestClient, session: Session
) -> None:
    campaign, _, _ = few_and_many(session)
    release_now(session, campaign)

    files = release_files(client, campaign.year)
    cells, relations = published_cells(files)

    # Chiapas (07) sent 2: hidden wherever it shows, and nowhere a count from 1 to 4.
    assert cells[("state", "youth", "07")] is None
    assert cells[("state", "all", "07")] is None
    assert all(v is None or v == 0 or v >= MIN for v in cells.values())
    # Every subtraction of a relation a reader can see leaves two or more hidden cells, whose
    # sum is no small count, or a hidden total with a hidden part.
    for total, parts in relations:
        hidden_parts = [p for p in parts if cells[p] is None]
        if cells[total] is None:
            assert hidden_parts or not parts, (total, parts)
            continue
        if hidden_parts:
            rest = cells[total] - sum(cells[p] or 0 for p in parts)
            assert len(hidden_parts) >= 2 and rest >= MIN, (total, hidden_parts, rest)
    # And no combination of them pins a hidden cell down.
    assert determined_cells(cells, relations) == set()
    # The charts and the API show no more than the files.
    page = client.get("/data?lang=en").text
    assert "Chiapas" in page
    statistics = client.get(f"/api/v1/editions/{campaign.year}/statistics").json()
    chiapas = [r for r in statistics["items"] if r.get("cve_ent") == "07"]
    assert chiapas and all(r["nominations"] is None for r in chiapas)


def test_release_names_no_nominator_and_no_unannounced_finalist(
    client: TestClient, session: Session
) -> None:
    campaign, _, _ = few_and_many(session)
    release_now(session, campaign)

    answers = list(release_files(client, campaign.year).values())
    answers.append(client.get(f"/data/{campaign.year}/catalog.json").content)
    answers.append(client.get("/data").content)
    for path in ("", "/themes", "/finalists", "/winners", "/statistics"):
        answers.append(client.get(f"/api/v1/editions/{campaign.year}{path}").content)

    for body in answers:
        for marker in (
            NOMINATOR_NAME,
            NOMINATOR_EMAIL,
            HIDDEN_NOMINEE,
            HIDDEN_FINALIST,
            NO_CONSENT_FINALIST,
        ):
            assert marker.encode() not in body


# --- catalogue, dictionary, history ---------------------------------------------------------


def test_catalog_validates_as_json_ld_and_every_file_matches_its_size_and_checksum(
    client: TestClient, session: Session
) -> None:
    campaign, youth, _ = few_and_many(session)
    release_now(session, campaign)
    add_nominations(session, youth, "CMX", 6)
    release_now(session, campaign, note="Más nominaciones")

    response = client.get(f"/data/{campaign.year}/catalog.json")
    catalogue = response.json()
    expanded = jsonld.expand(catalogue)
    quads = jsonld.to_rdf(catalogue, {"format": "application/n-quads"})

    assert response.headers["content-type"].startswith("application/ld+json")
    assert expanded[0]["@type"] == ["http://www.w3.org/ns/dcat#Catalog"]
    datasets = expanded[0]["http://www.w3.org/ns/dcat#dataset"]
    assert {d["http://purl.org/dc/terms/identifier"][0]["@value"] for d in datasets} >= {
        f"integrity-icon-{campaign.year}-participation",
        f"integrity-icon-{campaign.year}-participation_by_week",
    }
    distributions = [
        dist
        for entry in [catalogue, *catalogue["hasVersion"]]
        for dataset in entry["dataset"]
        for dist in dataset["distribution"]
    ]
    assert len(catalogue["hasVersion"]) == 2
    # As RDF: each distribution's size and SHA-256 are typed triples of DCAT and SPDX.
    assert "<http://www.w3.org/ns/dcat#byteSize>" in quads
    assert "<http://spdx.org/rdf/terms#checksumValue>" in quads
    assert "<http://spdx.org/rdf/terms#checksumAlgorithm_sha256>" in quads
    assert {d["mediaType"] for d in distributions} == {"text/csv", "application/json"}
    for dist in distributions:
        download = client.get(dist["downloadURL"].replace("http://testserver", ""))
        assert download.status_code == 200, dist["downloadURL"]
        assert len(download.content) == dist["byteSize"]
        assert hashlib.sha256(download.content).hexdigest() == dist["checksum"]["checksumValue"]
        assert dist["modified"]


def test_dictionary_covers_every_column_of_every_file(client: TestClient, session: Session) -> None:
    campaign, _, _ = few_and_many(session)
    release_now(session, campaign)

    dictionary = read_csv(client.get(f"/data/{campaign.year}/dictionary.csv").content)
    described = {(row["file"], row["column"]) for row in dictionary}
    assert all(row["meaning_es"] and row["meaning_en"] and row["type"] for row in dictionary)

    for name, content in release_files(client, campaign.year).items():
        if name.endswith(".csv"):
            columns = next(csv.reader(io.StringIO(content.decode())))
        else:
            columns = json.loads(content)["columns"]
        missing = [c for c in columns if (name, c) not in described]
        assert not missing, (name, missing)


def test_release_unchanged_data_makes_none_and_a_changed_call_appears_in_history(
    client: TestClient, session: Session
) -> None:
    campaign, youth, _ = few_and_many(session)
    first = release_now(session, campaign)
    again = release_now(session, campaign)
    add_nominations(session, youth, "YUC", 5)
    second = release_now(session, campaign)

    assert first is not None and first.number == 1
    assert again is None
    assert second is not None and second.number == 2
    history = client.get(f"/data/{campaign.year}/catalog.json").json()["hasVersion"]
    assert [h["version"] for h in history] == ["2", "1"]
    changes = json.loads(second.changes)
    participation = next(c for c in changes if c["name"] == "participation")
    assert participation["added"] >= 1
    # The first release's files are still served, unchanged.
    old = client.get(f"/data/{campaign.year}/releases/1/participation_by_state.csv")
    assert "Yucatán" not in old.text
    assert "Yucatán" in client.get(f"/data/{campaign.year}/participation_by_state.csv").text


def test_data_release_command_prints_what_changed(settings: Settings, session: Session) -> None:
    campaign, youth, _ = few_and_many(session)

    first = run_cli(settings, "data", "release")
    add_nominations(session, youth, "YUC", 5)
    second = run_cli(settings, "data", "release", "--year", str(campaign.year))
    third = run_cli(settings, "data", "release")

    assert first.returncode == 0, first.stderr
    assert "release 1 made" in first.stdout
    assert "participation: rows - ->" in first.stdout
    assert "release 2 made" in second.stdout
    assert "added" in second.stdout
    assert "nothing changed since release 2" in third.stdout
    assert "building the datasets" in third.stderr
    unknown = run_cli(settings, "data", "release", "--year", "1999")
    assert unknown.returncode == 1


# --- staff ----------------------------------------------------------------------------------


def test_staff_release_button_makes_a_release_with_its_note(
    client: TestClient, session: Session
) -> None:
    _campaign, _, _ = few_and_many(session)
    sign_in(client, session, make_account(session, Role.staff))
    token = csrf_token_from(client.get("/staff/data"))

    made = client.post(
        "/staff/data/release",
        data={"csrf_token": token, "note": "Corrige Veracruz"},
        follow_redirects=False,
    )
    page = client.get(made.headers["location"])

    assert made.status_code == 303
    assert "Corrige Veracruz" in page.text
    session.expire_all()
    release = session.exec(select(DataRelease)).one()
    assert (release.note, release.made_by) == ("Corrige Veracruz", "staff")


def test_staff_release_button_refuses_a_long_note_and_stores_nothing(
    client: TestClient, session: Session
) -> None:
    few_and_many(session)
    sign_in(client, session, make_account(session, Role.staff))
    token = csrf_token_from(client.get("/staff/data"))

    refused = client.post("/staff/data/release", data={"csrf_token": token, "note": "x" * 2001})

    assert refused.status_code == 422
    assert "2000" in refused.text
    assert session.exec(select(func.count()).select_from(DataRelease)).one() == 0


def test_staff_release_button_without_csrf_stores_nothing(
    client: TestClient, session: Session
) -> None:
    few_and_many(session)
    sign_in(client, session, make_account(session, Role.staff))

    refused = client.post("/staff/data/release", data={"note": ""}, follow_redirects=False)

    assert refused.status_code in (400, 403)
    assert session.exec(select(func.count()).select_from(DataRelease)).one() == 0


def test_staff_dashboard_charts_show_the_small_count(client: TestClient, session: Session) -> None:
    few_and_many(session)
    sign_in(client, session, make_account(session, Role.staff))

    page = client.get("/staff?lang=en").text

    # Weeks and the path to the winners, beside the reach section's themes and states; the
    # two candidates (a count the public files hide) are shown to staff.
    assert 'id="chart-week"' in page and 'id="chart-path"' in page
    assert '<th scope="row">Received</th>\n        <td>39</td>' in page
    assert '<th scope="row">Candidates</th>\n        <td>2</td>' in page


# --- public pages ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lang", "heading", "guide"),
    [("es", "Datos abiertos", "Cómo citar"), ("en", "Open data", "How to cite")],
)
def test_data_page_lists_releases_with_charts_in_both_languages(
    client: TestClient, session: Session, lang: str, heading: str, guide: str
) -> None:
    campaign, _, _ = few_and_many(session)
    release_now(session, campaign)

    page = client.get(f"/data?lang={lang}")

    assert page.status_code == 200
    assert heading in page.text and guide in page.text
    assert "CC BY 4.0" in page.text
    assert f"/data/{campaign.year}/catalog.json" in page.text
    assert "<svg" in page.text and "<script" not in page.text
    assert page.text.count("<table") >= 4


def test_data_file_unknown_names_and_years_are_404(client: TestClient, session: Session) -> None:
    campaign, _, _ = few_and_many(session)
    release_now(session, campaign)

    assert client.get(f"/data/{campaign.year}/nominations.csv").status_code == 404
    assert client.get(f"/data/{campaign.year}/..%2Fportal.sqlite3").status_code == 404
    assert client.get(f"/data/{campaign.year}/releases/9/participation.csv").status_code == 404
    assert client.get("/data/1999/catalog.json").status_code == 404


def test_data_file_answers_304_to_its_etag(client: TestClient, session: Session) -> None:
    campaign, _, _ = few_and_many(session)
    release_now(session, campaign)
    first = client.get(f"/data/{campaign.year}/releases/1/participation.json")

    again = client.get(
        f"/data/{campaign.year}/releases/1/participation.json",
        headers={"If-None-Match": first.headers["etag"]},
    )

    assert again.status_code == 304
    assert "immutable" in first.headers["cache-control"]


# --- the API --------------------------------------------------------------------------------


def test_api_paginates_with_etag_and_cache_headers(client: TestClient, session: Session) -> None:
    campaign, _, _ = few_and_many(session)
    release_now(session, campaign)

    first = client.get(f"/api/v1/editions/{campaign.year}/statistics?per_page=3")
    second = client.get(first.json()["next"].replace("http://testserver", ""))
    cached = client.get(
        f"/api/v1/editions/{campaign.year}/statistics?per_page=3",
        headers={"If-None-Match": first.headers["etag"]},
    )
    bad = client.get("/api/v1/editions?per_page=1000", headers={"Accept-Language": "es"})

    body = first.json()
    assert len(body["items"]) == 3 and body["page"] == 1 and body["total"] > 3
    assert second.json()["page"] == 2 and second.json()["items"] != body["items"]
    assert "max-age" in first.headers["cache-control"]
    assert cached.status_code == 304
    assert bad.status_code == 422 and bad.json()["error"]
    assert client.get("/api/v1/editions/1999").status_code == 404


def test_api_finalists_only_once_announced(client: TestClient, session: Session) -> None:
    campaign, _youth, _ = few_and_many(session)
    before = client.get(f"/api/v1/editions/{campaign.year}/finalists").json()
    campaign.finalists_announced_at = utcnow()
    session.add(campaign)
    session.commit()

    after = client.get(f"/api/v1/editions/{campaign.year}/finalists").json()
    release_now(session, campaign)
    files = release_files(client, campaign.year)

    assert before["items"] == []
    # Announced and consented: named; without consent: named nowhere.
    assert [f["public_name"] for f in after["items"]] == [HIDDEN_FINALIST]
    assert HIDDEN_FINALIST in files["finalists.csv"].decode()
    for body in files.values():
        assert NO_CONSENT_FINALIST.encode() not in body


def test_api_openapi_is_served_in_production_and_the_apps_own_is_not(
    app: FastAPI, settings: Settings
) -> None:
    # `app` (unused) empties the PostgreSQL tables and keeps the schema ready for this one.
    prod = make_settings(
        settings.data_dir,
        settings.database_url,
        environment="prod",
        secret_key="p" * 40,
        base_url="https://testserver",
        open_data_refresh_seconds=0,
    )
    application = create_app(prod)
    with TestClient(application, base_url="https://testserver") as client:
        api = client.get("/api/v1/openapi.json")
        own = client.get("/openapi.json")
        docs = client.get("/docs")
    application.state.engine.dispose()

    assert api.status_code == 200
    assert "/editions/{year}/statistics" in api.json()["paths"]
    assert own.status_code == 404
    assert docs.status_code == 404


# --- a published edition --------------------------------------------------------------------


def test_published_edition_release_has_path_rubric_meetings_and_scores(
    client: TestClient, session: Session
) -> None:
    from app.services.demo.past_edition import seed_past_edition

    seed_past_edition(session, now=utcnow())
    session.commit()
    campaign = session.exec(select(Campaign).order_by(col(Campaign.year).desc())).first()
    assert campaign is not None
    release_now(session, campaign)

    files = release_files(client, campaign.year)
    path = read_csv(files["path.csv"])
    scores = read_csv(files["scores.csv"])

    assert {"finalists.csv", "rubric.csv", "meetings.csv", "scores.csv"} <= set(files)
    assert {r["stage"] for r in path} == {
        "received",
        "eligible",
        "candidates",
        "finalists",
        "winners",
    }
    assert any(r["winner"] == "yes" for r in read_csv(files["finalists.csv"]))
    assert scores and all(r["score_withheld"] in ("yes", "no") for r in scores)
    for row in path:
        assert (
            row["count_suppressed"] == "yes"
            or int(row["count"]) == 0
            or int(row["count"]) >= MIN
            or row["stage"] in ("finalists", "winners")
        )
    edition = client.get(f"/results/{campaign.year}?lang=en").text
    assert "The edition in figures" in edition and "<svg" in edition


# --- the scheduled refresh ------------------------------------------------------------------


def test_scheduled_refresh_waits_its_interval_and_releases_only_changed_data(
    engine: Engine, session: Session
) -> None:
    campaign, youth, _ = few_and_many(session)
    now = utcnow()
    hour = 3600.0

    first = refresh_due(engine, min_count=MIN, interval=hour, now=now, holder="a")
    add_nominations(session, youth, "YUC", 5)
    too_soon = refresh_due(engine, min_count=MIN, interval=hour, now=now, holder="a")
    later = refresh_due(
        engine, min_count=MIN, interval=hour, now=now + timedelta(hours=2), holder="a"
    )
    unchanged = refresh_due(
        engine, min_count=MIN, interval=hour, now=now + timedelta(hours=4), holder="a"
    )

    assert first is not None and first.release is not None and first.release.number == 1
    assert too_soon is None
    assert later is not None and later.release is not None and later.release.number == 2
    assert unchanged is not None and unchanged.release is None
    numbers = session.exec(
        select(DataRelease.number).where(DataRelease.campaign_id == campaign.id)
    ).all()
    assert sorted(numbers) == [1, 2]


# --- the suppression on many shapes of data -------------------------------------------------


def random_table(rng: random.Random) -> CountTable:
    """A participation-shaped table: themes × states × levels, and weeks, with the relations
    the release files let a reader see."""
    table = CountTable()
    themes = ["youth", "sustainability"][: rng.randint(1, 2)]
    states = [f"{i:02d}" for i in range(1, rng.randint(2, 7))]
    levels = ["federal", "state", "municipal"][: rng.randint(1, 3)]
    weeks = ["w1", "w2", "w3"][: rng.randint(1, 3)]
    by_theme_state: dict[tuple[str, str], list[tuple[str, ...]]] = {}
    for theme in themes:
        for state in states:
            for level in levels:
                n = rng.choice([0, 0, 1, 2, 3, 4, 5, 7, 12, 30])
                if n:
                    ref = table.add(("detail", theme, state, level), n)
                    by_theme_state.setdefault((theme, state), []).append(ref)
                    for total in (("state", theme, state), ("state", "all", state)):
                        table.add(total, n)
                    table.add(("theme", theme), n)
                    table.add(("theme", "all"), n)
    for key in [*themes, "all"]:
        table.add(("theme", key), 0)  # a theme with no nomination shows its 0
    for theme in themes:
        total = table.values.get(("theme", theme), 0)
        cuts = sorted(rng.randint(0, total) for _ in range(len(weeks) - 1))
        for week, a, b in zip(weeks, [0, *cuts], [*cuts, total], strict=True):
            table.add(("week", theme, week), b - a)
            table.add(("week", "all", week), b - a)
    for (theme, state), parts in by_theme_state.items():
        table.relate(("state", theme, state), parts)
    seen = sorted({state for _, state in by_theme_state})
    for state in seen:
        table.relate(("state", "all", state), [("state", t, state) for t in themes])
    for key in [*themes, "all"]:
        table.relate(("theme", key), [("state", key, state) for state in seen])
        table.relate(("theme", key), [("week", key, week) for week in weeks])
    table.relate(("theme", "all"), [("theme", t) for t in themes])
    for week in weeks:
        table.relate(("week", "all", week), [("week", t, week) for t in themes])
    return table


@pytest.mark.parametrize("seed", range(0, 300, 30))
def test_suppress_random_tables_show_no_small_count_and_determine_no_hidden_one(
    seed: int,
) -> None:
    for case in range(seed, seed + 30):
        table = random_table(random.Random(case))

        suppress(table, min_count=MIN)

        cells = {k: (None if k in table.hidden else v) for k, v in table.values.items()}
        relations = [(total, [p for p in parts if p in cells]) for total, parts in table.relations]
        assert not [k for k, v in cells.items() if v is not None and 0 < v < MIN], case
        assert determined_cells(cells, relations) == set(), case
