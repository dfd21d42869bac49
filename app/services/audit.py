import json
from typing import Any

from sqlmodel import Session

from app.models import Account, AuditEvent, utcnow


def _dump(value: dict[str, Any] | None) -> str:
    if value is None:
        return ""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def record(
    session: Session,
    *,
    actor: Account | None,
    action: str,
    object_type: str = "",
    object_id: int | str | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    client_hash: str = "",
) -> AuditEvent:
    """Adds one line to the audit trail in the caller's transaction.

    Never put a nominator's contact details in `before`/`after`: the trail cannot be edited, so
    what goes in cannot be anonymised later. Record which fields changed instead."""
    event = AuditEvent(
        created_at=utcnow(),
        actor_id=actor.id if actor else None,
        actor_label=f"{actor.email} ({actor.role})" if actor else "anonymous",
        action=action,
        object_type=object_type,
        object_id="" if object_id is None else str(object_id),
        before=_dump(before),
        after=_dump(after),
        client_hash=client_hash,
    )
    session.add(event)
    return event
