"""nomination drafts to finish later

A nomination saved as typed under a link mailed to the nominator (issue 21); only the link's
hash is kept, and a draft expires (DRAFT_DAYS).

Revision ID: 6cf8f73790c8
Revises: e4f7cbbc1d53
Create Date: 2026-12-04 20:22:57.860458
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '6cf8f73790c8'
down_revision: str | None = 'e4f7cbbc1d53'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('nomination_draft',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('theme_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('content', sa.Text(), nullable=False),
    sa.Column('locale', sa.String(length=5), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['theme_id'], ['theme.id'], name=op.f('fk_nomination_draft_theme_id_theme')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_nomination_draft')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_nomination_draft_token_hash'))
    )
    with op.batch_alter_table('nomination_draft', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_nomination_draft_expires_at'), ['expires_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_nomination_draft_theme_id'), ['theme_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('nomination_draft', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_nomination_draft_theme_id'))
        batch_op.drop_index(batch_op.f('ix_nomination_draft_expires_at'))

    op.drop_table('nomination_draft')
