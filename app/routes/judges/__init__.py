"""The judges' area, /judges: signed-in judges only (checked once, on this router).

Which meetings, finalists and scores a judge may reach is an object rule of the services
(app/services/judging/recusal.py and the judging services): anything not theirs is a 404.
"""

from fastapi import APIRouter, Depends

from app.models import Role
from app.routes.judges import conflicts, home, meetings
from app.web.deps import require_role

router = APIRouter(prefix="/judges", dependencies=[Depends(require_role(Role.judge))])
router.add_api_route("", home.home_page, methods=["GET"])
for module in (home, conflicts, meetings):
    router.include_router(module.router)
