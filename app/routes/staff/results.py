"""/staff/meetings/{id}/results: a meeting's aggregated scores, as a page and as CSV, and the
meeting's decision (who advances, who is proposed as winner, the minutes); and, for audit, a
closed meeting's raw score sheets (/staff/meetings/{id}/sheets.csv and .xlsx)."""

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from app.db import session_scope
from app.forms.errors import FormErrors
from app.forms.judging import parse_decision
from app.i18n import TIMEZONE, Translator
from app.models import utcnow
from app.services.judging import aggregation, method, sheet_export
from app.services.judging.aggregation import MeetingResults
from app.services.nominations.exports import ExportFormat
from app.web.deps import CurrentAccount, PathId, SessionDep, TemplatesDep, TranslatorDep
from app.web.form_body import VerifiedForm, form_items
from app.web.templating import NO_STORE, Templates

router = APIRouter()


def number(value: float | None, places: int = 2) -> str:
    """A figure of the results table; a dash when there is none."""
    return "—" if value is None else f"{value:.{places}f}"


def _values_of(results: MeetingResults) -> dict[str, object]:
    return {
        "advanced": {row.finalist.id for row in results.rows if row.advanced},
        "proposed_winner": {row.finalist.id for row in results.rows if row.proposed_winner},
        "minutes": results.meeting.minutes,
    }


def _page(
    request: Request,
    templates: Templates,
    results: MeetingResults,
    *,
    values: dict[str, object] | None = None,
    errors: FormErrors | None = None,
    status_code: int = 200,
) -> Response:
    return templates.render(
        request,
        "staff/meetings/results.html",
        {
            "results": results,
            "values": values or _values_of(results),
            "errors": errors or FormErrors(),
            "saved": request.query_params.get("saved") == "1" and not errors,
            "number": number,
            "contested_rule": method.contested_rule,
        },
        status_code=status_code,
    )


@router.get("/meetings/{meeting_id}/results")
def results_page(
    request: Request, meeting_id: PathId, session: SessionDep, templates: TemplatesDep
) -> Response:
    results = aggregation.meeting_results(session, meeting_id=meeting_id)
    return _page(request, templates, results)


@router.get("/meetings/{meeting_id}/results.csv")
def results_csv(meeting_id: PathId, session: SessionDep, t: TranslatorDep) -> Response:
    results = aggregation.meeting_results(session, meeting_id=meeting_id)
    filename = f"meeting-{results.meeting.number}-results.csv"
    return Response(
        aggregation.results_csv(results, t),
        media_type="text/csv; charset=utf-8",
        headers={**NO_STORE, "Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _sheets_download(
    request: Request,
    meeting_id: int,
    session: SessionDep,
    account: CurrentAccount,
    t: Translator,
    file_format: ExportFormat,
) -> Response:
    export = sheet_export.export_sheets(
        session,
        meeting_id=meeting_id,
        file_format=file_format,
        t=t,
        today=utcnow().astimezone(TIMEZONE).date(),
    )
    try:
        content = export.content.read()
    finally:
        export.content.close()
    # The audit event gets its own short write transaction, committed before the file leaves
    # (as app/routes/staff/exports.py does: this request's session has been reading).
    with session_scope(request.app.state.engine, write=True) as writer:
        sheet_export.record_sheets_export(writer, actor=account, export=export)
        writer.commit()
    return Response(
        content,
        media_type=export.media_type,
        headers={
            **NO_STORE,
            "Content-Disposition": f'attachment; filename="{export.filename}"',
            "X-Content-Type-Options": "nosniff",
        },
    )


@router.get("/meetings/{meeting_id}/sheets.csv")
def sheets_csv(
    request: Request,
    meeting_id: PathId,
    session: SessionDep,
    account: CurrentAccount,
    t: TranslatorDep,
) -> Response:
    return _sheets_download(request, meeting_id, session, account, t, ExportFormat.csv)


@router.get("/meetings/{meeting_id}/sheets.xlsx")
def sheets_xlsx(
    request: Request,
    meeting_id: PathId,
    session: SessionDep,
    account: CurrentAccount,
    t: TranslatorDep,
) -> Response:
    return _sheets_download(request, meeting_id, session, account, t, ExportFormat.xlsx)


@router.post("/meetings/{meeting_id}/results")
def record_decision(
    request: Request,
    meeting_id: PathId,
    body: VerifiedForm,
    session: SessionDep,
    templates: TemplatesDep,
    t: TranslatorDep,
    account: CurrentAccount,
) -> Response:
    form, errors = parse_decision(form_items(body), t, bad_encoding=body.bad_encoding)
    if not errors:
        try:
            aggregation.record_decision(
                session,
                meeting_id=meeting_id,
                actor=account,
                advanced=form.advanced,
                proposed_winners=form.proposed_winners,
                minutes=form.minutes,
            )
        except aggregation.DecisionInvalid as invalid:
            for name, (message, params) in invalid.fields.items():
                errors.add(name, t(message, **params))
    if errors:
        session.rollback()
        results = aggregation.meeting_results(session, meeting_id=meeting_id)
        typed: dict[str, object] = {
            "advanced": form.advanced,
            "proposed_winner": form.proposed_winners,
            "minutes": form.minutes,
        }
        return _page(request, templates, results, values=typed, errors=errors, status_code=422)
    session.commit()
    return RedirectResponse(f"/staff/meetings/{meeting_id}/results?saved=1", status_code=303)
