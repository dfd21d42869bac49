"""public vote: votes per theme, ballots, voidings, tallies from the ground

The People's Choice (issue 18): a vote per theme with its window and frozen count, each vote
cast (counted once confirmed; one counted vote per folded address and theme, held by a unique
key), the sets of votes staff voided, refusals counted per network for review, and tallies
from paper ballot boxes and events with their scans.

Revision ID: 725d3c0f36c0
Revises: 147c839d5a8a
Create Date: 2026-12-05 07:37:03.799129
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '725d3c0f36c0'
down_revision: str | None = '147c839d5a8a'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('theme_vote',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('theme_id', sa.Integer(), nullable=False),
    sa.Column('opens_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closes_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('show_running_counts', sa.Boolean(), nullable=False),
    sa.Column('frozen_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('frozen_hash', sa.String(length=64), nullable=False),
    sa.Column('frozen_content', sa.Text(), nullable=False),
    sa.Column('freeze_number', sa.Integer(), nullable=False),
    sa.Column('addresses_deleted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['account.id'], name=op.f('fk_theme_vote_created_by_id_account')),
    sa.ForeignKeyConstraint(['theme_id'], ['theme.id'], name=op.f('fk_theme_vote_theme_id_theme')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_theme_vote')),
    sa.UniqueConstraint('theme_id', name=op.f('uq_theme_vote_theme_id'))
    )
    with op.batch_alter_table('theme_vote', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_theme_vote_closes_at'), ['closes_at'], unique=False)

    op.create_table('ground_tally',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('theme_vote_id', sa.Integer(), nullable=False),
    sa.Column('place', sa.String(length=200), nullable=False),
    sa.Column('counted_on', sa.Date(), nullable=False),
    sa.Column('counted_by', sa.String(length=200), nullable=False),
    sa.Column('scan_sha256', sa.String(length=64), nullable=False),
    sa.Column('scan_content_type', sa.String(length=40), nullable=False),
    sa.Column('scan_name', sa.String(length=200), nullable=False),
    sa.Column('entered_by_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['entered_by_id'], ['account.id'], name=op.f('fk_ground_tally_entered_by_id_account')),
    sa.ForeignKeyConstraint(['theme_vote_id'], ['theme_vote.id'], name=op.f('fk_ground_tally_theme_vote_id_theme_vote')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ground_tally'))
    )
    with op.batch_alter_table('ground_tally', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ground_tally_scan_sha256'), ['scan_sha256'], unique=False)
        batch_op.create_index(batch_op.f('ix_ground_tally_theme_vote_id'), ['theme_vote_id'], unique=False)

    op.create_table('vote_refusal',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('theme_vote_id', sa.Integer(), nullable=False),
    sa.Column('network', sa.String(length=60), nullable=False),
    sa.Column('reason', sa.String(length=20), nullable=False),
    sa.Column('hour', sa.DateTime(timezone=True), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['theme_vote_id'], ['theme_vote.id'], name=op.f('fk_vote_refusal_theme_vote_id_theme_vote')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_vote_refusal')),
    sa.UniqueConstraint('theme_vote_id', 'network', 'reason', 'hour', name=op.f('uq_vote_refusal_theme_vote_id_network_reason_hour'))
    )
    op.create_table('vote_voiding',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('theme_vote_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('selector', sa.String(length=300), nullable=False),
    sa.Column('vote_count', sa.Integer(), nullable=False),
    sa.Column('counted_count', sa.Integer(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['account.id'], name=op.f('fk_vote_voiding_actor_id_account')),
    sa.ForeignKeyConstraint(['theme_vote_id'], ['theme_vote.id'], name=op.f('fk_vote_voiding_theme_vote_id_theme_vote')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_vote_voiding'))
    )
    with op.batch_alter_table('vote_voiding', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_vote_voiding_theme_vote_id'), ['theme_vote_id'], unique=False)

    op.create_table('ground_tally_line',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tally_id', sa.Integer(), nullable=False),
    sa.Column('finalist_id', sa.Integer(), nullable=False),
    sa.Column('votes', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['finalist_id'], ['finalist.id'], name=op.f('fk_ground_tally_line_finalist_id_finalist')),
    sa.ForeignKeyConstraint(['tally_id'], ['ground_tally.id'], name=op.f('fk_ground_tally_line_tally_id_ground_tally')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ground_tally_line')),
    sa.UniqueConstraint('tally_id', 'finalist_id', name=op.f('uq_ground_tally_line_tally_id_finalist_id'))
    )
    op.create_table('vote',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('theme_vote_id', sa.Integer(), nullable=False),
    sa.Column('finalist_id', sa.Integer(), nullable=False),
    sa.Column('reference', sa.String(length=40), nullable=False),
    sa.Column('submission_key', sa.String(length=64), nullable=False),
    sa.Column('address', sa.String(length=254), nullable=False),
    sa.Column('counted_key', sa.String(length=254), nullable=True),
    sa.Column('token_hash', sa.String(length=64), nullable=True),
    sa.Column('token_expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('locale', sa.String(length=5), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('superseded_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('voiding_id', sa.Integer(), nullable=True),
    sa.Column('client_hash', sa.String(length=64), nullable=False),
    sa.Column('network', sa.String(length=60), nullable=False),
    sa.Column('outbox_message_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['finalist_id'], ['finalist.id'], name=op.f('fk_vote_finalist_id_finalist')),
    sa.ForeignKeyConstraint(['theme_vote_id'], ['theme_vote.id'], name=op.f('fk_vote_theme_vote_id_theme_vote')),
    sa.ForeignKeyConstraint(['voiding_id'], ['vote_voiding.id'], name=op.f('fk_vote_voiding_id_vote_voiding')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_vote')),
    sa.UniqueConstraint('reference', name=op.f('uq_vote_reference')),
    sa.UniqueConstraint('submission_key', name=op.f('uq_vote_submission_key')),
    sa.UniqueConstraint('theme_vote_id', 'counted_key', name=op.f('uq_vote_theme_vote_id_counted_key')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_vote_token_hash'))
    )
    with op.batch_alter_table('vote', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_vote_created_at'), ['created_at'], unique=False)
        batch_op.create_index('ix_vote_theme_vote_id_address', ['theme_vote_id', 'address'], unique=False)
        batch_op.create_index('ix_vote_theme_vote_id_finalist_id', ['theme_vote_id', 'finalist_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_vote_voiding_id'), ['voiding_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('vote', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_vote_voiding_id'))
        batch_op.drop_index('ix_vote_theme_vote_id_finalist_id')
        batch_op.drop_index('ix_vote_theme_vote_id_address')
        batch_op.drop_index(batch_op.f('ix_vote_created_at'))

    op.drop_table('vote')
    op.drop_table('ground_tally_line')
    with op.batch_alter_table('vote_voiding', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_vote_voiding_theme_vote_id'))

    op.drop_table('vote_voiding')
    op.drop_table('vote_refusal')
    with op.batch_alter_table('ground_tally', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ground_tally_theme_vote_id'))
        batch_op.drop_index(batch_op.f('ix_ground_tally_scan_sha256'))

    op.drop_table('ground_tally')
    with op.batch_alter_table('theme_vote', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_theme_vote_closes_at'))

    op.drop_table('theme_vote')
