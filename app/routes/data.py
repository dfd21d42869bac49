"""Open data (issue 16): /data, each edition's DCAT catalogue and data dictionary, and the
files of its releases, the latest at stable addresses. Everything here is read from stored
releases (app/services/results/data_releases.py), never computed per request."""

import json
import re

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.errors import NotFound
from app.i18n import N_
from app.services.results import charts, data_releases
from app.web.deps import PathId, SessionDep, SettingsDep, get_templates, open_session
from app.web.pagecache import public_page

router = APIRouter()

FILE_NAME = re.compile(r"[a-z_]{1,60}\.(csv|json)")
OPEN = {"Access-Control-Allow-Origin": "*", "X-Content-Type-Options": "nosniff"}


@router.get("/data")
async def data_page(request: Request) -> Response:
    def render() -> Response:
        with open_session(request) as session:
            editions = data_releases.editions_with_data(session)
            locale = request.state.locale
            edition_charts = {
                e.campaign.year: charts.public_charts(session, campaign=e.campaign, locale=locale)
                for e in editions[:1]
            }
            return get_templates(request).render(
                request,
                "data/index.html",
                {
                    "editions": editions,
                    "charts": edition_charts,
                    "titles": data_releases.TITLES,
                    "license": data_releases.LICENSE,
                    "min_count": request.app.state.settings.open_data_min_count,
                    "stage_labels": charts.STAGES,
                },
            )

    return await public_page(request, "data", render)


@router.get("/data/{year}/catalog.json")
def catalog(year: PathId, session: SessionDep, settings: SettingsDep) -> Response:
    campaign = data_releases.campaign_by_year(session, year)
    data = data_releases.edition_data(session, campaign=campaign)
    body = json.dumps(
        data_releases.catalog(data, base_url=settings.base_url, org_name=settings.org_name),
        ensure_ascii=False,
        indent=1,
    )
    return Response(
        body,
        media_type="application/ld+json",
        headers={**OPEN, "Cache-Control": "public, max-age=300"},
    )


@router.get("/data/{year}/dictionary.csv")
def dictionary(year: PathId, session: SessionDep) -> Response:
    data_releases.campaign_by_year(session, year)
    return Response(
        data_releases.dictionary_csv(),
        media_type="text/csv; charset=utf-8",
        headers={
            **OPEN,
            "Cache-Control": "public, max-age=3600",
            "Content-Disposition": f'inline; filename="integrity-icon-{year}-dictionary.csv"',
        },
    )


def _file(
    request: Request, stored: data_releases.StoredFile, *, year: int, pinned: bool
) -> Response:
    etag = f'"{stored.sha256}"'
    headers = {
        **OPEN,
        "ETag": etag,
        # A release's own address never changes its bytes; the stable name follows the latest.
        "Cache-Control": "public, max-age=31536000, immutable" if pinned else "public, max-age=300",
        "Content-Disposition": f'inline; filename="integrity-icon-{year}-r{stored.number}-'
        f'{stored.name}"',
    }
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    media_type = stored.media_type + ("; charset=utf-8" if stored.name.endswith(".csv") else "")
    return Response(stored.content, media_type=media_type, headers=headers)


def _name(name: str) -> str:
    if not FILE_NAME.fullmatch(name):
        raise NotFound(N_("There is no such file in this edition's open data."))
    return name


@router.get("/data/{year}/releases/{number}/{name}")
def release_file(
    request: Request, year: PathId, number: PathId, name: str, session: SessionDep
) -> Response:
    stored = data_releases.release_file(session, year=year, number=number, name=_name(name))
    return _file(request, stored, year=year, pinned=True)


@router.get("/data/{year}/{name}")
def latest_file(request: Request, year: PathId, name: str, session: SessionDep) -> Response:
    stored = data_releases.release_file(session, year=year, number=None, name=_name(name))
    return _file(request, stored, year=year, pinned=False)
