"""The nominee's own page, /consent/{token}: consent item by item, ask for changes, decline,
and later withdraw, through the one-time link mailed to them."""

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session

from app.errors import Conflict
from app.forms.base import validate
from app.forms.consent import ConsentAnswerForm
from app.forms.errors import FormErrors
from app.i18n import Translator
from app.models import utcnow
from app.services.accounts import login
from app.services.results import consent
from app.services.results.shared import FieldInvalid
from app.web.body import FormBody
from app.web.deps import SessionDep, SettingsDep, TemplatesDep, TranslatorDep
from app.web.form_body import (
    form_values,
    refuse_repeated_fields,
    text_form_body,
    verify_csrf,
)
from app.web.templating import NO_STORE, Templates

router = APIRouter()
CONSENT_FORM = "consent"
TextForm = Annotated[FormBody, Depends(text_form_body)]


def _page(
    request: Request,
    templates: Templates,
    session: Session,
    t: Translator,
    token: str,
    *,
    values: dict[str, str] | None = None,
    errors: FormErrors | None = None,
    status_code: int = 200,
) -> Response:
    view = consent.view_for_token(session, token=token, now=utcnow())
    done = request.query_params.get("done", "")
    return templates.render(
        request,
        "public/consent.html",
        {
            "view": view,
            "values": values if values is not None else {"name_and_position": "yes"},
            "errors": errors or FormErrors(),
            "done": done if done in ("given", "declined", "withdrawn") else "",
        },
        status_code=status_code,
        headers=NO_STORE,
    )


@router.get("/consent/{token}")
def consent_form(
    request: Request, token: str, session: SessionDep, templates: TemplatesDep, t: TranslatorDep
) -> Response:
    return _page(request, templates, session, t, token)


@router.post("/consent/{token}")
def consent_answer(
    request: Request,
    token: str,
    body: TextForm,
    session: SessionDep,
    settings: SettingsDep,
    templates: TemplatesDep,
    t: TranslatorDep,
) -> Response:
    verify_csrf(request, body, form=CONSENT_FORM)
    refuse_repeated_fields(body)
    now = utcnow()
    client = request.client.host if request.client else "unknown"
    client_hash = login.client_hash(settings.signing_key, client)
    values = form_values(body)
    action = values.pop("action", "answer")
    errors = FormErrors()
    done = ""
    try:
        if action == "withdraw":
            consent.withdraw_by_link(session, token=token, now=now, client_hash=client_hash)
            done = "withdrawn"
        else:
            form, errors = validate(ConsentAnswerForm, values, t, bad_encoding=body.bad_encoding)
            if form is not None:
                answered = consent.answer_by_link(
                    session, token=token, form=form, now=now, client_hash=client_hash
                )
                done = answered.status.value
    except FieldInvalid as refused:
        errors.add(refused.field, t(refused.message, **refused.params))
    except Conflict as refused:
        errors.general.append(t(refused.message, **refused.params))
    if errors or not done:
        session.rollback()
        return _page(
            request, templates, session, t, token, values=values, errors=errors, status_code=422
        )
    session.commit()
    return RedirectResponse(f"/consent/{token}?done={done}", status_code=303)
