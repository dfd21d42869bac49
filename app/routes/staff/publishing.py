"""/staff/publishing: confirming winners, and the two acts that make things public, each
from a preview of the public page: announcing the finalists and publishing the results (a
first revision, or a correction with its reason)."""

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from app.errors import InvalidInput
from app.forms.base import validate
from app.forms.errors import FormErrors
from app.forms.results import PreviewedForm, RevisionForm, WinnersForm
from app.models import utcnow
from app.services.campaigns import campaigns
from app.services.files import FileStore
from app.services.results import public, revisions, shared, winners
from app.services.results.shared import FieldInvalid
from app.web.deps import (
    CurrentAccount,
    PathId,
    SessionDep,
    SettingsDep,
    TemplatesDep,
    TranslatorDep,
)
from app.web.form_body import VerifiedForm, form_lists, form_values
from app.web.templating import Templates

router = APIRouter()

DONE_KEYS = {"confirmed", "announced", "prepared", "published", "discarded"}


def _done(request: Request) -> str:
    done = request.query_params.get("done", "")
    return done if done in DONE_KEYS else ""


def _staff_photo_src(entry: dict[str, Any]) -> str:
    version = entry["photo_sha256"][: public.PHOTO_VERSION_CHARS]
    return f"/staff/publishing/photos/{entry['finalist_id']}?v={version}"


# --- overview --------------------------------------------------------------------------------


def _overview_page(
    request: Request,
    session: SessionDep,
    templates: Templates,
    *,
    values: dict[str, Any] | None = None,
    errors: FormErrors | None = None,
    status_code: int = 200,
) -> Response:
    campaign = shared.current_campaign(session)
    overview = revisions.publishing_overview(session, campaign=campaign)
    return templates.render(
        request,
        "staff/publishing/index.html",
        {
            "overview": overview,
            "done": _done(request),
            "values": values or {},
            "errors": errors or FormErrors(),
        },
        status_code=status_code,
    )


@router.get("/publishing")
def publishing_home(request: Request, session: SessionDep, templates: TemplatesDep) -> Response:
    return _overview_page(request, session, templates)


# --- winners ---------------------------------------------------------------------------------


def _winners_page(
    request: Request,
    session: SessionDep,
    templates: Templates,
    *,
    theme_id: int | None = None,
    values: dict[str, Any] | None = None,
    errors: FormErrors | None = None,
    status_code: int = 200,
) -> Response:
    campaign = shared.current_campaign(session)
    board = winners.winner_board(session, campaign=campaign)
    return templates.render(
        request,
        "staff/publishing/winners.html",
        {
            "board": board,
            "posted_theme_id": theme_id,
            "values": values or {},
            "errors": errors or FormErrors(),
            "done": _done(request),
        },
        status_code=status_code,
    )


@router.get("/publishing/winners")
def winners_page(request: Request, session: SessionDep, templates: TemplatesDep) -> Response:
    return _winners_page(request, session, templates)


@router.post("/publishing/winners/{theme_id}")
def confirm_winners(
    request: Request,
    theme_id: PathId,
    body: VerifiedForm,
    session: SessionDep,
    templates: TemplatesDep,
    account: CurrentAccount,
    t: TranslatorDep,
) -> Response:
    values = {**form_values(body), **form_lists(body, "winner")}
    form, errors = validate(WinnersForm, values, t, bad_encoding=body.bad_encoding)
    if form is None:
        return _winners_page(
            request,
            session,
            templates,
            theme_id=theme_id,
            values=values,
            errors=errors,
            status_code=422,
        )
    campaign = shared.current_campaign(session)
    try:
        winners.confirm_winners(
            session,
            campaign=campaign,
            theme_id=theme_id,
            finalist_ids=form.winner,
            rationale=form.rationale,
            actor=account,
            now=utcnow(),
        )
    except FieldInvalid as refused:
        session.rollback()
        errors.add(refused.field, t(refused.message, **refused.params))
        return _winners_page(
            request,
            session,
            templates,
            theme_id=theme_id,
            values=values,
            errors=errors,
            status_code=422,
        )
    session.commit()
    return RedirectResponse("/staff/publishing/winners?done=confirmed", status_code=303)


# --- finalists -------------------------------------------------------------------------------


def _finalists_page(
    request: Request,
    session: SessionDep,
    templates: Templates,
    *,
    values: dict[str, Any] | None = None,
    errors: FormErrors | None = None,
    status_code: int = 200,
) -> Response:
    campaign = shared.current_campaign(session)
    content = winners.finalists_content(session, campaign=campaign)
    return templates.render(
        request,
        "staff/publishing/finalists.html",
        {
            "campaign": campaign,
            "view": {"campaign": campaign, "content": content},
            "previewed": shared.fingerprint(content),
            "photo_src": _staff_photo_src,
            "preview": True,
            "call_open": campaigns.call_is_open(session, campaign=campaign, now=utcnow()),
            "consent_missing": shared.consent_missing(session, campaign.id or 0),
            "values": values or {},
            "errors": errors or FormErrors(),
        },
        status_code=status_code,
    )


@router.get("/publishing/finalists")
def finalists_preview(request: Request, session: SessionDep, templates: TemplatesDep) -> Response:
    return _finalists_page(request, session, templates)


@router.post("/publishing/finalists/announce")
def announce_finalists(
    request: Request,
    body: VerifiedForm,
    session: SessionDep,
    templates: TemplatesDep,
    settings: SettingsDep,
    account: CurrentAccount,
    t: TranslatorDep,
) -> Response:
    values = form_values(body)
    form, errors = validate(PreviewedForm, values, t, bad_encoding=body.bad_encoding)
    if form is None:
        if "previewed" in errors.fields or errors.general:
            raise InvalidInput()
        return _finalists_page(
            request, session, templates, values=values, errors=errors, status_code=422
        )
    campaign = shared.current_campaign(session)
    try:
        winners.announce_finalists(
            session,
            campaign=campaign,
            actor=account,
            previewed=form.previewed,
            now=utcnow(),
            base_url=settings.base_url,
            override_reason=form.override_reason,
        )
    except FieldInvalid as refused:
        session.rollback()
        errors.add(refused.field, t(refused.message, **refused.params))
        return _finalists_page(
            request, session, templates, values=values, errors=errors, status_code=422
        )
    session.commit()
    return RedirectResponse("/staff/publishing?done=announced", status_code=303)


# --- results revisions -----------------------------------------------------------------------


@router.post("/publishing/revisions")
def prepare_revision(
    request: Request,
    body: VerifiedForm,
    session: SessionDep,
    templates: TemplatesDep,
    account: CurrentAccount,
    t: TranslatorDep,
) -> Response:
    values = form_values(body)
    form, errors = validate(RevisionForm, values, t, bad_encoding=body.bad_encoding)
    if form is None:
        return _overview_page(
            request, session, templates, values=values, errors=errors, status_code=422
        )
    campaign = shared.current_campaign(session)
    try:
        draft = revisions.prepare_revision(
            session, campaign=campaign, actor=account, reason=form.reason, now=utcnow()
        )
    except FieldInvalid as refused:
        session.rollback()
        errors.add(refused.field, t(refused.message, **refused.params))
        return _overview_page(
            request, session, templates, values=values, errors=errors, status_code=422
        )
    session.commit()
    return RedirectResponse(
        f"/staff/publishing/revisions/{draft.number}?done=prepared", status_code=303
    )


@router.get("/publishing/revisions/{number}")
def revision_preview(
    request: Request, number: PathId, session: SessionDep, templates: TemplatesDep
) -> Response:
    campaign = shared.current_campaign(session)
    view = revisions.staff_revision(session, campaign=campaign, number=number)
    return templates.render(
        request,
        "staff/publishing/revision.html",
        {"view": view, "photo_src": _staff_photo_src, "preview": True, "done": _done(request)},
    )


@router.post("/publishing/revisions/{number}/publish")
def publish_revision(
    number: PathId,
    body: VerifiedForm,
    session: SessionDep,
    settings: SettingsDep,
    account: CurrentAccount,
    t: TranslatorDep,
) -> Response:
    form, _ = validate(PreviewedForm, form_values(body), t)
    if form is None:
        raise InvalidInput()
    campaign = shared.current_campaign(session)
    revisions.publish_revision(
        session,
        campaign=campaign,
        number=number,
        previewed=form.previewed,
        actor=account,
        now=utcnow(),
        base_url=settings.base_url,
    )
    session.commit()
    return RedirectResponse("/staff/publishing?done=published", status_code=303)


@router.post("/publishing/revisions/{number}/discard")
def discard_revision(
    number: PathId, body: VerifiedForm, session: SessionDep, account: CurrentAccount
) -> Response:
    campaign = shared.current_campaign(session)
    revisions.discard_draft(session, campaign=campaign, number=number, actor=account)
    session.commit()
    return RedirectResponse("/staff/publishing?done=discarded", status_code=303)


@router.get("/publishing/photos/{finalist_id}")
def staff_photo(finalist_id: PathId, session: SessionDep, settings: SettingsDep) -> Response:
    campaign = shared.current_campaign(session)
    photo = public.staff_photo(
        session, store=FileStore(settings.files_dir), campaign=campaign, finalist_id=finalist_id
    )
    return Response(
        photo.content,
        media_type=photo.content_type,
        headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"},
    )
