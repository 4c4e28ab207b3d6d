"""media and contacts: files a release carries, stored by SHA-256, and its press contacts (issue 17 item 3)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op

revision = '0016'
down_revision = '0015'  # main's head when this branch was rebased; one linear chain
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN, never batch_alter_table: on SQLite that copies the table and drops the
    # search triggers of 0012 with the old one.
    op.add_column('releases', sa.Column('attachments', sa.Text(), nullable=True))
    op.add_column('releases', sa.Column('contacts', sa.Text(), nullable=True))
    op.create_table(
        'media',
        sa.Column('sha256', sa.String(64), primary_key=True),
        sa.Column('content_type', sa.String(100), nullable=False),
        sa.Column('size', sa.BigInteger(), nullable=False),
        sa.Column('body', sa.LargeBinary(), nullable=False),
        sa.Column('stored_at', sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        'release_media',
        sa.Column('release_id', sa.String(40), sa.ForeignKey('releases.id', ondelete='CASCADE'), primary_key=True),
        sa.Column('position', sa.Integer(), primary_key=True),
        sa.Column('sha256', sa.String(64), sa.ForeignKey('media.sha256'), nullable=False),
        sa.Column('name', sa.String(1000), nullable=False),
    )
    op.create_index('ix_release_media_file', 'release_media', ['sha256', 'name'])
    op.create_table(
        'media_references',
        sa.Column('path', sa.String(1000), primary_key=True),
        sa.Column('target', sa.String(1000), primary_key=True),
        sa.Column('size', sa.BigInteger(), nullable=False),
        sa.Column('mtime_ns', sa.BigInteger(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table('media_references')
    op.drop_index('ix_release_media_file', table_name='release_media')
    op.drop_table('release_media')
    op.drop_table('media')
    # SQLite 3.35+ drops a column in place (no copy, so 0012's triggers stay).
    op.drop_column('releases', 'contacts')
    op.drop_column('releases', 'attachments')
