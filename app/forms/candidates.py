"""What the staff forms about candidates and their vetting may contain."""

from collections.abc import Collection
from datetime import date
from typing import Annotated, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from app.body import FormBody
from app.forms.errors import FormErrors, collect
from app.forms.text import Text, blank_to_none
from app.i18n import Translator
from app.models import CheckKind, CheckResult, VettingStatus

RowId = Annotated[int, BeforeValidator(blank_to_none), Field(ge=1, le=2**31 - 1)]
OptionalRowId = Annotated[int | None, BeforeValidator(blank_to_none), Field(ge=1, le=2**31 - 1)]

# The earliest date a vetting check can bear: an older one is a typing mistake.
EARLIEST_CHECK = date(2000, 1, 1)


class StaffForm(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CreateCandidateForm(StaffForm):
    nomination_id: RowId
    # Another ungrouped nomination of the same person, grouped in the same step.
    with_nomination_id: OptionalRowId = None


class GroupForm(StaffForm):
    candidate_id: RowId
    nomination_id: RowId


class AddNominationForm(StaffForm):
    nomination_id: RowId


class MergeForm(StaffForm):
    other_id: RowId


class VettingCheckForm(StaffForm):
    kind: CheckKind
    result: CheckResult
    checked_on: date
    note: Text = Field("", max_length=5000)


class VettingStatusForm(StaffForm):
    status: VettingStatus
    vetting_note: Text = Field("", max_length=5000)


Form = TypeVar("Form", bound=BaseModel)

DATE_ERRORS = {
    "date_parsing",
    "date_from_datetime_parsing",
    "date_type",
    "date_from_datetime_inexact",
}


def form_values(body: FormBody) -> dict[str, str]:
    """What was typed, to validate and to show again; the CSRF token is not part of it."""
    return {name: value for name, value in body.fields if name != "csrf_token"}


def validate(
    model: type[Form],
    data: dict[str, str],
    t: Translator,
    *,
    bad_encoding: Collection[str] = (),
) -> tuple[Form | None, FormErrors]:
    """The validated form, or None and the errors to show beside each field."""
    errors = FormErrors()
    for name in bad_encoding:
        errors.add(name, t("This field contains characters that are not valid text."))
    try:
        form = model.model_validate(data)
    except ValidationError as error:
        for item in error.errors():
            if item["type"] in DATE_ERRORS and item["loc"]:
                errors.add(str(item["loc"][0]), t("Enter a date such as 2026-03-31."))
        collect(error, t, errors)
        return None, errors
    if errors:
        return None, errors
    return form, errors


def validate_check(
    data: dict[str, str], t: Translator, *, today: date, bad_encoding: Collection[str] = ()
) -> tuple[VettingCheckForm | None, FormErrors]:
    form, errors = validate(VettingCheckForm, data, t, bad_encoding=bad_encoding)
    if form is not None:
        if form.checked_on > today:
            errors.add("checked_on", t("A check cannot be dated in the future."))
        elif form.checked_on < EARLIEST_CHECK:
            errors.add("checked_on", t("Enter the date the check was made."))
    return (None, errors) if errors else (form, errors)


def validate_status(
    data: dict[str, str], t: Translator, *, bad_encoding: Collection[str] = ()
) -> tuple[VettingStatusForm | None, FormErrors]:
    form, errors = validate(VettingStatusForm, data, t, bad_encoding=bad_encoding)
    if form is not None and form.status is VettingStatus.flagged and not form.vetting_note:
        errors.add("vetting_note", t("Say why the candidate is flagged."))
    return (None, errors) if errors else (form, errors)
