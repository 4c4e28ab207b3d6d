"""ingest warnings: each file's repairs, each scan's count

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24
"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Issue 11, item 4: what decoding repaired in a file (JSON [[line, message], ...], NULL when
    # nothing), and how many such warnings a scan gave.
    with op.batch_alter_table('files', schema=None) as batch_op:
        batch_op.add_column(sa.Column('warnings', sa.Text(), nullable=True))
    with op.batch_alter_table('scans', schema=None) as batch_op:
        batch_op.add_column(sa.Column('warnings', sa.Integer(), nullable=False, server_default='0'))


def downgrade() -> None:
    with op.batch_alter_table('scans', schema=None) as batch_op:
        batch_op.drop_column('warnings')
    with op.batch_alter_table('files', schema=None) as batch_op:
        batch_op.drop_column('warnings')
