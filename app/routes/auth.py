"""Signing in and out, and the passwords of staff, admins and judges."""

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from app.config import Settings
from app.errors import InvalidInput, TooManyRequests
from app.forms.errors import FormErrors
from app.i18n import Translator
from app.models import Role, utcnow
from app.services.accounts import accounts, login
from app.web import cookies, csrf
from app.web.body import FormBody
from app.web.deps import (
    SESSION_COOKIE,
    CurrentAccount,
    CurrentAccountOrNone,
    SessionDep,
    SettingsDep,
    TemplatesDep,
    TranslatorDep,
    require_role,
    session_token,
)
from app.web.form_body import VerifiedForm, text_form_body, verify_csrf
from app.web.middleware import CSRF_AGE
from app.web.templating import NO_STORE, Templates

router = APIRouter()
SET_PASSWORD_FORM = "set-password"  # noqa: S105 - a form name, not a password
LOGIN_FORM = "login"
RESET_FORM = "password-reset"
TextForm = Annotated[FormBody, Depends(text_form_body)]
SignedIn = [Depends(require_role(*Role))]


def _client(request: Request) -> str:
    # The socket's peer, or the client a trusted proxy forwarded (app.web.edge): a forged
    # X-Forwarded-For cannot change which client a throttle counts.
    return request.client.host if request.client else "unknown"


def _set_session_cookie(response: Response, token: str, settings: Settings) -> None:
    # No Max-Age: the cookie ends with the browser; the server ends the session after 2 h idle
    # or 12 h at most (app.services.accounts.sessions).
    cookies.set_cookie(response, settings, SESSION_COOKIE, token)


def _throttled(
    request: Request, templates: Templates, t: Translator, error: TooManyRequests
) -> Response:
    return templates.render(
        request,
        "auth/throttled.html",
        {"message": t(error.message, **error.params)},
        status_code=429,
        headers={**NO_STORE, "Retry-After": str(error.retry_after)},
    )


def _login_page(
    request: Request,
    templates: Templates,
    *,
    email: str = "",
    next_path: str | None = None,
    errors: FormErrors | None = None,
    status_code: int = 200,
) -> Response:
    return templates.render(
        request,
        "auth/login.html",
        {
            "values": {"email": email},
            "next": next_path or "",
            "errors": errors or FormErrors(),
            "signed_out": request.query_params.get("signed_out") == "1",
        },
        status_code=status_code,
        headers=NO_STORE,
    )


@router.get("/login")
def login_form(
    request: Request, templates: TemplatesDep, account: CurrentAccountOrNone
) -> Response:
    next_path = login.safe_next(request.query_params.get("next"))
    if account is not None:
        return RedirectResponse(next_path or login.role_home(account.role), status_code=303)
    return _login_page(request, templates, next_path=next_path)


@router.post("/login")
def log_in(
    request: Request,
    body: TextForm,
    session: SessionDep,
    settings: SettingsDep,
    templates: TemplatesDep,
    t: TranslatorDep,
) -> Response:
    verify_csrf(request, body, form=LOGIN_FORM)
    fields = dict(body.fields)
    email = fields.get("email", "").strip()[:254]
    password = fields.get("password", "")
    next_path = login.safe_next(fields.get("next"))
    errors = FormErrors()
    if not email:
        errors.add("email", t("Enter your e-mail address."))
    if not password:
        errors.add("password", t("Enter your password."))
    if errors:
        return _login_page(
            request, templates, email=email, next_path=next_path, errors=errors, status_code=422
        )
    try:
        result = login.log_in(
            session,
            email=email,
            password=password,
            client=_client(request),
            key=settings.signing_key,
            now=utcnow(),
            base_url=settings.base_url,
            previous_token=session_token(request) or None,
        )
    except TooManyRequests as error:
        session.commit()  # the refusal stays in the audit trail
        return _throttled(request, templates, t, error)
    session.commit()
    if result.account is None or result.token is None:
        wrong = t("The e-mail address or the password is not correct.")
        return _login_page(
            request,
            templates,
            email=email,
            next_path=next_path,
            errors=FormErrors(general=[wrong]),
            status_code=422,
        )
    response = RedirectResponse(next_path or login.role_home(result.account.role), status_code=303)
    _set_session_cookie(response, result.token, settings)
    # A new CSRF cookie too: one planted before signing in (by a script on a sibling subdomain,
    # or someone at this computer) cannot sign forms of the session.
    cookies.set_cookie(response, settings, cookies.CSRF, csrf.new_cookie_value(), max_age=CSRF_AGE)
    return response


@router.get("/logout")
def logout_page(
    request: Request, templates: TemplatesDep, account: CurrentAccountOrNone
) -> Response:
    if account is None:
        return RedirectResponse("/login", status_code=303)
    return templates.render(request, "auth/logout.html", headers=NO_STORE)


@router.post("/logout")
def log_out(
    request: Request, body: VerifiedForm, session: SessionDep, settings: SettingsDep
) -> Response:
    login.log_out(
        session,
        token=session_token(request),
        key=settings.signing_key,
        client=_client(request),
        now=utcnow(),
    )
    session.commit()
    response = RedirectResponse("/login?signed_out=1", status_code=303)
    cookies.delete_cookie(response, settings, SESSION_COOKIE)
    return response


def _change_password_page(
    request: Request,
    templates: Templates,
    account: CurrentAccount,
    *,
    errors: FormErrors | None = None,
    status_code: int = 200,
) -> Response:
    return templates.render(
        request,
        "auth/change_password.html",
        {
            "errors": errors or FormErrors(),
            "min_length": accounts.MIN_PASSWORD_LENGTH,
            "home": login.role_home(account.role),
            "changed": request.query_params.get("changed") == "1",
        },
        status_code=status_code,
        headers=NO_STORE,
    )


@router.get("/account/password", dependencies=SignedIn)
def change_password_form(
    request: Request, templates: TemplatesDep, account: CurrentAccount
) -> Response:
    return _change_password_page(request, templates, account)


@router.post("/account/password", dependencies=SignedIn)
def change_password(
    request: Request,
    body: VerifiedForm,
    account: CurrentAccount,
    session: SessionDep,
    settings: SettingsDep,
    templates: TemplatesDep,
    t: TranslatorDep,
) -> Response:
    fields = dict(body.fields)
    current = fields.get("current_password", "")
    password = fields.get("password", "")
    errors = FormErrors()
    if not current:
        errors.add("current_password", t("Enter your current password."))
    if password != fields.get("password_again", ""):
        errors.add("password_again", t("The two passwords are not the same."))
    if not errors:
        try:
            token = login.change_password(
                session,
                account=account,
                current=current,
                new=password,
                key=settings.signing_key,
                client=_client(request),
                now=utcnow(),
            )
        except TooManyRequests as error:
            return _throttled(request, templates, t, error)
        except login.WrongPassword as error:
            session.commit()  # the failed attempt counts towards the throttle
            errors.add("current_password", t(error.message))
        except InvalidInput as error:
            errors.add("password", t(error.message, **error.params))
    if errors:
        session.rollback()
        return _change_password_page(request, templates, account, errors=errors, status_code=422)
    session.commit()
    response = RedirectResponse("/account/password?changed=1", status_code=303)
    _set_session_cookie(response, token, settings)
    return response


@router.get("/password-reset")
def password_reset_form(request: Request, templates: TemplatesDep) -> Response:
    return templates.render(
        request,
        "auth/password_reset.html",
        {"values": {}, "errors": FormErrors()},
        headers=NO_STORE,
    )


@router.post("/password-reset")
def password_reset(
    request: Request,
    body: TextForm,
    session: SessionDep,
    settings: SettingsDep,
    templates: TemplatesDep,
    t: TranslatorDep,
) -> Response:
    verify_csrf(request, body, form=RESET_FORM)
    email = dict(body.fields).get("email", "").strip()[:254]
    errors = FormErrors()
    if not email:
        errors.add("email", t("Enter your e-mail address."))
    elif login.valid_address(email) is None:
        errors.add("email", t("Enter a valid e-mail address, such as name@example.org."))
    if errors:
        return templates.render(
            request,
            "auth/password_reset.html",
            {"values": {"email": email}, "errors": errors},
            status_code=422,
            headers=NO_STORE,
        )
    try:
        login.request_password_reset(
            session,
            email=email,
            client=_client(request),
            key=settings.signing_key,
            now=utcnow(),
            base_url=settings.base_url,
        )
    except TooManyRequests as error:
        return _throttled(request, templates, t, error)
    session.commit()
    return RedirectResponse("/password-reset/sent", status_code=303)


@router.get("/password-reset/sent")
def password_reset_sent(request: Request, templates: TemplatesDep) -> Response:
    return templates.render(request, "auth/password_reset_sent.html", headers=NO_STORE)


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
    body: TextForm,
    session: SessionDep,
    settings: SettingsDep,
    templates: TemplatesDep,
    t: TranslatorDep,
) -> Response:
    now = utcnow()
    fields = dict(body.fields)
    verify_csrf(request, body, form=SET_PASSWORD_FORM)  # exactly one token, and a valid one
    account = accounts.account_for_token(session, token=token, now=now)
    errors = FormErrors()
    password = fields.get("password", "")
    if password != fields.get("password_again", ""):
        errors.add("password_again", t("The two passwords are not the same."))
    else:
        try:
            accounts.set_password_with_token(
                session,
                token=token,
                password=password,
                now=now,
                client_hash=login.client_hash(settings.signing_key, _client(request)),
            )
        except InvalidInput as error:
            errors.add("password", t(error.message, **error.params))
    if errors:
        session.rollback()
        return templates.render(
            request,
            "auth/set_password.html",
            {"account": account, "errors": errors, "min_length": accounts.MIN_PASSWORD_LENGTH},
            status_code=422,
            headers=NO_STORE,
        )
    session.commit()
    response = RedirectResponse("/account/password-set", status_code=303)
    # Whoever was signed in on this browser was signed out with the account's other sessions.
    cookies.delete_cookie(response, settings, SESSION_COOKIE)
    return response


@router.get("/account/password-set")
def password_set(request: Request, templates: TemplatesDep) -> Response:
    return templates.render(request, "auth/password_set.html")
