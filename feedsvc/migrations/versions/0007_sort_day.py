"""releases ordered by sort_day (stated date, else day first seen); no invented published date

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def _first_seen_day(dialect: str) -> str:
    # first_seen is UTC: SQLite holds it as naive text, PostgreSQL as timestamptz.
    return "date(first_seen)" if dialect == "sqlite" else "(first_seen AT TIME ZONE 'UTC')::date"


def upgrade() -> None:
    # Issue 13: `published` was the stated date, else the instant first seen, shown as a
    # publication date and sorted on (an undated release read in at 10:00 sat above one dated
    # today). A release now has its stated `date` or none; every list is ordered by `sort_day`
    # (that date, else the UTC day first seen), then `first_seen`, newest first.
    dialect = op.get_bind().dialect.name
    for table in ('releases', 'release_topics'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('sort_day', sa.Date(), nullable=True))
    op.execute(f"UPDATE releases SET sort_day = COALESCE(date, {_first_seen_day(dialect)})")
    op.execute("UPDATE release_topics SET sort_day = (SELECT r.sort_day FROM releases r"
               " WHERE r.id = release_topics.release_id)")
    with op.batch_alter_table('release_topics', schema=None) as batch_op:
        batch_op.drop_index('ix_release_topics_order')
        batch_op.alter_column('sort_day', existing_type=sa.Date(), nullable=False)
        batch_op.drop_column('published')
        batch_op.create_index('ix_release_topics_order', ['topic', 'sort_day', 'first_seen', 'release_id'])
    with op.batch_alter_table('releases', schema=None) as batch_op:
        batch_op.drop_index('ix_releases_live_order')
        batch_op.drop_index('ix_releases_order')
        batch_op.alter_column('sort_day', existing_type=sa.Date(), nullable=False)
        batch_op.drop_column('published')
        batch_op.create_index('ix_releases_order', ['sort_day', 'first_seen', 'id'])
        batch_op.create_index('ix_releases_live_order', ['sort_day', 'first_seen', 'id'],
                              postgresql_where=sa.text('withdrawn_at IS NULL'),
                              sqlite_where=sa.text('withdrawn_at IS NULL'))


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    midnight = ("date || ' 00:00:00.000000'" if dialect == "sqlite"
                else "date::timestamp AT TIME ZONE 'UTC'")
    for table in ('releases', 'release_topics'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('published', sa.DateTime(timezone=True), nullable=True))
    op.execute(f"UPDATE releases SET published = COALESCE({midnight}, first_seen)")
    op.execute("UPDATE release_topics SET published = (SELECT r.published FROM releases r"
               " WHERE r.id = release_topics.release_id)")
    with op.batch_alter_table('release_topics', schema=None) as batch_op:
        batch_op.drop_index('ix_release_topics_order')
        batch_op.alter_column('published', existing_type=sa.DateTime(timezone=True), nullable=False)
        batch_op.drop_column('sort_day')
        batch_op.create_index('ix_release_topics_order', ['topic', 'published', 'first_seen', 'release_id'])
    with op.batch_alter_table('releases', schema=None) as batch_op:
        batch_op.drop_index('ix_releases_live_order')
        batch_op.drop_index('ix_releases_order')
        batch_op.alter_column('published', existing_type=sa.DateTime(timezone=True), nullable=False)
        batch_op.drop_column('sort_day')
        batch_op.create_index('ix_releases_order', ['published', 'first_seen'])
        batch_op.create_index('ix_releases_live_order', ['published', 'first_seen', 'id'],
                              postgresql_where=sa.text('withdrawn_at IS NULL'),
                              sqlite_where=sa.text('withdrawn_at IS NULL'))
