"""Normalising and checking what people type, shared by every input model."""

import re
import unicodedata
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator
from pydantic_core import PydanticCustomError

# Control characters other than tab and newline are never part of what a person typed; that
# includes the C1 range (U+0080-U+009F), which a Windows-1252 paste or a terminal escape can bring.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")
_PHONE = re.compile(r"^\+?[0-9 ().\-]{7,25}$")


def normalise(value: object) -> object:
    """NFC, trimmed, line breaks as \\n; refuses NUL and other control characters."""
    if not isinstance(value, str):
        return value
    value = unicodedata.normalize("NFC", value.replace("\r\n", "\n").replace("\r", "\n")).strip()
    if "\ufffd" in value:
        raise PydanticCustomError("encoding", "not valid text")
    if _CONTROL.search(value.replace("\n", "").replace("\t", "")):
        raise PydanticCustomError("control", "contains control characters")
    return value


def single_line(value: str) -> str:
    if "\n" in value or "\t" in value:
        raise PydanticCustomError("single_line", "must be one line")
    return value


def phone(value: str) -> str:
    if value and (not _PHONE.match(value) or sum(c.isdigit() for c in value) < 7):
        raise PydanticCustomError("phone", "not a phone number")
    return value


Text = Annotated[str, BeforeValidator(normalise)]
Line = Annotated[str, BeforeValidator(normalise), AfterValidator(single_line)]
Phone = Annotated[
    str, BeforeValidator(normalise), AfterValidator(single_line), AfterValidator(phone)
]


def checkbox(value: object) -> object:
    """An HTML checkbox sends "yes" when ticked and nothing otherwise."""
    if value in (None, ""):
        return False
    if value in ("yes", True):
        return True
    raise PydanticCustomError("checkbox", "not a checkbox value")


Checkbox = Annotated[bool, BeforeValidator(checkbox)]


def blank_to_none(value: object) -> object:
    return None if isinstance(value, str) and not value.strip() else value


def email(value: str) -> str:
    from email_validator import EmailNotValidError, validate_email

    try:
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError as error:
        raise PydanticCustomError("email", "not an e-mail address") from error


Email = Annotated[
    str, BeforeValidator(normalise), AfterValidator(single_line), AfterValidator(email)
]
