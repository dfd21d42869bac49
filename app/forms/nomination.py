from collections.abc import Collection
from datetime import date
from typing import Annotated, TypeVar

from pydantic import AfterValidator, BeforeValidator, Field
from pydantic_core import PydanticCustomError

from app.forms.base import InputForm, validate
from app.forms.errors import FormErrors
from app.forms.text import (
    Checkbox,
    Email,
    Line,
    Phone,
    Text,
    blank_to_none,
    email,
    normalise,
    single_line,
)
from app.i18n import Translator
from app.models import (
    MEXICAN_STATES,
    Channel,
    ConsentMethod,
    Gender,
    GovernmentLevel,
    Relationship,
)

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


AnyNominationForm = TypeVar("AnyNominationForm", bound="NominationForm")


def validate_nomination(
    data: dict[str, str],
    t: Translator,
    *,
    max_age: int | None,
    theme_name: str,
    has_files: bool,
    bad_encoding: Collection[str] = (),
    model: type[AnyNominationForm] = NominationForm,  # type: ignore[assignment]  # mypy#3737
) -> tuple[AnyNominationForm | None, FormErrors]:
    """The validated form, or None and the errors to show beside each field."""
    form, errors = validate(model, data, t, bad_encoding=bad_encoding)
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


# -- assisted and batch intake (issue 15) ----------------------------------------------------


def _optional_email(value: str) -> str:
    """A nominator reached on paper or by phone may have no e-mail address."""
    return email(value) if value else value


def _not_web(value: object) -> object:
    # `web` is only ever the public form.
    if value == Channel.web.value:
        raise PydanticCustomError("enum", "web is the public form")
    return value


def _not_web_form(value: object) -> object:
    if value == ConsentMethod.web_form.value:
        raise PydanticCustomError("enum", "web_form is the public form")
    return value


OptionalEmail = Annotated[
    str, BeforeValidator(normalise), AfterValidator(single_line), AfterValidator(_optional_email)
]
IntakeChannel = Annotated[Channel, BeforeValidator(_not_web)]
IntakeConsent = Annotated[ConsentMethod, BeforeValidator(_not_web_form)]
INTAKE_CHANNELS = tuple(channel for channel in Channel if channel is not Channel.web)
INTAKE_CONSENTS = (ConsentMethod.read_aloud, ConsentMethod.signed_paper)


class IntakeForm(NominationForm):
    """A nomination received off the web and entered by staff or a volunteer: the public form's
    fields and rules, plus how it came in. The nominator may have no e-mail address."""

    nominator_email: OptionalEmail = Field(default="", max_length=254)
    channel: IntakeChannel
    received_on: date
    collected_by: Line = Field(min_length=1, max_length=200)
    consent_method: IntakeConsent
    # A random value drawn into the form when it is shown: the same form sent twice stores one
    # nomination.
    submission_key: Line = Field(default="", max_length=40)


def validate_intake(
    data: dict[str, str],
    t: Translator,
    *,
    max_age: int | None,
    theme_name: str,
    has_files: bool,
    today: date,
    bad_encoding: Collection[str] = (),
) -> tuple[IntakeForm | None, FormErrors]:
    """The public form's validation with the intake fields; a date received cannot be ahead."""
    form, errors = validate_nomination(
        data,
        t,
        max_age=max_age,
        theme_name=theme_name,
        has_files=has_files,
        bad_encoding=bad_encoding,
        model=IntakeForm,
    )
    if "privacy_consent" in errors.fields:
        errors.fields["privacy_consent"] = t(
            "Record that the nominator agreed to the privacy notice: it was read to them, or"
            " they signed it on the paper form."
        )
    if form is None:
        # Said now too, not only once the other errors are corrected.
        try:
            received = date.fromisoformat(data.get("received_on", "").strip())
        except ValueError:
            return None, errors
        if received > today:
            errors.add("received_on", t("The date received cannot be in the future."))
        return None, errors
    if form.received_on > today:
        errors.add("received_on", t("The date received cannot be in the future."))
        return None, errors
    return form, errors
