"""subscribers' interface language (issue 17 item 2)

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # NULL: the subscriber signed up before the interface was translated; their emails are in
    # FEEDSVC_DEFAULT_LOCALE, as every email was before.
    with op.batch_alter_table('subscribers') as batch:
        batch.add_column(sa.Column('locale', sa.String(16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('subscribers') as batch:
        batch.drop_column('locale')
