"""The staff queue's filters, read from the query string (shared by the queue and exports)."""

from enum import StrEnum
from typing import Annotated

from pydantic import BeforeValidator, Field

from app.forms.base import QueryFilter
from app.forms.text import blank_to_none
from app.models import Channel, NominationStatus


class NominationSort(StrEnum):
    newest = "newest"
    oldest = "oldest"
    nominee = "nominee"
    state = "state"


class NominationFilter(QueryFilter):
    """Unknown or malformed values fall back to "no filter" rather than an error page: a
    bookmarked queue keeps working after an option changes."""

    theme: Annotated[str | None, BeforeValidator(blank_to_none)] = Field(None, max_length=40)
    status: Annotated[NominationStatus | None, BeforeValidator(blank_to_none)] = None
    state: Annotated[str | None, BeforeValidator(blank_to_none)] = Field(None, max_length=3)
    channel: Annotated[Channel | None, BeforeValidator(blank_to_none)] = None
    q: str = Field("", max_length=200)
    sort: NominationSort = NominationSort.newest

    # The default sort is left out of the query string too.
    _defaults: tuple[object, ...] = (None, "", 1, NominationSort.newest.value)
