"""/staff/meetings: deliberation meetings, their scope and their status (draft, open, closed),
the judges' progress, the scoring deadline and the reminders to judges with sheets left.

The aggregated results of a meeting and its decision live in app/routes/staff/results.py."""

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from app.errors import InvalidInput
from app.forms.base import validate
from app.forms.errors import FormErrors
from app.forms.judging import (
    REMINDER_HOURS,
    ScopeForm,
    validate_deadline,
    validate_meeting,
    validate_meeting_date,
)
from app.i18n import TIMEZONE, Translator
from app.models import Campaign, Meeting, utcnow
from app.services.campaigns import rubric
from app.services.judging import meetings, panel, progress
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


def _index(
    request: Request,
    templates: Templates,
    session: SessionDep,
    campaign: Campaign,
    *,
    values: dict[str, Any] | None = None,
    errors: FormErrors | None = None,
    status_code: int = 200,
) -> Response:
    assert campaign.id is not None
    return templates.render(
        request,
        "staff/meetings/index.html",
        {
            "campaign": campaign,
            "rows": meetings.list_meetings(session, campaign_id=campaign.id),
            "themes": panel.campaign_themes(session, campaign_id=campaign.id),
            "sources": meetings.closed_meetings(session, campaign_id=campaign.id),
            "values": values
            or {
                "number": str(meetings.next_number(session, campaign_id=campaign.id)),
                "held_on": "",
                "themes": [],
            },
            "errors": errors or FormErrors(),
        },
        status_code=status_code,
    )


@router.get("/meetings")
def meetings_page(request: Request, session: SessionDep, templates: TemplatesDep) -> Response:
    campaign = rubric.current_campaign(session)
    return _index(request, templates, session, campaign)


@router.post("/meetings")
def create_meeting(
    request: Request,
    body: VerifiedForm,
    session: SessionDep,
    templates: TemplatesDep,
    t: TranslatorDep,
    account: CurrentAccount,
) -> Response:
    campaign = rubric.current_campaign(session)
    values = {**form_values(body), **form_lists(body, "themes")}
    form, errors = validate_meeting(values, t, bad_encoding=body.bad_encoding)
    if form is not None:
        try:
            meeting = meetings.create_meeting(
                session,
                campaign=campaign,
                number=form.number,
                held_on=form.held_on,
                theme_ids=form.themes,
                source_meeting_id=form.source_meeting_id,
                actor=account,
            )
        except meetings.MeetingInputError as error:
            message = t(error.message, **error.params)
            if error.field:
                errors.add(error.field, message)
            else:
                errors.general.append(message)
        else:
            session.commit()
            return RedirectResponse(f"/staff/meetings/{meeting.id}", status_code=303)
    return _index(
        request, templates, session, campaign, values=values, errors=errors, status_code=422
    )


def _deadline_values(meeting: Meeting) -> dict[str, str]:
    local = meeting.closes_at.astimezone(TIMEZONE) if meeting.closes_at else None
    return {
        "closes_on": local.date().isoformat() if local else "",
        "closes_time": local.strftime("%H:%M") if local else "",
        "reminder_hours": str(meeting.reminder_hours or ""),
    }


def _detail(
    request: Request,
    templates: Templates,
    session: SessionDep,
    meeting_id: int,
    *,
    values: dict[str, Any] | None = None,
    errors: FormErrors | None = None,
    status_code: int = 200,
) -> Response:
    detail = meetings.meeting_detail(session, meeting_id=meeting_id)
    meeting = detail.meeting
    reminded = request.query_params.get("reminded", "")
    return templates.render(
        request,
        "staff/meetings/detail.html",
        {
            "detail": detail,
            "meeting": meeting,
            "progress": progress.meeting_progress(session, meeting=meeting),
            "reminder_due_at": progress.reminder_due_at(meeting),
            "reminder_choices": REMINDER_HOURS,
            "reminded": int(reminded) if reminded.isdigit() and not errors else None,
            "values": {
                "held_on": meeting.held_on.isoformat(),
                **_deadline_values(meeting),
                **(values or {}),
            },
            "errors": errors or FormErrors(),
        },
        status_code=status_code,
    )


@router.get("/meetings/{meeting_id}")
def meeting_page(
    request: Request, meeting_id: PathId, session: SessionDep, templates: TemplatesDep
) -> Response:
    return _detail(request, templates, session, meeting_id)


def _scope_finalist(body: VerifiedForm, t: Translator) -> int:
    form, _ = validate(ScopeForm, form_values(body), t)
    if form is None:
        raise InvalidInput()
    return form.finalist_id


@router.post("/meetings/{meeting_id}/scope/add")
def add_to_scope(
    meeting_id: PathId,
    body: VerifiedForm,
    session: SessionDep,
    t: TranslatorDep,
    account: CurrentAccount,
) -> Response:
    finalist_id = _scope_finalist(body, t)
    meetings.add_to_scope(session, meeting_id=meeting_id, finalist_id=finalist_id, actor=account)
    session.commit()
    return RedirectResponse(f"/staff/meetings/{meeting_id}", status_code=303)


@router.post("/meetings/{meeting_id}/scope/remove")
def remove_from_scope(
    meeting_id: PathId,
    body: VerifiedForm,
    session: SessionDep,
    t: TranslatorDep,
    account: CurrentAccount,
) -> Response:
    finalist_id = _scope_finalist(body, t)
    meetings.remove_from_scope(
        session, meeting_id=meeting_id, finalist_id=finalist_id, actor=account
    )
    session.commit()
    return RedirectResponse(f"/staff/meetings/{meeting_id}", status_code=303)


@router.post("/meetings/{meeting_id}/date")
def change_date(
    request: Request,
    meeting_id: PathId,
    body: VerifiedForm,
    session: SessionDep,
    templates: TemplatesDep,
    t: TranslatorDep,
    account: CurrentAccount,
) -> Response:
    values = form_values(body)
    form, errors = validate_meeting_date(values, t, bad_encoding=body.bad_encoding)
    if form is None:
        return _detail(
            request, templates, session, meeting_id, values=values, errors=errors, status_code=422
        )
    meetings.change_date(session, meeting_id=meeting_id, held_on=form.held_on, actor=account)
    session.commit()
    return RedirectResponse(f"/staff/meetings/{meeting_id}", status_code=303)


@router.post("/meetings/{meeting_id}/open")
def open_meeting(
    meeting_id: PathId,
    body: VerifiedForm,
    session: SessionDep,
    settings: SettingsDep,
    account: CurrentAccount,
) -> Response:
    meetings.open_meeting(
        session, meeting_id=meeting_id, actor=account, now=utcnow(), base_url=settings.base_url
    )
    session.commit()
    return RedirectResponse(f"/staff/meetings/{meeting_id}", status_code=303)


def _close_page(
    request: Request,
    templates: Templates,
    session: SessionDep,
    meeting_id: int,
    *,
    errors: FormErrors | None = None,
    status_code: int = 200,
) -> Response:
    return templates.render(
        request,
        "staff/meetings/close.html",
        {
            "meeting": meetings.get_meeting(session, meeting_id=meeting_id),
            "missing": meetings.missing_sheets(session, meeting_id=meeting_id),
            "errors": errors or FormErrors(),
        },
        status_code=status_code,
    )


@router.get("/meetings/{meeting_id}/close")
def close_meeting_page(
    request: Request, meeting_id: PathId, session: SessionDep, templates: TemplatesDep
) -> Response:
    """The confirmation step before closing: which judges still owe sheets."""
    return _close_page(request, templates, session, meeting_id)


@router.post("/meetings/{meeting_id}/close")
def close_meeting(
    request: Request,
    meeting_id: PathId,
    body: VerifiedForm,
    session: SessionDep,
    settings: SettingsDep,
    templates: TemplatesDep,
    t: TranslatorDep,
    account: CurrentAccount,
) -> Response:
    if form_values(body).get("confirm") != "yes":
        errors = FormErrors()
        errors.add("confirm", t("Tick the box to confirm that the meeting may be closed."))
        return _close_page(request, templates, session, meeting_id, errors=errors, status_code=422)
    meetings.close_meeting(
        session, meeting_id=meeting_id, actor=account, now=utcnow(), base_url=settings.base_url
    )
    session.commit()
    return RedirectResponse(f"/staff/meetings/{meeting_id}", status_code=303)


@router.post("/meetings/{meeting_id}/reopen")
def reopen_meeting(
    request: Request,
    meeting_id: PathId,
    body: VerifiedForm,
    session: SessionDep,
    settings: SettingsDep,
    templates: TemplatesDep,
    t: TranslatorDep,
    account: CurrentAccount,
) -> Response:
    values = form_values(body)
    try:
        meetings.reopen_meeting(
            session,
            meeting_id=meeting_id,
            reason=values.get("reason", ""),
            actor=account,
            now=utcnow(),
            base_url=settings.base_url,
        )
    except meetings.MeetingInputError as error:
        session.rollback()
        errors = FormErrors()
        errors.add(error.field or "reason", t(error.message, **error.params))
        return _detail(
            request, templates, session, meeting_id, values=values, errors=errors, status_code=422
        )
    session.commit()
    return RedirectResponse(f"/staff/meetings/{meeting_id}", status_code=303)


@router.post("/meetings/{meeting_id}/delete")
def delete_meeting(
    meeting_id: PathId, body: VerifiedForm, session: SessionDep, account: CurrentAccount
) -> Response:
    meetings.delete_draft(session, meeting_id=meeting_id, actor=account)
    session.commit()
    return RedirectResponse("/staff/meetings", status_code=303)


@router.post("/meetings/{meeting_id}/deadline")
def set_deadline(
    request: Request,
    meeting_id: PathId,
    body: VerifiedForm,
    session: SessionDep,
    templates: TemplatesDep,
    t: TranslatorDep,
    account: CurrentAccount,
) -> Response:
    values = form_values(body)
    form, errors = validate_deadline(values, t, bad_encoding=body.bad_encoding)
    if form is not None:
        closes_at = None
        if form.closes_on is not None and form.closes_time is not None:
            local = datetime.combine(form.closes_on, form.closes_time, tzinfo=TIMEZONE)
            closes_at = local.astimezone(UTC)
        try:
            progress.set_deadline(
                session,
                meeting_id=meeting_id,
                closes_at=closes_at,
                reminder_hours=form.reminder_hours,
                actor=account,
            )
        except progress.DeadlineInvalid as error:
            errors.add(error.field, t(error.message, **error.params))
    if form is None or errors:
        session.rollback()
        return _detail(
            request, templates, session, meeting_id, values=values, errors=errors, status_code=422
        )
    session.commit()
    return RedirectResponse(f"/staff/meetings/{meeting_id}#deadline", status_code=303)


@router.post("/meetings/{meeting_id}/remind")
def remind_judges(
    meeting_id: PathId,
    body: VerifiedForm,
    session: SessionDep,
    settings: SettingsDep,
    account: CurrentAccount,
) -> Response:
    reminded = progress.send_reminder(
        session, meeting_id=meeting_id, actor=account, base_url=settings.base_url
    )
    session.commit()
    return RedirectResponse(
        f"/staff/meetings/{meeting_id}?reminded={reminded}#progress", status_code=303
    )
