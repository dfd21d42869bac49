"""/staff/exports: what can be exported, and the downloads themselves.

Downloads are plain GET links (a bookmarkable, filterable file), but each one is written to the
audit trail before the file leaves: who exported what, with which filters, how many rows.

A long export runs in this worker's turn (exports.ExportTurns, one at a time). One asked for
while another runs gets a page saying so, which asks again by itself every few seconds, instead
of a request thread waiting for the turn: the worker's other threads keep serving everyone.
"""

from collections.abc import Iterator

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse
from sqlmodel import Session

from app.db import session_scope
from app.errors import NotFound
from app.forms.errors import FormErrors
from app.forms.filters import NominationFilter
from app.i18n import N_, TIMEZONE
from app.models import MEXICAN_STATES, utcnow
from app.services.campaigns import campaigns
from app.services.nominations import exports
from app.services.nominations.exports import ExportFile, ExportFormat
from app.web.deps import CurrentAccount, SessionDep, TemplatesDep, TranslatorDep
from app.web.templating import Templates

router = APIRouter()

CHUNK = 64 * 1024


def _current_campaign_id(session: Session) -> int:
    campaign = campaigns.get_current_campaign(session)
    if campaign is None or campaign.id is None:
        raise NotFound(N_("There is no campaign yet."))
    return campaign.id


def _download(export: ExportFile) -> Response:
    def chunks() -> Iterator[bytes]:
        try:
            while chunk := export.content.read(CHUNK):
                yield chunk
        finally:
            export.content.close()

    return StreamingResponse(
        chunks(),
        media_type=export.media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{export.filename}"',
            "Content-Length": str(export.size),
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


def _waiting_page(request: Request, templates: Templates) -> Response:
    seconds = exports.RETRY_SECONDS
    return templates.render(
        request,
        "staff/exports/waiting.html",
        {
            "seconds": seconds,
            "again": request.url.path + (f"?{request.url.query}" if request.url.query else ""),
        },
        status_code=503,
        headers={"Retry-After": str(seconds)},
    )


def _export(
    request: Request,
    session: SessionDep,
    account: CurrentAccount,
    templates: TemplatesDep,
    t: TranslatorDep,
    *,
    what: str,
    file_format: ExportFormat,
) -> Response:
    filters = NominationFilter.from_query(dict(request.query_params))
    campaign_id = _current_campaign_id(session)
    count, build = (
        (exports.count_nominations, exports.export_nominations)
        if what == "nominations"
        else (exports.count_candidates, exports.export_candidates)
    )
    turns: exports.ExportTurns = request.app.state.export_turns
    with turns.turn(count(session, filters=filters, campaign_id=campaign_id)) as ours:
        if not ours:
            return _waiting_page(request, templates)
        export = build(
            session,
            filters=filters,
            campaign_id=campaign_id,
            file_format=file_format,
            t=t,
            today=utcnow().astimezone(TIMEZONE).date(),
        )
    try:
        # The page's own transaction has been reading; on SQLite it could not take the write
        # lock if someone wrote meanwhile, so the audit event gets its own short transaction
        # (as app.web.deps does to touch a session), committed before the file is sent.
        with session_scope(request.app.state.engine, write=True) as writer:
            exports.record_export(writer, actor=account, export=export)
            writer.commit()
    except BaseException:
        export.content.close()
        raise
    return _download(export)


@router.get("/exports")
def exports_page(
    request: Request, session: SessionDep, templates: TemplatesDep, t: TranslatorDep
) -> Response:
    filters = NominationFilter.from_query(dict(request.query_params))
    campaign = campaigns.get_current_campaign(session)
    themes = campaigns.list_themes(session, campaign=campaign, now=utcnow()) if campaign else []
    matching = (
        exports.count_nominations(session, filters=filters, campaign_id=campaign.id)
        if campaign is not None and campaign.id is not None
        else 0
    )
    query = filters.query_string(page=1)
    return templates.render(
        request,
        "staff/exports/index.html",
        {
            "campaign": campaign,
            "filters": filters,
            "values": filters.model_dump(mode="json"),
            "themes": [(v.theme.slug, t.pick(v.theme.name_es, v.theme.name_en)) for v in themes],
            "errors": FormErrors(),
            "states": MEXICAN_STATES,
            "matching": matching,
            "suffix": f"?{query}" if query else "",
            "long_rows": request.app.state.export_turns.long_rows,
        },
    )


@router.get("/exports/nominations.csv")
def nominations_csv(
    request: Request,
    session: SessionDep,
    account: CurrentAccount,
    templates: TemplatesDep,
    t: TranslatorDep,
) -> Response:
    return _export(
        request, session, account, templates, t, what="nominations", file_format=ExportFormat.csv
    )


@router.get("/exports/nominations.xlsx")
def nominations_xlsx(
    request: Request,
    session: SessionDep,
    account: CurrentAccount,
    templates: TemplatesDep,
    t: TranslatorDep,
) -> Response:
    return _export(
        request, session, account, templates, t, what="nominations", file_format=ExportFormat.xlsx
    )


@router.get("/exports/candidates.csv")
def candidates_csv(
    request: Request,
    session: SessionDep,
    account: CurrentAccount,
    templates: TemplatesDep,
    t: TranslatorDep,
) -> Response:
    return _export(
        request, session, account, templates, t, what="candidates", file_format=ExportFormat.csv
    )


@router.get("/exports/candidates.xlsx")
def candidates_xlsx(
    request: Request,
    session: SessionDep,
    account: CurrentAccount,
    templates: TemplatesDep,
    t: TranslatorDep,
) -> Response:
    return _export(
        request, session, account, templates, t, what="candidates", file_format=ExportFormat.xlsx
    )
