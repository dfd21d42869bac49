"""What every input model shares: the base class, bounded row ids, one `validate`, and the base of
the staff lists' query-string filters."""

from collections.abc import Collection, Mapping
from typing import Annotated, Self, TypeVar
from urllib.parse import urlencode

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from app.forms.errors import FormErrors, collect
from app.forms.text import blank_to_none
from app.i18n import Translator

# Every id a person or a URL can send: a row of ours is never 0, negative or past a 32-bit
# integer (PostgreSQL's `integer`), so anything else is refused before it reaches a query.
MAX_ROW_ID = 2**31 - 1
RowId = Annotated[int, BeforeValidator(blank_to_none), Field(ge=1, le=MAX_ROW_ID)]
OptionalRowId = Annotated[int | None, BeforeValidator(blank_to_none), Field(ge=1, le=MAX_ROW_ID)]


class InputForm(BaseModel):
    """A submitted form: nothing it does not name, and immutable once read."""

    model_config = ConfigDict(extra="forbid", frozen=True)


Form = TypeVar("Form", bound=BaseModel)

DATE_ERRORS = frozenset(
    {"date_parsing", "date_from_datetime_parsing", "date_type", "date_from_datetime_inexact"}
)


def validate(
    model: type[Form],
    values: Mapping[str, object],
    t: Translator,
    *,
    bad_encoding: Collection[str] = (),
) -> tuple[Form | None, FormErrors]:
    """The validated form, or None and the errors to show beside each field."""
    errors = FormErrors()
    for name in bad_encoding:
        errors.add(name, t("This field contains characters that are not valid text."))
    try:
        form = model.model_validate(dict(values))
    except ValidationError as error:
        for item in error.errors():
            if item["type"] in DATE_ERRORS and item["loc"]:
                errors.add(str(item["loc"][0]), t("Enter a date such as 2026-03-31."))
        collect(error, t, errors)
        return None, errors
    if errors:
        return None, errors
    return form, errors


class QueryFilter(BaseModel):
    """Filters of a staff list, read from the query string. A value that is not valid is left
    out (the list shows as if it were not given) and its name kept in `invalid`, so the page can
    say so instead of silently showing everything."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    page: int = Field(1, ge=1, le=100_000)

    # Values left out of the query string when they are the default (a shorter, stable URL).
    _defaults: tuple[object, ...] = (None, "", 1)

    @classmethod
    def from_query(cls, params: Mapping[str, str]) -> Self:
        clean: dict[str, str] = {}
        invalid: list[str] = []
        for name, value in params.items():
            if name not in cls.model_fields:
                continue
            try:
                cls.model_validate({name: value})
            except ValueError:
                invalid.append(name)
                continue
            clean[name] = value
        result = cls.model_validate(clean)
        result._invalid = tuple(invalid)
        return result

    _invalid: tuple[str, ...] = ()

    @property
    def invalid(self) -> tuple[str, ...]:
        return self._invalid

    def query_string(self, **changes: object) -> str:
        # The page comes last, after the filters it pages through (the URLs the lists had).
        values = {**self.model_dump(mode="json", exclude={"page"}), "page": self.page, **changes}
        return urlencode({k: v for k, v in values.items() if v not in self._defaults})
