"""sanction registries: lists, versions, entries, matches

Issue 14. Each imported file is a version of its list; entries are closed, not deleted, when a
newer file changes or drops them, so every version can be read back. Possible matches belong to
a nomination or to a candidate (exactly one), and are deleted with a candidate that a merge
removes (its nominations keep theirs). Blocking keys of the current entries let one new
nomination be screened with an indexed look-up.

Revision ID: e4f7cbbc1d53
Revises: 34edb47ec76e
Create Date: 2026-12-04 16:44:20.562006
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = 'e4f7cbbc1d53'
down_revision: str | None = '34edb47ec76e'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('sanction_source',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('format', sa.Enum('ofac-sdn', 'pdn-s3', 'sat-69b', 'csv', name='listformat', native_enum=False, length=20), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sanction_source')),
    sa.UniqueConstraint('name', name=op.f('uq_sanction_source_name'))
    )
    op.create_table('sanction_list_version',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('source_id', sa.Integer(), nullable=False),
    sa.Column('file_name', sa.String(length=255), nullable=False),
    sa.Column('aliases_file_name', sa.String(length=255), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('aliases_sha256', sa.String(length=64), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('imported_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('imported_by_id', sa.Integer(), nullable=True),
    sa.Column('imported_by', sa.String(length=300), nullable=False),
    sa.Column('entry_count', sa.Integer(), nullable=False),
    sa.Column('added', sa.Integer(), nullable=False),
    sa.Column('changed', sa.Integer(), nullable=False),
    sa.Column('removed', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['imported_by_id'], ['account.id'], name=op.f('fk_sanction_list_version_imported_by_id_account')),
    sa.ForeignKeyConstraint(['source_id'], ['sanction_source.id'], name=op.f('fk_sanction_list_version_source_id_sanction_source')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sanction_list_version'))
    )
    with op.batch_alter_table('sanction_list_version', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sanction_list_version_source_id'), ['source_id'], unique=False)

    op.create_table('sanction_entry',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('source_id', sa.Integer(), nullable=False),
    sa.Column('external_id', sa.String(length=120), nullable=False),
    sa.Column('added_version_id', sa.Integer(), nullable=False),
    sa.Column('removed_version_id', sa.Integer(), nullable=True),
    sa.Column('content_sha256', sa.String(length=64), nullable=False),
    sa.Column('entry_type', sa.Enum('person', 'organisation', 'other', name='entrytype', native_enum=False, length=20), nullable=False),
    sa.Column('name', sa.String(length=500), nullable=False),
    sa.Column('aliases', sa.Text(), nullable=False),
    sa.Column('rfc', sa.String(length=13), nullable=False),
    sa.Column('curp', sa.String(length=18), nullable=False),
    sa.Column('birth_date', sa.String(length=120), nullable=False),
    sa.Column('birth_year_from', sa.Integer(), nullable=True),
    sa.Column('birth_year_to', sa.Integer(), nullable=True),
    sa.Column('gender', sa.String(length=1), nullable=False),
    sa.Column('position', sa.String(length=500), nullable=False),
    sa.Column('institution', sa.String(length=500), nullable=False),
    sa.Column('sanction_type', sa.Text(), nullable=False),
    sa.Column('dates', sa.Text(), nullable=False),
    sa.Column('program', sa.String(length=300), nullable=False),
    sa.Column('remarks', sa.Text(), nullable=False),
    sa.Column('url', sa.String(length=1000), nullable=False),
    sa.ForeignKeyConstraint(['added_version_id'], ['sanction_list_version.id'], name=op.f('fk_sanction_entry_added_version_id_sanction_list_version')),
    sa.ForeignKeyConstraint(['removed_version_id'], ['sanction_list_version.id'], name=op.f('fk_sanction_entry_removed_version_id_sanction_list_version')),
    sa.ForeignKeyConstraint(['source_id'], ['sanction_source.id'], name=op.f('fk_sanction_entry_source_id_sanction_source')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sanction_entry'))
    )
    with op.batch_alter_table('sanction_entry', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sanction_entry_curp'), ['curp'], unique=False)
        batch_op.create_index(batch_op.f('ix_sanction_entry_removed_version_id'), ['removed_version_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_sanction_entry_rfc'), ['rfc'], unique=False)
        batch_op.create_index('ix_sanction_entry_source_current', ['source_id', 'removed_version_id', 'external_id'], unique=False)

    op.create_table('candidate_identity',
    sa.Column('candidate_id', sa.Integer(), nullable=False),
    sa.Column('full_name', sa.String(length=200), nullable=False),
    sa.Column('rfc', sa.String(length=13), nullable=False),
    sa.Column('curp', sa.String(length=18), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['candidate_id'], ['candidate.id'], name=op.f('fk_candidate_identity_candidate_id_candidate'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('candidate_id', name=op.f('pk_candidate_identity'))
    )
    op.create_table('sanction_name_key',
    sa.Column('key', sa.String(length=120), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['entry_id'], ['sanction_entry.id'], name=op.f('fk_sanction_name_key_entry_id_sanction_entry')),
    sa.PrimaryKeyConstraint('key', 'entry_id', name=op.f('pk_sanction_name_key'))
    )
    with op.batch_alter_table('sanction_name_key', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sanction_name_key_entry_id'), ['entry_id'], unique=False)

    op.create_table('sanction_match',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('nomination_id', sa.Integer(), nullable=True),
    sa.Column('candidate_id', sa.Integer(), nullable=True),
    sa.Column('entry_id', sa.Integer(), nullable=False),
    sa.Column('score', sa.Integer(), nullable=False),
    sa.Column('matched_name', sa.String(length=300), nullable=False),
    sa.Column('reasons', sa.Text(), nullable=False),
    sa.Column('status', sa.Enum('open', 'confirmed', 'dismissed', name='matchstatus', native_enum=False, length=20), nullable=False),
    sa.Column('result', sa.Enum('clear', 'concern', 'disqualifying', 'inconclusive', name='checkresult', native_enum=False, length=20), nullable=True),
    sa.Column('decision_note', sa.Text(), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('vetting_check_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('(nomination_id IS NULL) <> (candidate_id IS NULL)', name=op.f('ck_sanction_match_one_subject')),
    sa.ForeignKeyConstraint(['candidate_id'], ['candidate.id'], name=op.f('fk_sanction_match_candidate_id_candidate'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['decided_by_id'], ['account.id'], name=op.f('fk_sanction_match_decided_by_id_account')),
    sa.ForeignKeyConstraint(['entry_id'], ['sanction_entry.id'], name=op.f('fk_sanction_match_entry_id_sanction_entry')),
    sa.ForeignKeyConstraint(['nomination_id'], ['nomination.id'], name=op.f('fk_sanction_match_nomination_id_nomination')),
    sa.ForeignKeyConstraint(['vetting_check_id'], ['vetting_check.id'], name=op.f('fk_sanction_match_vetting_check_id_vetting_check')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sanction_match')),
    sa.UniqueConstraint('candidate_id', 'entry_id', name=op.f('uq_sanction_match_candidate_id_entry_id')),
    sa.UniqueConstraint('nomination_id', 'entry_id', name=op.f('uq_sanction_match_nomination_id_entry_id'))
    )
    with op.batch_alter_table('sanction_match', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sanction_match_candidate_id'), ['candidate_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_sanction_match_entry_id'), ['entry_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_sanction_match_nomination_id'), ['nomination_id'], unique=False)
        batch_op.create_index('ix_sanction_match_status_score', ['status', 'score'], unique=False)

    op.create_table('sanction_screening',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('nomination_id', sa.Integer(), nullable=True),
    sa.Column('candidate_id', sa.Integer(), nullable=True),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('screened_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('(nomination_id IS NULL) <> (candidate_id IS NULL)', name=op.f('ck_sanction_screening_one_subject')),
    sa.ForeignKeyConstraint(['candidate_id'], ['candidate.id'], name=op.f('fk_sanction_screening_candidate_id_candidate'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['nomination_id'], ['nomination.id'], name=op.f('fk_sanction_screening_nomination_id_nomination')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sanction_screening')),
    sa.UniqueConstraint('candidate_id', name=op.f('uq_sanction_screening_candidate_id')),
    sa.UniqueConstraint('nomination_id', name=op.f('uq_sanction_screening_nomination_id'))
    )


def downgrade() -> None:
    op.drop_table('sanction_screening')
    with op.batch_alter_table('sanction_match', schema=None) as batch_op:
        batch_op.drop_index('ix_sanction_match_status_score')
        batch_op.drop_index(batch_op.f('ix_sanction_match_nomination_id'))
        batch_op.drop_index(batch_op.f('ix_sanction_match_entry_id'))
        batch_op.drop_index(batch_op.f('ix_sanction_match_candidate_id'))

    op.drop_table('sanction_match')
    with op.batch_alter_table('sanction_name_key', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sanction_name_key_entry_id'))

    op.drop_table('sanction_name_key')
    op.drop_table('candidate_identity')
    with op.batch_alter_table('sanction_entry', schema=None) as batch_op:
        batch_op.drop_index('ix_sanction_entry_source_current')
        batch_op.drop_index(batch_op.f('ix_sanction_entry_rfc'))
        batch_op.drop_index(batch_op.f('ix_sanction_entry_removed_version_id'))
        batch_op.drop_index(batch_op.f('ix_sanction_entry_curp'))

    op.drop_table('sanction_entry')
    with op.batch_alter_table('sanction_list_version', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sanction_list_version_source_id'))

    op.drop_table('sanction_list_version')
    op.drop_table('sanction_source')
