"""Sanction registries: list files uploaded, the edition screened, possible matches adjudicated,
a candidate's identifiers recorded. Staff only; judges and the public never see any of it."""

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session

from app.forms.base import validate
from app.forms.errors import FormErrors
from app.forms.sanctions import (
    ConfirmMatchForm,
    IdentityForm,
    ImportListForm,
    MatchFilter,
    validate_dismissal,
)
from app.models import MatchStatus, utcnow
from app.services.candidates.sanctions import adjudication, overview
from app.services.candidates.sanctions.formats import FileRefused
from app.services.candidates.sanctions.importers import import_list
from app.services.candidates.sanctions.screening import edition, screen_edition
from app.web.body import FormBody
from app.web.deps import (
    CurrentAccount,
    PathId,
    SessionDep,
    SettingsDep,
    TemplatesDep,
    TranslatorDep,
)
from app.web.form_body import (
    VerifiedForm,
    form_body,
    form_values,
    refuse_repeated_fields,
    verify_csrf,
)
from app.web.templating import Templates

router = APIRouter()


async def _upload_body(request: Request) -> AsyncIterator[FormBody]:
    """A list file (and OFAC's aliases file) up to SANCTIONS_MAX_UPLOAD_BYTES each, kept in
    temporary files beyond a small size, freed after the response."""
    limit = request.app.state.settings.sanctions_max_upload_bytes
    body = await form_body(request, max_files=2, max_file_bytes=limit, max_total_bytes=2 * limit)
    try:
        verify_csrf(request, body)
        refuse_repeated_fields(body)
        yield body
    finally:
        body.close()


UploadBody = Annotated[FormBody, Depends(_upload_body)]


def _index(
    request: Request,
    templates: Templates,
    session: Session,
    *,
    values: dict[str, str] | None = None,
    errors: FormErrors | None = None,
    status_code: int = 200,
) -> Response:
    filters = MatchFilter.from_query(request.query_params)
    status = None if filters.status == "all" else MatchStatus(filters.status)
    page = overview.sanctions_page(session, status=status)
    return templates.render(
        request,
        "staff/sanctions/index.html",
        {
            "page": page,
            "filters": filters,
            "values": values or {"source": ""},
            "errors": errors or FormErrors(),
            "done": request.query_params.get("done", ""),
            "query": request.query_params,
        },
        status_code=status_code,
    )


@router.get("/sanctions")
def sanctions_index(request: Request, session: SessionDep, templates: TemplatesDep) -> Response:
    return _index(request, templates, session)


@router.post("/sanctions/import")
def upload_list(
    request: Request,
    body: UploadBody,
    account: CurrentAccount,
    session: SessionDep,
    settings: SettingsDep,
    templates: TemplatesDep,
    t: TranslatorDep,
) -> Response:
    values = form_values(body)
    form, errors = validate(ImportListForm, values, t, bad_encoding=body.bad_encoding)
    files = {upload.field: upload for upload in body.files if upload.filename}
    main = files.get("file")
    extra = files.get("aliases")
    if main is None:
        errors.add("file", t("Choose the list file to import."))
    if extra is not None and form is not None and form.source.value != "ofac-sdn":
        errors.add("aliases", t("Only the ofac-sdn list has an aliases file."))
    if form is not None and main is not None and not errors:
        main.spool.seek(0)
        if extra is not None:
            extra.spool.seek(0)
        try:
            summary = import_list(
                session,
                list_format=form.source,
                file=main.spool,
                file_name=main.filename,
                aliases=extra.spool if extra is not None else None,
                aliases_file_name=extra.filename if extra is not None else "",
                name=form.name or None,
                actor=account,
                settings=settings,
                now=utcnow(),
            )
        except FileRefused as refused:
            session.rollback()
            errors.add("file", t(refused.message, **refused.params))
        else:
            session.commit()
            result = summary.result
            return RedirectResponse(
                f"/staff/sanctions?done=imported&added={result.added}&changed={result.changed}"
                f"&removed={result.removed}&list={result.source.id}#lists",
                status_code=303,
            )
    return _index(request, templates, session, values=values, errors=errors, status_code=422)


@router.post("/sanctions/screen")
def screen_now(
    body: VerifiedForm, account: CurrentAccount, session: SessionDep, settings: SettingsDep
) -> Response:
    """Screens every nominee of the current edition against the lists as they are now."""
    campaign = edition(session, year=None)
    screen_edition(session, campaign=campaign, settings=settings, actor=account, now=utcnow())
    session.commit()
    return RedirectResponse("/staff/sanctions?done=screened#matches", status_code=303)


def _match_page(
    request: Request,
    templates: Templates,
    session: Session,
    match_id: int,
    *,
    values: dict[str, str] | None = None,
    errors: FormErrors | None = None,
    status_code: int = 200,
) -> Response:
    group = adjudication.get_group(session, match_id=match_id)
    back = request.query_params.get("back", "queue")
    return templates.render(
        request,
        "staff/sanctions/match.html",
        {
            "group": group,
            "back": back if back in ("queue", "candidate", "match") else "queue",
            "values": values or {},
            "errors": errors or FormErrors(),
        },
        status_code=status_code,
    )


@router.get("/sanctions/matches/{match_id}")
def show_match(
    request: Request, match_id: PathId, session: SessionDep, templates: TemplatesDep
) -> Response:
    return _match_page(request, templates, session, match_id)


def _back(back: str, group_id: int, candidate_id: int | None) -> str:
    if back == "candidate" and candidate_id is not None:
        return f"/staff/candidates/{candidate_id}#sanctions"
    if back == "match":
        return f"/staff/sanctions/matches/{group_id}"
    return "/staff/sanctions#matches"


@router.post("/sanctions/matches/{match_id}/confirm")
def confirm_match(
    request: Request,
    match_id: PathId,
    body: VerifiedForm,
    account: CurrentAccount,
    session: SessionDep,
    templates: TemplatesDep,
    t: TranslatorDep,
) -> Response:
    values = form_values(body)
    form, errors = validate(ConfirmMatchForm, values, t, bad_encoding=body.bad_encoding)
    if form is None:
        return _match_page(
            request, templates, session, match_id, values=values, errors=errors, status_code=422
        )
    group = adjudication.confirm_match(
        session, actor=account, match_id=match_id, form=form, now=utcnow()
    )
    session.commit()
    person = group.person[1] if group.person[0] == "candidate" else None
    return RedirectResponse(_back(form.back, group.id, person), status_code=303)


@router.post("/sanctions/matches/{match_id}/dismiss")
def dismiss_match(
    request: Request,
    match_id: PathId,
    body: VerifiedForm,
    account: CurrentAccount,
    session: SessionDep,
    templates: TemplatesDep,
    t: TranslatorDep,
) -> Response:
    values = form_values(body)
    form, errors = validate_dismissal(values, t, bad_encoding=body.bad_encoding)
    if form is None:
        return _match_page(
            request, templates, session, match_id, values=values, errors=errors, status_code=422
        )
    group = adjudication.dismiss_match(
        session, actor=account, match_id=match_id, form=form, now=utcnow()
    )
    session.commit()
    person = group.person[1] if group.person[0] == "candidate" else None
    return RedirectResponse(_back(form.back, group.id, person), status_code=303)


def _candidate_page(
    request: Request,
    templates: Templates,
    session: Session,
    candidate_id: int,
    *,
    values: dict[str, str] | None = None,
    errors: FormErrors | None = None,
    status_code: int = 200,
) -> Response:
    data = overview.candidate_sanctions(session, candidate_id=candidate_id)
    identity = data.identity
    defaults = {
        "full_name": identity.full_name if identity else "",
        "rfc": identity.rfc if identity else "",
        "curp": identity.curp if identity else "",
    }
    return templates.render(
        request,
        "staff/sanctions/candidate.html",
        {
            "data": data,
            "candidate": data.candidate,
            "values": {**defaults, **(values or {})},
            "errors": errors or FormErrors(),
        },
        status_code=status_code,
    )


@router.get("/sanctions/candidates/{candidate_id}")
def candidate_screening(
    request: Request, candidate_id: PathId, session: SessionDep, templates: TemplatesDep
) -> Response:
    return _candidate_page(request, templates, session, candidate_id)


@router.post("/sanctions/candidates/{candidate_id}/identity")
def record_identity(
    request: Request,
    candidate_id: PathId,
    body: VerifiedForm,
    account: CurrentAccount,
    session: SessionDep,
    settings: SettingsDep,
    templates: TemplatesDep,
    t: TranslatorDep,
) -> Response:
    values = form_values(body)
    form, errors = validate(IdentityForm, values, t, bad_encoding=body.bad_encoding)
    if form is None:
        return _candidate_page(
            request, templates, session, candidate_id, values=values, errors=errors, status_code=422
        )
    adjudication.set_identity(
        session,
        actor=account,
        candidate_id=candidate_id,
        form=form,
        settings=settings,
        now=utcnow(),
    )
    session.commit()
    return RedirectResponse(f"/staff/sanctions/candidates/{candidate_id}#matches", status_code=303)
