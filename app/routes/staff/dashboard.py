from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.models import MEXICAN_STATES, utcnow
from app.services.campaigns.dashboard import build_dashboard
from app.services.nominations.screening import STATUS_LABELS
from app.web.deps import SessionDep, TemplatesDep

router = APIRouter()


# Registered at /staff itself by app/routes/staff/__init__.py: FastAPI refuses an empty path on
# a router included without a prefix.
def show_dashboard(request: Request, session: SessionDep, templates: TemplatesDep) -> Response:
    board = build_dashboard(session, now=utcnow())
    return templates.render(
        request,
        "staff/dashboard.html",
        {"board": board, "states": MEXICAN_STATES, "status_labels": STATUS_LABELS},
    )
