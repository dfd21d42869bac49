"""What staff send to confirm winners and to make results public."""

from pydantic import Field

from app.forms.base import InputForm, RowId
from app.forms.text import Line, Text


class WinnersForm(InputForm):
    """The winners of one theme, from the final meeting's ranking, and why."""

    winner: list[RowId] = Field(default_factory=list, max_length=50)
    rationale: Text = Field("", max_length=5000)


class RevisionForm(InputForm):
    """A new revision of published results; its reason is required for a correction."""

    reason: Text = Field("", max_length=2000)


class PreviewedForm(InputForm):
    """An action taken from a preview names what the preview showed."""

    previewed: Line = Field("", max_length=64)
    # Why the finalists are announced while the call is still open (ensure_call_closed).
    override_reason: Text = Field("", max_length=2000)
