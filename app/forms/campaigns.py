"""What staff send about the campaign's set-up: the criteria of its rubric."""

from collections.abc import Collection, Mapping
from typing import Annotated, Literal

from pydantic import BeforeValidator, Field

from app.forms.base import InputForm, validate
from app.forms.errors import FormErrors
from app.forms.text import Line, Text, blank_to_none
from app.i18n import Translator

# Bounds of what a rubric may hold; the form refuses anything outside them, and the rubric
# service checks them again.
MAX_WEIGHT = 100.0
SCALE_BOUNDS = (0, 100)


def _decimal(value: object) -> object:
    """Accepts "1,5" as well as "1.5": Spanish writes a decimal comma."""
    value = blank_to_none(value)
    return value.strip().replace(",", ".") if isinstance(value, str) else value


ScaleEnd = Annotated[
    int, BeforeValidator(blank_to_none), Field(ge=SCALE_BOUNDS[0], le=SCALE_BOUNDS[1])
]


class CriterionForm(InputForm):
    name_es: Line = Field(min_length=1, max_length=200)
    name_en: Line = Field(min_length=1, max_length=200)
    description_es: Text = Field(default="", max_length=2000)
    description_en: Text = Field(default="", max_length=2000)
    weight: Annotated[float, BeforeValidator(_decimal)] = Field(
        gt=0, le=MAX_WEIGHT, allow_inf_nan=False
    )
    scale_min: ScaleEnd
    scale_max: ScaleEnd


class MoveCriterionForm(InputForm):
    direction: Literal["up", "down"]


def validate_criterion(
    values: Mapping[str, object], t: Translator, *, bad_encoding: Collection[str] = ()
) -> tuple[CriterionForm | None, FormErrors]:
    form, errors = validate(CriterionForm, values, t, bad_encoding=bad_encoding)
    if "weight" in errors.fields:
        errors.fields["weight"] = t(
            "Enter a weight greater than 0 and at most %(max)s, such as 1 or 1.5.",
            max=int(MAX_WEIGHT),
        )
    if form is not None and form.scale_min >= form.scale_max:
        errors.add("scale_max", t("The highest score must be greater than the lowest."))
    return (None, errors) if errors else (form, errors)
