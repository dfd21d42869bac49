"""The audit trail: who did what, when. Every event is a link of a hash chain, so that a change
made behind the application's back (in the database itself) shows.

An event is linked when its transaction commits, not when it is recorded: a `before_commit`
hook locks the chain's head row (`audit_chain_head`), numbers the transaction's events after
it, hashes each onto the one before, inserts them and moves the head, and the commit follows at
once. Writers thus take turns only for those few statements and their commit, not for their
whole transaction; a transaction that never commits (an error, a killed process) leaves no
link, and the unique `seq` refuses two events in one place. On SQLite, whose writers already
take turns, the lock changes nothing; on PostgreSQL it is a row lock held until the commit.
Verification and signed checkpoints: app/services/audit_chain.py.
"""

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC
from typing import Any

from sqlalchemy import bindparam, func, insert, update
from sqlalchemy import event as sa_event
from sqlalchemy.engine import Row
from sqlalchemy.orm import SessionTransaction
from sqlmodel import Session, col, select

from app.models import Account, AuditChainHead, AuditEvent, utcnow

# The previous hash of the first event.
GENESIS = "0" * 64
_PENDING = "audit_pending_events"
_AFTER_LINK = "audit_after_link"


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
    """Adds one line to the audit trail in the caller's transaction; it is written, and takes
    its place in the chain, when that transaction commits. Without an actor, the line names
    `actor_label`: "anonymous" for a visitor, "server" for the server's own work.

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
    _at_commit(session, _PENDING).append(event)
    return event


def _at_commit(session: Session, key: str) -> list[Any]:
    """The list of what waits for this transaction's commit under `key`."""
    if not session.in_transaction():
        # So that a rollback before any query still ends the transaction, and forgets the list.
        session.begin()
    pending: list[Any] = session.info.setdefault(key, [])
    return pending


# --- the chain ---------------------------------------------------------------------------


def event_fields(event: AuditEvent | Row[Any]) -> list[Any]:
    """What an event's hash covers, in order: everything it says, and its place."""
    created_at = event.created_at.astimezone(UTC).isoformat(timespec="microseconds")
    return [
        event.seq,
        created_at,
        event.actor_id,
        event.actor_label,
        event.action,
        event.object_type,
        event.object_id,
        event.before,
        event.after,
        event.client_hash,
    ]


def link_hash(prev_hash: str, fields: list[Any]) -> str:
    """SHA-256, in hex, of the previous hash followed by the fields as compact ASCII JSON.
    The migration that chained the first events has its own copy: change neither."""
    text = prev_hash + json.dumps(fields, ensure_ascii=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("ascii")).hexdigest()


@dataclass(frozen=True)
class ChainHead:
    event_count: int
    head_hash: str


_HEAD = AuditChainHead.__table__  # type: ignore[attr-defined]
# Built once, values passed as parameters: one compiled statement each (as app.db.insert_row).
_ADVANCE = (
    update(_HEAD)
    .where(_HEAD.c.id == 1)
    .values(event_count=_HEAD.c.event_count + bindparam("advance"))
    .returning(_HEAD.c.event_count, _HEAD.c.head_hash)
)
_MOVE = update(_HEAD).where(_HEAD.c.id == 1).values(head_hash=bindparam("head"))


def lock_head(session: Session, *, advance: int = 0) -> ChainHead:
    """Locks the head row until the transaction ends and moves its count on by `advance`;
    returns the head as it was. The row is a copy of the last event: if it is missing (a
    fresh or emptied database) it is made again from that event."""
    row = session.execute(_ADVANCE, {"advance": advance}).first()
    if row is None:
        last = session.execute(
            select(col(AuditEvent.seq), col(AuditEvent.hash))
            .order_by(col(AuditEvent.seq).desc())
            .limit(1)
        ).first()
        count, head = (int(last[0]), str(last[1])) if last else (0, GENESIS)
        # Two writers may both find it missing: one inserts, the other's insert changes nothing.
        session.execute(
            _insert_ignoring_conflict(session, _HEAD),
            {"id": 1, "event_count": count, "head_hash": head},
        )
        row = session.execute(_ADVANCE, {"advance": advance}).one()
    count, head = int(row[0]), str(row[1])
    return ChainHead(event_count=count - advance, head_hash=head or GENESIS)


def _insert_ignoring_conflict(session: Session, table: Any) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table).on_conflict_do_nothing(index_elements=["id"])
    return insert(table).prefix_with("OR IGNORE")


def after_linking(session: Session, callback: Callable[[Session, ChainHead], None]) -> None:
    """Runs `callback` when the transaction commits, once its events are linked and while the
    head is still locked, with the new head: for a checkpoint of exactly that head."""
    _at_commit(session, _AFTER_LINK).append(callback)


@sa_event.listens_for(Session, "before_commit")
def _link_pending(session: Session) -> None:
    if session.in_nested_transaction() or not (
        session.info.get(_PENDING) or session.info.get(_AFTER_LINK)
    ):
        return
    # The transaction's own work first, so that the head is locked only from here on.
    session.flush()
    pending: list[AuditEvent] = session.info.pop(_PENDING, [])
    callbacks = session.info.pop(_AFTER_LINK, [])
    head = lock_head(session, advance=len(pending))
    prev = head.head_hash
    for number, event in enumerate(pending, start=head.event_count + 1):
        event.seq = number
        event.prev_hash = prev
        event.hash = prev = link_hash(prev, event_fields(event))
    if pending:
        session.execute(_MOVE, {"head": prev})
        session.add_all(pending)
        session.flush()
    new_head = ChainHead(event_count=head.event_count + len(pending), head_hash=prev)
    for callback in callbacks:
        callback(session, new_head)


@sa_event.listens_for(Session, "after_transaction_end")
def _forget_pending(session: Session, transaction: SessionTransaction) -> None:
    # Events of a transaction rolled back (or never committed) are never written.
    if transaction.parent is None:
        session.info.pop(_PENDING, None)
        session.info.pop(_AFTER_LINK, None)


# --- reading the trail -------------------------------------------------------------------


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
