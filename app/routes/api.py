"""The read-only JSON API, /api/v1 (issue 16): an application of its own, mounted by app.main,
whose OpenAPI description is at /api/v1/openapi.json in production too.

Every list is paginated (`page`, `per_page`); every answer carries an ETag (a 304 answers a
matching If-None-Match) and Cache-Control. Errors are JSON, in the caller's language.
"""

import hashlib
import json
from typing import Annotated, Any

from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from sqlalchemy import Engine
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.config import Settings
from app.errors import DomainError
from app.i18n import N_, TIMEZONE
from app.models import utcnow
from app.services.results import public_api
from app.web.deps import PathId, SessionDep, SettingsDep
from app.web.templating import translator

PREFIX = "/api/v1"
MAX_PER_PAGE = 100

Page = Annotated[int, Query(ge=1, le=100_000, description="page number, from 1")]
PerPage = Annotated[int, Query(ge=1, le=MAX_PER_PAGE, description="items per page")]


def _json(request: Request, data: Any, *, max_age: int = 300) -> Response:
    body = json.dumps(data, ensure_ascii=False, sort_keys=True).encode()
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    headers = {
        "ETag": etag,
        "Cache-Control": f"public, max-age={max_age}",
        "Access-Control-Allow-Origin": "*",
        "Vary": "Accept-Language",
    }
    if etag in [t.strip() for t in request.headers.get("if-none-match", "").split(",")]:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/json", headers=headers)


def _page(request: Request, items: list[Any], page: int, per_page: int) -> Response:
    start = (page - 1) * per_page
    base = str(request.url.remove_query_params(["page", "per_page"]))

    def link(number: int) -> str:
        return f"{base}?page={number}&per_page={per_page}"

    last = max(1, -(-len(items) // per_page))
    return _json(
        request,
        {
            "items": items[start : start + per_page],
            "page": page,
            "per_page": per_page,
            "total": len(items),
            "pages": last,
            "next": link(page + 1) if page < last else None,
            "previous": link(page - 1) if 1 < page <= last else None,
        },
    )


def _today() -> Any:
    return utcnow().astimezone(TIMEZONE).date()


def build_api(settings: Settings, engine: Engine) -> FastAPI:
    api = FastAPI(
        title="Integrity Icon open data API",
        version="1",
        description="Read-only public data: editions, themes, finalists, winners, statistics. "
        "Counts below OPEN_DATA_MIN_COUNT are suppressed, as in the open-data files (/data).",
        openapi_url="/openapi.json",
        docs_url=None,
        redoc_url=None,
    )
    api.state.settings = settings
    api.state.engine = engine

    @api.get("/editions")
    def list_editions(
        request: Request,
        session: SessionDep,
        settings: SettingsDep,
        page: Page = 1,
        per_page: PerPage = 20,
    ) -> Response:
        """Every edition, newest first: its dates, stage and links."""
        items = public_api.editions(session, today=_today(), base_url=settings.base_url)
        return _page(request, items, page, per_page)

    @api.get("/editions/{year}")
    def get_edition(
        request: Request, year: PathId, session: SessionDep, settings: SettingsDep
    ) -> Response:
        """One edition by its year."""
        return _json(
            request,
            public_api.edition(session, year=year, today=_today(), base_url=settings.base_url),
        )

    @api.get("/editions/{year}/themes")
    def list_themes(
        request: Request,
        year: PathId,
        session: SessionDep,
        page: Page = 1,
        per_page: PerPage = 20,
    ) -> Response:
        """The edition's themes, with their descriptions and nomination windows."""
        return _page(request, public_api.themes(session, year=year), page, per_page)

    @api.get("/editions/{year}/finalists")
    def list_finalists(
        request: Request,
        year: PathId,
        session: SessionDep,
        page: Page = 1,
        per_page: PerPage = 20,
    ) -> Response:
        """Announced finalists' public profiles (none before the announcement)."""
        return _page(request, public_api.finalists(session, year=year), page, per_page)

    @api.get("/editions/{year}/winners")
    def list_winners(
        request: Request,
        year: PathId,
        session: SessionDep,
        page: Page = 1,
        per_page: PerPage = 20,
    ) -> Response:
        """Winners of the published results (none before publication)."""
        return _page(request, public_api.winners(session, year=year), page, per_page)

    @api.get("/editions/{year}/statistics")
    def list_statistics(
        request: Request,
        year: PathId,
        session: SessionDep,
        page: Page = 1,
        per_page: PerPage = MAX_PER_PAGE,
    ) -> Response:
        """Participation by theme, state and week, and the path to the winners, from the
        latest open-data release: counts below OPEN_DATA_MIN_COUNT are null, flagged."""
        return _page(request, public_api.statistics(session, year=year), page, per_page)

    _install_errors(api)
    return api


def _error(request: Request, status: int, message: str, **params: object) -> Response:
    text = translator(request)(message, **params)
    body = json.dumps({"error": text, "status": status}, ensure_ascii=False)
    return Response(
        body,
        status_code=status,
        media_type="application/json",
        headers={"Cache-Control": "no-store"},
    )


def _install_errors(api: FastAPI) -> None:
    @api.exception_handler(DomainError)
    async def domain_error(request: Request, exc: DomainError) -> Response:
        return _error(request, exc.status_code, exc.message, **exc.params)

    @api.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        return _error(
            request,
            exc.status_code,
            N_("We could not find this page.")
            if exc.status_code == 404
            else N_("The request could not be understood."),
        )

    @api.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        if any(error.get("loc", ())[:1] == ("path",) for error in exc.errors()):
            return _error(request, 404, N_("We could not find this page."))
        return _error(request, 422, N_("The page number or page size is not valid."))
