"""embargoes: a release held from the public until an instant (issue 17 item 1)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05
"""
import sqlalchemy as sa
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

LIVE = "withdrawn_at IS NULL"
PUBLIC = "withdrawn_at IS NULL AND embargo IS NULL"


def _live_order(where: str) -> None:
    op.drop_index('ix_releases_live_order', table_name='releases')
    op.create_index('ix_releases_live_order', 'releases', ['sort_day', 'first_seen', 'id'],
                    postgresql_where=sa.text(where), sqlite_where=sa.text(where))


def upgrade() -> None:
    # Plain ADD COLUMN, never batch_alter_table: on SQLite that copies the table and drops the
    # search triggers of 0012 with the old one.
    op.add_column('releases', sa.Column('embargo', sa.Text(), nullable=True))
    op.add_column('releases', sa.Column('embargo_until', sa.DateTime(timezone=True), nullable=True))
    # Every public list walks this index: its predicate now leaves held releases out too.
    _live_order(PUBLIC)
    op.create_index('ix_releases_held', 'releases', ['embargo_until'],
                    postgresql_where=sa.text("embargo IS NOT NULL"), sqlite_where=sa.text("embargo IS NOT NULL"))


def downgrade() -> None:
    # Code from before this revision knows no embargo: it would publish every held release at once.
    held = op.get_bind().execute(sa.text("SELECT count(*) FROM releases WHERE embargo IS NOT NULL")).scalar()
    if held:
        raise RuntimeError(f"{held} release(s) are held by an embargo: downgrading would publish them; "
                           "wait until they are public, or remove them from the content folder and rescan")
    op.drop_index('ix_releases_held', table_name='releases')
    _live_order(LIVE)
    # SQLite 3.35+ drops a column in place (no copy, so 0012's triggers stay).
    op.drop_column('releases', 'embargo_until')
    op.drop_column('releases', 'embargo')
