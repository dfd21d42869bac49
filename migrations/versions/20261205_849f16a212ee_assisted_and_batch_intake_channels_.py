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

FOREIGN_KEYS = (
    ("entered_by_id", "account", "fk_nomination_entered_by_id_account"),
    ("import_id", "nomination_import", "fk_nomination_import_id_nomination_import"),
)


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

    op.add_column('nomination', sa.Column('channel', sa.Enum('web', 'paper', 'phone', 'whatsapp_sms', 'email', 'event', name='channel', native_enum=False, length=20), nullable=False, server_default='web'))
    op.add_column('nomination', sa.Column('consent_method', sa.Enum('web_form', 'read_aloud', 'signed_paper', name='consentmethod', native_enum=False, length=20), nullable=False, server_default='web_form'))
    op.add_column('nomination', sa.Column('received_on', sa.Date(), nullable=True))
    op.add_column('nomination', sa.Column('collected_by', sa.String(length=200), nullable=False, server_default=''))
    for column, table, name in FOREIGN_KEYS:
        if op.get_bind().dialect.name == "sqlite":
            # Not batch mode's copy of the table: the rows pointing at nominations (evidence
            # files, notes…) would refuse its DROP TABLE, and the copy would lose the search
            # triggers (see ef745cf17f66). SQLite adds a column with its reference in place.
            op.execute(
                f"ALTER TABLE nomination ADD COLUMN {column} INTEGER"
                f" CONSTRAINT {name} REFERENCES {table} (id)"
            )
        else:
            op.add_column('nomination', sa.Column(column, sa.Integer(), nullable=True))
            op.create_foreign_key(name, 'nomination', table, [column], ['id'])
    op.create_index('ix_nomination_entered_by_id', 'nomination', ['entered_by_id'], unique=False)
    op.create_index('ix_nomination_import_id', 'nomination', ['import_id'], unique=False)
    op.create_index('ix_nomination_theme_channel', 'nomination', ['theme_id', 'channel'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_nomination_theme_channel', table_name='nomination')
    op.drop_index('ix_nomination_import_id', table_name='nomination')
    op.drop_index('ix_nomination_entered_by_id', table_name='nomination')
    for column, _table, name in FOREIGN_KEYS:
        if op.get_bind().dialect.name != "sqlite":
            op.drop_constraint(name, 'nomination', type_='foreignkey')
        # SQLite 3.35+: ALTER TABLE … DROP COLUMN, no copy of the table (see upgrade).
        op.drop_column('nomination', column)
    for column in ('collected_by', 'received_on', 'consent_method', 'channel'):
        op.drop_column('nomination', column)

    with op.batch_alter_table('nomination_import', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_nomination_import_campaign_id'))

    op.drop_table('nomination_import')
