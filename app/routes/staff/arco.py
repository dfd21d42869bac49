"""/staff/arco: a nominator's requests about their personal data (access, rectification,
cancellation).

The person is looked up by e-mail through POST forms only, so the address never lands in a URL,
a browser history or an access log.
"""

from typing import Annotated, TypeVar

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field
from pydantic import ValidationError as PydanticValidationError
from pydantic_core import PydanticCustomError
from sqlmodel import Session

from app.forms.errors import FormErrors, collect
from app.forms.text import Checkbox, Line, Phone, normalise, single_line
from app.i18n import N_, TIMEZONE, Translator
from app.models import utcnow
from app.services.privacy import arco
from app.services.privacy.arco import DataFormat
from app.web.deps import CurrentAccount, SessionDep, TemplatesDep, TranslatorDep
from app.web.form_body import VerifiedForm
from app.web.templating import Templates, translator

router = APIRouter()

NOTICES = {
    "cancelled": N_(
        "The nominator's data was anonymised and the e-mails to them were removed. A search for"
        " their address now finds nothing."
    ),
    "rectified": N_("The nominator's details were corrected on all their nominations."),
    "unchanged": N_("The details you sent are the ones already held; nothing was changed."),
}


def _has_at(value: str) -> str:
    # Lenient on purpose: an address stored years ago must be findable even if today's
    # validator would refuse it; only the obvious mistakes are stopped.
    if "@" not in value:
        raise PydanticCustomError("email", "not an e-mail address")
    return value


SearchEmail = Annotated[
    str, BeforeValidator(normalise), AfterValidator(single_line), AfterValidator(_has_at)
]


class SearchForm(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: SearchEmail = Field(min_length=3, max_length=254)


class ExportForm(SearchForm):
    format: DataFormat = DataFormat.json


class CancelForm(SearchForm):
    confirm: Checkbox = False


class RectifyForm(SearchForm):
    nominator_name: Line = Field(min_length=1, max_length=200)
    nominator_phone: Phone = Field(default="", max_length=30)


def _fields(body: VerifiedForm) -> dict[str, str]:
    return {name: value for name, value in body.fields if name != "csrf_token"}


F = TypeVar("F", bound="SearchForm")


def _parse(model: type[F], values: dict[str, str], t: Translator) -> tuple[F | None, FormErrors]:
    errors = FormErrors()
    try:
        return model.model_validate(values), errors
    except PydanticValidationError as error:
        collect(error, t, errors)
        return None, errors


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
    values = _fields(body)
    form, errors = _parse(SearchForm, values, t)
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
    values = _fields(body)
    form, errors = _parse(ExportForm, values, t)
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
    account: CurrentAccount,
    t: TranslatorDep,
) -> Response:
    values = _fields(body)
    form, errors = _parse(CancelForm, values, t)
    if form is not None and not form.confirm:
        errors.add(
            "confirm", t("Tick the box to confirm that this person's data should be anonymised.")
        )
    if form is None or errors:
        return _page(
            request,
            session,
            templates,
            values=values,
            errors=errors,
            search=True,
            status_code=422,
        )
    arco.cancel_personal_data(session, actor=account, email=form.email)
    session.commit()
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
    values = _fields(body)
    form, errors = _parse(RectifyForm, values, t)
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
