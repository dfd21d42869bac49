"""What staff send from a nomination's page: a screening decision, a note."""

from pydantic import Field, field_validator
from pydantic_core import PydanticCustomError

from app.forms.base import InputForm, RowId
from app.forms.text import Text
from app.models import NominationStatus

MAX_REASON_LENGTH = 2000
MAX_NOTE_LENGTH = 5000


class DecisionForm(InputForm):
    action: NominationStatus
    reason: Text = Field("", max_length=MAX_REASON_LENGTH)

    @field_validator("action")
    @classmethod
    def _a_decision(cls, value: NominationStatus) -> NominationStatus:
        if value is NominationStatus.received:
            raise PydanticCustomError("enum", "not a decision")
        return value


MAX_BULK = 200


class BulkDecisionForm(DecisionForm):
    """One decision, with one reason, for the nominations ticked in the queue."""

    nominations: list[RowId] = Field(default_factory=list, max_length=MAX_BULK)

    @field_validator("nominations")
    @classmethod
    def _some(cls, value: list[int]) -> list[int]:
        if not value:
            raise PydanticCustomError("none_selected", "no nomination ticked")
        return value


class NoteForm(InputForm):
    body: Text = Field(min_length=1, max_length=MAX_NOTE_LENGTH)
