"""What staff send to answer a request by someone a nomination names (its nominee or one of its
references): the search, and the places ticked as this person's, with what to do there."""

from typing import Annotated

from pydantic import AfterValidator, Field, StringConstraints
from pydantic_core import PydanticCustomError

from app.forms.base import MAX_ROW_ID, InputForm
from app.forms.text import Checkbox, Line

# More places than this for one search: too broad to answer a request with; narrow it down.
MAX_PLACES = 200


def _row_id_in_range(value: str) -> str:
    if not 1 <= int(value.partition(":")[0]) <= MAX_ROW_ID:
        raise PydanticCustomError("place", "not a nomination of ours")
    return value


# A ticked place: a nomination's id (a RowId) and the role the person has in it.
PlaceKey = Annotated[
    str,
    StringConstraints(pattern=r"^[0-9]{1,10}:(nominee|reference1|reference2)$"),
    AfterValidator(_row_id_in_range),
]


class NamedSearchForm(InputForm):
    """A name, or the phone or e-mail a nominator gave for the person; sent in a POST body only,
    never in a URL."""

    query: Line = Field(min_length=3, max_length=254)


class NamedPlacesForm(NamedSearchForm):
    place: list[PlaceKey] = Field(min_length=1, max_length=MAX_PLACES)


class NamedCancelForm(NamedPlacesForm):
    confirm: Checkbox = False


class NamedRectifyForm(NamedPlacesForm):
    name: Line = Field(min_length=1, max_length=200)
    contact: Line = Field(default="", max_length=200)
