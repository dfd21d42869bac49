from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import PlainTextResponse, RedirectResponse, Response
from sqlalchemy import text
from sqlmodel import Session
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from app.config import Settings
from app.db import single_read
from app.errors import NotFound
from app.forms.errors import FormErrors
from app.forms.nomination import validate_draft, validate_nomination
from app.i18n import N_, Translator
from app.models import MEXICAN_STATES, Theme, utcnow
from app.services.campaigns import campaigns
from app.services.campaigns.campaigns import ThemeView
from app.services.files import (
    CleanFile,
    FileStore,
    HeldFiles,
    sweep_held_files,
)
from app.services.nominations import drafts, intake
from app.web.background import screen_new_nomination
from app.web.body import FormBody
from app.web.deps import SessionDep, get_settings, get_templates, open_session
from app.web.form_body import VerifiedForm, form_values, keeping_form_body
from app.web.pagecache import PageCache, public_page
from app.web.public_form import PublicForm, PublicFormGuard, Stored
from app.web.templating import NO_STORE, Templates, translator
from app.web.uploads import clean_uploads

router = APIRouter()

DROPPED_MESSAGES = {
    "file_too_large": N_("The file %(name)s is larger than %(mb)s MB."),
    "too_large": N_("With the file %(name)s, the files add up to more than %(mb)s MB."),
}


# A file over a limit drops the files, not what was typed (issue 20).
NominationBody = Annotated[FormBody, Depends(keeping_form_body)]


@router.get("/")
async def home(request: Request) -> Response:
    return await public_page(request, "home", lambda: _campaign_page(request, "public/home.html"))


@router.get("/about")
async def about(request: Request) -> Response:
    return await public_page(request, "about", lambda: _campaign_page(request, "public/about.html"))


def _campaign_page(request: Request, name: str) -> Response:
    with open_session(request) as session:
        campaign = campaigns.get_current_campaign(session)
        themes = campaigns.list_themes(session, campaign=campaign, now=utcnow()) if campaign else []
        context = {"campaign": campaign, "themes": themes}
        return get_templates(request).render(request, name, context)


@router.get("/privacy")
async def privacy(request: Request) -> Response:
    templates = get_templates(request)
    return await public_page(
        request, "privacy", lambda: templates.render(request, "public/privacy.html")
    )


@router.get("/healthz")
def healthz(session: SessionDep) -> Response:
    session.exec(text("SELECT 1"))  # type: ignore[call-overload]  # a raw probe of the database
    return PlainTextResponse("ok")


def _form_page(
    request: Request,
    templates: Templates,
    view: ThemeView,
    *,
    values: dict[str, str] | None = None,
    errors: FormErrors | None = None,
    attached: list[CleanFile] | None = None,
    draft: drafts.Draft | None = None,
    draft_saved: bool = False,
    status_code: int = 200,
) -> Response:
    return templates.render(
        request,
        "public/nominate.html",
        {
            "view": view,
            "theme": view.theme,
            "values": values or {},
            "errors": errors or FormErrors(),
            "states": MEXICAN_STATES,
            "attached": attached or [],
            "draft": draft,
            "draft_saved": draft_saved,
        },
        status_code=status_code,
        headers=NO_STORE,
    )


def _dropped_files(body: FormBody, settings: Settings, t: Translator, errors: FormErrors) -> None:
    """Files over a limit, read past and not kept: named beside the field."""
    if not body.dropped:
        return
    messages = []
    for dropped in body.dropped:
        big = dropped.code == "too_large"
        limit = settings.max_upload_bytes if big else settings.max_file_bytes
        message = DROPPED_MESSAGES[dropped.code]
        messages.append(t(message, name=dropped.filename, mb=limit // (1024 * 1024)))
    messages.append(t("No file was attached. Attach your files again, within the limits."))
    errors.add("evidence", " ".join(messages))


@router.get("/nominate/{slug}")
async def nomination_form(request: Request, slug: str) -> Response:
    def render() -> Response:
        with open_session(request) as session:
            view = campaigns.get_theme(session, slug=slug, now=utcnow())
            templates = get_templates(request)
            return _form_page(request, templates, view, status_code=200 if view.is_open else 403)

    return await public_page(request, "form", render)


@router.get("/nominate/{slug}/print")
async def paper_form(request: Request, slug: str) -> Response:
    """The theme's form to print and fill in by hand (issue 15): the same questions, the short
    privacy notice and a space to sign, for volunteers who take the call off the web."""

    def render() -> Response:
        with open_session(request) as session:
            view = campaigns.get_theme(session, slug=slug, now=utcnow())
            campaign = campaigns.get_current_campaign(session)
            return get_templates(request).render(
                request,
                "public/paper_form.html",
                {"view": view, "theme": view.theme, "campaign": campaign, "states": MEXICAN_STATES},
            )

    return await public_page(request, "paper-form", render)


@router.post("/nominate/{slug}")
async def submit_nomination(request: Request, slug: str, body: NominationBody) -> Response:
    # The body is read here, on the event loop; everything else in one trip to the thread pool.
    return await run_in_threadpool(_submit_nomination, request, slug, body)


def _detached_theme(session: Session, slug: str) -> Theme | None:
    """The theme, out of the session: kept for other requests, it must not be expired by this
    one's rollback nor loaded through its session."""
    theme = campaigns.find_theme(session, slug=slug)
    if theme is not None:
        session.expunge(theme)
    return theme


NOMINATION = PublicForm(
    receipt="/nominations/{}",
    automated=N_(
        "This nomination looks automated and was not accepted. If you are a person,"
        " please reload the form and send it again."
    ),
    throttled=intake.THROTTLED,
    limits=lambda settings, client, browser: intake.rate_limits(
        key=settings.signing_key,
        client=client,
        browser=browser,
        per_client=settings.nomination_rate_limit,
        per_browser=settings.nomination_browser_limit,
    ),
    find_stored=intake.find_by_submission_key,
)


# The button that removes a file kept for the form (its SHA-256 as value): the form comes back.
REMOVE_FILE = "remove_file"
# The button that saves the form as a draft to finish later (issue 21), and the hidden field
# with the token of the draft a form was brought back from.
ACTION, SAVE_DRAFT = "action", "save_draft"
DRAFT = "draft"
# When this process last swept the files kept for expired forms.
_last_held_sweep: list[datetime] = []
HELD_SWEEP_EVERY = timedelta(hours=1)


def _sweep_held(settings: Settings, now: datetime) -> None:
    """Files kept for forms that expired are personal data: dropped, once an hour a process."""
    if _last_held_sweep and now - _last_held_sweep[0] < HELD_SWEEP_EVERY:
        return
    _last_held_sweep[:] = [now]
    sweep_held_files(settings.files_dir, older_than=timedelta(hours=settings.form_max_age_hours))


def _attach(
    held: list[CleanFile],
    new: list[CleanFile],
    settings: Settings,
    t: Translator,
    errors: FormErrors,
) -> list[CleanFile]:
    """The files kept for the form and the new ones, within the limits for them together."""
    known = {file.sha256 for file in held}
    files = held + [file for file in new if file.sha256 not in known]
    if len(files) > settings.max_files:
        errors.add("evidence", t("Attach at most %(count)s files.", count=settings.max_files))
        return held
    if sum(file.size for file in files) > settings.max_upload_bytes:
        mb = settings.max_upload_bytes // (1024 * 1024)
        errors.add(
            "evidence",
            t("Your nomination is too large: attach at most %(mb)s MB of files in all.", mb=mb),
        )
        return held
    return files


def _keep(
    guard: PublicFormGuard,
    held: HeldFiles,
    files: list[CleanFile],
    attached: list[CleanFile],
    t: Translator,
    errors: FormErrors,
) -> None:
    """Keeps `files` for the form and shows them as attached. New files held count against the
    client's rate limit like a nomination: kept files take disk space, refused or not."""
    new = {file.sha256 for file in files} - {file.sha256 for file in attached}
    try:
        held.keep(files)
    except OSError:
        errors.add("evidence", t("Your files could not be kept. Attach them again before sending."))
        return
    attached[:] = files
    if new:
        guard.count()


def _submit_nomination(request: Request, slug: str, body: FormBody) -> Response:
    settings = get_settings(request)
    templates = get_templates(request)
    t = translator(request)
    # Reads first, without SQLite's write lock; the service takes it only to insert.
    with open_session(request) as session:
        now = utcnow()
        guard = PublicFormGuard(
            request,
            session,
            body,
            NOMINATION,
            csrf_form=f"nominate:{slug}",
            now=now,
        )
        view: ThemeView | None = None
        attached: list[CleanFile] = []

        def page(errors: FormErrors, status_code: int) -> Response:
            # Before the token is verified, the theme is not known yet (an expired form).
            shown = view or campaigns.get_theme(session, slug=slug, now=now)
            return _form_page(
                request,
                templates,
                shown,
                values=guard.values,
                errors=errors,
                attached=attached,
                status_code=status_code,
            )

        if refused := guard.verify(page):
            return refused
        assert guard.origin is not None
        # The files kept for this form after an earlier refusal (its first token's nonce).
        max_age = timedelta(hours=settings.form_max_age_hours)
        held = HeldFiles(settings.files_dir, guard.origin.nonce, max_age=max_age)
        attached[:] = held.files()
        _sweep_held(settings, now)
        page_cache: PageCache = request.app.state.page_cache
        theme = page_cache.remember(("theme", slug), lambda: _detached_theme(session, slug))
        view = campaigns.theme_view(theme, now=now)
        fields = {
            name: value
            for name, value in guard.fields.items()
            if name not in (REMOVE_FILE, ACTION, DRAFT)
        }
        removed = guard.values.pop(REMOVE_FILE, None)
        action = guard.values.pop(ACTION, "")
        draft_token = guard.values.get(DRAFT, "")
        if refused := guard.screen(is_open=view.is_open, page=page):
            return refused
        if removed:
            # Not a submission: the form again, without that file (and with any new ones).
            errors = FormErrors()
            kept = [file for file in attached if file.sha256 != removed]
            files = _attach(
                kept, clean_uploads(body, "evidence", settings, t, errors), settings, t, errors
            )
            _keep(guard, held, files, attached, t, errors)
            return page(errors, 422 if errors else 200)

        if action == SAVE_DRAFT:
            draft_form, errors = validate_draft(fields.get("nominator_email", ""), t)
            errors.general += guard.repeated_fields()
            if errors or draft_form is None:
                return page(errors, 422)
            email = draft_form.nominator_email
            saved = guard.save(
                lambda: drafts.save_draft(
                    session,
                    theme=view.theme,
                    values=drafts.draft_values(fields),
                    email=email,
                    token=draft_token,
                    locale=t.locale,
                    days=settings.draft_days,
                    now=now,
                    base_url=settings.base_url,
                )
            )
            return RedirectResponse(saved.path + "?saved=1", status_code=303)

        errors = FormErrors(general=guard.repeated_fields())
        _dropped_files(body, settings, t, errors)
        clean_files = _attach(
            attached, clean_uploads(body, "evidence", settings, t, errors), settings, t, errors
        )
        form, field_errors = validate_nomination(
            fields,
            t,
            max_age=view.theme.max_age,
            theme_name=t.pick(view.theme.name_es, view.theme.name_en),
            has_files=bool(body.files) or bool(clean_files),
            bad_encoding=body.bad_encoding,
        )
        errors.fields = {**field_errors.fields, **errors.fields}
        errors.general += field_errors.general
        if errors or form is None:
            if repeat := guard.stored_already():
                return repeat
            # The files that passed are kept for the form, shown as attached (issue 21).
            _keep(guard, held, clean_files, attached, t, errors)
            # A file over a limit: 413, with the form as typed (issue 20).
            return guard.invalid(page, errors, 413 if body.dropped else 422)

        store = FileStore(settings.files_dir)

        engine = request.app.state.engine

        def insert(submission_key: str) -> Stored:
            nomination = intake.submit_nomination(
                session,
                theme=view,
                form=form,
                files=clean_files,
                store=store,
                submission_key=submission_key,
                locale=t.locale,
                now=now,
                base_url=settings.base_url,
            )
            assert nomination.id is not None
            # Sent: the draft it was finished from is no longer needed (issue 21).
            drafts.discard_draft(session, token=draft_token)
            # Screened against the sanction registries once the receipt is on its way (issue 14).
            screening = BackgroundTask(screen_new_nomination, engine, settings, nomination.id)
            return Stored(nomination.reference, background=screening)

        with intake.files_kept_only_if_referenced(engine, store, clean_files):
            response = guard.store(insert)
        # Stored (or stored already): the files kept for the form are with the nomination.
        held.clear()
        return response


@router.get("/drafts/{token}")
async def draft_form(request: Request, token: str, saved: str = "") -> Response:
    """A saved draft brought back as the form, filled in as it was left (issue 21)."""

    def render() -> Response:
        with open_session(request) as session:
            now = utcnow()
            draft = drafts.open_draft(session, token=token, now=now)
            if draft is None:
                raise NotFound(
                    N_(
                        "This link to a saved nomination has expired, or the nomination was"
                        " already sent. Start a new nomination from the home page."
                    )
                )
            view = campaigns.get_theme(session, slug=draft.theme_slug, now=now)
            return _form_page(
                request,
                get_templates(request),
                view,
                values={**draft.values, DRAFT: token},
                draft=draft,
                draft_saved=saved == "1",
                status_code=200 if view.is_open else 403,
            )

    return await run_in_threadpool(render)


def _status_page(
    request: Request,
    *,
    found: intake.StatusView | None = None,
    values: dict[str, str] | None = None,
    errors: FormErrors | None = None,
    status_code: int = 200,
) -> Response:
    return get_templates(request).render(
        request,
        "public/status.html",
        {"found": found, "values": values or {}, "errors": errors or FormErrors()},
        status_code=status_code,
        headers=NO_STORE,
    )


@router.get("/nominations/status")
async def status_form(request: Request) -> Response:
    return _status_page(request)


@router.post("/nominations/status")
async def status_lookup(request: Request, body: VerifiedForm) -> Response:
    """The status of a nomination by its reference, sent in a form (not in the address, which
    access logs keep)."""
    values = form_values(body)
    reference = values.get("reference", "").strip()

    def look_up() -> Response:
        with single_read(request.app.state.engine) as connection:
            found = intake.find_status(connection, reference=reference)
        if found is None:
            errors = FormErrors()
            t = translator(request)
            errors.add("reference", t("We could not find a nomination with this reference."))
            return _status_page(request, values=values, errors=errors, status_code=404)
        return _status_page(request, found=found, values={"reference": reference})

    return await run_in_threadpool(look_up)


@router.get("/nominations/{reference}")
async def receipt(request: Request, reference: str) -> Response:
    def render() -> Response:
        with single_read(request.app.state.engine) as connection:
            found = intake.get_receipt(connection, reference=reference)
        return get_templates(request).render(
            request, "public/receipt.html", {"receipt": found}, headers=NO_STORE
        )

    return await run_in_threadpool(render)
