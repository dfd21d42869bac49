from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from app import csrf
from app.body import FormBody
from app.deps import SessionDep, SettingsDep, TemplatesDep, TranslatorDep
from app.errors import InvalidInput, PermissionDenied
from app.forms.errors import FormErrors
from app.i18n import N_
from app.models import utcnow
from app.routes.forms import text_form_body
from app.services import accounts
from app.templating import NO_STORE

router = APIRouter()
SET_PASSWORD_FORM = "set-password"  # noqa: S105 - a form name, not a password


@router.get("/account/set-password/{token}")
def set_password_form(
    request: Request, token: str, session: SessionDep, templates: TemplatesDep
) -> Response:
    account = accounts.account_for_token(session, token=token, now=utcnow())
    return templates.render(
        request,
        "auth/set_password.html",
        {"account": account, "errors": FormErrors(), "min_length": accounts.MIN_PASSWORD_LENGTH},
        headers=NO_STORE,
    )


@router.post("/account/set-password/{token}")
def set_password(
    request: Request,
    token: str,
    body: Annotated[FormBody, Depends(text_form_body)],
    session: SessionDep,
    settings: SettingsDep,
    templates: TemplatesDep,
    t: TranslatorDep,
) -> Response:
    now = utcnow()
    fields = dict(body.fields)
    try:
        csrf.check_token(
            settings.signing_key,
            cookie=request.state.csrf_cookie_sent,
            form=SET_PASSWORD_FORM,
            token=fields.get("csrf_token"),
            now=now,
            max_age=timedelta(hours=settings.form_max_age_hours),
        )
    except csrf.CsrfError as error:
        raise PermissionDenied(
            N_("This form could not be verified. Reload the page and try again.")
        ) from error
    account = accounts.account_for_token(session, token=token, now=now)
    errors = FormErrors()
    password = fields.get("password", "")
    if password != fields.get("password_again", ""):
        errors.add("password_again", t("The two passwords are not the same."))
    else:
        try:
            accounts.set_password_with_token(session, token=token, password=password, now=now)
        except InvalidInput as error:
            errors.add("password", t(error.message, **error.params))
    if errors:
        return templates.render(
            request,
            "auth/set_password.html",
            {"account": account, "errors": errors, "min_length": accounts.MIN_PASSWORD_LENGTH},
            status_code=422,
            headers=NO_STORE,
        )
    session.commit()
    return RedirectResponse("/account/password-set", status_code=303)


@router.get("/account/password-set")
def password_set(request: Request, templates: TemplatesDep) -> Response:
    return templates.render(request, "auth/password_set.html")
