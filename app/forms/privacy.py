"""What staff send to answer a nominator's request about their personal data (ARCO: access,
rectification, cancellation)."""

from collections.abc import Collection, Mapping
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, Field
from pydantic_core import PydanticCustomError

from app.forms.base import InputForm, validate
from app.forms.errors import FormErrors
from app.forms.text import Checkbox, Line, Phone, normalise, single_line
from app.i18n import Translator


class DataFormat(StrEnum):
    json = "json"
    csv = "csv"


def _has_at(value: str) -> str:
    # Lenient on purpose: an address stored years ago must be findable even if today's
    # validator would refuse it; only the obvious mistakes are stopped.
    if "@" not in value:
        raise PydanticCustomError("email", "not an e-mail address")
    return value


SearchEmail = Annotated[
    str, BeforeValidator(normalise), AfterValidator(single_line), AfterValidator(_has_at)
]


class SearchForm(InputForm):
    """The person is named by e-mail in a POST form only, never in a URL."""

    email: SearchEmail = Field(min_length=3, max_length=254)


class ExportForm(SearchForm):
    format: DataFormat = DataFormat.json


class CancelForm(SearchForm):
    confirm: Checkbox = False
    # Also blank what the nominator wrote (services/privacy/erasure.STORY_FIELDS).
    redact_stories: Checkbox = False


def validate_cancel(
    values: Mapping[str, object], t: Translator, *, bad_encoding: Collection[str] = ()
) -> tuple[CancelForm | None, FormErrors]:
    form, errors = validate(CancelForm, values, t, bad_encoding=bad_encoding)
    if form is not None and not form.confirm:
        errors.add(
            "confirm", t("Tick the box to confirm that this person's data should be anonymised.")
        )
    return (None, errors) if errors else (form, errors)


class RectifyForm(SearchForm):
    nominator_name: Line = Field(min_length=1, max_length=200)
    nominator_phone: Phone = Field(default="", max_length=30)
