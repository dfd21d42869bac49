"""What the account forms of /staff/users may contain, and the audit trail's filters."""

from typing import Annotated, Literal

from pydantic import BeforeValidator, Field

from app.forms.base import InputForm, QueryFilter
from app.forms.text import Email, Line, blank_to_none
from app.models import Role


class InviteForm(InputForm):
    name: Line = Field(min_length=1, max_length=200)
    email: Email = Field(max_length=254)
    role: Role
    locale: Literal["es", "en"] = "es"


class RoleForm(InputForm):
    role: Role


class AuditFilter(QueryFilter):
    """Unknown or malformed values fall back to "no filter", as in the nominations queue."""

    action: Annotated[str | None, BeforeValidator(blank_to_none)] = Field(None, max_length=60)
    # An account id, or "anonymous" for what nobody signed in did (failed logins, say).
    actor: Annotated[str | None, BeforeValidator(blank_to_none)] = Field(
        None, max_length=20, pattern=r"^(anonymous|[0-9]{1,12})$"
    )
