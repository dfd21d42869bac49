"""outbox retries and failures, leases

The server sends the outbox by itself: a failed attempt waits before the next
(next_attempt_at), a message given up on is marked (failed_at) until staff send it again, and
one sender at a time, across processes and machines, holds the lease row named "outbox".

Revision ID: 34edb47ec76e
Revises: aa492f98d60b
Create Date: 2026-12-04 16:33:36.201708
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '34edb47ec76e'
down_revision: str | None = 'aa492f98d60b'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('lease',
    sa.Column('name', sa.String(length=50), nullable=False),
    sa.Column('holder', sa.String(length=200), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_lease'))
    )
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.add_column(sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('failed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_outbox_message_failed_at'), ['failed_at'], unique=False)
    # `send-mail` used to stop retrying after 10 attempts without saying so; those are failures.
    op.execute(
        "UPDATE outbox_message SET failed_at = created_at"
        " WHERE sent_at IS NULL AND attempts >= 10"
    )


def downgrade() -> None:
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outbox_message_failed_at'))
        batch_op.drop_column('failed_at')
        batch_op.drop_column('next_attempt_at')

    op.drop_table('lease')
