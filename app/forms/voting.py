"""What the public vote's forms may contain: a voter's vote, and staff's set-up, voids,
exports and tallies from the ground (issue 18)."""

from collections.abc import Collection, Mapping
from datetime import date, datetime
from typing import Annotated

from pydantic import BeforeValidator, Field
from pydantic_core import PydanticCustomError

from app.forms.base import InputForm, RowId, validate
from app.forms.errors import FormErrors
from app.forms.text import Checkbox, Email, Line, Text, blank_to_none
from app.i18n import TIMEZONE, Translator


class VoteForm(InputForm):
    finalist: RowId
    email: Email = Field(max_length=254)


def validate_vote(
    values: Mapping[str, object],
    t: Translator,
    *,
    finalist_ids: Collection[int],
    bad_encoding: Collection[str] = (),
) -> tuple[VoteForm | None, FormErrors]:
    form, errors = validate(VoteForm, values, t, bad_encoding=bad_encoding)
    if "finalist" in errors.fields or (form is not None and form.finalist not in finalist_ids):
        errors.fields["finalist"] = t("Choose one of the finalists.")
        form = None
    if not str(values.get("email", "")).strip():
        errors.fields["email"] = t("Give your e-mail address: we send the link to confirm there.")
    return (None, errors) if errors else (form, errors)


def _local_datetime(value: object) -> object:
    """A datetime-local field ("2026-12-05T18:00"), in Mexico City time, as UTC."""
    value = blank_to_none(value)
    if not isinstance(value, str):
        return value
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError as error:
        raise PydanticCustomError("local_datetime", "not a date and time") from error
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=TIMEZONE)
    return parsed


LocalDateTime = Annotated[datetime, BeforeValidator(_local_datetime)]


class VoteSetupForm(InputForm):
    theme_id: RowId
    opens_at: LocalDateTime
    closes_at: LocalDateTime
    show_running_counts: Checkbox = False


def validate_setup(
    values: Mapping[str, object], t: Translator, *, bad_encoding: Collection[str] = ()
) -> tuple[VoteSetupForm | None, FormErrors]:
    form, errors = validate(VoteSetupForm, values, t, bad_encoding=bad_encoding)
    for name in ("opens_at", "closes_at"):
        if name in errors.fields and str(values.get(name, "")).strip():
            errors.fields[name] = t("Enter a date and time such as 2026-03-31 18:00.")
    return (None, errors) if errors else (form, errors)


class VoidForm(InputForm):
    selector: Annotated[str, Field(pattern=r"^(network|pattern|burst|fast)$")]
    value: Line = Field("", max_length=254)
    reason: Text = Field(min_length=1, max_length=2000)


class ExportForm(InputForm):
    reason: Text = Field(min_length=1, max_length=2000)


class TallyForm(InputForm):
    place: Line = Field(min_length=1, max_length=200)
    counted_on: Annotated[date, BeforeValidator(blank_to_none)]
    counted_by: Line = Field(min_length=1, max_length=200)


COUNT_PREFIX = "count-"


def validate_tally(
    values: Mapping[str, str],
    t: Translator,
    *,
    finalist_ids: Collection[int],
    today: date,
    bad_encoding: Collection[str] = (),
) -> tuple[TallyForm | None, dict[int, int], FormErrors]:
    """The batch's fields, and the votes per finalist (fields `count-{finalist_id}`)."""
    plain = {k: v for k, v in values.items() if not k.startswith(COUNT_PREFIX)}
    form, errors = validate(TallyForm, plain, t, bad_encoding=bad_encoding)
    counts: dict[int, int] = {}
    for name, raw in values.items():
        if not name.startswith(COUNT_PREFIX):
            continue
        suffix = name[len(COUNT_PREFIX) :]
        text = raw.strip()
        if not (suffix.isascii() and suffix.isdigit()) or int(suffix) not in finalist_ids:
            errors.general.append(
                t("The form contained a field we did not expect: %(name)s.", name=name[:40])
            )
            continue
        if not text:
            continue
        if not (text.isascii() and text.isdigit()) or int(text) > 10_000_000:
            errors.add(name, t("Enter a whole number."))
            continue
        counts[int(suffix)] = int(text)
    if form is not None and form.counted_on > today:
        errors.add("counted_on", t("The date cannot be in the future."))
    if not errors and not any(counts.values()):
        errors.general.append(t("Enter the votes of at least one finalist."))
    return (None if errors else form), counts, errors
