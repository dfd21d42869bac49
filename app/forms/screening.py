"""What staff send from a nomination's page: a screening decision, a note."""

from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_core import PydanticCustomError

from app.forms.errors import FormErrors, collect
from app.forms.text import Text
from app.i18n import Translator
from app.models import NominationStatus

MAX_REASON_LENGTH = 2000
MAX_NOTE_LENGTH = 5000
M = TypeVar("M", bound=BaseModel)


class DecisionForm(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    action: NominationStatus
    reason: Text = Field("", max_length=MAX_REASON_LENGTH)

    @field_validator("action")
    @classmethod
    def _a_decision(cls, value: NominationStatus) -> NominationStatus:
        if value is NominationStatus.received:
            raise PydanticCustomError("enum", "not a decision")
        return value


class NoteForm(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    body: Text = Field(min_length=1, max_length=MAX_NOTE_LENGTH)


def _validate(model: type[M], data: dict[str, str], t: Translator) -> tuple[M | None, FormErrors]:
    errors = FormErrors()
    try:
        return model.model_validate(data), errors
    except ValidationError as error:
        collect(error, t, errors)
        return None, errors


def validate_decision(
    data: dict[str, str], t: Translator
) -> tuple[DecisionForm | None, FormErrors]:
    return _validate(DecisionForm, data, t)


def validate_note(data: dict[str, str], t: Translator) -> tuple[NoteForm | None, FormErrors]:
    return _validate(NoteForm, data, t)
