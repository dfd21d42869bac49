"""/staff/criteria: the campaign's rubric, editable until the first score is given."""

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from app.errors import InvalidInput
from app.forms.errors import FormErrors, collect
from app.forms.text import Line, Text, blank_to_none
from app.i18n import Translator
from app.models import Campaign, Criterion
from app.services.campaigns import rubric
from app.web.body import FormBody
from app.web.deps import CurrentAccount, PathId, SessionDep, TemplatesDep, TranslatorDep
from app.web.form_body import VerifiedForm
from app.web.templating import Templates

router = APIRouter()


def _decimal(value: object) -> object:
    """Accepts "1,5" as well as "1.5": Spanish writes a decimal comma."""
    value = blank_to_none(value)
    return value.strip().replace(",", ".") if isinstance(value, str) else value


class CriterionForm(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name_es: Line = Field(min_length=1, max_length=200)
    name_en: Line = Field(min_length=1, max_length=200)
    description_es: Text = Field(default="", max_length=2000)
    description_en: Text = Field(default="", max_length=2000)
    weight: Annotated[float, BeforeValidator(_decimal)] = Field(
        gt=0, le=rubric.MAX_WEIGHT, allow_inf_nan=False
    )
    scale_min: Annotated[int, BeforeValidator(blank_to_none)] = Field(
        ge=rubric.SCALE_BOUNDS[0], le=rubric.SCALE_BOUNDS[1]
    )
    scale_max: Annotated[int, BeforeValidator(blank_to_none)] = Field(
        ge=rubric.SCALE_BOUNDS[0], le=rubric.SCALE_BOUNDS[1]
    )


FIELDS = tuple(CriterionForm.model_fields)


def parse_criterion(body: FormBody, t: Translator) -> tuple[CriterionForm | None, FormErrors, dict]:
    values = {name: value for name, value in body.fields if name != "csrf_token"}
    errors = FormErrors()
    for name in body.bad_encoding:
        errors.add(name, t("This field contains characters that are not valid text."))
    form = None
    try:
        form = CriterionForm.model_validate(values)
    except ValidationError as error:
        collect(error, t, errors)
    if "weight" in errors.fields:
        errors.fields["weight"] = t(
            "Enter a weight greater than 0 and at most %(max)s, such as 1 or 1.5.",
            max=int(rubric.MAX_WEIGHT),
        )
    if form is not None and form.scale_min >= form.scale_max:
        errors.add("scale_max", t("The highest score must be greater than the lowest."))
    if errors:
        return None, errors, values
    return form, errors, values


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
    form, errors, values = parse_criterion(body, t)
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
    form, errors, values = parse_criterion(body, t)
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
    criterion_id: PathId, body: VerifiedForm, session: SessionDep, account: CurrentAccount
) -> Response:
    direction: Literal["up", "down"]
    match dict(body.fields).get("direction"):
        case "up":
            direction = "up"
        case "down":
            direction = "down"
        case _:
            raise InvalidInput()
    campaign = rubric.current_campaign(session)
    rubric.move_criterion(
        session, campaign=campaign, criterion_id=criterion_id, direction=direction, actor=account
    )
    session.commit()
    return RedirectResponse("/staff/criteria", status_code=303)
