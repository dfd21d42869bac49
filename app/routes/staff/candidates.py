"""Candidates: nominations grouped by person, suggested matches, merging and splitting, vetting."""

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session

from app.forms.base import validate
from app.forms.candidates import (
    CHECKLIST_KINDS,
    AddNominationForm,
    CandidateFilter,
    CreateCandidateForm,
    GroupForm,
    GroupManyForm,
    MergeForm,
    RenameForm,
    SplitForm,
    validate_check,
    validate_checklist,
    validate_status,
)
from app.forms.errors import FormErrors
from app.i18n import TIMEZONE, Translator
from app.models import MEXICAN_STATES, utcnow
from app.services.candidates import grouping, history, vetting
from app.services.candidates.grouping import Refused
from app.services.candidates.sanctions.overview import candidate_sanctions
from app.web.deps import (
    CurrentAccount,
    PathId,
    SessionDep,
    SettingsDep,
    TemplatesDep,
    TranslatorDep,
)
from app.web.form_body import VerifiedForm, form_lists, form_values
from app.web.templating import Templates, translator

router = APIRouter()


def _list_filter(request: Request) -> CandidateFilter:
    return CandidateFilter.from_query(request.query_params)


def _list_query(filters: CandidateFilter) -> str:
    query = filters.query_string()
    return f"?{query}" if query else ""


def _today() -> str:
    return utcnow().astimezone(TIMEZONE).date().isoformat()


def _refusal(refused: Refused, t: Translator, errors: FormErrors) -> None:
    message = t(refused.message, **refused.params)
    if refused.field:
        errors.add(refused.field, message)
    else:
        errors.general.append(message)


def _list_page(
    request: Request,
    templates: Templates,
    session: Session,
    *,
    errors: FormErrors | None = None,
    status_code: int = 200,
) -> Response:
    filters = _list_filter(request)
    overview = grouping.candidates_overview(session, theme_slug=filters.theme, page=filters.page)
    shown = CandidateFilter(
        theme=overview.theme.slug if overview.theme else None, page=overview.page
    )
    return templates.render(
        request,
        "staff/candidates/list.html",
        {
            "overview": overview,
            "states": MEXICAN_STATES,
            "query": _list_query(shown),
            "errors": errors or FormErrors(),
        },
        status_code=status_code,
    )


@router.get("/candidates")
def candidate_list(request: Request, session: SessionDep, templates: TemplatesDep) -> Response:
    return _list_page(request, templates, session)


@router.post("/candidates")
def create_candidate(
    request: Request,
    body: VerifiedForm,
    account: CurrentAccount,
    session: SessionDep,
    templates: TemplatesDep,
    t: TranslatorDep,
) -> Response:
    form, errors = validate(
        CreateCandidateForm, form_values(body), t, bad_encoding=body.bad_encoding
    )
    if form is not None:
        try:
            grouping.create_candidate(
                session,
                actor=account,
                nomination_id=form.nomination_id,
                with_nomination_id=form.with_nomination_id,
            )
        except Refused as refused:
            session.rollback()
            _refusal(refused, t, errors)
    if form is None or errors:
        return _list_page(request, templates, session, errors=errors, status_code=422)
    session.commit()
    return RedirectResponse(
        f"/staff/candidates{_list_query(_list_filter(request))}#ungrouped", status_code=303
    )


@router.post("/candidates/group")
def group_nomination(
    request: Request,
    body: VerifiedForm,
    account: CurrentAccount,
    session: SessionDep,
    templates: TemplatesDep,
    t: TranslatorDep,
) -> Response:
    """From the list: a nomination joins the candidate suggested for it."""
    form, errors = validate(GroupForm, form_values(body), t, bad_encoding=body.bad_encoding)
    if form is not None:
        try:
            grouping.add_nomination(
                session,
                actor=account,
                candidate_id=form.candidate_id,
                nomination_id=form.nomination_id,
            )
        except Refused as refused:
            session.rollback()
            _refusal(refused, t, errors)
    if form is None or errors:
        return _list_page(request, templates, session, errors=errors, status_code=422)
    session.commit()
    return RedirectResponse(
        f"/staff/candidates{_list_query(_list_filter(request))}#ungrouped", status_code=303
    )


@router.post("/candidates/group-many")
def group_many(
    request: Request,
    body: VerifiedForm,
    account: CurrentAccount,
    session: SessionDep,
    templates: TemplatesDep,
    t: TranslatorDep,
) -> Response:
    """From the list: every ticked grouping (suggested matches, new candidates) in one step."""
    form, errors = validate(GroupManyForm, form_lists(body, "group"), t)
    if form is not None:
        try:
            grouping.group_many(session, actor=account, choices=form.choices())
        except Refused as refused:
            session.rollback()
            _refusal(refused, t, errors)
    if form is None or errors:
        return _list_page(request, templates, session, errors=errors, status_code=422)
    session.commit()
    return RedirectResponse(
        f"/staff/candidates{_list_query(_list_filter(request))}#ungrouped", status_code=303
    )


def _detail_page(
    request: Request,
    templates: Templates,
    session: Session,
    candidate_id: int,
    *,
    values: dict[str, str] | None = None,
    errors: FormErrors | None = None,
    status_code: int = 200,
) -> Response:
    page = vetting.candidate_page(session, candidate_id=candidate_id)
    candidate = page.detail.candidate
    t = translator(request)
    defaults = {
        "checked_on": _today(),
        "checklist_on": _today(),
        "status": candidate.vetting_status.value,
        "vetting_note": candidate.vetting_note,
        "name": candidate.name,
        "institution": candidate.institution,
        "state": candidate.state,
    }
    return templates.render(
        request,
        "staff/candidates/detail.html",
        {
            "page": page,
            "detail": page.detail,
            "candidate": candidate,
            "vetting": page.vetting,
            "sanctions": candidate_sanctions(session, candidate_id=candidate_id),
            "states": MEXICAN_STATES,
            "today": _today(),
            "kind_labels": vetting.CHECK_KIND_LABELS,
            "checklist_kinds": CHECKLIST_KINDS,
            "result_labels": vetting.CHECK_RESULT_LABELS,
            "kind_options": [(k.value, t(v)) for k, v in vetting.CHECK_KIND_LABELS.items()],
            "result_options": [(k.value, t(v)) for k, v in vetting.CHECK_RESULT_LABELS.items()],
            "status_options": [(k.value, t(v)) for k, v in vetting.STATUS_LABELS.items()],
            "values": {**defaults, **(values or {})},
            "errors": errors or FormErrors(),
            "history": history.candidate_history(session, candidate_id=candidate_id),
            "history_labels": {k: t(v) for k, v in history.HISTORY_LABELS.items()},
        },
        status_code=status_code,
    )


@router.get("/candidates/{candidate_id}")
def show_candidate(
    request: Request, candidate_id: PathId, session: SessionDep, templates: TemplatesDep
) -> Response:
    return _detail_page(request, templates, session, candidate_id)


@router.post("/candidates/{candidate_id}/nominations")
def add_nomination(
    request: Request,
    candidate_id: PathId,
    body: VerifiedForm,
    account: CurrentAccount,
    session: SessionDep,
    templates: TemplatesDep,
    t: TranslatorDep,
) -> Response:
    values = form_values(body)
    form, errors = validate(AddNominationForm, values, t, bad_encoding=body.bad_encoding)
    if form is not None:
        try:
            grouping.add_nomination(
                session, actor=account, candidate_id=candidate_id, nomination_id=form.nomination_id
            )
        except Refused as refused:
            session.rollback()
            _refusal(refused, t, errors)
    if form is None or errors:
        return _detail_page(
            request, templates, session, candidate_id, values=values, errors=errors, status_code=422
        )
    session.commit()
    return RedirectResponse(f"/staff/candidates/{candidate_id}#nominations", status_code=303)


@router.post("/candidates/{candidate_id}/merge")
def merge_candidate(
    request: Request,
    candidate_id: PathId,
    body: VerifiedForm,
    account: CurrentAccount,
    session: SessionDep,
    templates: TemplatesDep,
    t: TranslatorDep,
) -> Response:
    """Merges the chosen other candidate into this one."""
    values = form_values(body)
    form, errors = validate(MergeForm, values, t, bad_encoding=body.bad_encoding)
    if form is not None:
        try:
            grouping.merge_candidates(
                session, actor=account, target_id=candidate_id, source_id=form.other_id
            )
        except Refused as refused:
            session.rollback()
            _refusal(refused, t, errors)
    if form is None or errors:
        return _detail_page(
            request, templates, session, candidate_id, values=values, errors=errors, status_code=422
        )
    session.commit()
    return RedirectResponse(f"/staff/candidates/{candidate_id}#nominations", status_code=303)


@router.post("/candidates/{candidate_id}/rename")
def rename_candidate(
    request: Request,
    candidate_id: PathId,
    body: VerifiedForm,
    account: CurrentAccount,
    session: SessionDep,
    settings: SettingsDep,
    templates: TemplatesDep,
    t: TranslatorDep,
) -> Response:
    """A corrected name; the sanction screening runs again with it."""
    values = form_values(body)
    form, errors = validate(RenameForm, values, t, bad_encoding=body.bad_encoding)
    if form is not None:
        try:
            history.rename_candidate(
                session,
                actor=account,
                candidate_id=candidate_id,
                name=form.name,
                institution=form.institution,
                state=form.state,
                settings=settings,
                now=utcnow(),
            )
        except Refused as refused:
            session.rollback()
            _refusal(refused, t, errors)
    if form is None or errors:
        return _detail_page(
            request, templates, session, candidate_id, values=values, errors=errors, status_code=422
        )
    session.commit()
    return RedirectResponse(f"/staff/candidates/{candidate_id}", status_code=303)


@router.post("/candidates/{candidate_id}/split")
def split_candidate(
    request: Request,
    candidate_id: PathId,
    body: VerifiedForm,
    account: CurrentAccount,
    session: SessionDep,
    settings: SettingsDep,
    templates: TemplatesDep,
    t: TranslatorDep,
) -> Response:
    """The ticked nominations name another person: they become a new candidate."""
    values = {**form_values(body), **form_lists(body, "nominations")}
    form, errors = validate(SplitForm, values, t, bad_encoding=body.bad_encoding)
    new = None
    if form is not None:
        try:
            new = history.split_candidate(
                session,
                actor=account,
                candidate_id=candidate_id,
                nomination_ids=list(form.nominations),
                settings=settings,
                now=utcnow(),
            )
        except Refused as refused:
            session.rollback()
            _refusal(refused, t, errors)
    if new is None:
        return _detail_page(
            request, templates, session, candidate_id, errors=errors, status_code=422
        )
    session.commit()
    return RedirectResponse(f"/staff/candidates/{new.id}", status_code=303)


@router.post("/candidates/{candidate_id}/nominations/{nomination_id}/detach")
def detach_nomination(
    request: Request,
    candidate_id: PathId,
    nomination_id: PathId,
    body: VerifiedForm,
    account: CurrentAccount,
    session: SessionDep,
    templates: TemplatesDep,
    t: TranslatorDep,
) -> Response:
    errors = FormErrors()
    try:
        kept = grouping.detach_nomination(
            session, actor=account, candidate_id=candidate_id, nomination_id=nomination_id
        )
    except Refused as refused:
        session.rollback()
        _refusal(refused, t, errors)
        return _detail_page(
            request, templates, session, candidate_id, errors=errors, status_code=422
        )
    session.commit()
    if kept is None:
        return RedirectResponse("/staff/candidates#ungrouped", status_code=303)
    return RedirectResponse(f"/staff/candidates/{candidate_id}#nominations", status_code=303)


@router.post("/candidates/{candidate_id}/checks")
def add_check(
    request: Request,
    candidate_id: PathId,
    body: VerifiedForm,
    account: CurrentAccount,
    session: SessionDep,
    templates: TemplatesDep,
    t: TranslatorDep,
) -> Response:
    values = form_values(body)
    today = utcnow().astimezone(TIMEZONE).date()
    form, errors = validate_check(values, t, today=today, bad_encoding=body.bad_encoding)
    if form is None:
        return _detail_page(
            request, templates, session, candidate_id, values=values, errors=errors, status_code=422
        )
    vetting.add_check(session, actor=account, candidate_id=candidate_id, form=form)
    session.commit()
    return RedirectResponse(f"/staff/candidates/{candidate_id}#vetting", status_code=303)


@router.post("/candidates/{candidate_id}/checklist")
def record_checklist(
    request: Request,
    candidate_id: PathId,
    body: VerifiedForm,
    account: CurrentAccount,
    session: SessionDep,
    templates: TemplatesDep,
    t: TranslatorDep,
) -> Response:
    """The standard checks and the status in one form."""
    values = form_values(body)
    today = utcnow().astimezone(TIMEZONE).date()
    form, errors = validate_checklist(values, t, today=today, bad_encoding=body.bad_encoding)
    if form is not None:
        try:
            vetting.record_checklist(
                session,
                actor=account,
                candidate_id=candidate_id,
                checks=form.checks(),
                status=form.new_status,
                note=form.status_note,
            )
        except Refused as refused:
            session.rollback()
            _refusal(refused, t, errors)
    if form is None or errors:
        return _detail_page(
            request, templates, session, candidate_id, values=values, errors=errors, status_code=422
        )
    session.commit()
    return RedirectResponse(f"/staff/candidates/{candidate_id}#vetting", status_code=303)


@router.post("/candidates/{candidate_id}/vetting")
def set_vetting_status(
    request: Request,
    candidate_id: PathId,
    body: VerifiedForm,
    account: CurrentAccount,
    session: SessionDep,
    templates: TemplatesDep,
    t: TranslatorDep,
) -> Response:
    values = form_values(body)
    form, errors = validate_status(values, t, bad_encoding=body.bad_encoding)
    if form is not None:
        try:
            vetting.set_status(
                session,
                actor=account,
                candidate_id=candidate_id,
                status=form.status,
                note=form.vetting_note,
            )
        except Refused as refused:
            session.rollback()
            _refusal(refused, t, errors)
    if form is None or errors:
        return _detail_page(
            request, templates, session, candidate_id, values=values, errors=errors, status_code=422
        )
    session.commit()
    return RedirectResponse(f"/staff/candidates/{candidate_id}#vetting", status_code=303)
