"""A finalist's consent to being named (/staff/finalists/{id}/consent): ask by e-mail, record
an answer given by phone or letter with its evidence, apply requested changes, withdraw."""

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
