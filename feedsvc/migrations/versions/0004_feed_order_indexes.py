"""indexes for deep archive pages

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_releases_live_order', 'releases', ['published', 'first_seen', 'id'],
                    postgresql_where=sa.text('withdrawn_at IS NULL'),
                    sqlite_where=sa.text('withdrawn_at IS NULL'))
    op.drop_index('ix_release_topics_order', table_name='release_topics')
    op.create_index('ix_release_topics_order', 'release_topics',
                    ['topic', 'published', 'first_seen', 'release_id'])


def downgrade() -> None:
    op.drop_index('ix_release_topics_order', table_name='release_topics')
    op.create_index('ix_release_topics_order', 'release_topics', ['topic', 'published', 'first_seen'])
    op.drop_index('ix_releases_live_order', table_name='releases')
