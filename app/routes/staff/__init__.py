"""The staff area, /staff: one audience, one module per part of the work.

Every route here needs a signed-in staff member or admin (checked once, on this router);
admin-only parts add their own check on their sub-router.
"""

from fastapi import APIRouter, Depends

from app.models import Role
from app.routes.staff import (
    arco,
    arco_named,
    audit,
    candidates,
    consent,
    criteria,
    dashboard,
    data,
    exports,
    finalists,
    intake,
    meetings,
    nominations,
    outbox,
    panel,
    publishing,
    results,
    sanctions,
    users,
    vote,
)
from app.web.deps import require_role

# Assisted and batch intake has its own router: volunteers reach it, and nothing else here.
intake_router = intake.router
router = APIRouter(prefix="/staff", dependencies=[Depends(require_role(Role.staff, Role.admin))])
router.add_api_route("", dashboard.show_dashboard, methods=["GET"])
for module in (
    dashboard,
    nominations,
    candidates,
    sanctions,
    finalists,
    consent,
    criteria,
    panel,
    meetings,
    results,
    publishing,
    vote,
    exports,
    data,
    arco,
    arco_named,
    outbox,
    users,
    audit,
):
    router.include_router(module.router)
