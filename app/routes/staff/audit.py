"""The audit trail (/staff/audit, admins only): read-only, newest first."""

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from app.forms.accounts import AuditFilter
from app.models import Role
from app.services import audit
from app.web.deps import SessionDep, TemplatesDep, require_role

router = APIRouter(dependencies=[Depends(require_role(Role.admin))])


@router.get("/audit")
def audit_page(request: Request, session: SessionDep, templates: TemplatesDep) -> Response:
    filters = AuditFilter.from_query(dict(request.query_params))
    page = audit.audit_page(session, action=filters.action, actor=filters.actor, page=filters.page)
    return templates.render(request, "staff/audit/index.html", {"page": page, "filters": filters})
