"""/judges: a judge's meetings with their progress, and a reminder of missing declarations."""

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.services.campaigns.campaigns import get_current_campaign
from app.services.judging import conflicts, meetings
from app.web.deps import CurrentAccount, SessionDep, TemplatesDep

router = APIRouter()


# Registered at /judges itself by app/routes/judges/__init__.py: FastAPI refuses an empty path on
# a router included without a prefix.
def home_page(
    request: Request, session: SessionDep, templates: TemplatesDep, account: CurrentAccount
) -> Response:
    campaign = get_current_campaign(session)
    rows: list[meetings.JudgeMeeting] = []
    missing = 0
    if campaign is not None:
        assert campaign.id is not None
        rows = meetings.judge_meetings(session, judge=account, campaign_id=campaign.id)
        assert account.id is not None
        missing = conflicts.count_missing(session, judge_id=account.id, campaign_id=campaign.id)
    return templates.render(
        request,
        "judges/home.html",
        {"campaign": campaign, "rows": rows, "missing": missing},
    )
