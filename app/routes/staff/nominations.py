"""The screening queue, one nomination, its evidence files, and staff's decisions and notes."""

import unicodedata
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, RedirectResponse, Response

from app.errors import NotFound
from app.forms.base import validate
from app.forms.errors import FormErrors
from app.forms.filters import NominationFilter
from app.forms.screening import BulkDecisionForm, DecisionForm, NoteForm
from app.i18n import N_
from app.models import MEXICAN_STATES, utcnow
from app.services.files import FileStore
from app.services.nominations import screening
from app.services.nominations.assisted import CHANNEL_LABELS, CONSENT_LABELS
from app.web.deps import (
    CurrentAccount,
    PathId,
    SessionDep,
    SettingsDep,
    TemplatesDep,
    TranslatorDep,
)
from app.web.form_body import VerifiedForm, form_lists, form_values
from app.web.templating import Templates

router = APIRouter()

FILE_GONE = N_("This file is no longer stored.")


def _queue_page(
    request: Request,
    templates: Templates,
    session: SessionDep,
    *,
    values: dict[str, Any] | None = None,
    errors: FormErrors | None = None,
    status_code: int = 200,
) -> Response:
    filters = NominationFilter.from_query(dict(request.query_params))
    found = screening.get_queue(session, filters=filters)
    return templates.render(
        request,
        "staff/nominations/list.html",
        {
            "queue": found,
            "filters": filters,
            "states": MEXICAN_STATES,
            "status_labels": screening.STATUS_LABELS,
            "channel_labels": CHANNEL_LABELS,
            "bulk": values or {"nominations": []},
            "errors": errors or FormErrors(),
        },
        status_code=status_code,
    )


@router.get("/nominations")
def queue(request: Request, session: SessionDep, templates: TemplatesDep) -> Response:
    return _queue_page(request, templates, session)


@router.post("/nominations/bulk")
def decide_many(
    request: Request,
    body: VerifiedForm,
    account: CurrentAccount,
    session: SessionDep,
    templates: TemplatesDep,
    t: TranslatorDep,
) -> Response:
    """One decision and reason for the ticked nominations; the queue's filters are kept."""
    values: dict[str, Any] = {**form_values(body), **form_lists(body, "nominations")}
    form, errors = validate(BulkDecisionForm, values, t, bad_encoding=body.bad_encoding)
    if form is not None:
        try:
            screening.decide_many(
                session,
                nomination_ids=form.nominations,
                actor=account,
                status=form.action,
                reason=form.reason,
            )
        except screening.ReasonRequired as error:
            errors.add("reason", t(error.message))
    if errors or form is None:
        session.rollback()
        return _queue_page(
            request, templates, session, values=values, errors=errors, status_code=422
        )
    session.commit()
    query = NominationFilter.from_query(dict(request.query_params)).query_string(page=1)
    return RedirectResponse(f"/staff/nominations{'?' + query if query else ''}", status_code=303)


def _detail_page(
    request: Request,
    templates: Templates,
    detail: screening.NominationDetail,
    *,
    decision: dict[str, str] | None = None,
    decision_errors: FormErrors | None = None,
    note: dict[str, str] | None = None,
    note_errors: FormErrors | None = None,
    status_code: int = 200,
) -> Response:
    decision_errors = decision_errors or FormErrors()
    note_errors = note_errors or FormErrors()
    return templates.render(
        request,
        "staff/nominations/detail.html",
        {
            "detail": detail,
            "n": detail.nomination,
            "states": MEXICAN_STATES,
            "status_labels": screening.STATUS_LABELS,
            "channel_labels": CHANNEL_LABELS,
            "consent_labels": CONSENT_LABELS,
            "decisions": screening.DECISIONS,
            "decision": decision or {},
            "decision_errors": decision_errors,
            "note": note or {},
            "note_errors": note_errors,
            # One summary at the top for whichever form was sent.
            "all_errors": FormErrors(
                fields={**decision_errors.fields, **note_errors.fields},
                general=decision_errors.general + note_errors.general,
            ),
        },
        status_code=status_code,
    )


@router.get("/nominations/{nomination_id}")
def show_nomination(
    request: Request, nomination_id: PathId, session: SessionDep, templates: TemplatesDep
) -> Response:
    detail = screening.get_nomination_detail(session, nomination_id=nomination_id)
    return _detail_page(request, templates, detail)


@router.post("/nominations/{nomination_id}/status")
def decide(
    request: Request,
    nomination_id: PathId,
    body: VerifiedForm,
    account: CurrentAccount,
    session: SessionDep,
    templates: TemplatesDep,
    t: TranslatorDep,
) -> Response:
    values = form_values(body)
    form, errors = validate(DecisionForm, values, t, bad_encoding=body.bad_encoding)
    if form is not None:
        try:
            screening.decide(
                session,
                nomination_id=nomination_id,
                actor=account,
                status=form.action,
                reason=form.reason,
            )
        except screening.ReasonRequired as error:
            errors.add("reason", t(error.message))
    if errors or form is None:
        detail = screening.get_nomination_detail(session, nomination_id=nomination_id)
        return _detail_page(
            request, templates, detail, decision=values, decision_errors=errors, status_code=422
        )
    session.commit()
    return RedirectResponse(f"/staff/nominations/{nomination_id}", status_code=303)


@router.post("/nominations/{nomination_id}/notes")
def add_note(
    request: Request,
    nomination_id: PathId,
    body: VerifiedForm,
    account: CurrentAccount,
    session: SessionDep,
    templates: TemplatesDep,
    t: TranslatorDep,
) -> Response:
    values = form_values(body)
    form, errors = validate(NoteForm, values, t, bad_encoding=body.bad_encoding)
    if form is None:
        detail = screening.get_nomination_detail(session, nomination_id=nomination_id)
        return _detail_page(
            request, templates, detail, note=values, note_errors=errors, status_code=422
        )
    screening.add_note(
        session, nomination_id=nomination_id, author=account, body=form.body, now=utcnow()
    )
    session.commit()
    return RedirectResponse(f"/staff/nominations/{nomination_id}#notes", status_code=303)


def _ascii(name: str) -> str:
    """The name in plain ASCII ("Informe López.pdf" -> "Informe Lopez.pdf")."""
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    stem, dot, extension = folded.rpartition(".")
    if not dot:
        return folded.strip() or "evidence"
    return f"{stem.strip() or 'evidence'}.{extension}"


@router.get("/nominations/{nomination_id}/files/{file_id}")
def download_file(
    nomination_id: PathId, file_id: PathId, session: SessionDep, settings: SettingsDep
) -> Response:
    file = screening.get_evidence_file(session, nomination_id=nomination_id, file_id=file_id)
    path = FileStore(settings.files_dir).path_for(file.sha256)
    if not path.is_file():
        raise NotFound(FILE_GONE)
    name = screening.download_name(file)
    return FileResponse(
        path,
        media_type=file.content_type,
        headers={
            # RFC 6266: an ASCII name for old clients, the real one in RFC 5987 form for others.
            "Content-Disposition": (
                f"attachment; filename=\"{_ascii(name)}\"; filename*=UTF-8''{quote(name, safe='')}"
            ),
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "sandbox; default-src 'none'",
            "Cache-Control": "no-store",
        },
    )
