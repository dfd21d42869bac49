"""What the account forms of /staff/users may contain, and the audit trail's filters."""

from typing import Annotated, Literal, TypeVar
from urllib.parse import urlencode

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from app.forms.errors import FormErrors, collect
from app.forms.text import Email, Line, blank_to_none
from app.i18n import Translator
from app.models import Role

FormT = TypeVar("FormT", bound=BaseModel)


class InviteForm(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Line = Field(min_length=1, max_length=200)
    email: Email = Field(max_length=254)
    role: Role
    locale: Literal["es", "en"] = "es"


class RoleForm(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    role: Role


def validate_form(
    model: type[FormT], data: dict[str, str], t: Translator
) -> tuple[FormT | None, FormErrors]:
    errors = FormErrors()
    try:
        return model.model_validate(data), errors
    except ValidationError as error:
        collect(error, t, errors)
        return None, errors


class AuditFilter(BaseModel):
    """Unknown or malformed values fall back to "no filter", as in the nominations queue."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    action: Annotated[str | None, BeforeValidator(blank_to_none)] = Field(None, max_length=60)
    # An account id, or "anonymous" for what nobody signed in did (failed logins, say).
    actor: Annotated[str | None, BeforeValidator(blank_to_none)] = Field(
        None, max_length=20, pattern=r"^(anonymous|[0-9]{1,12})$"
    )
    page: int = Field(1, ge=1, le=100_000)

    @classmethod
    def from_query(cls, params: dict[str, str]) -> "AuditFilter":
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
        return urlencode({k: v for k, v in values.items() if v not in (None, "", 1)})
