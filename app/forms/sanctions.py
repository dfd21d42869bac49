"""What the staff forms about sanction registries may contain: a list file's kind and name, a
decision on a possible match, a candidate's identifiers, the queue's filters."""

import re
from collections.abc import Collection, Mapping
from typing import Annotated, Literal

from pydantic import AfterValidator, BeforeValidator, Field
from pydantic_core import PydanticCustomError

from app.forms.base import InputForm, QueryFilter, validate
from app.forms.errors import FormErrors
from app.forms.text import Line, Text, normalise, single_line
from app.i18n import Translator
from app.models import ListFormat, MatchStatus

_CURP = re.compile(r"^[A-Z][AEIOUX][A-Z]{2}\d{6}[HMX][A-Z]{5}[0-9A-Z]\d$")
_RFC = re.compile(r"^[A-ZÑ&]{3,4}\d{6}[A-Z0-9]{3}$")
_RFC_STEM = re.compile(r"^[A-ZÑ&]{4}\d{6}$")


def clean_identifier(value: str) -> str:
    """Upper case, without the spaces, dashes and dots people type between its parts."""
    return re.sub(r"[^0-9A-ZÑ&]", "", value.upper())


def valid_curp(value: str) -> bool:
    return bool(_CURP.match(value))


def valid_rfc(value: str) -> bool:
    """A full RFC (12 characters for a company, 13 for a person) or a person's first ten."""
    return bool(_RFC.match(value) or _RFC_STEM.match(value))


def _curp(value: str) -> str:
    value = clean_identifier(value)
    if value and not valid_curp(value):
        raise PydanticCustomError("curp", "not a CURP")
    return value


def _rfc(value: str) -> str:
    value = clean_identifier(value)
    if value and not valid_rfc(value):
        raise PydanticCustomError("rfc", "not an RFC")
    return value


Curp = Annotated[
    str, BeforeValidator(normalise), AfterValidator(single_line), AfterValidator(_curp)
]
Rfc = Annotated[str, BeforeValidator(normalise), AfterValidator(single_line), AfterValidator(_rfc)]


class ImportListForm(InputForm):
    source: ListFormat
    # The list's name, for a CSV list (a state registry, a journalist's list).
    name: Line = Field("", max_length=120)


class ConfirmMatchForm(InputForm):
    result: Literal["disqualifying", "concern"]
    note: Text = Field("", max_length=5000)
    back: Literal["queue", "candidate", "match"] = "queue"


class DismissMatchForm(InputForm):
    note: Text = Field(min_length=1, max_length=5000)
    back: Literal["queue", "candidate", "match"] = "queue"


def validate_dismissal(
    values: Mapping[str, str], t: Translator, *, bad_encoding: Collection[str] = ()
) -> tuple[DismissMatchForm | None, FormErrors]:
    form, errors = validate(DismissMatchForm, values, t, bad_encoding=bad_encoding)
    if "note" in errors.fields and not values.get("note", "").strip():
        errors.fields["note"] = t("Say why this entry is another person.")
    return form, errors


class IdentityForm(InputForm):
    full_name: Line = Field("", max_length=200)
    rfc: Rfc = Field("", max_length=20)
    curp: Curp = Field("", max_length=30)


class MatchFilter(QueryFilter):
    status: MatchStatus | Literal["all"] = MatchStatus.open
