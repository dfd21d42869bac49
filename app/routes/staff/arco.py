"""/staff/arco: a nominator's requests about their personal data (access, rectification,
cancellation).

The person is looked up by e-mail through POST forms only, so the address never lands in a URL,
a browser history or an access log.
"""

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session

from app.forms.base import validate
from app.forms.errors import FormErrors
from app.forms.privacy import ExportForm, RectifyForm, SearchForm, validate_cancel
from app.i18n import N_, TIMEZONE
from app.models import utcnow
from app.services.files import FileStore
from app.services.privacy import arco, erasure
from app.web.deps import CurrentAccount, SessionDep, SettingsDep, TemplatesDep, TranslatorDep
from app.web.form_body import VerifiedForm, form_values
from app.web.templating import Templates, translator

router = APIRouter()

NOTICES = {
    "cancelled": N_(
        "The nominator's data was anonymised, and the evidence files they sent and the e-mails to"
        " them were deleted. A search for their address now finds nothing."
    ),
    "rectified": N_("The nominator's details were corrected on all their nominations."),
    "unchanged": N_("The details you sent are the ones already held; nothing was changed."),
    "named_rectified": N_("The person's details were corrected where they are named."),
    "named_cancelled": N_("The person's data was deleted where they are named."),
    "named_cancelled_kept": N_(
        "The person's data was deleted where they are named. Some of the nominations about them"
        " are part of a candidate and were kept without their contact, age and gender: handle"
        " the candidate by hand."
    ),
}


def _page(
    request: Request,
    session: Session,
    templates: Templates,
    *,
    values: dict[str, str] | None = None,
    errors: FormErrors | None = None,
    search: bool = False,
    status_code: int = 200,
) -> Response:
    values = values or {}
    errors = errors or FormErrors()
    data = None
    if search and "email" not in errors.fields:
        data = arco.find_personal_data(session, email=values.get("email", ""))
        newest = data.nominations[-1].nomination if data.nominations else None
        if newest is not None:
            values.setdefault("nominator_name", newest.nominator_name)
            values.setdefault("nominator_phone", newest.nominator_phone)
    done = NOTICES.get(request.query_params.get("done", ""))
    notice = translator(request)(done) if done else None
    return templates.render(
        request,
        "staff/arco/index.html",
        {"data": data, "values": values, "errors": errors, "notice": notice},
        status_code=status_code,
    )


@router.get("/arco")
def arco_page(request: Request, session: SessionDep, templates: TemplatesDep) -> Response:
    return _page(request, session, templates)


@router.post("/arco")
def search(
    request: Request,
    body: VerifiedForm,
    session: SessionDep,
    templates: TemplatesDep,
    t: TranslatorDep,
) -> Response:
    values = form_values(body)
    form, errors = validate(SearchForm, values, t, bad_encoding=body.bad_encoding)
    if form is None:
        return _page(request, session, templates, values=values, errors=errors, status_code=422)
    values["email"] = form.email
    return _page(request, session, templates, values=values, search=True)


@router.post("/arco/export")
def export(
    request: Request,
    body: VerifiedForm,
    session: SessionDep,
    templates: TemplatesDep,
    account: CurrentAccount,
    t: TranslatorDep,
) -> Response:
    values = form_values(body)
    form, errors = validate(ExportForm, values, t, bad_encoding=body.bad_encoding)
    if form is None:
        return _page(
            request,
            session,
            templates,
            values=values,
            errors=errors,
            search=True,
            status_code=422,
        )
    data_file = arco.export_personal_data(
        session,
        actor=account,
        email=form.email,
        file_format=form.format,
        today=utcnow().astimezone(TIMEZONE).date(),
    )
    session.commit()
    return Response(
        data_file.content,
        media_type=data_file.media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{data_file.filename}"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


@router.post("/arco/cancel")
def cancel(
    request: Request,
    body: VerifiedForm,
    session: SessionDep,
    templates: TemplatesDep,
    settings: SettingsDep,
    account: CurrentAccount,
    t: TranslatorDep,
) -> Response:
    values = form_values(body)
    form, errors = validate_cancel(values, t, bad_encoding=body.bad_encoding)
    if form is None:
        return _page(
            request,
            session,
            templates,
            values=values,
            errors=errors,
            search=True,
            status_code=422,
        )
    cancelled = arco.cancel_personal_data(
        session, actor=account, email=form.email, redact_stories=form.redact_stories
    )
    session.commit()
    erasure.remove_files(
        request.app.state.engine, FileStore(settings.files_dir), cancelled.file_hashes
    )
    return RedirectResponse("/staff/arco?done=cancelled", status_code=303)


@router.post("/arco/rectify")
def rectify(
    request: Request,
    body: VerifiedForm,
    session: SessionDep,
    templates: TemplatesDep,
    account: CurrentAccount,
    t: TranslatorDep,
) -> Response:
    values = form_values(body)
    form, errors = validate(RectifyForm, values, t, bad_encoding=body.bad_encoding)
    if form is None:
        return _page(
            request,
            session,
            templates,
            values=values,
            errors=errors,
            search=True,
            status_code=422,
        )
    changed = arco.rectify_nominator(
        session,
        actor=account,
        email=form.email,
        name=form.nominator_name,
        phone=form.nominator_phone,
    )
    session.commit()
    done = "rectified" if changed else "unchanged"
    return RedirectResponse(f"/staff/arco?done={done}", status_code=303)
