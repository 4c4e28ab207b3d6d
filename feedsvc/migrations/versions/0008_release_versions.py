"""release_versions: every content a release has had; releases.revised_at

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""
import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Issue 13 item 5: a corrected release shows that it was corrected and what changed. Earlier
    # contents were never kept, so each existing release starts at version 1 as it stands now,
    # seen when it was first seen; revised_at stays NULL (no change is known to show).
    op.create_table(
        'release_versions',
        sa.Column('release_id', sa.String(length=40), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('seen_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('title', sa.Text(), nullable=False),
        sa.Column('location', sa.Text(), nullable=True),
        sa.Column('date', sa.Date(), nullable=True),
        sa.Column('author', sa.Text(), nullable=True),
        sa.Column('section', sa.Text(), nullable=True),
        sa.Column('paragraphs', sa.Text(), nullable=False),
        sa.Column('body_html', sa.Text(), nullable=True),
        sa.Column('content_hash', sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(['release_id'], ['releases.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('release_id', 'version'),
    )
    with op.batch_alter_table('releases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('revised_at', sa.DateTime(timezone=True), nullable=True))
    op.execute("INSERT INTO release_versions (release_id, version, seen_at, title, location, date,"
               " author, section, paragraphs, body_html, content_hash)"
               " SELECT id, 1, first_seen, title, location, date, author, section, paragraphs,"
               " body_html, content_hash FROM releases")


def downgrade() -> None:
    with op.batch_alter_table('releases', schema=None) as batch_op:
        batch_op.drop_column('revised_at')
    op.drop_table('release_versions')
