"""assisted and batch intake: channels, volunteers' entries, imports

Each nomination records its channel (web for every earlier one), how the nominator agreed to the
privacy notice, when it was received and who collected and entered it; a CSV batch is recorded
by its SHA-256 so that the same file imported twice stores nothing (issue 15).

Revision ID: 849f16a212ee
Revises: ef745cf17f66
Create Date: 2026-12-05 07:34:44.055829
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '849f16a212ee'
down_revision: str | None = 'ef745cf17f66'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('nomination_import',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('file_name', sa.String(length=200), nullable=False),
    sa.Column('channel', sa.Enum('web', 'paper', 'phone', 'whatsapp_sms', 'email', 'event', name='channel', native_enum=False, length=20), nullable=False),
    sa.Column('rows', sa.Integer(), nullable=False),
    sa.Column('imported_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaign.id'], name=op.f('fk_nomination_import_campaign_id_campaign')),
    sa.ForeignKeyConstraint(['imported_by_id'], ['account.id'], name=op.f('fk_nomination_import_imported_by_id_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_nomination_import')),
    sa.UniqueConstraint('sha256', name=op.f('uq_nomination_import_sha256'))
    )
    with op.batch_alter_table('nomination_import', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_nomination_import_campaign_id'), ['campaign_id'], unique=False)

    with op.batch_alter_table('nomination', schema=None) as batch_op:
        batch_op.add_column(sa.Column('channel', sa.Enum('web', 'paper', 'phone', 'whatsapp_sms', 'email', 'event', name='channel', native_enum=False, length=20), nullable=False, server_default='web'))
        batch_op.add_column(sa.Column('consent_method', sa.Enum('web_form', 'read_aloud', 'signed_paper', name='consentmethod', native_enum=False, length=20), nullable=False, server_default='web_form'))
        batch_op.add_column(sa.Column('received_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('collected_by', sa.String(length=200), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('entered_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('import_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_nomination_entered_by_id'), ['entered_by_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_nomination_import_id'), ['import_id'], unique=False)
        batch_op.create_index('ix_nomination_theme_channel', ['theme_id', 'channel'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_nomination_entered_by_id_account'), 'account', ['entered_by_id'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_nomination_import_id_nomination_import'), 'nomination_import', ['import_id'], ['id'])



def downgrade() -> None:
    with op.batch_alter_table('nomination', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_nomination_import_id_nomination_import'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_nomination_entered_by_id_account'), type_='foreignkey')
        batch_op.drop_index('ix_nomination_theme_channel')
        batch_op.drop_index(batch_op.f('ix_nomination_import_id'))
        batch_op.drop_index(batch_op.f('ix_nomination_entered_by_id'))
        batch_op.drop_column('import_id')
        batch_op.drop_column('entered_by_id')
        batch_op.drop_column('collected_by')
        batch_op.drop_column('received_on')
        batch_op.drop_column('consent_method')
        batch_op.drop_column('channel')

    with op.batch_alter_table('nomination_import', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_nomination_import_campaign_id'))

    op.drop_table('nomination_import')
