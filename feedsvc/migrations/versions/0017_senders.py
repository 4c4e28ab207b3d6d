"""several senders: each delivery's claim names the sender session that holds it

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

revision = '0017'
down_revision = '0016'  # main's head when this branch was made; one linear chain
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Issue 16 item 1: on PostgreSQL a sender reserves rows (claimed_by = its session key, whose
    # advisory lock it holds while it sends); a row whose owner's lock is gone is recovered.
    with op.batch_alter_table('deliveries') as batch:
        batch.add_column(sa.Column('claimed_by', sa.Integer(), nullable=True))
    # The reservation reads `pending` rows no sender holds, in id order: this index gives them so.
    op.create_index('ix_deliveries_claim', 'deliveries', ['state', 'claimed_by', 'id'])


def downgrade() -> None:
    op.drop_index('ix_deliveries_claim', table_name='deliveries')
    with op.batch_alter_table('deliveries') as batch:
        batch.drop_column('claimed_by')
