"""/judges/conflicts: the judge declares, for each finalist of their themes, whether they have a
conflict of interest. Conflicts recorded by staff are shown and cannot be changed here."""

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from app.errors import InvalidInput
from app.forms.base import validate
from app.forms.errors import FormErrors
from app.forms.judging import DeclarationForm, NoConflictForm
from app.models import Account, Campaign, utcnow
from app.services.campaigns import rubric
from app.services.judging import conflicts
from app.web.deps import CurrentAccount, PathId, SessionDep, TemplatesDep, TranslatorDep
from app.web.form_body import VerifiedForm, form_lists, form_values
from app.web.templating import Templates

router = APIRouter()


def _page(
    request: Request,
    templates: Templates,
    session: SessionDep,
    campaign: Campaign,
    judge: Account,
    *,
    failed: int | None = None,
    values: dict[str, Any] | None = None,
    errors: FormErrors | None = None,
    status_code: int = 200,
) -> Response:
    assert campaign.id is not None and judge.id is not None
    entries = conflicts.judge_finalists(session, judge_id=judge.id, campaign_id=campaign.id)
    return templates.render(
        request,
        "judges/conflicts.html",
        {
            "campaign": campaign,
            "entries": entries,
            "missing": sum(1 for entry in entries if entry.declaration is None),
            # The finalist whose form was sent with errors, and what was typed in it.
            "failed": failed,
            "values": values or {},
            "errors": errors or FormErrors(),
        },
        status_code=status_code,
    )


@router.get("/conflicts")
def conflicts_page(
    request: Request, session: SessionDep, templates: TemplatesDep, account: CurrentAccount
) -> Response:
    campaign = rubric.current_campaign(session)
    return _page(request, templates, session, campaign, account)


@router.post("/conflicts/remaining")
def declare_remaining(
    body: VerifiedForm,
    session: SessionDep,
    t: TranslatorDep,
    account: CurrentAccount,
) -> Response:
    """ "No conflict" for every finalist still unanswered when the page was shown."""
    campaign = rubric.current_campaign(session)
    assert campaign.id is not None
    form, _ = validate(NoConflictForm, form_lists(body, "finalists"), t)
    if form is None:
        raise InvalidInput()
    conflicts.declare_no_conflict_for_remaining(
        session, judge=account, campaign_id=campaign.id, finalist_ids=form.finalists, now=utcnow()
    )
    session.commit()
    return RedirectResponse("/judges/conflicts", status_code=303)


@router.post("/conflicts/{finalist_id}")
def declare(
    request: Request,
    finalist_id: PathId,
    body: VerifiedForm,
    session: SessionDep,
    templates: TemplatesDep,
    t: TranslatorDep,
    account: CurrentAccount,
) -> Response:
    campaign = rubric.current_campaign(session)
    assert campaign.id is not None
    # 404 outside the judge's themes and 403 for a staff-recorded conflict, whatever was sent.
    conflicts.finalist_to_declare(
        session, judge=account, campaign_id=campaign.id, finalist_id=finalist_id
    )
    values = form_values(body)
    form, errors = validate(DeclarationForm, values, t, bad_encoding=body.bad_encoding)
    if form is not None:
        try:
            conflicts.declare(
                session,
                judge=account,
                campaign_id=campaign.id,
                finalist_id=finalist_id,
                has_conflict=form.answer == "conflict",
                description=form.description,
                now=utcnow(),
            )
        except InvalidInput as error:
            errors.add("description", t(error.message, **error.params))
    if errors:
        session.rollback()
        return _page(
            request,
            templates,
            session,
            campaign,
            account,
            failed=finalist_id,
            values=values,
            errors=errors,
            status_code=422,
        )
    session.commit()
    return RedirectResponse(f"/judges/conflicts#finalist-{finalist_id}", status_code=303)
