"""What the staff forms about candidates and their vetting may contain."""

from collections.abc import Collection
from datetime import date
from typing import Annotated

from pydantic import BeforeValidator, Field
from pydantic_core import PydanticCustomError

from app.forms.base import InputForm, OptionalRowId, QueryFilter, RowId, validate
from app.forms.errors import FormErrors
from app.forms.text import Line, Text, blank_to_none
from app.i18n import Translator
from app.models import MEXICAN_STATES, CheckKind, CheckResult, VettingStatus

# The earliest date a vetting check can bear: an older one is a typing mistake.
EARLIEST_CHECK = date(2000, 1, 1)


class CandidateFilter(QueryFilter):
    """The candidates list's theme and its page of ungrouped nominations."""

    theme: Annotated[str | None, BeforeValidator(blank_to_none)] = Field(None, max_length=40)


class CreateCandidateForm(InputForm):
    nomination_id: RowId
    # Another ungrouped nomination of the same person, grouped in the same step.
    with_nomination_id: OptionalRowId = None


GroupChoice = Annotated[
    str,
    Field(pattern=r"^[1-9][0-9]{0,9}:(new|candidate:[1-9][0-9]{0,9}|nomination:[1-9][0-9]{0,9})$"),
]


class GroupManyForm(InputForm):
    """The ticked groupings of the list's one-step form, each "nomination:new",
    "nomination:candidate:id" or "nomination:nomination:id"."""

    group: list[GroupChoice] = Field(min_length=1, max_length=500)

    def choices(self) -> list[tuple[int, str, int | None]]:
        """(nomination id, "new" | "candidate" | "nomination", the other id)."""
        found: list[tuple[int, str, int | None]] = []
        for value in self.group:
            nomination, kind, *other = value.split(":")
            found.append((int(nomination), kind, int(other[0]) if other else None))
        return found


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


OptionalResult = Annotated[CheckResult | None, BeforeValidator(blank_to_none)]
OptionalStatus = Annotated[VettingStatus | None, BeforeValidator(blank_to_none)]
CHECKLIST_KINDS = (
    CheckKind.references,
    CheckKind.press,
    CheckKind.public_records,
    CheckKind.sanctions,
)


class ChecklistForm(InputForm):
    """The four standard checks of a candidate in one form (a blank result is left unrecorded),
    one date for all, and optionally the vetting status that follows from them."""

    checklist_on: date
    result_references: OptionalResult = None
    note_references: Text = Field("", max_length=5000)
    result_press: OptionalResult = None
    note_press: Text = Field("", max_length=5000)
    result_public_records: OptionalResult = None
    note_public_records: Text = Field("", max_length=5000)
    result_sanctions: OptionalResult = None
    note_sanctions: Text = Field("", max_length=5000)
    new_status: OptionalStatus = None
    status_note: Text = Field("", max_length=5000)

    def checks(self) -> list[VettingCheckForm]:
        found = []
        for kind in CHECKLIST_KINDS:
            result = getattr(self, f"result_{kind.value}")
            if result is not None:
                found.append(
                    VettingCheckForm(
                        kind=kind,
                        result=result,
                        checked_on=self.checklist_on,
                        note=getattr(self, f"note_{kind.value}"),
                    )
                )
        return found


def validate_checklist(
    data: dict[str, str], t: Translator, *, today: date, bad_encoding: Collection[str] = ()
) -> tuple[ChecklistForm | None, FormErrors]:
    form, errors = validate(ChecklistForm, data, t, bad_encoding=bad_encoding)
    if form is not None:
        if form.checklist_on > today:
            errors.add("checklist_on", t("A check cannot be dated in the future."))
        elif form.checklist_on < EARLIEST_CHECK:
            errors.add("checklist_on", t("Enter the date the check was made."))
        if not form.checks() and form.new_status is None:
            errors.general.append(t("Choose the result of at least one check, or a status."))
        if form.new_status is VettingStatus.flagged and not form.status_note:
            errors.add("status_note", t("Say why the candidate is flagged."))
    return (None, errors) if errors else (form, errors)


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


def _state_or_blank(value: object) -> object:
    if value not in ("", *MEXICAN_STATES):
        raise PydanticCustomError("enum", "unknown state")
    return value


class RenameForm(InputForm):
    """A candidate's name as staff found it to be (a typo in the nominations, a full name)."""

    name: Line = Field(min_length=1, max_length=200)
    institution: Line = Field("", max_length=200)
    state: Annotated[str, BeforeValidator(_state_or_blank)] = ""


class SplitForm(InputForm):
    """The nominations that name another person, moved to a new candidate of their own."""

    nominations: list[RowId] = Field(default_factory=list, max_length=500)
