"""rate_limits: attempts per client per window, shared by every web process

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03
"""
import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Issue 14: /admin token attempts (and the sign-up limit) are counted here, not in each
    # process's memory, so N web processes do not give a guesser N times the attempts.
    op.create_table(
        'rate_limits',
        sa.Column('bucket', sa.String(length=40), nullable=False),
        sa.Column('client', sa.String(length=200), nullable=False),
        sa.Column('hits', sa.Integer(), nullable=False),
        sa.Column('window_end', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('bucket', 'client'),
    )
    op.create_index('ix_rate_limits_window_end', 'rate_limits', ['window_end'])


def downgrade() -> None:
    op.drop_index('ix_rate_limits_window_end', table_name='rate_limits')
    op.drop_table('rate_limits')
