"""/staff/arco/named: requests about their personal data by the people a nomination names, its
nominee and its references (access, rectification, cancellation), handled like a nominator's.

Searched through POST forms only, so a name or an address never lands in a URL or a log.
"""

from typing import Any, TypeVar

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session

from app.forms.base import validate
from app.forms.errors import FormErrors
from app.forms.named_person import (
    MAX_PLACES,
    NamedCancelForm,
    NamedPlacesForm,
    NamedRectifyForm,
    NamedSearchForm,
)
from app.i18n import TIMEZONE, Translator
from app.models import utcnow
from app.services.files import FileStore
from app.services.privacy import erasure, named
from app.web.body import FormBody
from app.web.deps import CurrentAccount, SessionDep, SettingsDep, TemplatesDep, TranslatorDep
from app.web.form_body import VerifiedForm, form_lists, form_values
from app.web.templating import Templates

router = APIRouter()

Form = TypeVar("Form", bound=NamedSearchForm)


def _values(body: FormBody, model: type[NamedSearchForm]) -> dict[str, Any]:
    lists = form_lists(body, "place") if "place" in model.model_fields else {}
    return {**form_values(body), **lists}


def _page(
    request: Request,
    session: Session,
    templates: Templates,
    *,
    values: dict[str, Any],
    errors: FormErrors | None = None,
    status_code: int = 200,
) -> Response:
    errors = errors or FormErrors()
    places = None
    if "query" not in errors.fields and values.get("query"):
        places = named.find_places(session, query=str(values["query"]))
    return templates.render(
        request,
        "staff/arco/named.html",
        {
            "places": places[:MAX_PLACES] if places is not None else None,
            "too_many": places is not None and len(places) > MAX_PLACES,
            "ticked": set(values.get("place", [])),
            "values": values,
            "errors": errors,
        },
        status_code=status_code,
    )


def _parse(
    model: type[Form], body: FormBody, t: Translator
) -> tuple[Form | None, dict[str, Any], FormErrors]:
    values = _values(body, model)
    form, errors = validate(model, values, t, bad_encoding=body.bad_encoding)
    if "place" in errors.fields:
        errors.fields["place"] = t("Tick the places where this person is named.")
    return form, values, errors


@router.post("/arco/named")
def search(
    request: Request,
    body: VerifiedForm,
    session: SessionDep,
    templates: TemplatesDep,
    t: TranslatorDep,
) -> Response:
    form, values, errors = _parse(NamedSearchForm, body, t)
    if form is None:
        return _page(request, session, templates, values=values, errors=errors, status_code=422)
    values["query"] = form.query
    return _page(request, session, templates, values=values)


@router.post("/arco/named/export")
def export(
    request: Request,
    body: VerifiedForm,
    session: SessionDep,
    templates: TemplatesDep,
    account: CurrentAccount,
    t: TranslatorDep,
) -> Response:
    form, values, errors = _parse(NamedPlacesForm, body, t)
    if form is None:
        return _page(request, session, templates, values=values, errors=errors, status_code=422)
    content, _places = named.access_document(session, actor=account, keys=form.place)
    session.commit()
    today = utcnow().astimezone(TIMEZONE).date().isoformat()
    return Response(
        content,
        media_type="application/json",
        headers={
            "Content-Disposition": f'attachment; filename="datos-personales-{today}.json"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


@router.post("/arco/named/rectify")
def rectify(
    request: Request,
    body: VerifiedForm,
    session: SessionDep,
    templates: TemplatesDep,
    account: CurrentAccount,
    t: TranslatorDep,
) -> Response:
    form, values, errors = _parse(NamedRectifyForm, body, t)
    if form is None:
        return _page(request, session, templates, values=values, errors=errors, status_code=422)
    changed = named.rectify_places(
        session, actor=account, keys=form.place, name=form.name, contact=form.contact
    )
    session.commit()
    done = "named_rectified" if changed else "unchanged"
    return RedirectResponse(f"/staff/arco?done={done}", status_code=303)


@router.post("/arco/named/cancel")
def cancel(
    request: Request,
    body: VerifiedForm,
    session: SessionDep,
    templates: TemplatesDep,
    settings: SettingsDep,
    account: CurrentAccount,
    t: TranslatorDep,
) -> Response:
    form, values, errors = _parse(NamedCancelForm, body, t)
    if form is not None and not form.confirm:
        errors.add("confirm", t("Tick the box to confirm that this person's data should go."))
    if form is None or errors:
        return _page(request, session, templates, values=values, errors=errors, status_code=422)
    cancelled = named.cancel_places(session, actor=account, keys=form.place)
    session.commit()
    store = FileStore(settings.files_dir)
    erasure.remove_files(request.app.state.engine, store, cancelled.file_hashes)
    done = "named_cancelled_kept" if cancelled.kept_for_candidates else "named_cancelled"
    return RedirectResponse(f"/staff/arco?done={done}", status_code=303)
