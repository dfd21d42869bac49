"""What the consent forms may contain: the nominee's answer at /consent/{token}, the answer
staff record after a call or a letter, and the request mailed to the nominee."""

from typing import Literal

from pydantic import Field

from app.forms.base import InputForm
from app.forms.text import Checkbox, Email, Line, Text


class ConsentAnswerForm(InputForm):
    """Either "consent", with the items agreed to (the service asks for name and position at
    least), or "decline"."""

    decision: Literal["consent", "decline"]
    name_and_position: Checkbox = False
    photo: Checkbox = False
    story: Checkbox = False
    requested_name: Line = Field("", max_length=200)
    requested_position: Line = Field("", max_length=200)
    requested_note: Text = Field("", max_length=2000)


class StaffConsentForm(ConsentAnswerForm):
    channel: Literal["phone", "letter"]


class ConsentRequestForm(InputForm):
    email: Email = Field(max_length=254)
    locale: Literal["es", "en"] = "es"
