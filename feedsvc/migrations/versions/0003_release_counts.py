"""live release counts per topic

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""
from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('release_counts',
    sa.Column('topic', sa.String(length=80), nullable=False),
    sa.Column('live', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('topic')
    )
    # Counted once here from what is stored; ingest keeps them current from now on.
    op.execute("INSERT INTO release_counts (topic, live) "
               "SELECT topic, COUNT(*) FROM release_topics GROUP BY topic")
    op.execute("INSERT INTO release_counts (topic, live) "
               "SELECT '*', COUNT(*) FROM releases WHERE withdrawn_at IS NULL")


def downgrade() -> None:
    op.drop_table('release_counts')
