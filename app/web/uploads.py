"""Files sent with a form: each checked and stripped like evidence (app.services.files), a
refused one turned into an error beside its field, in the reader's language."""

from app.config import Settings
from app.forms.errors import FormErrors
from app.i18n import N_, Translator
from app.services.files import PDF_MESSAGES, CleanFile, EvidenceRejected, clean_upload
from app.web.body import FormBody

# Why a file was refused; %(name)s is its name, %(mb)s the size limit.
FILE_MESSAGES: dict[str, str] = {
    "empty": N_("The file %(name)s is empty."),
    "too_large": N_("The file %(name)s is larger than %(mb)s MB."),
    "type": N_("The file %(name)s is not a PDF, JPEG, PNG or WebP file."),
    "corrupt": N_("The file %(name)s is damaged and cannot be opened."),
    "dimensions": N_("The image %(name)s has too many pixels; send a smaller image."),
    **PDF_MESSAGES,
}


def clean_uploads(
    body: FormBody, field: str, settings: Settings, t: Translator, errors: FormErrors
) -> list[CleanFile]:
    """The files sent in `field`, checked; a file in any other field is an error (the form
    has no such field). A file input left empty sends nothing (app.web.body)."""
    clean: list[CleanFile] = []
    for upload in body.files:
        if upload.field != field:
            errors.general.append(
                t("The form contained a field we did not expect: %(name)s.", name=upload.field)
            )
            continue
        try:
            clean.append(
                clean_upload(
                    upload.data,
                    upload.filename,
                    max_bytes=settings.max_file_bytes,
                    max_pixels=settings.max_image_pixels,
                )
            )
        except EvidenceRejected as rejected:
            mb = settings.max_file_bytes // (1024 * 1024)
            errors.add(field, t(FILE_MESSAGES[rejected.code], name=rejected.filename, mb=mb))
    return clean
