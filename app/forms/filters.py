"""The staff queue's filters, read from the query string (shared by the queue and exports)."""

from enum import StrEnum
from typing import Annotated
from urllib.parse import urlencode

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from app.forms.text import blank_to_none
from app.models import NominationStatus


class NominationSort(StrEnum):
    newest = "newest"
    oldest = "oldest"
    nominee = "nominee"
    state = "state"


class NominationFilter(BaseModel):
    """Unknown or malformed values fall back to "no filter" rather than an error page: a
    bookmarked queue keeps working after an option changes."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    theme: Annotated[str | None, BeforeValidator(blank_to_none)] = Field(None, max_length=40)
    status: Annotated[NominationStatus | None, BeforeValidator(blank_to_none)] = None
    state: Annotated[str | None, BeforeValidator(blank_to_none)] = Field(None, max_length=3)
    q: str = Field("", max_length=200)
    sort: NominationSort = NominationSort.newest
    page: int = Field(1, ge=1, le=100_000)

    @classmethod
    def from_query(cls, params: dict[str, str]) -> "NominationFilter":
        clean: dict[str, str] = {}
        for name, value in params.items():
            if name not in cls.model_fields:
                continue
            try:
                cls.model_validate({name: value})
            except ValueError:
                continue
            clean[name] = value
        return cls.model_validate(clean)

    def query_string(self, **changes: object) -> str:
        values = {**self.model_dump(mode="json"), **changes}
        return urlencode({k: v for k, v in values.items() if v not in (None, "", 1, "newest")})
