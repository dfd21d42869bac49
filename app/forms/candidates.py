"""What the staff forms about candidates and their vetting may contain."""

from collections.abc import Collection
from datetime import date
from typing import Annotated

from pydantic import BeforeValidator, Field

from app.forms.base import InputForm, OptionalRowId, QueryFilter, RowId, validate
from app.forms.errors import FormErrors
from app.forms.text import Text, blank_to_none
from app.i18n import Translator
from app.models import CheckKind, CheckResult, VettingStatus

# The earliest date a vetting check can bear: an older one is a typing mistake.
EARLIEST_CHECK = date(2000, 1, 1)


class CandidateFilter(QueryFilter):
    """The candidates list's theme and its page of ungrouped nominations."""

    theme: Annotated[str | None, BeforeValidator(blank_to_none)] = Field(None, max_length=40)


class CreateCandidateForm(InputForm):
    nomination_id: RowId
    # Another ungrouped nomination of the same person, grouped in the same step.
    with_nomination_id: OptionalRowId = None


class GroupForm(InputForm):
    candidate_id: RowId
    nomination_id: RowId


class AddNominationForm(InputForm):
    nomination_id: RowId


class MergeForm(InputForm):
    other_id: RowId


class VettingCheckForm(InputForm):
    kind: CheckKind
    result: CheckResult
    checked_on: date
    note: Text = Field("", max_length=5000)


class VettingStatusForm(InputForm):
    status: VettingStatus
    vetting_note: Text = Field("", max_length=5000)


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
