"""What staff send about open data: a release made now, with an optional note."""

from pydantic import Field

from app.forms.base import InputForm
from app.forms.text import Text


class ReleaseForm(InputForm):
    # Why this release: a correction says what it corrects; empty for a plain refresh.
    note: Text = Field(default="", max_length=2000)
