"""finalist consent

The nominee's consent to being named in public, item by item, asked before the finalists
are announced and withdrawable later (issue 15); only the mailed link's hash is kept.

Revision ID: 107f5206589c
Revises: 849f16a212ee
Create Date: 2026-12-05 07:33:15.643806
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '107f5206589c'
down_revision: str | None = '849f16a212ee'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('finalist_consent',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('finalist_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('requested', 'given', 'declined', 'withdrawn', name='consentstatus', native_enum=False, length=20), nullable=False),
    sa.Column('name_and_position', sa.Boolean(), nullable=False),
    sa.Column('photo', sa.Boolean(), nullable=False),
    sa.Column('story', sa.Boolean(), nullable=False),
    sa.Column('requested_name', sa.String(length=200), nullable=False),
    sa.Column('requested_position', sa.String(length=200), nullable=False),
    sa.Column('requested_note', sa.Text(), nullable=False),
    sa.Column('changes_handled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('channel', sa.Enum('link', 'phone', 'letter', name='consentchannel', native_enum=False, length=20), nullable=True),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('evidence_sha256', sa.String(length=64), nullable=False),
    sa.Column('evidence_name', sa.String(length=200), nullable=False),
    sa.Column('evidence_type', sa.String(length=100), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=True),
    sa.Column('token_expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('locale', sa.String(length=5), nullable=False),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('withdrawn_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['finalist_id'], ['finalist.id'], name=op.f('fk_finalist_consent_finalist_id_finalist')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['account.id'], name=op.f('fk_finalist_consent_recorded_by_id_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_finalist_consent')),
    sa.UniqueConstraint('finalist_id', name=op.f('uq_finalist_consent_finalist_id')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_finalist_consent_token_hash'))
    )
    # A revision the portal publishes itself, when a finalist withdraws by their link, has no
    # staff author.
    with op.batch_alter_table('results_revision', schema=None) as batch_op:
        batch_op.alter_column('created_by_id', existing_type=sa.Integer(), nullable=True)


def downgrade() -> None:
    op.execute('DELETE FROM results_revision WHERE created_by_id IS NULL')
    with op.batch_alter_table('results_revision', schema=None) as batch_op:
        batch_op.alter_column('created_by_id', existing_type=sa.Integer(), nullable=False)
    op.drop_table('finalist_consent')
