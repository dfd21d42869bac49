"""Public finalists and results: nothing is reachable before its staff action; once published,
the results, each winner's page, the open data and the photos, with no personal data."""

import csv
import io
import re

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.config import Settings
from app.models import ResultsRevision
from app.services.files import FileStore, clean_upload
from app.services.results.public import published_photo_hashes
from tests.factories import make_campaign, make_theme
from tests.test_publishing import (
    Cycle,
    announce,
    confirm,
    make_cycle,
    make_nomination,
    png_bytes,
    prepare,
    publish,
    publish_results,
    route_table,
    staff_client,
)

SECRET_NAMES = ("Ana Finalista Ejemplo", "Beto Finalista Ejemplo", "Carla Finalista", "Darío")


def public_get_routes() -> list[str]:
    paths = [
        path
        for method, path in route_table()
        if method == "GET" and not path.startswith(("/staff", "/judges"))
    ]
    assert {"/finalists", "/results/{year}/winners/{finalist_id}"} <= set(paths)
    return paths


def fill(path: str, cycle: Cycle, finalist_id: int, number: int) -> str:
    values = {
        "year": str(cycle.campaign.year),
        "finalist_id": str(finalist_id),
        "number": str(number),
        "slug": "youth",
    }
    return re.sub(r"\{([^}]+)\}", lambda m: values.get(m.group(1), "x" * 24), path)


def anonymous(client: TestClient) -> TestClient:
    client.cookies.clear()
    return client


def assert_hidden(client: TestClient, cycle: Cycle, *, names: tuple[str, ...]) -> None:
    """No public GET route, filled with the ids of what is unpublished, shows any of `names`."""
    for path in public_get_routes():
        for finalist in (cycle.ana, cycle.beto, cycle.carla, cycle.dario):
            url = fill(path, cycle, finalist.id or 0, 1)
            response = client.get(url)
            assert response.status_code in (200, 403, 404), url
            body = response.content.decode("utf-8", "replace")
            for name in names:
                assert name not in body, url
            assert not response.headers.get("content-type", "").startswith("image/"), url


# --- before anything is published -----------------------------------------------------------


def test_nothing_unpublished_is_reachable_from_any_public_url(
    client: TestClient, session: Session, settings: Settings
) -> None:
    cycle = make_cycle(session, photo_store=FileStore(settings.files_dir))
    staff_client(client, session, cycle)
    # Winners confirmed and a draft prepared, but nothing announced or published.
    confirm(client, cycle.youth, [cycle.ana])
    confirm(client, cycle.sustainability, [cycle.carla])
    anonymous(client)

    assert_hidden(client, cycle, names=SECRET_NAMES)


def test_draft_revision_and_unpublished_results_are_not_reachable(
    client: TestClient, session: Session, settings: Settings
) -> None:
    cycle = make_cycle(session, photo_store=FileStore(settings.files_dir))
    staff_client(client, session, cycle)
    confirm(client, cycle.youth, [cycle.ana])
    confirm(client, cycle.sustainability, [cycle.carla])
    announce(client)
    prepare(client)
    anonymous(client)
    year = cycle.campaign.year

    results = client.get("/results")
    by_year = client.get(f"/results/{year}")

    assert session.exec(select(ResultsRevision)).one().number == 1
    for page in (results, by_year):
        assert page.status_code == 200
        assert "not been published yet" in page.text.lower() or "aún no" in page.text.lower()
        assert "/winners/" not in page.text
    for url in (
        f"/results/{year}/revisions/1",
        f"/results/{year}.json",
        f"/results/{year}.csv",
        f"/results/{year}/winners/{cycle.ana.id}",
    ):
        assert client.get(url).status_code == 404, url
    # The finalists are public now; that Ana won must stay hidden everywhere.
    assert "Ana Finalista Ejemplo" in client.get("/finalists").text
    for path in public_get_routes():
        url = fill(path, cycle, cycle.ana.id or 0, 1)
        body = client.get(url).text
        # (The language switch repeats the page's own address, with ?lang=.)
        assert f'/winners/{cycle.ana.id}"' not in body, url
        if path not in ("/finalists", "/media/finalists/{finalist_id}.jpg"):
            assert "Ana Finalista Ejemplo" not in body, url


def test_finalists_before_announcement_show_only_the_stage(
    client: TestClient, session: Session
) -> None:
    make_cycle(session, call_closed=False)
    client.get("/?lang=en")

    page = client.get("/finalists")

    assert page.status_code == 200
    assert "have not been announced yet" in page.text
    assert "Nominations are open until" in page.text
    for name in SECRET_NAMES:
        assert name not in page.text


def test_stage_follows_the_campaign_dates(client: TestClient, session: Session) -> None:
    cycle = make_cycle(session)
    campaign = cycle.campaign
    campaign.nominations_close_on = campaign.nominations_open_on
    session.add(campaign)
    session.commit()
    client.get("/?lang=en")

    page = client.get("/results")

    assert "Nominations are closed" in page.text
    assert "finalists will be announced around" in page.text


def test_results_without_any_campaign_say_so(client: TestClient) -> None:
    client.get("/?lang=en")

    assert client.get("/results").status_code == 200
    assert client.get("/finalists").status_code == 200
    assert client.get("/results/2020").status_code == 404
    assert client.get("/results/2020.json").status_code == 404


# --- finalists and photos -------------------------------------------------------------------


def test_announced_finalists_are_shown_per_theme_in_spanish_and_english(
    client: TestClient, session: Session
) -> None:
    cycle = make_cycle(session)
    staff_client(client, session, cycle)
    announce(client)
    anonymous(client)

    spanish = client.get("/finalists?lang=es")
    english = client.get("/finalists?lang=en")

    assert spanish.status_code == 200
    assert "Jóvenes" in spanish.text and "Abrió los contratos." in spanish.text
    assert "Youth" in english.text and "She opened the contracts." in english.text
    assert english.text.index("Ana Finalista") < english.text.index("Carla Finalista")
    assert "<script" not in spanish.text


def test_photo_is_public_only_once_the_finalist_is_announced(
    client: TestClient, session: Session, settings: Settings
) -> None:
    cycle = make_cycle(session, photo_store=FileStore(settings.files_dir))
    url = f"/media/finalists/{cycle.ana.id}.jpg"

    before = anonymous(client).get(url)
    staff_client(client, session, cycle)
    announce(client)
    finalists = anonymous(client).get("/finalists")
    after = client.get(url + f"?v={cycle.ana.photo_sha256[:16]}")

    assert before.status_code == 404
    assert not before.headers["content-type"].startswith("image/")
    assert f'src="{url}?v={cycle.ana.photo_sha256[:16]}"' in finalists.text
    assert after.status_code == 200
    assert after.headers["content-type"] == "image/png"
    assert after.headers["x-content-type-options"] == "nosniff"
    assert "max-age=31536000" in after.headers["cache-control"]
    assert (
        after.content
        == (FileStore(settings.files_dir).path_for(cycle.ana.photo_sha256)).read_bytes()
    )
    assert client.get(f"/media/finalists/{cycle.beto.id}.jpg").status_code == 404
    assert client.get("/media/finalists/99999.jpg").status_code == 404


def test_photo_frozen_in_a_published_revision_stays_available_after_a_new_photo(
    client: TestClient, session: Session, settings: Settings
) -> None:
    store = FileStore(settings.files_dir)
    cycle = make_cycle(session, photo_store=store)
    staff_client(client, session, cycle)
    publish_results(client, cycle)
    old = cycle.ana.photo_sha256
    new_photo = clean_upload(png_bytes("red"), "b.png", max_bytes=10**7, max_pixels=10**7)
    store.put(new_photo)
    cycle.ana.photo_sha256 = new_photo.sha256
    session.add(cycle.ana)
    session.commit()
    anonymous(client)

    published = client.get(f"/results/{cycle.campaign.year}")
    old_photo = client.get(f"/media/finalists/{cycle.ana.id}.jpg?v={old[:16]}")
    current = client.get(f"/media/finalists/{cycle.ana.id}.jpg?v={new_photo.sha256[:16]}")

    assert f"?v={old[:16]}" in published.text
    assert old_photo.content == store.path_for(old).read_bytes()
    assert current.content == new_photo.content
    # What the file store's sweep must keep besides current photos.
    among = {old, new_photo.sha256, "0" * 64}
    assert published_photo_hashes(session, among=among) == {old}


# --- published results ----------------------------------------------------------------------


def test_results_show_winners_profiles_and_how_they_were_chosen(
    client: TestClient, session: Session
) -> None:
    cycle = make_cycle(session)
    make_nomination(session, cycle.ana, nominator_name="Nominador Confidencial")
    staff_client(client, session, cycle)
    publish_results(client, cycle)
    anonymous(client).get("/?lang=en")
    year = cycle.campaign.year

    page = client.get("/results")

    assert page.status_code == 200
    text = page.text
    assert f'<link rel="canonical" href="http://testserver/results/{year}">' in text
    assert f"/results/{year}/winners/{cycle.ana.id}" in client.get(f"/results/{year}").text
    assert f'<a href="/results/{year}/winners/{cycle.ana.id}">Ana Finalista Ejemplo</a>' in text
    assert f'<a href="/results/{year}/winners/{cycle.carla.id}">' in text
    assert "Beto Finalista Ejemplo" in text  # among the other finalists
    assert "She opened the contracts." in text
    assert "How they were chosen" in text
    assert "Criterion 1" in text and "66.7%" in text
    assert "Meeting 1" in text
    assert "Nominador Confidencial" not in text
    assert "Jueza Secreta Uno" not in text
    assert "Published on" in text
    assert f'href="/results/{year}.json"' in text and f'href="/results/{year}.csv"' in text
    assert "<script" not in text
    spanish = client.get("/results?lang=es").text
    assert "Abrió los contratos." in spanish and '<html lang="es-MX">' in spanish


def test_winner_page_has_a_stable_url_and_open_graph_tags(
    client: TestClient, session: Session, settings: Settings
) -> None:
    cycle = make_cycle(session, photo_store=FileStore(settings.files_dir))
    staff_client(client, session, cycle)
    publish_results(client, cycle)
    anonymous(client).get("/?lang=en")
    year = cycle.campaign.year
    url = f"/results/{year}/winners/{cycle.ana.id}"

    page = client.get(url)
    no_photo = client.get(f"/results/{year}/winners/{cycle.carla.id}")
    not_winner = client.get(f"/results/{year}/winners/{cycle.beto.id}")

    assert page.status_code == 200
    text = page.text
    photo = f"http://testserver/media/finalists/{cycle.ana.id}.jpg?v={cycle.ana.photo_sha256[:16]}"
    assert f'<meta property="og:url" content="http://testserver{url}">' in text
    assert '<meta property="og:title" content="Ana Finalista Ejemplo, winner of Integrity' in text
    assert '<meta property="og:description" content="She opened the contracts.">' in text
    assert f'<meta property="og:image" content="{photo}">' in text
    assert '<meta name="twitter:card" content="summary_large_image">' in text
    assert f'<link rel="canonical" href="http://testserver{url}">' in text
    assert "Winner of Integrity Icon" in text
    assert '<meta name="twitter:card" content="summary">' in no_photo.text
    assert "og:image" not in no_photo.text
    assert not_winner.status_code == 404


def test_results_json_has_winners_profiles_and_figures_without_personal_data(
    client: TestClient, session: Session
) -> None:
    cycle = make_cycle(session)
    nomination = make_nomination(
        session, cycle.ana, nominee_contact="ana.privada@example.org", nominator_name="N. Secreta"
    )
    staff_client(client, session, cycle)
    publish_results(client, cycle)
    anonymous(client)
    year = cycle.campaign.year

    response = client.get(f"/results/{year}.json")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    data = response.json()
    assert data["campaign"]["year"] == year
    assert data["revision"]["number"] == 1
    youth = data["themes"][0]
    assert youth["winners"][0]["public_name"] == "Ana Finalista Ejemplo"
    assert youth["winners"][0]["url"] == f"http://testserver/results/{year}/winners/{cycle.ana.id}"
    assert data["how_chosen"]["figures"]["nominations"] == 1
    assert data["how_chosen"]["figures"]["judges"] == 2
    for secret in (
        nomination.nominator_email,
        "N. Secreta",
        "ana.privada@example.org",
        cycle.judges[0].email,
        "Jueza Secreta",
    ):
        assert secret not in response.text


def test_results_csv_is_an_attachment_with_formulas_neutralised(
    client: TestClient, session: Session
) -> None:
    cycle = make_cycle(session)
    cycle.ana.citation_es = '=HYPERLINK("http://evil.example","clic")'
    cycle.ana.public_institution = "@SUMA(1+1)"
    cycle.ana.public_position = "-Directora+1"
    session.add(cycle.ana)
    session.commit()
    staff_client(client, session, cycle)
    publish_results(client, cycle)
    anonymous(client)

    response = client.get(f"/results/{cycle.campaign.year}.csv")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    ana = next(r for r in rows if r["public_name"] == "Ana Finalista Ejemplo")
    assert ana["winner"] == "yes"
    assert ana["citation_es"] == '\'=HYPERLINK("http://evil.example","clic")'
    assert ana["public_institution"] == "'@SUMA(1+1)"
    assert ana["public_position"] == "'-Directora+1"
    # Numbers stay numbers: only text is neutralised.
    assert ana["year"] == str(cycle.campaign.year) and ana["finalist_id"] == str(cycle.ana.id)
    assert ana["judges"] == "2" and ana["finalists"] == "4"
    assert {r["public_name"] for r in rows if r["winner"] == "yes"} == {
        "Ana Finalista Ejemplo",
        "Carla Finalista Ejemplo",
    }
    assert "example.org" not in response.text


def test_correction_shows_its_date_and_reason_and_earlier_revisions_stay_readable(
    client: TestClient, session: Session
) -> None:
    cycle = make_cycle(session)
    staff_client(client, session, cycle)
    publish_results(client, cycle)
    cycle.ana.public_institution = "Municipio Corregido"
    session.add(cycle.ana)
    session.commit()
    prepare(client, reason="Se corrigió la institución de Ana.")
    publish(client, 2)
    anonymous(client).get("/?lang=en")
    year = cycle.campaign.year

    current = client.get("/results").text
    first = client.get(f"/results/{year}/revisions/1")
    second = client.get(f"/results/{year}/revisions/2")

    assert "Se corrigió la institución de Ana." in current
    assert "Municipio Corregido" in current
    assert f'href="/results/{year}/revisions/1"' in current
    assert first.status_code == second.status_code == 200
    assert "Municipio de Prueba" in first.text and "Municipio Corregido" not in first.text
    assert "earlier version" in first.text
    assert '<meta name="robots" content="noindex">' in first.text
    assert client.get(f"/results/{year}/revisions/3").status_code == 404
    assert client.get(f"/results/{year}.json").json()["revision"]["number"] == 2


def test_winner_removed_by_a_correction_keeps_a_page_that_says_so(
    client: TestClient, session: Session
) -> None:
    cycle = make_cycle(session)
    staff_client(client, session, cycle)
    publish_results(client, cycle)
    confirm(client, cycle.youth, [cycle.beto], rationale="Conflicto detectado.")
    prepare(client, reason="La ganadora de Jóvenes tenía un conflicto no declarado.")
    publish(client, 2)
    anonymous(client).get("/?lang=en")
    year = cycle.campaign.year

    removed = client.get(f"/results/{year}/winners/{cycle.ana.id}")
    added = client.get(f"/results/{year}/winners/{cycle.beto.id}")

    assert removed.status_code == 200
    assert "no longer listed among the winners" in removed.text
    assert "tenía un conflicto no declarado" in removed.text
    assert added.status_code == 200
    assert "no longer listed" not in added.text


def test_earlier_edition_stays_at_its_year_while_a_new_campaign_runs(
    client: TestClient, session: Session
) -> None:
    cycle = make_cycle(session)
    staff_client(client, session, cycle)
    publish_results(client, cycle)
    old_year = cycle.campaign.year
    cycle.campaign.year = old_year - 1
    session.add(cycle.campaign)
    session.commit()
    new = make_campaign(session, year=old_year, title_es="Edición nueva", title_en="New edition")
    make_theme(session, new, slug="youth")
    session.commit()
    anonymous(client).get("/?lang=en")

    current = client.get("/results")
    earlier = client.get(f"/results/{old_year - 1}")

    assert current.status_code == 200
    assert "Ana Finalista Ejemplo" not in current.text
    assert f'href="/results/{old_year - 1}"' in current.text
    assert earlier.status_code == 200
    assert "Ana Finalista Ejemplo" in earlier.text
    assert client.get(f"/results/{old_year}/revisions/1").status_code == 404


@pytest.mark.parametrize("year", ["abc", "0", "99999999999999999999", "-1"])
def test_results_of_a_malformed_year_are_not_found(client: TestClient, year: str) -> None:
    response = client.get(f"/results/{year}")

    assert response.status_code in (404, 422)
    assert response.status_code != 500
