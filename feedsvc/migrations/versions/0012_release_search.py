"""full-text search over releases: FTS5 on SQLite, a tsvector column with a GIN index on PostgreSQL

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02
"""
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

# The body is stored as a JSON list of paragraphs; it is indexed as its paragraphs' text, so
# neither JSON's brackets nor its escapes become words. SQLite reads it with json_each.
SQLITE_BODY = "(SELECT group_concat(value, char(10)) FROM json_each({row}.paragraphs))"

# The index is keyed by `seq`, not SQLite's implicit rowid: releases has a text primary key,
# and VACUUM may renumber the implicit rowid of such a table; seq is assigned once, never changed.
# remove_diacritics 0: a word is found as it is stored (accents count), as PostgreSQL's 'simple'
# configuration does, so both databases answer the same query alike.
SQLITE_UP = [
    f"""CREATE VIEW release_search_text AS
        SELECT seq, title, {SQLITE_BODY.format(row='releases')} AS body, location AS place FROM releases""",
    """CREATE VIRTUAL TABLE release_fts USING fts5(
        title, body, place, content='release_search_text', content_rowid='seq',
        tokenize='unicode61 remove_diacritics 0')""",
    f"""CREATE TRIGGER release_fts_insert AFTER INSERT ON releases BEGIN
        INSERT INTO release_fts(rowid, title, body, place)
        VALUES (new.seq, new.title, {SQLITE_BODY.format(row='new')}, new.location);
    END""",
    # An external-content table forgets a row only when told the exact text it indexed.
    f"""CREATE TRIGGER release_fts_delete AFTER DELETE ON releases BEGIN
        INSERT INTO release_fts(release_fts, rowid, title, body, place)
        VALUES ('delete', old.seq, old.title, {SQLITE_BODY.format(row='old')}, old.location);
    END""",
    f"""CREATE TRIGGER release_fts_update AFTER UPDATE OF seq, title, paragraphs, location ON releases BEGIN
        INSERT INTO release_fts(release_fts, rowid, title, body, place)
        VALUES ('delete', old.seq, old.title, {SQLITE_BODY.format(row='old')}, old.location);
        INSERT INTO release_fts(rowid, title, body, place)
        VALUES (new.seq, new.title, {SQLITE_BODY.format(row='new')}, new.location);
    END""",
    # The releases stored before now (FTS5's 'rebuild' will not read from a view).
    "INSERT INTO release_fts(rowid, title, body, place) SELECT seq, title, body, place FROM release_search_text",
]

# 'simple': lower-cased words, no stemming and no stop words. Releases come in any language and
# no language is stored per release, so a language's stemmer (english by default) would mangle
# every other language's words and drop its stop words ("die" in German, "a" in Italian).
# The body is indexed from its JSON text as stored (ensure_ascii=False, so accents are
# themselves); its first 500,000 characters only, so no release can pass tsvector's 1 MB limit
# and fail to be stored. '<' is read as a space: PostgreSQL's parser takes "<script>" in plain
# text for an HTML tag and indexes no word of it, where FTS5 finds "script". A generated column
# keeps itself current through every UPDATE.
PG_UP = [
    """ALTER TABLE releases ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('simple', translate(title, '<', ' ')), 'A')
        || setweight(to_tsvector('simple', coalesce(location, '')), 'B')
        || to_tsvector('simple', translate(left(paragraphs, 500000), '<', ' '))) STORED""",
    "CREATE INDEX ix_releases_search ON releases USING gin (search_vector)",
]


def upgrade() -> None:
    # Note for later migrations: op.batch_alter_table('releases') on SQLite copies the table
    # and drops the old one, and its triggers with it; such a migration must recreate them.
    for statement in SQLITE_UP if op.get_bind().dialect.name == 'sqlite' else PG_UP:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == 'sqlite':
        for name in ('release_fts_insert', 'release_fts_delete', 'release_fts_update'):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS release_fts")
        op.execute("DROP VIEW IF EXISTS release_search_text")
    else:
        op.execute("DROP INDEX IF EXISTS ix_releases_search")
        op.execute("ALTER TABLE releases DROP COLUMN IF EXISTS search_vector")
