"""Reading form bodies for the route modules, with the limits of app.web.body."""

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Annotated

from fastapi import Depends, Request

from app.errors import DomainError, InvalidInput, PermissionDenied
from app.i18n import N_
from app.models import utcnow
from app.web import csrf
from app.web.body import BodyError, FormBody, read_form

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
    request: Request,
    *,
    max_files: int,
    max_file_bytes: int,
    max_total_bytes: int,
    drop_oversize_files: bool = False,
) -> FormBody:
    try:
        return await read_form(
            request,
            max_files=max_files,
            max_file_bytes=max_file_bytes,
            max_total_bytes=max_total_bytes,
            drop_oversize_files=drop_oversize_files,
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


# Forms of the signed-in areas share one CSRF form name: their token is bound to the browser's
# CSRF cookie, and SameSite cookies already keep other sites' posts out.
SIGNED_IN_FORM = "signed-in"


def verify_csrf(request: Request, body: FormBody, form: str = SIGNED_IN_FORM) -> None:
    settings = request.app.state.settings
    tokens = [value for name, value in body.fields if name == "csrf_token"]
    try:
        csrf.check_token(
            settings.signing_key,
            cookie=request.state.csrf_cookie_sent,
            form=form,
            token=tokens[0] if len(tokens) == 1 else None,
            now=utcnow(),
            max_age=timedelta(hours=settings.form_max_age_hours),
        )
    except csrf.CsrfError as error:
        raise PermissionDenied(
            N_("This form could not be verified. Reload the page and try again.")
        ) from error


# Checkbox groups of the signed-in forms, the only fields that may come more than once.
MULTI_VALUE_FIELDS = frozenset(
    {
        "themes",
        "advanced",
        "proposed_winner",
        "winner",
        "finalists",
        "nominations",
        "group",
        "place",
    }
)


def refuse_repeated_fields(body: FormBody) -> None:
    """Parameter pollution: a field sent twice would leave which value counts to chance."""
    seen: set[str] = set()
    for name, _ in body.fields:
        if name in seen and name not in MULTI_VALUE_FIELDS:
            raise InvalidInput(N_("The field %(name)s was sent more than once."), name=name[:40])
        seen.add(name)


async def verified_form(request: Request) -> FormBody:
    """A text form of the signed-in areas, its CSRF token checked."""
    body = await text_form_body(request)
    verify_csrf(request, body)
    refuse_repeated_fields(body)
    return body


async def upload_form_body(request: Request) -> AsyncIterator[FormBody]:
    """A form with files under the evidence limits, its files freed after the response."""
    settings = request.app.state.settings
    body = await form_body(
        request,
        max_files=settings.max_files,
        max_file_bytes=settings.max_file_bytes,
        max_total_bytes=settings.max_upload_bytes,
    )
    try:
        yield body
    finally:
        body.close()


async def keeping_form_body(request: Request) -> AsyncIterator[FormBody]:
    """Like upload_form_body, but a file over a limit drops the files, not the form: the text
    fields are read on (FormBody.dropped names the file), to show the form again as typed."""
    settings = request.app.state.settings
    body = await form_body(
        request,
        max_files=settings.max_files,
        max_file_bytes=settings.max_file_bytes,
        max_total_bytes=settings.max_upload_bytes,
        drop_oversize_files=True,
    )
    try:
        yield body
    finally:
        body.close()


async def verified_upload_form(
    request: Request, body: Annotated[FormBody, Depends(upload_form_body)]
) -> FormBody:
    """Like verified_form, with files (a photo, say) under the evidence limits."""
    verify_csrf(request, body)
    refuse_repeated_fields(body)
    return body


def form_items(body: FormBody) -> list[tuple[str, str]]:
    """Every field as sent, in order and repeats kept; the CSRF token is not part of it."""
    return [(name, value) for name, value in body.fields if name != "csrf_token"]


def form_values(body: FormBody) -> dict[str, str]:
    """What was typed, to validate and to show again; the CSRF token is not part of it."""
    return dict(form_items(body))


def form_lists(body: FormBody, *names: str) -> dict[str, list[str]]:
    """The values of each named checkbox group (MULTI_VALUE_FIELDS), [] when none is ticked:
    `{**form_values(body), **form_lists(body, "themes")}` is a form with a group."""
    lists: dict[str, list[str]] = {name: [] for name in names}
    for name, value in body.fields:
        if name in lists:
            lists[name].append(value)
    return lists


VerifiedForm = Annotated[FormBody, Depends(verified_form)]
VerifiedUploadForm = Annotated[FormBody, Depends(verified_upload_form)]
