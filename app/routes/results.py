"""Public pages of what staff published: /finalists, /results and its editions, revisions and
winners' pages, the open data (JSON, CSV) and the photos of published profiles.

Only published things are reachable here: before its staff action a page shows the stage the
campaign is in, and anything else unpublished is a 404 (app/services/results/public.py).
"""

import json
from datetime import date

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlmodel import Session

from app.i18n import TIMEZONE
from app.models import Campaign, utcnow
from app.services.files import FileStore
from app.services.results import charts, open_data, public
from app.services.results.public import StageView
from app.services.results.revisions import RevisionView
from app.services.voting import counting, setup
from app.services.voting.counting import PublishedVote
from app.services.voting.setup import VoteState
from app.web.deps import PathId, SessionDep, SettingsDep, get_templates, open_session
from app.web.pagecache import public_page
from app.web.templating import Templates

router = APIRouter()


def _today() -> date:
    return utcnow().astimezone(TIMEZONE).date()


def _people_choice(session: Session, campaign: Campaign | None) -> list[PublishedVote]:
    """The public vote's frozen counts, shown beside the judges' decision (issue 18)."""
    return counting.published_votes(session, campaign=campaign) if campaign else []


def _edition(
    request: Request, templates: Templates, view: RevisionView, session: Session
) -> Response:
    return templates.render(
        request,
        "results/edition.html",
        {
            "view": view,
            "photo_src": public.photo_path,
            "preview": False,
            "charts": charts.public_charts(
                session, campaign=view.campaign, locale=request.state.locale
            ),
            "stage_labels": charts.STAGES,
            "people_choice": _people_choice(session, view.campaign),
        },
    )


def _stage(
    request: Request, templates: Templates, view: StageView, session: Session, *, page: str
) -> Response:
    people_choice = _people_choice(session, view.campaign) if page == "results" else []
    return templates.render(
        request, "results/stage.html", {"view": view, "page": page, "people_choice": people_choice}
    )


@router.get("/finalists")
async def finalists(request: Request) -> Response:
    def render() -> Response:
        with open_session(request) as session:
            view = public.finalists_page(session, today=_today())
            templates = get_templates(request)
            if isinstance(view, StageView):
                return _stage(request, templates, view, session, page="finalists")
            # The public vote, where one is open: the page that shows the finalists invites
            # to it (issue 18).
            voting = [
                theme
                for theme, _vote, state in setup.public_votes(session, now=utcnow())
                if state is VoteState.open
            ]
            return templates.render(
                request,
                "results/finalists.html",
                {
                    "view": view,
                    "photo_src": public.photo_path,
                    "preview": False,
                    "voting": voting,
                },
            )

    return await public_page(request, "finalists", render)


@router.get("/results")
async def results(request: Request) -> Response:
    return await public_page(request, "results", lambda: _results_page(request, year=None))


def _results_page(request: Request, *, year: int | None) -> Response:
    with open_session(request) as session:
        view = public.results_page(session, year=year, today=_today())
        templates = get_templates(request)
        if isinstance(view, StageView):
            return _stage(request, templates, view, session, page="results")
        return _edition(request, templates, view, session)


# The open-data routes come before /results/{year}, whose parameter would otherwise take
# "2025.json" and refuse it as a year.
@router.get("/results/{year}.json")
def results_json(year: PathId, session: SessionDep, settings: SettingsDep) -> Response:
    view = public.edition_revision(session, year=year, number=None)
    data = open_data.results_json(view, base_url=settings.base_url)
    return Response(
        json.dumps(data, ensure_ascii=False, indent=2),
        media_type="application/json",
        # Open data: any site may read it.
        headers={"Access-Control-Allow-Origin": "*"},
    )


@router.get("/results/{year}.csv")
def results_csv(year: PathId, session: SessionDep, settings: SettingsDep) -> Response:
    view = public.edition_revision(session, year=year, number=None)
    text = open_data.results_csv(view, base_url=settings.base_url)
    return Response(
        # A byte-order mark, so spreadsheet programs read the accents as UTF-8.
        "\ufeff" + text,
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="integrity-icon-{year}-results.csv"',
        },
    )


@router.get("/results/{year}")
async def edition(request: Request, year: PathId) -> Response:
    return await public_page(request, "edition", lambda: _results_page(request, year=year))


@router.get("/results/{year}/revisions/{number}")
async def revision(request: Request, year: PathId, number: PathId) -> Response:
    def render() -> Response:
        with open_session(request) as session:
            view = public.edition_revision(session, year=year, number=number)
            return _edition(request, get_templates(request), view, session)

    return await public_page(request, "revision", render)


@router.get("/results/{year}/winners/{finalist_id}")
async def winner(request: Request, year: PathId, finalist_id: PathId) -> Response:
    def render() -> Response:
        with open_session(request) as session:
            view = public.winner_page(session, year=year, finalist_id=finalist_id)
            return get_templates(request).render(
                request,
                "results/winner.html",
                {"view": view, "photo_src": public.photo_path},
            )

    return await public_page(request, "winner", render)


@router.get("/media/finalists/{finalist_id}.jpg")
def finalist_photo(
    finalist_id: PathId, session: SessionDep, settings: SettingsDep, v: str = ""
) -> Response:
    photo = public.public_photo(
        session, store=FileStore(settings.files_dir), finalist_id=finalist_id, version=v[:64]
    )
    versioned = bool(v) and photo.sha256.startswith(v)
    return Response(
        photo.content,
        media_type=photo.content_type,
        headers={
            # The address names the photo's hash, so a new photo gets a new address.
            "Cache-Control": "public, max-age=31536000, immutable"
            if versioned
            else "public, max-age=3600",
            "ETag": f'"{photo.sha256}"',
            "X-Content-Type-Options": "nosniff",
            "Content-Disposition": f'inline; filename="finalist-{finalist_id}.jpg"',
        },
    )
