"""release body_html: the sanitised HTML of a Markdown release's body

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24
"""
import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Issue 11, item 5: NULL for every release stored so far (text listings keep it NULL); a
    # Markdown file gets it when it is next read. SQLite adds a nullable column without a rebuild.
    with op.batch_alter_table('releases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('body_html', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('releases', schema=None) as batch_op:
        batch_op.drop_column('body_html')
