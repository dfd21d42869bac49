"""/staff/outbox: mail that waits or failed, and sending it again."""

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from app.i18n import N_
from app.models import utcnow
from app.services.mail import outbox
from app.web.deps import (
    CurrentAccount,
    PathId,
    SessionDep,
    SettingsDep,
    TemplatesDep,
    TranslatorDep,
)
from app.web.form_body import VerifiedForm

router = APIRouter()

DONE = {
    "resent": N_("The e-mail goes out again now."),
    "resent-all": N_("The failed e-mails go out again now."),
    "none": N_("There was no failed e-mail to send again."),
}


@router.get("/outbox")
def show_outbox(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    templates: TemplatesDep,
    t: TranslatorDep,
) -> Response:
    done = DONE.get(request.query_params.get("done", ""))
    return templates.render(
        request,
        "staff/outbox/index.html",
        {
            "overview": outbox.outbox_overview(session, now=utcnow()),
            "smtp_configured": bool(settings.smtp_url),
            "interval": round(settings.mail_interval_seconds),
            "done": t(done) if done else "",
        },
    )


@router.post("/outbox/{message_id}/resend")
def resend_one(
    message_id: PathId, body: VerifiedForm, actor: CurrentAccount, session: SessionDep
) -> Response:
    outbox.resend(session, actor=actor, message_id=message_id)
    session.commit()
    return RedirectResponse("/staff/outbox?done=resent", status_code=303)


@router.post("/outbox/resend-failed")
def resend_failed(body: VerifiedForm, actor: CurrentAccount, session: SessionDep) -> Response:
    count = outbox.resend(session, actor=actor, message_id=None)
    session.commit()
    return RedirectResponse(
        f"/staff/outbox?done={'resent-all' if count else 'none'}", status_code=303
    )
