from datetime import date, datetime

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.i18n import Translator
from app.models import MEXICAN_STATES, utcnow
from app.services.campaigns.dashboard import STATE_LABELS, StageProgress, build_dashboard
from app.services.nominations.assisted import CHANNEL_LABELS
from app.services.nominations.screening import STATUS_LABELS
from app.services.results.charts import STAGES, staff_charts
from app.web.deps import SessionDep, TemplatesDep, TranslatorDep

router = APIRouter()


def _sentence(stage: StageProgress, t: Translator) -> str:
    """A stage's sentence, its dates written as dates in the reader's language."""
    params = {
        name: t.date(value) if isinstance(value, date | datetime) else value
        for name, value in stage.params.items()
    }
    return t(stage.detail, **params)


# Registered at /staff itself by app/routes/staff/__init__.py: FastAPI refuses an empty path on
# a router included without a prefix.
def show_dashboard(
    request: Request, session: SessionDep, templates: TemplatesDep, t: TranslatorDep
) -> Response:
    board = build_dashboard(session, now=utcnow())
    charts = (
        staff_charts(
            session,
            campaign=board.campaign,
            themes=[summary.theme for summary in board.themes],
            locale=t.locale,
        )
        if board is not None
        else []
    )
    return templates.render(
        request,
        "staff/dashboard.html",
        {
            "board": board,
            "states": MEXICAN_STATES,
            "status_labels": STATUS_LABELS,
            "stage_labels": STATE_LABELS,
            "stages": [(stage, _sentence(stage, t)) for stage in board.stages] if board else [],
            "channel_labels": CHANNEL_LABELS,
            # The reach section draws theme and state already; these add weeks and the path.
            "od_charts": [chart for chart in charts if chart.key in ("week", "path")],
            "chart_labels": STAGES,
        },
    )
