"""open data releases and their files

Snapshots of an edition's open data (issue 16): a release per change, each file's bytes,
SHA-256, size and rows kept in the database, never changed.

Revision ID: 147c839d5a8a
Revises: 107f5206589c
Create Date: 2026-12-05 07:33:54.469321
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '147c839d5a8a'
down_revision: str | None = '107f5206589c'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('data_release',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('made_by', sa.String(length=20), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('changes', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaign.id'], name=op.f('fk_data_release_campaign_id_campaign')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_data_release')),
    sa.UniqueConstraint('campaign_id', 'number', name=op.f('uq_data_release_campaign_id_number'))
    )
    with op.batch_alter_table('data_release', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_data_release_campaign_id'), ['campaign_id'], unique=False)

    op.create_table('data_release_file',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('release_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('media_type', sa.String(length=60), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('byte_size', sa.Integer(), nullable=False),
    sa.Column('rows', sa.Integer(), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['release_id'], ['data_release.id'], name=op.f('fk_data_release_file_release_id_data_release')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_data_release_file')),
    sa.UniqueConstraint('release_id', 'name', name=op.f('uq_data_release_file_release_id_name'))
    )
    with op.batch_alter_table('data_release_file', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_data_release_file_release_id'), ['release_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('data_release_file', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_data_release_file_release_id'))

    op.drop_table('data_release_file')
    with op.batch_alter_table('data_release', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_data_release_campaign_id'))

    op.drop_table('data_release')
