"""Accounts (/staff/users, admins only): invite people, change roles, deactivate accounts."""

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session

from app.errors import Conflict
from app.forms.accounts import InviteForm, RoleForm
from app.forms.base import validate
from app.forms.errors import FormErrors
from app.i18n import N_, Translator
from app.models import Account, Role, TokenPurpose, utcnow
from app.services.accounts import accounts
from app.web.deps import (
    CurrentAccount,
    PathId,
    SessionDep,
    SettingsDep,
    TemplatesDep,
    TranslatorDep,
    require_role,
)
from app.web.form_body import VerifiedForm, form_values
from app.web.templating import Templates

router = APIRouter(dependencies=[Depends(require_role(Role.admin))])

# What the page says after each kind of change (?done=…).
DONE = {
    "invited": N_("The invitation is on its way. The link in it works for %(days)s days."),
    "role": N_("The role is changed. That person must sign in again."),
    "deactivated": N_("The account is deactivated and was signed out everywhere."),
    "reactivated": N_("The account is active again."),
    "resent_invitation": N_("A new invitation is on its way; earlier links no longer work."),
    "resent_reset": N_(
        "A link to choose a new password is on its way (it works for one hour); earlier links"
        " no longer work."
    ),
}
ROLE_ORDER = (Role.staff, Role.admin, Role.judge, Role.volunteer)


def _page(
    request: Request,
    templates: Templates,
    session: Session,
    t: Translator,
    *,
    values: dict[str, str] | None = None,
    errors: FormErrors | None = None,
    status_code: int = 200,
) -> Response:
    done = DONE.get(request.query_params.get("done", ""))
    return templates.render(
        request,
        "staff/users/index.html",
        {
            "accounts": accounts.list_accounts(session),
            "role_names": {role.value: t(label) for role, label in accounts.ROLE_LABELS.items()},
            "role_options": [(role.value, t(accounts.ROLE_LABELS[role])) for role in ROLE_ORDER],
            "values": values if values is not None else {"locale": t.locale},
            "errors": errors or FormErrors(),
            "done": t(done, days=accounts.SET_PASSWORD_LIFETIME.days) if done else "",
            "days": accounts.SET_PASSWORD_LIFETIME.days,
        },
        status_code=status_code,
    )


@router.get("/users")
def list_users(
    request: Request, session: SessionDep, templates: TemplatesDep, t: TranslatorDep
) -> Response:
    return _page(request, templates, session, t)


@router.post("/users/invite")
def invite(
    request: Request,
    body: VerifiedForm,
    actor: CurrentAccount,
    session: SessionDep,
    settings: SettingsDep,
    templates: TemplatesDep,
    t: TranslatorDep,
) -> Response:
    values = form_values(body)
    form, errors = validate(InviteForm, values, t, bad_encoding=body.bad_encoding)
    if form is not None:
        try:
            accounts.invite_account(
                session,
                actor=actor,
                email=form.email,
                name=form.name,
                role=form.role,
                locale=form.locale,
                now=utcnow(),
                base_url=settings.base_url,
            )
        except Conflict as error:
            errors.add("email", t(error.message))
    if errors:
        session.rollback()
        return _page(request, templates, session, t, values=values, errors=errors, status_code=422)
    session.commit()
    return RedirectResponse("/staff/users?done=invited", status_code=303)


@router.post("/users/{account_id}/role")
def change_role(
    request: Request,
    account_id: PathId,
    body: VerifiedForm,
    actor: CurrentAccount,
    session: SessionDep,
    templates: TemplatesDep,
    t: TranslatorDep,
) -> Response:
    form, errors = validate(RoleForm, form_values(body), t)
    if form is None:
        errors = FormErrors(general=[t("Choose one of the roles.")])
        return _page(request, templates, session, t, errors=errors, status_code=422)
    accounts.change_role(session, actor=actor, account_id=account_id, role=form.role, now=utcnow())
    session.commit()
    return RedirectResponse("/staff/users?done=role", status_code=303)


def _set_active(session: Session, actor: Account, account_id: int, *, active: bool) -> Response:
    accounts.set_active(session, actor=actor, account_id=account_id, active=active, now=utcnow())
    session.commit()
    done = "reactivated" if active else "deactivated"
    return RedirectResponse(f"/staff/users?done={done}", status_code=303)


@router.post("/users/{account_id}/deactivate")
def deactivate(
    account_id: PathId, body: VerifiedForm, actor: CurrentAccount, session: SessionDep
) -> Response:
    return _set_active(session, actor, account_id, active=False)


@router.post("/users/{account_id}/reactivate")
def reactivate(
    account_id: PathId, body: VerifiedForm, actor: CurrentAccount, session: SessionDep
) -> Response:
    return _set_active(session, actor, account_id, active=True)


@router.post("/users/{account_id}/resend")
def resend(
    request: Request,
    account_id: PathId,
    body: VerifiedForm,
    actor: CurrentAccount,
    session: SessionDep,
    settings: SettingsDep,
    templates: TemplatesDep,
    t: TranslatorDep,
) -> Response:
    try:
        purpose = accounts.resend_link(
            session, actor=actor, account_id=account_id, now=utcnow(), base_url=settings.base_url
        )
    except Conflict as refused:
        session.rollback()
        errors = FormErrors(general=[t(refused.message, **refused.params)])
        return _page(request, templates, session, t, errors=errors, status_code=409)
    session.commit()
    done = "resent_invitation" if purpose is TokenPurpose.set_password else "resent_reset"
    return RedirectResponse(f"/staff/users?done={done}", status_code=303)
