"""The batch import's form (issue 15); an entered nomination's is app.forms.nomination's
IntakeForm."""

from app.forms.base import InputForm
from app.forms.nomination import IntakeChannel


class ImportForm(InputForm):
    """The channel every row of the batch came by (the file itself is the upload)."""

    channel: IntakeChannel
