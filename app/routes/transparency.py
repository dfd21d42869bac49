"""The public decision record: /transparency (signed checkpoints of the audit chain and how each
edition's winners were chosen) and /transparency/checkpoints.json, for `verify-log --checkpoints`
and anyone who keeps a copy."""

import json

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.models import utcnow
from app.services import audit_chain
from app.services.results import transparency
from app.web.deps import SessionDep, get_templates, open_session
from app.web.pagecache import public_page

router = APIRouter()


def _public_key(request: Request) -> audit_chain.PublicKey:
    signer: audit_chain.Signer = request.app.state.checkpoint_signer
    return signer.public


@router.get("/transparency")
async def transparency_page(request: Request) -> Response:
    def render() -> Response:
        with open_session(request) as session:
            view = transparency.transparency_page(
                session, public_key=_public_key(request), now=utcnow()
            )
            return get_templates(request).render(
                request, "transparency/transparency.html", {"view": view}
            )

    return await public_page(request, "transparency", render)


@router.get("/transparency/checkpoints.json")
def checkpoints_json(request: Request, session: SessionDep) -> Response:
    document = audit_chain.checkpoints_document(session, public_key=_public_key(request))
    return Response(
        json.dumps(document, ensure_ascii=False, indent=2),
        media_type="application/json",
        # Open data: any site may read it, and observers should fetch it fresh.
        headers={"Access-Control-Allow-Origin": "*", "Cache-Control": "no-cache"},
    )
