"""Assisted and batch intake, /staff/intake (issue 15): staff and volunteers enter nominations
received off the web, or import a CSV batch of them. Its own router, outside the staff area's:
volunteers reach these pages and nothing else under /staff."""

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session
from starlette.background import BackgroundTask

from app.errors import DomainError
from app.forms.base import validate
from app.forms.errors import FormErrors
from app.forms.intake import ImportForm
from app.forms.nomination import INTAKE_CHANNELS, INTAKE_CONSENTS, validate_intake
from app.i18n import TIMEZONE
from app.models import MEXICAN_STATES, Account, Role, Theme, utcnow
from app.services.files import FileStore
from app.services.nominations import assisted, batch
from app.services.nominations.intake import files_kept_only_if_referenced
from app.web.background import screen_new_batch, screen_new_nomination
from app.web.body import FormBody
from app.web.deps import (
    CurrentAccount,
    PathId,
    SessionDep,
    SettingsDep,
    TemplatesDep,
    TranslatorDep,
    require_role,
)
from app.web.form_body import (
    VerifiedUploadForm,
    form_body,
    form_values,
    refuse_repeated_fields,
    verify_csrf,
)
from app.web.templating import Templates
from app.web.uploads import clean_uploads

router = APIRouter(
    prefix="/staff/intake",
    dependencies=[Depends(require_role(Role.staff, Role.admin, Role.volunteer))],
)


@router.get("")
def intake_index(
    request: Request,
    session: SessionDep,
    templates: TemplatesDep,
    account: CurrentAccount,
    page: int = 1,
) -> Response:
    campaign, themes = assisted.intake_themes(session)
    entries = assisted.list_entries(session, actor=account, page=page if page > 0 else 1)
    return templates.render(
        request,
        "staff/intake/index.html",
        {
            "campaign": campaign,
            "themes": themes,
            "entries": entries,
            "all_entries": assisted.sees_all_entries(account),
            "channel_labels": assisted.CHANNEL_LABELS,
        },
    )


def _form_page(
    request: Request,
    templates: Templates,
    theme: Theme,
    *,
    values: dict[str, str],
    errors: FormErrors | None = None,
    status_code: int = 200,
) -> Response:
    return templates.render(
        request,
        "staff/intake/form.html",
        {
            "theme": theme,
            "values": values,
            "errors": errors or FormErrors(),
            "states": MEXICAN_STATES,
            "channels": [(c.value, assisted.CHANNEL_LABELS[c]) for c in INTAKE_CHANNELS],
            "consents": [(c.value, assisted.CONSENT_LABELS[c.value]) for c in INTAKE_CONSENTS],
        },
        status_code=status_code,
    )


@router.get("/new/{slug}")
def new_entry(
    request: Request,
    slug: str,
    session: SessionDep,
    settings: SettingsDep,
    templates: TemplatesDep,
    account: CurrentAccount,
) -> Response:
    theme = assisted.get_intake_theme(session, slug=slug)
    values = {
        "received_on": utcnow().astimezone(TIMEZONE).date().isoformat(),
        "collected_by": account.name,
        # The nominator's language, for their receipt: the portal's, not the volunteer's.
        "language": settings.default_locale,
        "submission_key": assisted.new_submission_key(),
    }
    return _form_page(request, templates, theme, values=values)


@router.post("/new/{slug}")
def enter_nomination(
    request: Request,
    slug: str,
    body: VerifiedUploadForm,
    session: SessionDep,
    settings: SettingsDep,
    templates: TemplatesDep,
    account: CurrentAccount,
    t: TranslatorDep,
) -> Response:
    theme = assisted.get_intake_theme(session, slug=slug)
    values = form_values(body)
    errors = FormErrors()
    scans = clean_uploads(body, "scan", settings, t, errors)
    language = values.get("language", "") or settings.default_locale
    if language not in batch.LANGUAGES:
        errors.add("language", t("Choose one of the options."))
    # The same form sent twice (a double click, a retry): the entry it already stored.
    stored = assisted.find_entry_by_key(session, key=values.get("submission_key", ""))
    if stored is not None:
        return RedirectResponse(f"/staff/intake/entries/{stored.id}", status_code=303)
    form, field_errors = validate_intake(
        {name: value for name, value in values.items() if name != "language"},
        t,
        max_age=theme.max_age,
        theme_name=t.pick(theme.name_es, theme.name_en),
        has_files=bool(scans),
        today=utcnow().astimezone(TIMEZONE).date(),
        bad_encoding=body.bad_encoding,
    )
    errors.fields = {**field_errors.fields, **errors.fields}
    errors.general += field_errors.general
    if errors or form is None:
        return _form_page(request, templates, theme, values=values, errors=errors, status_code=422)
    store = FileStore(settings.files_dir)
    engine = request.app.state.engine
    with files_kept_only_if_referenced(engine, store, scans):
        try:
            nomination = assisted.enter_nomination(
                session,
                actor=account,
                theme=theme,
                form=form,
                files=scans,
                store=store,
                locale=language,
                now=utcnow(),
                base_url=settings.base_url,
            )
        except assisted.ReceivedLate as late:
            session.rollback()
            errors.add("received_on", t(late.message, **late.params))
            return _form_page(
                request, templates, theme, values=values, errors=errors, status_code=422
            )
        session.commit()
    assert nomination.id is not None
    # Screened against the sanction registries like a nomination sent by the web (issue 14).
    return RedirectResponse(
        f"/staff/intake/entries/{nomination.id}?entered=1",
        status_code=303,
        background=BackgroundTask(screen_new_nomination, engine, settings, nomination.id),
    )


@router.get("/entries/{entry_id}")
def show_entry(
    request: Request,
    entry_id: PathId,
    session: SessionDep,
    templates: TemplatesDep,
    account: CurrentAccount,
    entered: str = "",
) -> Response:
    entry = assisted.get_entry(session, actor=account, nomination_id=entry_id)
    return templates.render(
        request,
        "staff/intake/entry.html",
        {
            "entry": entry,
            "n": entry.nomination,
            "entered": entered == "1",
            "states": MEXICAN_STATES,
            "channel_labels": assisted.CHANNEL_LABELS,
            "consent_labels": assisted.CONSENT_LABELS,
        },
    )


async def _import_body(request: Request) -> AsyncIterator[FormBody]:
    """A CSV batch up to MAX_UPLOAD_BYTES, kept in a temporary file beyond a small size and
    freed after the response."""
    limit = request.app.state.settings.max_upload_bytes
    body = await form_body(request, max_files=1, max_file_bytes=limit, max_total_bytes=limit)
    try:
        verify_csrf(request, body)
        refuse_repeated_fields(body)
        yield body
    finally:
        body.close()


ImportBody = Annotated[FormBody, Depends(_import_body)]


def _import_page(
    request: Request,
    templates: Templates,
    session: Session,
    account: Account,
    *,
    values: dict[str, str] | None = None,
    errors: FormErrors | None = None,
    report: batch.ImportReport | None = None,
    status_code: int = 200,
) -> Response:
    _campaign, themes = assisted.intake_themes(session)
    return templates.render(
        request,
        "staff/intake/import.html",
        {
            "values": values or {},
            "errors": errors or FormErrors(),
            "report": report,
            "columns": (*batch.COLUMNS, *batch.OPTIONAL_COLUMNS),
            "column_help": batch.COLUMN_HELP,
            "slugs": ", ".join(theme.slug for theme in themes),
            "channels": [(c.value, assisted.CHANNEL_LABELS[c]) for c in INTAKE_CHANNELS],
            "imports": batch.recent_imports(session, actor=account),
            "channel_labels": assisted.CHANNEL_LABELS,
            "imported": request.query_params.get("imported", ""),
            "skipped": request.query_params.get("skipped", ""),
        },
        status_code=status_code,
    )


@router.get("/import")
def import_form(
    request: Request, session: SessionDep, templates: TemplatesDep, account: CurrentAccount
) -> Response:
    return _import_page(request, templates, session, account)


@router.post("/import")
def import_file(
    request: Request,
    body: ImportBody,
    session: SessionDep,
    settings: SettingsDep,
    templates: TemplatesDep,
    account: CurrentAccount,
    t: TranslatorDep,
) -> Response:
    values = form_values(body)
    form, errors = validate(ImportForm, values, t, bad_encoding=body.bad_encoding)
    upload = next((u for u in body.files if u.field == "file" and u.filename), None)
    if upload is None:
        errors.add("file", t("Choose the CSV file to import."))
    if form is None or upload is None or errors:
        return _import_page(
            request, templates, session, account, values=values, errors=errors, status_code=422
        )
    upload.spool.seek(0)
    now = utcnow()
    # Every row is checked on a plain read, outside SQLite's write lock: nominations sent
    # meanwhile wait only for the inserts, not for a large file's validation.
    with Session(request.app.state.engine, expire_on_commit=False) as reader:
        campaign = batch.find_campaign(reader, year=None)
        checked = batch.check_batch(
            reader,
            file=upload.spool,
            channel=form.channel,
            campaign=campaign,
            actor=account,
            t=t,
            now=now,
            base_url=settings.base_url,
            default_locale=settings.default_locale,
        )
    try:
        report = checked.report
        if report.ok and report.already is None and report.skipped < report.rows:
            report = batch.store_batch(
                session,
                checked,
                file_name=upload.filename,
                channel=form.channel,
                campaign=campaign,
                actor=account,
                now=now,
            )
    except DomainError:
        session.rollback()
        raise
    finally:
        checked.close()
    if not report.ok:
        session.rollback()
        errors.add("file", t("Nothing was imported: correct the rows listed below and try again."))
        return _import_page(
            request,
            templates,
            session,
            account,
            values=values,
            errors=errors,
            report=report,
            status_code=422,
        )
    if report.batch is None:
        # The same file, or only rows imported before: nothing was stored, and the page says so.
        session.rollback()
        return _import_page(request, templates, session, account, values=values, report=report)
    session.commit()
    # Screened against the sanction registries once the page has gone, like a web nomination.
    return RedirectResponse(
        f"/staff/intake/import?imported={report.imported}&skipped={report.skipped}",
        status_code=303,
        background=BackgroundTask(
            screen_new_batch, request.app.state.engine, settings, report.batch.campaign_id
        ),
    )


@router.get("/template.csv")
def template_file(session: SessionDep) -> Response:
    return Response(
        batch.template_csv(session, now=utcnow()).encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": 'attachment; filename="intake-template.csv"',
            "Cache-Control": "no-store",
        },
    )
