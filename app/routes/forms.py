"""Reading form bodies for the route modules, with the limits of app.body."""

from fastapi import Request

from app.body import BodyError, FormBody, read_form
from app.errors import DomainError
from app.i18n import N_

BODY_MESSAGES = {
    "too_large": N_("Your nomination is too large: attach at most %(mb)s MB of files in all."),
    "file_too_large": N_("One of the files is larger than %(mb)s MB."),
    "too_many_files": N_("Attach at most %(count)s files."),
    "too_many_fields": N_("The form sent too many fields."),
    "field_too_large": N_("One of the fields is far too long."),
    "malformed": N_("The form could not be read. Please reload it and try again."),
    "unsupported_type": N_("The form could not be read. Please reload it and try again."),
}


class BodyRefused(DomainError):
    def __init__(self, status: int, message: str, **params: object) -> None:
        super().__init__(message, **params)
        self.status_code = status


async def form_body(
    request: Request, *, max_files: int, max_file_bytes: int, max_total_bytes: int
) -> FormBody:
    try:
        return await read_form(
            request,
            max_files=max_files,
            max_file_bytes=max_file_bytes,
            max_total_bytes=max_total_bytes,
        )
    except BodyError as error:
        limit = max_total_bytes if error.code == "too_large" else max_file_bytes
        raise BodyRefused(
            error.status,
            BODY_MESSAGES.get(error.code, BODY_MESSAGES["malformed"]),
            mb=limit // (1024 * 1024),
            count=max_files,
        ) from error


async def text_form_body(request: Request) -> FormBody:
    """A form without files: small and text only."""
    return await form_body(request, max_files=0, max_file_bytes=0, max_total_bytes=64 * 1024)
