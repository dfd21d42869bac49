"""/staff/vote: the People's Choice set up per theme, and each vote's review page: suspicious
patterns, voiding a set of votes with a reason, freezing the count, the export of the votes
with their addresses (only with a reason), and tallies from ballot boxes and events."""

from datetime import date

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session

from app.errors import Conflict
from app.forms.base import validate
from app.forms.errors import FormErrors
from app.forms.voting import ExportForm, VoidForm, validate_setup, validate_tally
from app.i18n import N_, TIMEZONE
from app.models import utcnow
from app.services.files import (
    CleanFile,
    FileStore,
)
from app.services.results.shared import FieldInvalid
from app.services.voting import counting, ground, review, setup
from app.services.voting.review import Selector
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
from app.web.uploads import clean_uploads

router = APIRouter()

DONE = {
    "saved": N_("The vote is set up."),
    "voided": N_("The votes are voided; the count shows them as voided."),
    "frozen": N_("The count is frozen and published."),
    "tally": N_("The tally is added to the count as a separate line."),
}


def _today() -> date:
    return utcnow().astimezone(TIMEZONE).date()


def _local(value: object) -> str:
    return value.astimezone(TIMEZONE).strftime("%Y-%m-%dT%H:%M") if value else ""  # type: ignore[attr-defined]


def _setup_page(
    request: Request,
    templates: Templates,
    session: Session,
    *,
    errors: FormErrors | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    overview = setup.setup_overview(session, now=utcnow())
    saved = {
        str(row.theme.id): {
            "opens_at": _local(row.vote.opens_at),
            "closes_at": _local(row.vote.closes_at),
            "show_running_counts": "yes" if row.vote.show_running_counts else "",
        }
        for row in overview.rows
        if row.vote is not None
    }
    done = DONE.get(request.query_params.get("done", ""))
    return templates.render(
        request,
        "staff/vote/index.html",
        {
            "overview": overview,
            "saved": saved,
            "values": values or {},
            "errors": errors or FormErrors(),
            "done": done,
        },
        status_code=status_code,
    )


@router.get("/vote")
def vote_setup(request: Request, session: SessionDep, templates: TemplatesDep) -> Response:
    return _setup_page(request, templates, session)


@router.post("/vote")
def save_vote(
    request: Request,
    body: VerifiedForm,
    account: CurrentAccount,
    session: SessionDep,
    templates: TemplatesDep,
    t: TranslatorDep,
) -> Response:
    values = form_values(body)
    form, errors = validate_setup(values, t, bad_encoding=body.bad_encoding)
    if form is not None:
        try:
            setup.save_vote(
                session,
                actor=account,
                theme_id=form.theme_id,
                opens_at=form.opens_at,
                closes_at=form.closes_at,
                show_running_counts=form.show_running_counts,
                now=utcnow(),
            )
        except FieldInvalid as refused:
            session.rollback()
            errors.add(refused.field, t(refused.message, **refused.params))
        except Conflict as refused:
            session.rollback()
            errors.general.append(t(refused.message, **refused.params))
    if form is None or errors:
        return _setup_page(
            request, templates, session, errors=errors, values=values, status_code=422
        )
    session.commit()
    return RedirectResponse("/staff/vote?done=saved", status_code=303)


def _review_page(
    request: Request,
    templates: Templates,
    session: Session,
    theme_id: int,
    *,
    errors: FormErrors | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    view = review.review_page(session, theme_id=theme_id, now=utcnow())
    done = DONE.get(request.query_params.get("done", ""))
    return templates.render(
        request,
        "staff/vote/review.html",
        {
            "view": view,
            "errors": errors or FormErrors(),
            "values": values or {},
            "done": done,
            "today": _today().isoformat(),
            "fast_seconds": review.FAST_CONFIRM_SECONDS,
            "burst_minutes": review.BURST_MINUTES,
            "burst_votes": review.BURST_MIN_VOTES,
            "shared_min": review.SHARED_MIN_ADDRESSES,
        },
        status_code=status_code,
    )


@router.get("/vote/{theme_id}")
def vote_review(
    request: Request, theme_id: PathId, session: SessionDep, templates: TemplatesDep
) -> Response:
    return _review_page(request, templates, session, theme_id)


@router.post("/vote/{theme_id}/void")
def void_votes(
    request: Request,
    theme_id: PathId,
    body: VerifiedForm,
    account: CurrentAccount,
    session: SessionDep,
    templates: TemplatesDep,
    t: TranslatorDep,
) -> Response:
    values = form_values(body)
    form, errors = validate(VoidForm, values, t, bad_encoding=body.bad_encoding)
    if form is not None:
        try:
            review.void_votes(
                session,
                actor=account,
                theme_id=theme_id,
                selector=Selector(form.selector),
                value=form.value,
                reason=form.reason,
                now=utcnow(),
            )
        except FieldInvalid as refused:
            session.rollback()
            errors.general.append(t(refused.message, **refused.params))
    if form is None or errors:
        return _review_page(
            request, templates, session, theme_id, errors=errors, values=values, status_code=422
        )
    session.commit()
    return RedirectResponse(f"/staff/vote/{theme_id}?done=voided", status_code=303)


@router.post("/vote/{theme_id}/freeze")
def freeze_count(
    request: Request,
    theme_id: PathId,
    body: VerifiedForm,
    account: CurrentAccount,
    session: SessionDep,
    templates: TemplatesDep,
    t: TranslatorDep,
) -> Response:
    _theme, vote = setup.staff_vote(session, theme_id=theme_id)
    try:
        counting.freeze_by_staff(session, actor=account, vote=vote, now=utcnow())
    except Conflict as refused:
        session.rollback()
        errors = FormErrors(general=[t(refused.message, **refused.params)])
        return _review_page(request, templates, session, theme_id, errors=errors, status_code=409)
    session.commit()
    return RedirectResponse(f"/staff/vote/{theme_id}?done=frozen", status_code=303)


@router.post("/vote/{theme_id}/export")
def export_votes(
    request: Request,
    theme_id: PathId,
    body: VerifiedForm,
    account: CurrentAccount,
    session: SessionDep,
    templates: TemplatesDep,
    t: TranslatorDep,
) -> Response:
    values = form_values(body)
    form, errors = validate(ExportForm, values, t, bad_encoding=body.bad_encoding)
    if form is None:
        errors.fields.setdefault(
            "reason", t("Write why you need the voters' addresses: it is kept in the audit trail.")
        )
        return _review_page(
            request, templates, session, theme_id, errors=errors, values=values, status_code=422
        )
    name, text = review.export_votes(
        session, actor=account, theme_id=theme_id, reason=form.reason, now=utcnow()
    )
    session.commit()
    return Response(
        "\ufeff" + text,
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


def _clean_scan(
    request: Request, body: VerifiedUploadForm, t: TranslatorDep, errors: FormErrors
) -> CleanFile | None:
    scans = clean_uploads(body, "scan", request.app.state.settings, t, errors)
    if "scan" in errors.fields:
        return None
    if len(scans) != 1:
        errors.add("scan", t("Attach the scan of the tally sheet (one PDF or image)."))
        return None
    return scans[0]


@router.post("/vote/{theme_id}/tallies")
def add_tally(
    request: Request,
    theme_id: PathId,
    body: VerifiedUploadForm,
    account: CurrentAccount,
    session: SessionDep,
    settings: SettingsDep,
    templates: TemplatesDep,
    t: TranslatorDep,
) -> Response:
    values = form_values(body)
    finalist_ids = {f.id for f in setup.theme_finalists(session, theme_id=theme_id)}
    form, counts, errors = validate_tally(
        values,
        t,
        finalist_ids={i for i in finalist_ids if i is not None},
        today=_today(),
        bad_encoding=body.bad_encoding,
    )
    scan = _clean_scan(request, body, t, errors)
    if form is not None and scan is not None and not errors:
        try:
            ground.add_tally(
                session,
                actor=account,
                theme_id=theme_id,
                place=form.place,
                counted_on=form.counted_on,
                counted_by=form.counted_by,
                counts=counts,
                scan=scan,
                store=FileStore(settings.files_dir),
                now=utcnow(),
            )
        except FieldInvalid as refused:
            session.rollback()
            errors.general.append(t(refused.message, **refused.params))
    if form is None or scan is None or errors:
        return _review_page(
            request, templates, session, theme_id, errors=errors, values=values, status_code=422
        )
    session.commit()
    return RedirectResponse(f"/staff/vote/{theme_id}?done=tally", status_code=303)


@router.get("/vote/{theme_id}/tallies/{tally_id}/scan")
def tally_scan(
    theme_id: PathId, tally_id: PathId, session: SessionDep, settings: SettingsDep
) -> Response:
    scan = ground.tally_scan(
        session, theme_id=theme_id, tally_id=tally_id, store=FileStore(settings.files_dir)
    )
    return Response(
        scan.content,
        media_type=scan.content_type,
        headers={
            "Content-Disposition": "inline",
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'",
            "Cache-Control": "private, no-store",
        },
    )
