"""/staff/data: the current edition's open-data releases, and a new release made now."""

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session

from app.forms.base import validate
from app.forms.errors import FormErrors
from app.forms.open_data import ReleaseForm
from app.i18n import N_, Translator
from app.models import utcnow
from app.services.results import data_releases
from app.services.results.shared import current_campaign
from app.web.deps import CurrentAccount, SessionDep, SettingsDep, TemplatesDep, TranslatorDep
from app.web.form_body import VerifiedForm, form_values
from app.web.templating import Templates

router = APIRouter()

DONE = {
    "made": N_("A new release of the open data was made."),
    "unchanged": N_("Nothing changed since the latest release, so no new release was made."),
}


def _page(
    request: Request,
    templates: Templates,
    session: Session,
    t: Translator,
    *,
    values: dict[str, str] | None = None,
    errors: FormErrors | None = None,
    status_code: int = 200,
) -> Response:
    campaign = current_campaign(session)
    done = DONE.get(request.query_params.get("done", ""))
    return templates.render(
        request,
        "staff/data/index.html",
        {
            "data": data_releases.edition_data(session, campaign=campaign),
            "values": values or {},
            "errors": errors or FormErrors(),
            "labels": {"note": t("Note")},
            "done": t(done) if done else "",
        },
        status_code=status_code,
    )


@router.get("/data")
def show_data(
    request: Request, session: SessionDep, templates: TemplatesDep, t: TranslatorDep
) -> Response:
    return _page(request, templates, session, t)


@router.post("/data/release")
def make_release(
    request: Request,
    body: VerifiedForm,
    actor: CurrentAccount,
    session: SessionDep,
    settings: SettingsDep,
    templates: TemplatesDep,
    t: TranslatorDep,
) -> Response:
    values = form_values(body)
    form, errors = validate(ReleaseForm, values, t, bad_encoding=body.bad_encoding)
    if form is None:
        return _page(request, templates, session, t, values=values, errors=errors, status_code=422)
    outcome = data_releases.make_release(
        session,
        campaign=current_campaign(session),
        min_count=settings.open_data_min_count,
        made_by="staff",
        note=form.note,
        actor=actor,
        now=utcnow(),
    )
    session.commit()
    done = "made" if outcome.release is not None else "unchanged"
    return RedirectResponse(f"/staff/data?done={done}", status_code=303)
