"""/judges/meetings/{id}: a meeting's agenda; one finalist's dossier and the judge's own sheet."""

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, RedirectResponse, Response

from app.errors import NotFound
from app.forms.errors import FormErrors
from app.forms.judging import parse_sheet
from app.i18n import Translator
from app.models import utcnow
from app.services.files import FileStore
from app.services.judging import scoring
from app.services.judging.scoring import DossierPage, Problem
from app.web.deps import (
    CurrentAccount,
    PathId,
    SessionDep,
    SettingsDep,
    TemplatesDep,
    TranslatorDep,
)
from app.web.form_body import VerifiedForm, form_values
from app.web.templating import Templates

router = APIRouter()

# A downloaded file is never run by the browser, whatever it claims to be.
FILE_HEADERS = {
    "Content-Security-Policy": "sandbox; default-src 'none'",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}


@router.get("/meetings/{meeting_id}")
def meeting_agenda(
    request: Request,
    meeting_id: PathId,
    session: SessionDep,
    templates: TemplatesDep,
    account: CurrentAccount,
) -> Response:
    view = scoring.agenda(session, meeting_id=meeting_id, judge=account)
    return templates.render(request, "judges/meeting.html", {"agenda": view})


def _sheet_values(page: DossierPage) -> dict[str, str]:
    values = {f"score-{k}": str(v) for k, v in page.sheet.values.items()}
    values["comment"] = page.sheet.comment
    return values


def _dossier(
    request: Request,
    templates: Templates,
    page: DossierPage,
    *,
    values: dict[str, str] | None = None,
    errors: FormErrors | None = None,
    version: int | None = None,
    stale: bool = False,
    status_code: int = 200,
) -> Response:
    return templates.render(
        request,
        "judges/dossier.html",
        {
            "page": page,
            "values": _sheet_values(page) if values is None else values,
            "errors": errors or FormErrors(),
            "version": page.sheet.version if version is None else version,
            "saved": "" if errors else request.query_params.get("saved", ""),
            "stale": stale,
        },
        status_code=status_code,
    )


@router.get("/meetings/{meeting_id}/finalists/{finalist_id}")
def dossier_page(
    request: Request,
    meeting_id: PathId,
    finalist_id: PathId,
    session: SessionDep,
    templates: TemplatesDep,
    account: CurrentAccount,
) -> Response:
    page = scoring.open_dossier(
        session, meeting_id=meeting_id, finalist_id=finalist_id, judge=account
    )
    return _dossier(request, templates, page)


def _translate(problem: Problem, t: Translator) -> str:
    return t(problem.message, **problem.params)


@router.post("/meetings/{meeting_id}/finalists/{finalist_id}")
def save_sheet(
    request: Request,
    meeting_id: PathId,
    finalist_id: PathId,
    body: VerifiedForm,
    session: SessionDep,
    templates: TemplatesDep,
    t: TranslatorDep,
    account: CurrentAccount,
) -> Response:
    # Who may score what is checked before anything is read from the form: 404, then 403.
    meeting = scoring.judge_meeting(session, meeting_id=meeting_id, judge=account)
    finalist, _ = scoring.judge_finalist(
        session, meeting=meeting, finalist_id=finalist_id, judge=account
    )
    scoring.check_open(meeting)
    typed = form_values(body)
    parsed, errors = parse_sheet(typed, t, bad_encoding=body.bad_encoding)

    def again(errors: FormErrors, status_code: int, *, stale: bool = False) -> Response:
        page = scoring.open_dossier(
            session, meeting_id=meeting_id, finalist_id=finalist_id, judge=account
        )
        return _dossier(
            request,
            templates,
            page,
            values=typed,
            errors=errors,
            version=None if stale else parsed.version,
            stale=stale,
            status_code=status_code,
        )

    if errors:
        return again(errors, 422)
    try:
        sheet = scoring.save_sheet(
            session,
            meeting=meeting,
            judge=account,
            finalist=finalist,
            values=parsed.values,
            comment=parsed.comment,
            version=parsed.version or 0,
            submit=parsed.submit,
            now=utcnow(),
        )
    except scoring.SheetInvalid as invalid:
        errors = FormErrors(
            fields={
                (name if isinstance(name, str) else f"score-{name}"): _translate(problem, t)
                for name, problem in invalid.fields.items()
            },
            general=[_translate(problem, t) for problem in invalid.general],
        )
        return again(errors, 422)
    except scoring.StaleSheet:
        # What they typed stays on the page, the saved sheet is shown beside it, and the form
        # now carries the saved version: saving again is a deliberate choice to replace it.
        session.expire_all()
        return again(FormErrors(general=[t(scoring.STALE)]), 409, stale=True)
    session.commit()
    saved = "submitted" if sheet.submitted_at else "draft"
    return RedirectResponse(
        f"/judges/meetings/{meeting_id}/finalists/{finalist_id}?saved={saved}#sheet",
        status_code=303,
    )


@router.get("/meetings/{meeting_id}/finalists/{finalist_id}/files/{file_id}")
def dossier_file(
    meeting_id: PathId,
    finalist_id: PathId,
    file_id: PathId,
    session: SessionDep,
    settings: SettingsDep,
    account: CurrentAccount,
) -> Response:
    stored = scoring.open_dossier_file(
        session, meeting_id=meeting_id, finalist_id=finalist_id, file_id=file_id, judge=account
    )
    path = FileStore(settings.files_dir).path_for(stored.sha256)
    if not path.is_file():
        raise NotFound()
    return FileResponse(
        path,
        media_type=stored.content_type,
        filename=stored.name,
        content_disposition_type="attachment",
        headers=FILE_HEADERS,
    )
