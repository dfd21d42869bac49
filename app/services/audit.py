import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

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
    actor_label: str = "anonymous",
) -> AuditEvent:
    """Adds one line to the audit trail in the caller's transaction. Without an actor, the
    line names `actor_label`: "anonymous" for a visitor, "server" for the server's own work.

    Never put a nominator's contact details in `before`/`after`: the trail cannot be edited, so
    what goes in cannot be anonymised later. Record which fields changed instead."""
    event = AuditEvent(
        created_at=utcnow(),
        actor_id=actor.id if actor else None,
        actor_label=f"{actor.email} ({actor.role})" if actor else actor_label,
        action=action,
        object_type=object_type,
        object_id="" if object_id is None else str(object_id),
        before=_dump(before),
        after=_dump(after),
        client_hash=client_hash,
    )
    session.add(event)
    return event


PAGE_SIZE = 50


@dataclass(frozen=True)
class AuditRow:
    event: AuditEvent
    before: str
    after: str
    # The object's current name, where it is an account (whose e-mail may have changed since).
    object_label: str


@dataclass(frozen=True)
class AuditPage:
    rows: list[AuditRow]
    total: int
    page: int
    pages: int
    actions: list[str]
    actors: list[tuple[str, str]]


def pretty(value: str) -> str:
    """Stored JSON, indented for reading; anything else as it is."""
    if not value:
        return ""
    try:
        return json.dumps(json.loads(value), indent=2, ensure_ascii=False, sort_keys=True)
    except ValueError:
        return value


def audit_page(session: Session, *, action: str | None, actor: str | None, page: int) -> AuditPage:
    """`actor` is an account id as text, or "anonymous" for events without a signed-in actor."""
    query = select(AuditEvent)
    if action:
        query = query.where(AuditEvent.action == action)
    if actor == "anonymous":
        query = query.where(col(AuditEvent.actor_id).is_(None))
    elif actor:
        query = query.where(AuditEvent.actor_id == int(actor))
    total = int(session.exec(select(func.count()).select_from(query.subquery())).one())
    events = session.exec(
        query.order_by(col(AuditEvent.created_at).desc(), col(AuditEvent.id).desc())
        .offset((page - 1) * PAGE_SIZE)
        .limit(PAGE_SIZE)
    ).all()
    account_ids = {
        int(event.object_id)
        for event in events
        if event.object_type == "account" and event.object_id.isdigit()
    }
    emails = dict(
        session.exec(
            select(Account.id, Account.email).where(col(Account.id).in_(account_ids))
        ).all()
        if account_ids
        else []
    )
    rows = [
        AuditRow(
            event=event,
            before=pretty(event.before),
            after=pretty(event.after),
            object_label=emails.get(int(event.object_id), "")
            if event.object_type == "account" and event.object_id.isdigit()
            else "",
        )
        for event in events
    ]
    actions = list(
        session.exec(select(AuditEvent.action).distinct().order_by(col(AuditEvent.action))).all()
    )
    accounts = session.exec(select(Account).order_by(col(Account.name), col(Account.id))).all()
    return AuditPage(
        rows=rows,
        total=total,
        page=page,
        pages=max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1),
        actions=actions,
        actors=[(str(account.id), f"{account.name} ({account.email})") for account in accounts],
    )
