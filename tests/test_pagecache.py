"""Public pages served from memory between renders (app/web/pagecache.py): what is kept, for whom,
and that a change shows at once in the worker that made it."""

import asyncio
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.responses import HTMLResponse, Response
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event
from sqlmodel import Session
from starlette.requests import Request

from app.models import utcnow
from app.routes import public
from app.web import pagecache
from app.web.csrf import COOKIE_NAME
from tests.factories import csrf_token_from, form_token, make_open_campaign, post_nomination


class QueryCounter:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.count = 0

    def __call__(self, *_args: Any) -> None:
        self.count += 1


@pytest.fixture
def queries(engine: Engine) -> Iterator[QueryCounter]:
    counter = QueryCounter(engine)
    event.listen(engine, "before_cursor_execute", counter)
    yield counter
    event.remove(engine, "before_cursor_execute", counter)


@pytest.fixture
def campaign(session: Session) -> None:
    make_open_campaign(session)


def test_a_second_visit_is_served_without_the_database(
    client: TestClient, campaign: None, queries: QueryCounter
) -> None:
    first = client.get("/")
    assert first.status_code == 200
    assert queries.count > 0
    queries.count = 0
    client.cookies.clear()
    second = client.get("/")
    assert second.status_code == 200
    assert queries.count == 0
    assert second.text == first.text
    # What the middleware adds per request is still there: a new visitor's CSRF cookie, the
    # language and the security headers.
    assert COOKIE_NAME in second.cookies
    assert second.headers["content-language"] == "es"
    assert "default-src 'self'" in second.headers["content-security-policy"]
    assert second.headers["content-type"].startswith("text/html")


def test_each_language_is_kept_apart(
    client: TestClient, campaign: None, queries: QueryCounter
) -> None:
    spanish = client.get("/")
    english = client.get("/?lang=en")
    assert 'lang="en"' in english.text
    assert english.text != spanish.text
    queries.count = 0
    assert client.get("/?lang=en").text == english.text
    client.cookies.clear()
    assert client.get("/").text == spanish.text
    assert queries.count == 0


def test_an_address_with_another_query_is_not_kept(
    client: TestClient, campaign: None, queries: QueryCounter
) -> None:
    client.get("/?utm_source=radio")
    queries.count = 0
    client.get("/?utm_source=radio")
    assert queries.count > 0


def test_a_change_shows_at_once_in_the_same_worker(
    client: TestClient, session: Session, queries: QueryCounter
) -> None:
    campaign, _, _ = make_open_campaign(session)
    assert campaign.title_es in client.get("/").text
    campaign.title_es = "Convocatoria renovada de Integridad"
    session.add(campaign)
    session.commit()
    assert "Convocatoria renovada de Integridad" in client.get("/").text


def test_nominations_do_not_discard_the_kept_pages(
    client: TestClient, campaign: None, queries: QueryCounter
) -> None:
    client.get("/")
    response = post_nomination(client, "youth")
    assert response.status_code == 303
    queries.count = 0
    client.get("/")
    assert queries.count == 0


def test_a_kept_page_ages_out(
    client: TestClient, campaign: None, queries: QueryCounter, monkeypatch: pytest.MonkeyPatch
) -> None:
    client.get("/results")
    queries.count = 0
    client.get("/results")
    assert queries.count == 0
    now = pagecache.time.monotonic()
    monkeypatch.setattr(pagecache.time, "monotonic", lambda: now + 11)
    client.get("/results")
    assert queries.count > 0


def test_error_pages_are_not_kept(client: TestClient, queries: QueryCounter) -> None:
    assert client.get("/results/1999").status_code == 404
    queries.count = 0
    assert client.get("/results/1999").status_code == 404
    assert queries.count > 0


def test_turned_off_every_visit_renders(
    app: FastAPI, client: TestClient, campaign: None, queries: QueryCounter
) -> None:
    app.state.page_cache = pagecache.PageCache(0)
    client.get("/")
    queries.count = 0
    client.get("/")
    assert queries.count > 0


def test_a_kept_form_carries_each_visitor_own_token(
    client: TestClient, campaign: None, queries: QueryCounter
) -> None:
    first = csrf_token_from(client.get("/nominate/youth"))
    first_cookie = client.cookies[COOKIE_NAME]
    client.cookies.clear()
    queries.count = 0
    page = client.get("/nominate/youth")
    assert queries.count == 0
    assert "@@" not in page.text
    second = csrf_token_from(page)
    assert second != first
    # Each token is bound to its own visitor's cookie: the first visitor's is refused here, the
    # second visitor's own is accepted.
    assert client.cookies[COOKIE_NAME] != first_cookie
    assert post_nomination(client, "youth", token=first).status_code == 403
    assert post_nomination(client, "youth", token=second).status_code == 303


def test_a_theme_closed_by_staff_refuses_the_next_nomination_at_once(
    client: TestClient, session: Session
) -> None:
    _, youth, _ = make_open_campaign(session)
    assert post_nomination(client, "youth").status_code == 303  # the theme is now kept
    token = form_token(client, "youth")
    youth.closes_at = utcnow() - timedelta(minutes=1)
    session.add(youth)
    session.commit()
    assert post_nomination(client, "youth", token=token).status_code == 403


class SlowPage:
    """A page that takes a while to render and counts its renders."""

    def __init__(self) -> None:
        self.renders = 0

    def __call__(self, request: Request, name: str) -> Response:
        self.renders += 1
        time.sleep(0.3)
        return HTMLResponse(f"<p>render {self.renders}</p>")


async def _visits(app: FastAPI, count: int) -> list[str]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        responses = await asyncio.gather(*(http.get("/") for _ in range(count)))
    assert {response.status_code for response in responses} == {200}
    return [response.text for response in responses]


def test_a_spike_renders_a_page_once(
    app: FastAPI, campaign: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    slow = SlowPage()
    monkeypatch.setattr(public, "_campaign_page", slow)
    pages = asyncio.run(_visits(app, 6))
    assert slow.renders == 1
    assert set(pages) == {"<p>render 1</p>"}


def test_an_aged_copy_is_served_while_one_visit_renders_the_next(
    app: FastAPI, campaign: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    slow = SlowPage()
    monkeypatch.setattr(public, "_campaign_page", slow)
    asyncio.run(_visits(app, 1))
    now = pagecache.time.monotonic()
    monkeypatch.setattr(pagecache.time, "monotonic", lambda: now + 11)
    pages = asyncio.run(_visits(app, 6))
    assert slow.renders == 2
    assert sorted(pages) == ["<p>render 1</p>"] * 5 + ["<p>render 2</p>"]
