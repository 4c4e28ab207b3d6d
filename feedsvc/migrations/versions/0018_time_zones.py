"""subscribers' time zones (issue 16 item 5)

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # NULL: the subscriber's digests follow FEEDSVC_TIMEZONE, as every digest did before.
    with op.batch_alter_table('subscribers') as batch:
        batch.add_column(sa.Column('time_zone', sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('subscribers') as batch:
        batch.drop_column('time_zone')
