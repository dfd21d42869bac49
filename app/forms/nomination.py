from collections.abc import Collection
from typing import Annotated

from pydantic import BeforeValidator, Field
from pydantic_core import PydanticCustomError

from app.forms.base import InputForm, validate
from app.forms.errors import FormErrors
from app.forms.text import Checkbox, Email, Line, Phone, Text, blank_to_none
from app.i18n import Translator
from app.models import MEXICAN_STATES, Gender, GovernmentLevel, Relationship

OptionalInt = Annotated[int | None, BeforeValidator(blank_to_none)]
RequiredInt = Annotated[int, BeforeValidator(blank_to_none)]


def _known_state(value: object) -> object:
    if value not in MEXICAN_STATES:
        raise PydanticCustomError("enum", "unknown state")
    return value


class NominationForm(InputForm):
    """Everything a citizen sends to nominate a public servant; the order is the form's order."""

    nominee_name: Line = Field(min_length=1, max_length=200)
    nominee_position: Line = Field(min_length=1, max_length=200)
    nominee_institution: Line = Field(min_length=1, max_length=200)
    government_level: GovernmentLevel
    state: Annotated[str, BeforeValidator(_known_state)]
    years_of_service: RequiredInt = Field(ge=0, le=60)
    nominee_age: OptionalInt = Field(default=None, ge=15, le=99)
    nominee_contact: Line = Field(default="", max_length=200)
    nominee_gender: Annotated[Gender | None, BeforeValidator(blank_to_none)] = None

    achievement: Text = Field(min_length=1, max_length=5000)
    impact: Text = Field(min_length=1, max_length=5000)
    obstacles: Text = Field(min_length=1, max_length=5000)
    how_known: Text = Field(min_length=1, max_length=3000)

    reference1_name: Line = Field(min_length=1, max_length=200)
    reference1_contact: Line = Field(min_length=1, max_length=200)
    reference2_name: Line = Field(min_length=1, max_length=200)
    reference2_contact: Line = Field(min_length=1, max_length=200)

    nominator_name: Line = Field(min_length=1, max_length=200)
    nominator_email: Email = Field(max_length=254)
    nominator_phone: Phone = Field(default="", max_length=30)
    nominator_relationship: Relationship
    may_contact: Checkbox = False
    reveal_identity: Checkbox = False
    privacy_consent: Checkbox = False
    sensitive_consent: Checkbox = False


def validate_nomination(
    data: dict[str, str],
    t: Translator,
    *,
    max_age: int | None,
    theme_name: str,
    has_files: bool,
    bad_encoding: Collection[str] = (),
) -> tuple[NominationForm | None, FormErrors]:
    """The validated form, or None and the errors to show beside each field."""
    form, errors = validate(NominationForm, data, t, bad_encoding=bad_encoding)
    if max_age is not None:
        age = data.get("nominee_age", "").strip()
        if not age:
            errors.add("nominee_age", t("This field is required."))
        elif form is not None and form.nominee_age is not None and form.nominee_age > max_age:
            errors.add(
                "nominee_age",
                t(
                    "The %(theme)s theme is for public servants aged %(age)s or younger.",
                    theme=theme_name,
                    age=max_age,
                ),
            )
    if data.get("privacy_consent") != "yes":
        errors.add("privacy_consent", t("To send a nomination, accept the privacy notice."))
    if has_files and data.get("sensitive_consent") != "yes":
        errors.add(
            "sensitive_consent",
            t(
                "Attached files may contain sensitive personal data: give your express consent,"
                " or remove the files."
            ),
        )
    if errors:
        return None, errors
    return form, errors


class DraftForm(InputForm):
    """What saving a draft needs to be valid: the address its link is mailed to (issue 21)."""

    nominator_email: Email = Field(max_length=254)


def validate_draft(email: str, t: Translator) -> tuple[DraftForm | None, FormErrors]:
    if not email.strip():
        errors = FormErrors()
        errors.add(
            "nominator_email",
            t("To save a draft, give your e-mail address: we send the link to finish it there."),
        )
        return None, errors
    return validate(DraftForm, {"nominator_email": email}, t)
