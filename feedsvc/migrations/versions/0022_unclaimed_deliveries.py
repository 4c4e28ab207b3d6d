"""partial indexes for the senders' reservation and recovery (issue 12: time per subscriber at 100,000)

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-03
"""
import sqlalchemy as sa
from alembic import op

revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None

_UNCLAIMED = sa.text("state = 'pending' AND claimed_by IS NULL")
_CLAIMED = sa.text("claimed_by IS NOT NULL")


def upgrade() -> None:
    # PostgreSQL does not read an index scan under `claimed_by IS NULL` as ordered by the next
    # column, so a reservation (… ORDER BY id LIMIT n) sorted every pending row: 200 ms a call at
    # 100,000 rows, once per batch of each sender. A partial index on id alone is read in order and
    # stops after n rows. Recovery reads the few reserved rows through the second, not every pending one.
    op.drop_index('ix_deliveries_claim', table_name='deliveries')
    op.create_index('ix_deliveries_unclaimed', 'deliveries', ['id'],
                    postgresql_where=_UNCLAIMED, sqlite_where=_UNCLAIMED)
    op.create_index('ix_deliveries_claimed', 'deliveries', ['state', 'claimed_by'],
                    postgresql_where=_CLAIMED, sqlite_where=_CLAIMED)


def downgrade() -> None:
    op.drop_index('ix_deliveries_claimed', table_name='deliveries')
    op.drop_index('ix_deliveries_unclaimed', table_name='deliveries')
    op.create_index('ix_deliveries_claim', 'deliveries', ['state', 'claimed_by', 'id'])
