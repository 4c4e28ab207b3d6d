"""release languages, translation groups, subscribers' languages (issue 17 item 2)

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-02

Releases stored before keep a NULL language here: the next scan identifies them from their text
(Ingester.backfill_languages, which knows FEEDSVC_DEFAULT_LANGUAGE) and rebuilds the feeds, so
this migration needs neither the detector nor the configuration.
"""
import sqlalchemy as sa
from alembic import op

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None

PUBLIC_SQL = "withdrawn_at IS NULL AND embargo IS NULL"


def upgrade() -> None:
    # Plain ADD COLUMN, never batch_alter_table: on SQLite that copies the table and drops the
    # search triggers of 0012 with the old one.
    op.add_column('releases', sa.Column('language', sa.String(35), nullable=True))
    op.add_column('releases', sa.Column('translation_of', sa.Text(), nullable=True))
    op.add_column('releases', sa.Column('translation_group', sa.String(40), nullable=True))
    op.create_index('ix_releases_translation_group', 'releases', ['translation_group'])
    op.create_index('ix_releases_language_order', 'releases', ['language', 'sort_day', 'first_seen', 'id'],
                    postgresql_where=sa.text(PUBLIC_SQL), sqlite_where=sa.text(PUBLIC_SQL))
    op.add_column('subscribers', sa.Column('languages', sa.Text(), nullable=False, server_default=''))


def downgrade() -> None:
    # SQLite 3.35+ drops a column in place (no copy, so 0012's triggers stay).
    op.drop_column('subscribers', 'languages')
    op.drop_index('ix_releases_language_order', table_name='releases')
    op.drop_index('ix_releases_translation_group', table_name='releases')
    op.drop_column('releases', 'translation_group')
    op.drop_column('releases', 'translation_of')
    op.drop_column('releases', 'language')
