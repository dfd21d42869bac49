"""What staff and judges send about judging: the panel and its invitations, conflicts of
interest, deliberation meetings, a judge's score sheet and a meeting's decision."""

import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, time
from typing import Annotated, Literal

from pydantic import BeforeValidator, Field

from app.forms.base import InputForm, OptionalRowId, RowId, validate
from app.forms.errors import FormErrors
from app.forms.text import Email, Line, Text, blank_to_none
from app.i18n import N_, Translator

# The longest description of a conflict of interest, from a judge or from staff.
MAX_DESCRIPTION = 2000
# The most themes one checkbox group can send: far more than a campaign has.
MAX_THEMES = 50

ThemeIds = Annotated[list[RowId], Field(default_factory=list, max_length=MAX_THEMES)]


# --- the panel -------------------------------------------------------------------------------


class JudgeInviteForm(InputForm):
    name: Line = Field(min_length=1, max_length=200)
    email: Email = Field(max_length=254)
    locale: Literal["es", "en"]
    themes: ThemeIds


class AssignJudgeForm(InputForm):
    """An existing judge account put on the panel of the chosen themes."""

    judge_id: RowId
    themes: ThemeIds


class JudgeThemesForm(InputForm):
    """A panel member's themes; none ticked takes the judge off the panel."""

    themes: ThemeIds


def _theme_errors(
    values: Mapping[str, object], t: Translator, errors: FormErrors, *, field: str, required: bool
) -> None:
    """The theme checkboxes' own words, beside `field`: none ticked, or a value that is none of
    the options (a hand-made id, say)."""
    invalid = errors.fields.pop("themes", None)
    if invalid is not None:
        errors.add(field, t("Choose one of the options."))
    elif required and not values.get("themes"):
        errors.add(field, t("Choose at least one theme."))


def validate_judge_invite(
    values: Mapping[str, object], t: Translator, *, bad_encoding: Collection[str] = ()
) -> tuple[JudgeInviteForm | None, FormErrors]:
    form, errors = validate(JudgeInviteForm, values, t, bad_encoding=bad_encoding)
    _theme_errors(values, t, errors, field="themes", required=True)
    return (None, errors) if errors else (form, errors)


def validate_assignment(
    values: Mapping[str, object], t: Translator, *, bad_encoding: Collection[str] = ()
) -> tuple[AssignJudgeForm | None, FormErrors]:
    form, errors = validate(AssignJudgeForm, values, t, bad_encoding=bad_encoding)
    if "judge_id" in errors.fields:
        errors.fields["judge_id"] = t("Choose one of the options.")
    _theme_errors(values, t, errors, field="assign_themes", required=True)
    return (None, errors) if errors else (form, errors)


# --- conflicts of interest -------------------------------------------------------------------


class DeclarationForm(InputForm):
    """A judge's own answer for one finalist."""

    answer: Literal["none", "conflict"]
    description: Text = Field(default="", max_length=MAX_DESCRIPTION)


class NoConflictForm(InputForm):
    """A judge's "no conflict" for every finalist the page showed as unanswered."""

    finalists: list[RowId] = Field(min_length=1, max_length=500)


class StaffConflictForm(InputForm):
    """A conflict staff record for a judge and a finalist; the judge cannot remove it."""

    judge_id: RowId
    finalist_id: RowId
    description: Text = Field(min_length=1, max_length=MAX_DESCRIPTION)


def validate_staff_conflict(
    values: Mapping[str, object], t: Translator, *, bad_encoding: Collection[str] = ()
) -> tuple[StaffConflictForm | None, FormErrors]:
    form, errors = validate(StaffConflictForm, values, t, bad_encoding=bad_encoding)
    for name in ("judge_id", "finalist_id"):
        if name in errors.fields:
            errors.fields[name] = t("Choose one of the options.")
    return form, errors


# --- meetings --------------------------------------------------------------------------------

DATE_MESSAGE = N_("Enter a date such as 2026-12-31.")
MeetingDate = Annotated[date, BeforeValidator(blank_to_none)]


class MeetingForm(InputForm):
    number: Annotated[int, BeforeValidator(blank_to_none)] = Field(ge=1, le=999)
    held_on: MeetingDate
    source_meeting_id: OptionalRowId = None
    themes: ThemeIds


class MeetingDateForm(InputForm):
    held_on: MeetingDate


class ScopeForm(InputForm):
    """A finalist added to or taken out of a meeting's scope."""

    finalist_id: RowId


def _date_message(values: Mapping[str, object], t: Translator, errors: FormErrors) -> None:
    if "held_on" in errors.fields:
        typed = str(values.get("held_on") or "").strip()
        errors.fields["held_on"] = t(DATE_MESSAGE) if typed else t("This field is required.")


def validate_meeting(
    values: Mapping[str, object], t: Translator, *, bad_encoding: Collection[str] = ()
) -> tuple[MeetingForm | None, FormErrors]:
    form, errors = validate(MeetingForm, values, t, bad_encoding=bad_encoding)
    _date_message(values, t, errors)
    _theme_errors(values, t, errors, field="themes", required=False)
    return form, errors


def validate_meeting_date(
    values: Mapping[str, object], t: Translator, *, bad_encoding: Collection[str] = ()
) -> tuple[MeetingDateForm | None, FormErrors]:
    form, errors = validate(MeetingDateForm, values, t, bad_encoding=bad_encoding)
    _date_message(values, t, errors)
    return form, errors


# The automatic reminder's choices, in hours before a meeting's scoring closes.
REMINDER_HOURS = (6, 12, 24, 48, 72)


class DeadlineForm(InputForm):
    """When a meeting's scoring closes, as a date and a time in Mexico City (both, or neither),
    and how many hours before it the server reminds judges with sheets left (none: never)."""

    closes_on: Annotated[date | None, BeforeValidator(blank_to_none)] = None
    closes_time: Annotated[time | None, BeforeValidator(blank_to_none)] = None
    reminder_hours: Annotated[int | None, BeforeValidator(blank_to_none)] = None


def validate_deadline(
    values: Mapping[str, object], t: Translator, *, bad_encoding: Collection[str] = ()
) -> tuple[DeadlineForm | None, FormErrors]:
    form, errors = validate(DeadlineForm, values, t, bad_encoding=bad_encoding)
    if "closes_time" in errors.fields:
        errors.fields["closes_time"] = t("Enter a time such as 18:00.")
    if form is not None:
        if (form.closes_on is None) != (form.closes_time is None):
            missing = "closes_time" if form.closes_time is None else "closes_on"
            errors.add(missing, t("Enter both the date and the time, or neither."))
        if form.reminder_hours is not None and form.reminder_hours not in REMINDER_HOURS:
            errors.add("reminder_hours", t("Choose one of the options."))
    return (None, errors) if errors else (form, errors)


# --- a judge's score sheet -------------------------------------------------------------------

SCORE_FIELD = re.compile(r"score-([0-9]{1,9})")
SHEET_ACTIONS = {"draft": False, "submit": True}


@dataclass(frozen=True)
class SheetForm:
    """A score sheet as sent: `score-<criterion id>` fields (checked against the rubric by the
    scoring service), a comment, the version the form was drawn with, and the button."""

    values: dict[int, str]
    comment: str
    version: int | None
    submit: bool


def parse_sheet(
    values: Mapping[str, str], t: Translator, *, bad_encoding: Collection[str] = ()
) -> tuple[SheetForm, FormErrors]:
    errors = FormErrors()
    for name in bad_encoding:
        errors.add(name, t("This field contains characters that are not valid text."))
    scores: dict[int, str] = {}
    for name, value in values.items():
        match = SCORE_FIELD.fullmatch(name)
        if match:
            scores[int(match.group(1))] = value
        elif name not in ("comment", "version", "action"):
            errors.general.append(
                t("The form contained a field we did not expect: %(name)s.", name=name)
            )
    version = values.get("version", "")
    action = values.get("action", "")
    readable = version.isascii() and version.isdigit() and len(version) <= 9
    if not readable or action not in SHEET_ACTIONS:
        errors.general.append(t("The form could not be read. Please reload it and try again."))
    form = SheetForm(
        values=scores,
        comment=values.get("comment", ""),
        version=int(version) if readable else None,
        submit=SHEET_ACTIONS.get(action, False),
    )
    return form, errors


# --- a meeting's decision --------------------------------------------------------------------


@dataclass(frozen=True)
class DecisionForm:
    """Who advances from a closed meeting, who it proposes as winners, and its minutes (whose
    length the aggregation service checks)."""

    advanced: frozenset[int]
    proposed_winners: frozenset[int]
    minutes: str


def parse_decision(
    fields: Iterable[tuple[str, str]], t: Translator, *, bad_encoding: Collection[str] = ()
) -> tuple[DecisionForm, FormErrors]:
    errors = FormErrors()
    for name in bad_encoding:
        errors.add(name, t("This field contains characters that are not valid text."))
    ids: dict[str, set[int]] = {"advanced": set(), "proposed_winner": set()}
    minutes = ""
    for name, value in fields:
        if name == "minutes":
            minutes = value
        elif name in ids:
            if value.isascii() and value.isdigit() and len(value) <= 9:
                ids[name].add(int(value))
            else:
                errors.add("decision", t("Choose only finalists of this meeting."))
        else:
            errors.general.append(
                t("The form contained a field we did not expect: %(name)s.", name=name)
            )
    form = DecisionForm(
        advanced=frozenset(ids["advanced"]),
        proposed_winners=frozenset(ids["proposed_winner"]),
        minutes=minutes,
    )
    return form, errors
