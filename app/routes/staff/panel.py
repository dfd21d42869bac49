"""/staff/judges: the panel of judges per theme, invitations, and the register of conflicts of
interest (/staff/judges/conflicts)."""

from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from app.errors import Conflict, InvalidInput
from app.forms.errors import FormErrors, collect
from app.forms.text import Email, Line, Text
from app.i18n import Translator
from app.models import Campaign, utcnow
from app.services.campaigns import rubric
from app.services.judging import conflicts, panel
from app.web.body import FormBody
from app.web.deps import (
    CurrentAccount,
    PathId,
    SessionDep,
    SettingsDep,
    TemplatesDep,
    TranslatorDep,
)
from app.web.form_body import VerifiedForm
from app.web.templating import Templates

router = APIRouter()


class InviteForm(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Line = Field(min_length=1, max_length=200)
    email: Email = Field(max_length=254)
    locale: Literal["es", "en"]


class StaffConflictForm(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    judge_id: int
    finalist_id: int
    description: Text = Field(min_length=1, max_length=conflicts.MAX_DESCRIPTION)


def _fields(body: FormBody) -> dict[str, str]:
    """The single-valued fields of a form, without its CSRF token and the `themes` list."""
    return {name: value for name, value in body.fields if name not in ("csrf_token", "themes")}


def _theme_ids(body: FormBody, t: Translator, errors: FormErrors, field: str) -> list[int]:
    ids = []
    for name, value in body.fields:
        if name != "themes":
            continue
        if not value.isdigit():
            errors.add(field, t("Choose one of the options."))
            return []
        ids.append(int(value))
    return ids


def _panel_page(
    request: Request,
    templates: Templates,
    session: SessionDep,
    campaign: Campaign,
    *,
    invite_values: dict[str, Any] | None = None,
    invite_errors: FormErrors | None = None,
    assign_values: dict[str, Any] | None = None,
    assign_errors: FormErrors | None = None,
    status_code: int = 200,
) -> Response:
    view = panel.panel_view(session, campaign=campaign)
    invited = request.query_params.get("invited", "")
    invited_judge = next(
        (m.judge for m in view.members if invited.isdigit() and m.judge.id == int(invited)), None
    )
    return templates.render(
        request,
        "staff/panel/index.html",
        {
            "campaign": campaign,
            "view": view,
            "invited_judge": invited_judge,
            "invite_values": invite_values or {"locale": "es", "themes": []},
            "invite_errors": invite_errors or FormErrors(),
            "assign_values": assign_values or {"themes": []},
            "assign_errors": assign_errors or FormErrors(),
        },
        status_code=status_code,
    )


@router.get("/judges")
def panel_page(request: Request, session: SessionDep, templates: TemplatesDep) -> Response:
    campaign = rubric.current_campaign(session)
    return _panel_page(request, templates, session, campaign)


@router.post("/judges/invite")
def invite_judge(
    request: Request,
    body: VerifiedForm,
    session: SessionDep,
    settings: SettingsDep,
    templates: TemplatesDep,
    t: TranslatorDep,
    account: CurrentAccount,
) -> Response:
    campaign = rubric.current_campaign(session)
    errors = FormErrors()
    values: dict[str, Any] = _fields(body)
    theme_ids = _theme_ids(body, t, errors, "themes")
    values["themes"] = [str(i) for i in theme_ids]
    if not theme_ids:
        errors.add("themes", t("Choose at least one theme."))
    form = None
    try:
        form = InviteForm.model_validate(_fields(body))
    except ValidationError as error:
        collect(error, t, errors)
    if form is not None and not errors:
        try:
            invitation = panel.invite_judge(
                session,
                campaign=campaign,
                name=form.name,
                email=form.email,
                theme_ids=theme_ids,
                locale=form.locale,
                actor=account,
                base_url=settings.base_url,
                now=utcnow(),
            )
        except Conflict as error:
            errors.add("email", t(error.message, **error.params))
        except InvalidInput as error:
            errors.add("themes", t(error.message, **error.params))
        else:
            session.commit()
            return RedirectResponse(f"/staff/judges?invited={invitation.judge.id}", status_code=303)
    return _panel_page(
        request,
        templates,
        session,
        campaign,
        invite_values=values,
        invite_errors=errors,
        status_code=422,
    )


@router.post("/judges/assign")
def assign_judge(
    request: Request,
    body: VerifiedForm,
    session: SessionDep,
    templates: TemplatesDep,
    t: TranslatorDep,
    account: CurrentAccount,
) -> Response:
    """Puts an existing judge account on the panel of the chosen themes."""
    campaign = rubric.current_campaign(session)
    errors = FormErrors()
    values: dict[str, Any] = _fields(body)
    theme_ids = _theme_ids(body, t, errors, "assign_themes")
    values["themes"] = [str(i) for i in theme_ids]
    judge_id = values.get("judge_id", "")
    if set(_fields(body)) - {"judge_id"}:
        errors.general.append(t("The form sent too many fields."))
    if not judge_id.isdigit():
        errors.add("judge_id", t("Choose one of the options."))
    if not theme_ids:
        errors.add("assign_themes", t("Choose at least one theme."))
    if not errors:
        try:
            panel.set_judge_themes(
                session,
                campaign=campaign,
                judge_id=int(judge_id),
                theme_ids=theme_ids,
                actor=account,
            )
        except InvalidInput as error:
            errors.add("assign_themes", t(error.message, **error.params))
        else:
            session.commit()
            return RedirectResponse("/staff/judges", status_code=303)
    return _panel_page(
        request,
        templates,
        session,
        campaign,
        assign_values=values,
        assign_errors=errors,
        status_code=422,
    )


@router.post("/judges/{judge_id}/themes")
def set_judge_themes(
    judge_id: PathId,
    body: VerifiedForm,
    session: SessionDep,
    t: TranslatorDep,
    account: CurrentAccount,
) -> Response:
    """Changes a panel member's themes; with none ticked, the judge leaves the panel."""
    campaign = rubric.current_campaign(session)
    errors = FormErrors()
    theme_ids = _theme_ids(body, t, errors, "themes")
    if errors:
        raise InvalidInput(errors.fields["themes"])
    panel.set_judge_themes(
        session, campaign=campaign, judge_id=judge_id, theme_ids=theme_ids, actor=account
    )
    session.commit()
    return RedirectResponse("/staff/judges", status_code=303)


# The register of conflicts of interest ----------------------------------------------------


def _register_page(
    request: Request,
    templates: Templates,
    session: SessionDep,
    campaign: Campaign,
    *,
    values: dict[str, Any] | None = None,
    errors: FormErrors | None = None,
    status_code: int = 200,
) -> Response:
    return templates.render(
        request,
        "staff/panel/conflicts.html",
        {
            "campaign": campaign,
            "register": conflicts.register(session, campaign=campaign),
            "values": values or {},
            "errors": errors or FormErrors(),
        },
        status_code=status_code,
    )


@router.get("/judges/conflicts")
def conflicts_register(request: Request, session: SessionDep, templates: TemplatesDep) -> Response:
    campaign = rubric.current_campaign(session)
    return _register_page(request, templates, session, campaign)


@router.post("/judges/conflicts")
def record_conflict(
    request: Request,
    body: VerifiedForm,
    session: SessionDep,
    templates: TemplatesDep,
    t: TranslatorDep,
    account: CurrentAccount,
) -> Response:
    """Staff record a conflict for a judge and a finalist; the judge cannot remove it."""
    campaign = rubric.current_campaign(session)
    values = {name: value for name, value in body.fields if name != "csrf_token"}
    errors = FormErrors()
    form = None
    try:
        form = StaffConflictForm.model_validate(values)
    except ValidationError as error:
        collect(error, t, errors)
    for name in ("judge_id", "finalist_id"):
        if name in errors.fields:
            errors.fields[name] = t("Choose one of the options.")
    if form is None or errors:
        return _register_page(
            request, templates, session, campaign, values=values, errors=errors, status_code=422
        )
    conflicts.record_by_staff(
        session,
        campaign=campaign,
        judge_id=form.judge_id,
        finalist_id=form.finalist_id,
        description=form.description,
        actor=account,
        now=utcnow(),
    )
    session.commit()
    return RedirectResponse("/staff/judges/conflicts", status_code=303)


@router.post("/judges/conflicts/{declaration_id}/withdraw")
def withdraw_conflict(
    declaration_id: PathId, body: VerifiedForm, session: SessionDep, account: CurrentAccount
) -> Response:
    campaign = rubric.current_campaign(session)
    conflicts.withdraw_by_staff(
        session, campaign=campaign, declaration_id=declaration_id, actor=account
    )
    session.commit()
    return RedirectResponse("/staff/judges/conflicts", status_code=303)
