"""Finalists per theme: choosing them among cleared candidates, and their public profiles."""

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from sqlmodel import Session

from app.config import Settings
from app.forms.base import validate
from app.forms.errors import FormErrors
from app.forms.finalists import CITATION_MAX, ChooseFinalistForm, FinalistProfileForm
from app.i18n import N_, Translator
from app.services.candidates import finalists
from app.services.candidates.grouping import Refused
from app.services.files import CleanFile, EvidenceRejected, FileStore, clean_upload
from app.web.body import FormBody
from app.web.deps import (
    CurrentAccount,
    PathId,
    SessionDep,
    SettingsDep,
    TemplatesDep,
    TranslatorDep,
)
from app.web.form_body import VerifiedForm, VerifiedUploadForm, form_values
from app.web.templating import Templates

router = APIRouter()

PHOTO_MESSAGES = {
    "empty": N_("The file %(name)s is empty."),
    "too_large": N_("The file %(name)s is larger than %(mb)s MB."),
    "type": N_("The photo must be a JPEG, PNG or WebP image."),
    "corrupt": N_("The file %(name)s is damaged and cannot be opened."),
    "dimensions": N_("The image %(name)s has too many pixels; send a smaller image."),
}


def _list_page(
    request: Request,
    templates: Templates,
    session: Session,
    *,
    errors: FormErrors | None = None,
    status_code: int = 200,
) -> Response:
    return templates.render(
        request,
        "staff/finalists/list.html",
        {"overview": finalists.finalists_overview(session), "errors": errors or FormErrors()},
        status_code=status_code,
    )


@router.get("/finalists")
def finalist_list(request: Request, session: SessionDep, templates: TemplatesDep) -> Response:
    return _list_page(request, templates, session)


@router.post("/finalists")
def choose_finalist(
    request: Request,
    body: VerifiedForm,
    account: CurrentAccount,
    session: SessionDep,
    templates: TemplatesDep,
    t: TranslatorDep,
) -> Response:
    form, errors = validate(
        ChooseFinalistForm, form_values(body), t, bad_encoding=body.bad_encoding
    )
    finalist = None
    if form is not None:
        try:
            finalist = finalists.choose_finalist(
                session, actor=account, candidate_id=form.candidate_id
            )
        except Refused as refused:
            session.rollback()
            errors.add(refused.field or "candidate_id", t(refused.message, **refused.params))
    if finalist is None:
        return _list_page(request, templates, session, errors=errors, status_code=422)
    session.commit()
    return RedirectResponse(f"/staff/finalists/{finalist.id}", status_code=303)


def _profile_page(
    request: Request,
    templates: Templates,
    session: Session,
    finalist_id: int,
    *,
    values: dict[str, str] | None = None,
    errors: FormErrors | None = None,
    status_code: int = 200,
) -> Response:
    view = finalists.get_finalist(session, finalist_id=finalist_id)
    saved = {
        name: getattr(view.finalist, name)
        for name in (
            "public_name",
            "public_position",
            "public_institution",
            "citation_es",
            "citation_en",
        )
    }
    return templates.render(
        request,
        "staff/finalists/detail.html",
        {
            "view": view,
            "finalist": view.finalist,
            "values": values if values is not None else saved,
            "errors": errors or FormErrors(),
            "citation_max": CITATION_MAX,
        },
        status_code=status_code,
    )


@router.get("/finalists/{finalist_id}")
def show_finalist(
    request: Request, finalist_id: PathId, session: SessionDep, templates: TemplatesDep
) -> Response:
    return _profile_page(request, templates, session, finalist_id)


def _clean_photo(
    body: FormBody, settings: Settings, t: Translator, errors: FormErrors
) -> CleanFile | None:
    """The photo, re-encoded without metadata exactly like evidence images; anything else
    (a PDF, another field, several files) becomes an error beside the field."""
    photos = [upload for upload in body.files if upload.field == "photo"]
    for upload in body.files:
        if upload.field != "photo":
            errors.general.append(
                t("The form contained a field we did not expect: %(name)s.", name=upload.field)
            )
    if len(photos) > 1:
        errors.add("photo", t("Send one photo."))
        return None
    if not photos:
        return None
    upload = photos[0]
    try:
        clean = clean_upload(
            upload.data,
            upload.filename,
            max_bytes=settings.max_file_bytes,
            max_pixels=settings.max_image_pixels,
            allow_pdf=False,
        )
    except EvidenceRejected as rejected:
        message = PHOTO_MESSAGES[rejected.code]
        mb = settings.max_file_bytes // (1024 * 1024)
        errors.add("photo", t(message, name=rejected.filename, mb=mb))
        return None
    if clean.content_type not in finalists.PHOTO_TYPES:
        errors.add("photo", t(PHOTO_MESSAGES["type"]))
        return None
    return clean


@router.post("/finalists/{finalist_id}")
def update_profile(
    request: Request,
    finalist_id: PathId,
    body: VerifiedUploadForm,
    account: CurrentAccount,
    session: SessionDep,
    settings: SettingsDep,
    templates: TemplatesDep,
    t: TranslatorDep,
) -> Response:
    values = form_values(body)
    form, errors = validate(FinalistProfileForm, values, t, bad_encoding=body.bad_encoding)
    photo = _clean_photo(body, settings, t, errors)
    if form is not None and not errors:
        try:
            finalists.update_profile(
                session,
                actor=account,
                finalist_id=finalist_id,
                form=form,
                photo=photo,
                store=FileStore(settings.files_dir),
            )
        except Refused as refused:
            session.rollback()
            errors.add(refused.field or "photo", t(refused.message, **refused.params))
    if form is None or errors:
        return _profile_page(
            request, templates, session, finalist_id, values=values, errors=errors, status_code=422
        )
    session.commit()
    return RedirectResponse(f"/staff/finalists/{finalist_id}", status_code=303)


@router.post("/finalists/{finalist_id}/remove")
def remove_finalist(
    request: Request,
    finalist_id: PathId,
    body: VerifiedForm,
    account: CurrentAccount,
    session: SessionDep,
    templates: TemplatesDep,
    t: TranslatorDep,
) -> Response:
    try:
        finalists.remove_finalist(session, actor=account, finalist_id=finalist_id)
    except Refused as refused:
        session.rollback()
        errors = FormErrors(general=[t(refused.message, **refused.params)])
        return _profile_page(
            request, templates, session, finalist_id, errors=errors, status_code=422
        )
    session.commit()
    return RedirectResponse("/staff/finalists", status_code=303)


@router.get("/finalists/{finalist_id}/photo")
def finalist_photo(finalist_id: PathId, session: SessionDep, settings: SettingsDep) -> Response:
    photo = finalists.photo_of(
        session, finalist_id=finalist_id, store=FileStore(settings.files_dir)
    )
    return FileResponse(
        photo.path,
        media_type=photo.content_type,
        headers={
            "Content-Disposition": "inline",
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'",
            # A signed-in area's file: never kept by a shared cache.
            "Cache-Control": "private, no-store",
        },
    )
