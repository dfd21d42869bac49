"""What the staff forms about finalists may contain."""

from pydantic import Field

from app.forms.base import InputForm, RowId
from app.forms.text import Checkbox, Line, Text

CITATION_MAX = 2000


class ChooseFinalistForm(InputForm):
    candidate_id: RowId


class FinalistProfileForm(InputForm):
    """The public profile, shown once finalists are announced; the photo comes as a file."""

    public_name: Line = Field(min_length=1, max_length=200)
    public_position: Line = Field("", max_length=200)
    public_institution: Line = Field("", max_length=200)
    citation_es: Text = Field("", max_length=CITATION_MAX)
    citation_en: Text = Field("", max_length=CITATION_MAX)
    remove_photo: Checkbox = False
