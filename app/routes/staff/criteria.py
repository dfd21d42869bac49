"""/staff/criteria: the campaign's rubric, editable until the first score is given."""

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from app.errors import InvalidInput
from app.forms.base import validate
from app.forms.campaigns import MoveCriterionForm, validate_criterion
from app.forms.errors import FormErrors
from app.i18n import Translator
from app.models import Campaign, Criterion
from app.services.campaigns import rubric
from app.web.deps import CurrentAccount, PathId, SessionDep, TemplatesDep, TranslatorDep
from app.web.form_body import VerifiedForm, form_values
from app.web.templating import Templates

router = APIRouter()


def _values_of(criterion: Criterion) -> dict[str, str]:
    return {
        "name_es": criterion.name_es,
        "name_en": criterion.name_en,
        "description_es": criterion.description_es,
        "description_en": criterion.description_en,
        "weight": f"{criterion.weight:g}",
        "scale_min": str(criterion.scale_min),
        "scale_max": str(criterion.scale_max),
    }


def _labels(t: Translator) -> dict[str, str]:
    return {
        "name_es": t("Name in Spanish"),
        "name_en": t("Name in English"),
        "description_es": t("Description in Spanish"),
        "description_en": t("Description in English"),
        "weight": t("Weight"),
        "scale_min": t("Lowest score"),
        "scale_max": t("Highest score"),
    }


def _index(
    request: Request,
    templates: Templates,
    session: SessionDep,
    campaign: Campaign,
    t: Translator,
    *,
    values: dict[str, Any] | None = None,
    errors: FormErrors | None = None,
    status_code: int = 200,
) -> Response:
    view = rubric.rubric_view(session, campaign=campaign)
    return templates.render(
        request,
        "staff/criteria/index.html",
        {
            "view": view,
            "values": values or {"scale_min": "1", "scale_max": "5", "weight": "1"},
            "errors": errors or FormErrors(),
            "labels": _labels(t),
        },
        status_code=status_code,
    )


@router.get("/criteria")
def criteria_page(
    request: Request, session: SessionDep, templates: TemplatesDep, t: TranslatorDep
) -> Response:
    campaign = rubric.current_campaign(session)
    return _index(request, templates, session, campaign, t)


@router.post("/criteria")
def add_criterion(
    request: Request,
    body: VerifiedForm,
    session: SessionDep,
    templates: TemplatesDep,
    t: TranslatorDep,
    account: CurrentAccount,
) -> Response:
    campaign = rubric.current_campaign(session)
    assert campaign.id is not None
    rubric.ensure_editable(session, campaign_id=campaign.id)
    values = form_values(body)
    form, errors = validate_criterion(values, t, bad_encoding=body.bad_encoding)
    if form is None:
        return _index(
            request, templates, session, campaign, t, values=values, errors=errors, status_code=422
        )
    rubric.add_criterion(session, campaign=campaign, actor=account, **form.model_dump())
    session.commit()
    return RedirectResponse("/staff/criteria", status_code=303)


def _edit_page(
    request: Request,
    templates: Templates,
    session: SessionDep,
    criterion: Criterion,
    t: Translator,
    *,
    values: dict[str, Any] | None = None,
    errors: FormErrors | None = None,
    status_code: int = 200,
) -> Response:
    return templates.render(
        request,
        "staff/criteria/edit.html",
        {
            "criterion": criterion,
            "frozen": rubric.is_frozen(session, campaign_id=criterion.campaign_id),
            "values": values or _values_of(criterion),
            "errors": errors or FormErrors(),
            "labels": _labels(t),
        },
        status_code=status_code,
    )


@router.get("/criteria/{criterion_id}")
def edit_criterion_page(
    request: Request,
    criterion_id: PathId,
    session: SessionDep,
    templates: TemplatesDep,
    t: TranslatorDep,
) -> Response:
    campaign = rubric.current_campaign(session)
    assert campaign.id is not None
    criterion = rubric.get_criterion(session, campaign_id=campaign.id, criterion_id=criterion_id)
    return _edit_page(request, templates, session, criterion, t)


@router.post("/criteria/{criterion_id}")
def edit_criterion(
    request: Request,
    criterion_id: PathId,
    body: VerifiedForm,
    session: SessionDep,
    templates: TemplatesDep,
    t: TranslatorDep,
    account: CurrentAccount,
) -> Response:
    campaign = rubric.current_campaign(session)
    assert campaign.id is not None
    criterion = rubric.get_criterion(session, campaign_id=campaign.id, criterion_id=criterion_id)
    rubric.ensure_editable(session, campaign_id=campaign.id)
    values = form_values(body)
    form, errors = validate_criterion(values, t, bad_encoding=body.bad_encoding)
    if form is None:
        return _edit_page(
            request, templates, session, criterion, t, values=values, errors=errors, status_code=422
        )
    rubric.update_criterion(
        session, campaign=campaign, criterion_id=criterion_id, actor=account, **form.model_dump()
    )
    session.commit()
    return RedirectResponse("/staff/criteria", status_code=303)


@router.post("/criteria/{criterion_id}/delete")
def delete_criterion(
    criterion_id: PathId, body: VerifiedForm, session: SessionDep, account: CurrentAccount
) -> Response:
    campaign = rubric.current_campaign(session)
    rubric.delete_criterion(session, campaign=campaign, criterion_id=criterion_id, actor=account)
    session.commit()
    return RedirectResponse("/staff/criteria", status_code=303)


@router.post("/criteria/{criterion_id}/move")
def move_criterion(
    criterion_id: PathId,
    body: VerifiedForm,
    session: SessionDep,
    t: TranslatorDep,
    account: CurrentAccount,
) -> Response:
    form, _ = validate(MoveCriterionForm, form_values(body), t)
    if form is None:
        raise InvalidInput()
    campaign = rubric.current_campaign(session)
    rubric.move_criterion(
        session,
        campaign=campaign,
        criterion_id=criterion_id,
        direction=form.direction,
        actor=account,
    )
    session.commit()
    return RedirectResponse("/staff/criteria", status_code=303)
