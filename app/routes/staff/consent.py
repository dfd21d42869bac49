"""A finalist's consent to being named (/staff/finalists/{id}/consent): ask by e-mail, record
an answer given by phone or letter with its evidence, apply requested changes, withdraw; and
/staff/consent, which asks many finalists at once."""

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session

from app.config import Settings
from app.errors import Conflict
from app.forms.base import validate
from app.forms.consent import ConsentRequestForm, StaffConsentForm
from app.forms.errors import FormErrors
from app.i18n import N_, Translator
from app.models import ConsentChannel, utcnow
from app.services.campaigns.campaigns import get_current_campaign
from app.services.files import (
    CleanFile,
    FileStore,
)
from app.services.results import consent
from app.services.results.shared import FieldInvalid
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
from app.web.uploads import clean_uploads

router = APIRouter()

DONE = {
    "requested": N_("The request is on its way to the nominee."),
    "recorded": N_("The answer is recorded."),
    "handled": N_("The requested changes are marked as applied."),
    "withdrawn": N_(
        "The consent is withdrawn: the person no longer appears on any public page, and the"
        " published results say that a finalist withdrew."
    ),
}
LABELS = {
    "email": N_("E-mail address of the nominee"),
    "decision": N_("Their answer"),
    "channel": N_("How they answered"),
    "name_and_position": N_("Name and position"),
    "evidence": N_("Signed letter or note of the call"),
}


def _page(
    request: Request,
    templates: Templates,
    session: Session,
    t: Translator,
    finalist_id: int,
    *,
    values: dict[str, str] | None = None,
    errors: FormErrors | None = None,
    status_code: int = 200,
) -> Response:
    view = consent.staff_view(session, finalist_id=finalist_id)
    done = DONE.get(request.query_params.get("done", ""))
    return templates.render(
        request,
        "staff/finalists/consent.html",
        {
            "view": view,
            "status": t(consent.status_label(view.consent)),
            "values": values
            if values is not None
            else {"locale": "es", "email": view.consent.email if view.consent else ""},
            "errors": errors or FormErrors(),
            "labels": {name: t(label) for name, label in LABELS.items()},
            "done": t(done) if done else "",
        },
        status_code=status_code,
    )


def _done(finalist_id: int, what: str) -> Response:
    return RedirectResponse(f"/staff/finalists/{finalist_id}/consent?done={what}", status_code=303)


@router.get("/finalists/{finalist_id}/consent")
def show_consent(
    request: Request,
    finalist_id: PathId,
    session: SessionDep,
    templates: TemplatesDep,
    t: TranslatorDep,
) -> Response:
    return _page(request, templates, session, t, finalist_id)


@router.post("/finalists/{finalist_id}/consent/request")
def request_consent(
    request: Request,
    finalist_id: PathId,
    body: VerifiedForm,
    account: CurrentAccount,
    session: SessionDep,
    settings: SettingsDep,
    templates: TemplatesDep,
    t: TranslatorDep,
) -> Response:
    values = form_values(body)
    form, errors = validate(ConsentRequestForm, values, t, bad_encoding=body.bad_encoding)
    if form is not None:
        try:
            consent.request_consent(
                session,
                actor=account,
                finalist_id=finalist_id,
                email=form.email,
                locale=form.locale,
                now=utcnow(),
                base_url=settings.base_url,
            )
        except Conflict as refused:
            errors.general.append(t(refused.message, **refused.params))
    if errors:
        session.rollback()
        return _page(
            request, templates, session, t, finalist_id, values=values, errors=errors,
            status_code=422,
        )  # fmt: skip
    session.commit()
    return _done(finalist_id, "requested")


# --- asking many at once ----------------------------------------------------------------------


def _ask_page(
    request: Request,
    templates: Templates,
    session: Session,
    *,
    values: dict[str, str] | None = None,
    errors: FormErrors | None = None,
    sent: int = 0,
    status_code: int = 200,
) -> Response:
    campaign = get_current_campaign(session)
    rows = consent.ask_rows(session, campaign=campaign) if campaign is not None else []
    if values is None:
        values = {}
        for row in rows:
            if row.askable:
                values[f"email-{row.finalist.id}"] = row.suggested_email
                values[f"locale-{row.finalist.id}"] = row.consent.locale if row.consent else "es"
                if row.preselected:
                    values[f"ask-{row.finalist.id}"] = "yes"
    return templates.render(
        request,
        "staff/finalists/consent_many.html",
        {
            "campaign": campaign,
            "rows": rows,
            "values": values,
            "errors": errors or FormErrors(),
            "sent": sent,
            "days": consent.CONSENT_LINK_LIFETIME.days,
        },
        status_code=status_code,
    )


@router.get("/consent")
def ask_many_page(request: Request, session: SessionDep, templates: TemplatesDep) -> Response:
    sent = request.query_params.get("sent", "")
    return _ask_page(
        request, templates, session, sent=int(sent) if sent.isdigit() and len(sent) < 6 else 0
    )


@router.post("/consent")
def ask_many(
    request: Request,
    body: VerifiedForm,
    account: CurrentAccount,
    session: SessionDep,
    settings: SettingsDep,
    templates: TemplatesDep,
    t: TranslatorDep,
) -> Response:
    """Every ticked finalist's address checked first: one bad address sends nothing."""
    values = form_values(body)
    campaign = get_current_campaign(session)
    rows = consent.ask_rows(session, campaign=campaign) if campaign is not None else []
    errors = FormErrors()
    requests: list[tuple[int, str, str]] = []
    for row in rows:
        assert row.finalist.id is not None
        key = row.finalist.id
        if values.get(f"ask-{key}") != "yes":
            continue
        if not row.askable:  # answered since the page was shown
            errors.general.append(
                t(
                    "%(name)s has already answered; there is nothing to ask.",
                    name=row.finalist.public_name,
                )
            )
            continue
        form, row_errors = validate(
            ConsentRequestForm,
            {"email": values.get(f"email-{key}", ""), "locale": values.get(f"locale-{key}", "es")},
            t,
        )
        for name, message in row_errors.fields.items():
            field = f"{name}-{key}"
            errors.add(field, message)
        if form is not None:
            requests.append((key, form.email, form.locale))
    if not requests and not errors:
        errors.general.append(t("Tick at least one finalist to ask."))
    if not errors:
        try:
            consent.request_many(
                session, actor=account, requests=requests, now=utcnow(), base_url=settings.base_url
            )
        except Conflict as refused:
            errors.general.append(t(refused.message, **refused.params))
    if errors:
        session.rollback()
        return _ask_page(request, templates, session, values=values, errors=errors, status_code=422)
    session.commit()
    return RedirectResponse(f"/staff/consent?sent={len(requests)}", status_code=303)


def _clean_evidence(
    body: FormBody, settings: Settings, t: Translator, errors: FormErrors
) -> CleanFile | None:
    evidence = clean_uploads(body, "evidence", settings, t, errors)
    if len(evidence) > 1:
        errors.add("evidence", t("Send one file."))
        return None
    return evidence[0] if evidence else None


@router.post("/finalists/{finalist_id}/consent")
def record_consent(
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
    form, errors = validate(StaffConsentForm, values, t, bad_encoding=body.bad_encoding)
    evidence = _clean_evidence(body, settings, t, errors)
    if form is not None and not errors:
        try:
            consent.record_by_staff(
                session,
                actor=account,
                finalist_id=finalist_id,
                form=form,
                evidence=evidence,
                store=FileStore(settings.files_dir),
                now=utcnow(),
            )
        except FieldInvalid as refused:
            errors.add(refused.field, t(refused.message, **refused.params))
        except Conflict as refused:
            errors.general.append(t(refused.message, **refused.params))
    if form is None or errors:
        session.rollback()
        return _page(
            request, templates, session, t, finalist_id, values=values, errors=errors,
            status_code=422,
        )  # fmt: skip
    session.commit()
    return _done(finalist_id, "recorded")


@router.post("/finalists/{finalist_id}/consent/handled")
def changes_handled(
    request: Request,
    finalist_id: PathId,
    body: VerifiedForm,
    account: CurrentAccount,
    session: SessionDep,
    templates: TemplatesDep,
    t: TranslatorDep,
) -> Response:
    try:
        consent.mark_changes_handled(session, actor=account, finalist_id=finalist_id, now=utcnow())
    except Conflict as refused:
        session.rollback()
        errors = FormErrors(general=[t(refused.message, **refused.params)])
        return _page(request, templates, session, t, finalist_id, errors=errors, status_code=409)
    session.commit()
    return _done(finalist_id, "handled")


@router.post("/finalists/{finalist_id}/consent/withdraw")
def withdraw_consent(
    request: Request,
    finalist_id: PathId,
    body: VerifiedForm,
    account: CurrentAccount,
    session: SessionDep,
    templates: TemplatesDep,
    t: TranslatorDep,
) -> Response:
    channel = form_values(body).get("channel", "")
    if channel not in (ConsentChannel.phone.value, ConsentChannel.letter.value):
        errors = FormErrors()
        errors.add("channel", t("Choose one of the options."))
        return _page(request, templates, session, t, finalist_id, errors=errors, status_code=422)
    try:
        consent.withdraw_by_staff(
            session,
            actor=account,
            finalist_id=finalist_id,
            channel=ConsentChannel(channel),
            now=utcnow(),
        )
    except Conflict as refused:
        session.rollback()
        errors = FormErrors(general=[t(refused.message, **refused.params)])
        return _page(request, templates, session, t, finalist_id, errors=errors, status_code=409)
    session.commit()
    return _done(finalist_id, "withdrawn")


@router.get("/finalists/{finalist_id}/consent/evidence")
def consent_evidence(finalist_id: PathId, session: SessionDep, settings: SettingsDep) -> Response:
    evidence = consent.evidence_of(
        session, finalist_id=finalist_id, store=FileStore(settings.files_dir)
    )
    return Response(
        evidence.content,
        media_type=evidence.content_type,
        headers={
            "Content-Disposition": "attachment",
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'",
            "Cache-Control": "private, no-store",
        },
    )
