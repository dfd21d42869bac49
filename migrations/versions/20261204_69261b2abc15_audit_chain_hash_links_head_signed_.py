"""audit chain: hash links, head, signed checkpoints; revisions record the head

Adds the hash chain to the audit trail and links the events already there, oldest first (by
id, the order they were written in), with the same encoding as app/services/audit.py; then the
head row, the append-only table of signed checkpoints, and the head each published results
revision was published at (None for those published before the chain).

Revision ID: 69261b2abc15
Revises: 6cf8f73790c8
Create Date: 2026-12-04 16:35:34.725631
"""

import hashlib
import json
from collections.abc import Sequence
from datetime import UTC

import sqlalchemy as sa
from alembic import op


revision: str = '69261b2abc15'
down_revision: str | None = '6cf8f73790c8'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GENESIS = "0" * 64


def upgrade() -> None:
    op.create_table('audit_chain_head',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_count', sa.Integer(), nullable=False),
    sa.Column('head_hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_chain_head'))
    )
    op.create_table('audit_checkpoint',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('event_count', sa.Integer(), nullable=False),
    sa.Column('head_hash', sa.String(length=64), nullable=False),
    sa.Column('reason', sa.Enum('daily', 'call_closed', 'finalists_announced', 'meeting_closed', 'results_published', name='checkpointreason', native_enum=False, length=20), nullable=False),
    sa.Column('edition', sa.Integer(), nullable=True),
    sa.Column('subject', sa.String(length=60), nullable=False),
    sa.Column('key_id', sa.String(length=16), nullable=False),
    sa.Column('signature', sa.String(length=88), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_checkpoint'))
    )

    # The events already there get their links by UPDATE, which the append-only triggers refuse:
    # they are off for this migration only (on SQLite the table is rebuilt, which drops them).
    _allow_audit_changes()
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('seq', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('prev_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('hash', sa.String(length=64), nullable=True))
    _chain_existing_events()
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.alter_column('seq', existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column('prev_hash', existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column('hash', existing_type=sa.String(length=64), nullable=False)
        batch_op.create_index('ix_audit_event_seq', ['seq'], unique=True)
    _refuse_audit_changes()
    _make_checkpoints_append_only()

    with op.batch_alter_table('results_revision', schema=None) as batch_op:
        batch_op.add_column(sa.Column('chain_head', sa.String(length=64), nullable=True))


def _link_hash(prev_hash: str, fields: list[object]) -> str:
    # app.services.audit.link_hash, copied: a migration must not import the app.
    text = prev_hash + json.dumps(fields, ensure_ascii=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("ascii")).hexdigest()


def _chain_existing_events() -> None:
    connection = op.get_bind()
    events = sa.table(
        'audit_event',
        sa.column('id', sa.Integer()),
        sa.column('created_at', sa.DateTime(timezone=True)),
        sa.column('actor_id', sa.Integer()),
        sa.column('actor_label', sa.String()),
        sa.column('action', sa.String()),
        sa.column('object_type', sa.String()),
        sa.column('object_id', sa.String()),
        sa.column('before', sa.Text()),
        sa.column('after', sa.Text()),
        sa.column('client_hash', sa.String()),
        sa.column('seq', sa.Integer()),
        sa.column('prev_hash', sa.String()),
        sa.column('hash', sa.String()),
    )
    rows = connection.execute(sa.select(events).order_by(events.c.id)).all()
    links = []
    prev = GENESIS
    for seq, row in enumerate(rows, start=1):
        created_at = row.created_at
        # As app.models.base.UTCDateTime reads it: SQLite keeps UTC without a zone.
        created_at = (
            created_at.replace(tzinfo=UTC) if created_at.tzinfo is None else created_at.astimezone(UTC)
        )
        fields = [
            seq,
            created_at.isoformat(timespec="microseconds"),
            row.actor_id,
            row.actor_label,
            row.action,
            row.object_type,
            row.object_id,
            row.before,
            row.after,
            row.client_hash,
        ]
        digest = _link_hash(prev, fields)
        links.append({"event_id": row.id, "seq": seq, "prev_hash": prev, "hash": digest})
        prev = digest
    if links:
        connection.execute(
            events.update()
            .where(events.c.id == sa.bindparam("event_id"))
            .values(seq=sa.bindparam("seq"), prev_hash=sa.bindparam("prev_hash"), hash=sa.bindparam("hash")),
            links,
        )
    connection.execute(
        sa.text("INSERT INTO audit_chain_head (id, event_count, head_hash) VALUES (1, :n, :h)"),
        {"n": len(links), "h": prev},
    )


def _allow_audit_changes() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE audit_event DISABLE TRIGGER audit_event_append_only")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_delete")


def _refuse_audit_changes() -> None:
    # The same triggers as migration b1e84aba2f2b made.
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE audit_event ENABLE TRIGGER audit_event_append_only")
    else:
        for event in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_event_no_{event.lower()} BEFORE {event} ON audit_event "
                "BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END"
            )


def _make_checkpoints_append_only() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION audit_checkpoint_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION 'audit_checkpoint is append-only'; END $$"
        )
        op.execute(
            "CREATE TRIGGER audit_checkpoint_append_only BEFORE UPDATE OR DELETE ON audit_checkpoint "
            "FOR EACH ROW EXECUTE FUNCTION audit_checkpoint_append_only()"
        )
    else:
        for event in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_checkpoint_no_{event.lower()} BEFORE {event} ON audit_checkpoint "
                "BEGIN SELECT RAISE(ABORT, 'audit_checkpoint is append-only'); END"
            )


def downgrade() -> None:
    with op.batch_alter_table('results_revision', schema=None) as batch_op:
        batch_op.drop_column('chain_head')

    _allow_audit_changes()
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_event_seq')
        batch_op.drop_column('hash')
        batch_op.drop_column('prev_hash')
        batch_op.drop_column('seq')
    _refuse_audit_changes()

    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_checkpoint_append_only ON audit_checkpoint")
        op.execute("DROP FUNCTION IF EXISTS audit_checkpoint_append_only()")
    op.drop_table('audit_checkpoint')
    op.drop_table('audit_chain_head')
