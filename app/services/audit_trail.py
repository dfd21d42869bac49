"""Reading the audit trail (/staff/audit): newest first, filtered, a page at a time."""

import json
from dataclasses import dataclass

from sqlalchemy import func
from sqlmodel import Session, col, select

from app.models import Account, AuditEvent

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
