"""one release in several languages in one listing (issue 17 item 2)

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-03
"""
import sqlalchemy as sa
from alembic import op

revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('occurrences') as batch:
        batch.add_column(sa.Column('translation_slot', sa.Integer(), nullable=True))
    # Which releases of a listing are one release in several languages is decided when the file is
    # read: the next scan reads every file read well before (its releases are unchanged, so they
    # keep their ids, versions and `updated`). A file in error is left alone: it is read again
    # when it changes, as before, and its error is not reported twice.
    op.execute("UPDATE files SET mtime_ns = -1, sha256 = '' WHERE error IS NULL")


def downgrade() -> None:
    with op.batch_alter_table('occurrences') as batch:
        batch.drop_column('translation_slot')
