"""/staff/judges: the panel of judges per theme, invitations, and the register of conflicts of
interest (/staff/judges/conflicts)."""

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from app.errors import Conflict, InvalidInput
from app.forms.base import validate
from app.forms.errors import FormErrors
from app.forms.judging import (
    JudgeThemesForm,
    validate_assignment,
    validate_judge_invite,
    validate_staff_conflict,
)
from app.i18n import N_
from app.models import Campaign, utcnow
from app.services.campaigns import rubric
from app.services.judging import conflicts, panel
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
    values = {**form_values(body), **form_lists(body, "themes")}
    form, errors = validate_judge_invite(values, t, bad_encoding=body.bad_encoding)
    if form is not None:
        try:
            invitation = panel.invite_judge(
                session,
                campaign=campaign,
                name=form.name,
                email=form.email,
                theme_ids=form.themes,
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
    values = {**form_values(body), **form_lists(body, "themes")}
    form, errors = validate_assignment(values, t, bad_encoding=body.bad_encoding)
    if form is not None:
        try:
            panel.set_judge_themes(
                session,
                campaign=campaign,
                judge_id=form.judge_id,
                theme_ids=form.themes,
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
    form, _ = validate(JudgeThemesForm, form_lists(body, "themes"), t)
    if form is None:
        raise InvalidInput(N_("Choose one of the options."))
    panel.set_judge_themes(
        session, campaign=campaign, judge_id=judge_id, theme_ids=form.themes, actor=account
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
    values = form_values(body)
    form, errors = validate_staff_conflict(values, t, bad_encoding=body.bad_encoding)
    if form is None:
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
