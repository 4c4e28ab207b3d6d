"""The database schema as SQLAlchemy 2 models: the column types, and the tables of releases, files,
feeds and media. The mail's tables are in mail_schema.py; Alembic migrations are written against both."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy import text as sa_text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Aware UTC datetimes in and out, on SQLite (which stores naive text) as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: object) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; feedsvc stores aware UTC only")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if getattr(dialect, "name", "") == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: object) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    pass


# A release anyone may see: not withdrawn and not held by an embargo (storage.reading.PUBLIC).
PUBLIC_SQL = "withdrawn_at IS NULL AND embargo IS NULL"


class ReleaseRow(Base):
    __tablename__ = "releases"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    atom_id: Mapped[str] = mapped_column(String(300), unique=True)
    # The key derived from the current title and place: how a re-parsed release finds its row.
    key: Mapped[str] = mapped_column(String(40), unique=True)
    title: Mapped[str] = mapped_column(Text)
    title_inferred: Mapped[bool] = mapped_column(Boolean, default=False)
    location: Mapped[str | None] = mapped_column(Text)
    date: Mapped[dt.date | None] = mapped_column(Date)
    author: Mapped[str | None] = mapped_column(Text)
    section: Mapped[str | None] = mapped_column(Text)
    paragraphs: Mapped[str] = mapped_column(Text)  # JSON list of strings
    body_html: Mapped[str | None] = mapped_column(Text)  # sanitised HTML of a Markdown body, else NULL
    topics: Mapped[str] = mapped_column(Text, default="")  # space-separated slugs, for reading
    # Topics the release names itself (front matter): kept so a re-classification keeps them.
    declared_topics: Mapped[str] = mapped_column(Text, default="")
    content_hash: Mapped[str] = mapped_column(String(64))
    first_seen: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    # The order of every list (issue 13): newest `sort_day` (model.sort_day: the stated date,
    # else the day first seen), then the release first seen last. No `published` column: a
    # publication date is the stated `date` or nothing.
    sort_day: Mapped[dt.date] = mapped_column(Date)
    updated: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    withdrawn_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # When its latest version was stored, once it has more than one (release_versions); read
    # with every list, so a feed or page knows "Updated on D" without one lookup per release.
    revised_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # Order of becoming public, gapless and committed in order (assigned under the ingest lock):
    # digests select "new since" by it, since first_seen may be set back for feed ordering.
    # A release held by an embargo waits outside that order with a negative seq, and takes the
    # next one when it becomes public, so a digest planned meanwhile can never skip it.
    seq: Mapped[int] = mapped_column(BigInteger)
    # Issue 17 item 1: while not NULL the release is held, public nowhere: the embargo as written,
    # and the instant it ends (NULL: unreadable, held until corrected). Both NULL once public.
    embargo: Mapped[str | None] = mapped_column(Text)
    embargo_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # Issue 17 item 3: JSON lists of model.Attachment and model.Contact (NULL: none), read with
    # every list so a feed of 50 entries needs no second query for its enclosures.
    attachments: Mapped[str | None] = mapped_column(Text)
    contacts: Mapped[str | None] = mapped_column(Text)
    # Issue 17 item 2 (migration 0019): BCP 47 tag, stated or identified (NULL: stored before and
    # not identified yet: the next scan does it); `translation_of` as the front matter wrote it;
    # releases sharing a `translation_group` are translations of each other.
    language: Mapped[str | None] = mapped_column(String(35))
    translation_of: Mapped[str | None] = mapped_column(Text)
    translation_group: Mapped[str | None] = mapped_column(String(40), index=True)

    __table_args__ = (
        Index("ix_releases_order", "sort_day", "first_seen", "id"),
        # Public releases in feed order, so a deep archive page is an index-only walk.
        Index("ix_releases_live_order", "sort_day", "first_seen", "id",
              postgresql_where=sa_text(PUBLIC_SQL), sqlite_where=sa_text(PUBLIC_SQL)),
        # The few held releases, by the instant they are due (the lift job's question).
        Index("ix_releases_held", "embargo_until",
              postgresql_where=sa_text("embargo IS NOT NULL"), sqlite_where=sa_text("embargo IS NOT NULL")),
        UniqueConstraint("seq", name="uq_releases_seq"),
        # A language's feed: its public releases in feed order (migration 0019).
        Index("ix_releases_language_order", "language", "sort_day", "first_seen", "id",
              postgresql_where=sa_text(PUBLIC_SQL), sqlite_where=sa_text(PUBLIC_SQL)),
    )


class ReleaseTopicRow(Base):
    """One row per (topic, release); the ordering columns are copied so a topic feed is one index scan."""

    __tablename__ = "release_topics"

    topic: Mapped[str] = mapped_column(String(80), primary_key=True)
    release_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("releases.id", ondelete="CASCADE"), primary_key=True)
    sort_day: Mapped[dt.date] = mapped_column(Date)
    first_seen: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index("ix_release_topics_order", "topic", "sort_day", "first_seen", "release_id"),
        Index("ix_release_topics_release", "release_id"),
    )


class ReleaseVersionRow(Base):
    """Every content a release has had (issue 13 item 5): version 1 as first published, then one per change."""

    __tablename__ = "release_versions"

    release_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("releases.id", ondelete="CASCADE"), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    title: Mapped[str] = mapped_column(Text)
    location: Mapped[str | None] = mapped_column(Text)
    date: Mapped[dt.date | None] = mapped_column(Date)
    author: Mapped[str | None] = mapped_column(Text)
    section: Mapped[str | None] = mapped_column(Text)
    paragraphs: Mapped[str] = mapped_column(Text)  # JSON list of strings, as releases.paragraphs
    body_html: Mapped[str | None] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64))


class OccurrenceRow(Base):
    """Where a release stands: a file and its position in that listing (0 is the newest)."""

    __tablename__ = "occurrences"

    path: Mapped[str] = mapped_column(String(1000), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    release_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("releases.id", ondelete="CASCADE"), index=True)
    line: Mapped[int] = mapped_column(Integer, default=0)
    # Issue 17 item 2 (migration 0021): this listing holds the release in several languages; the
    # position of its group's first release (model.Release.listed_with). NULL: alone in its language.
    translation_slot: Mapped[int | None] = mapped_column(Integer)


class FileRow(Base):
    """What the last scan saw of a content file, so an unchanged file is not parsed again."""

    __tablename__ = "files"

    path: Mapped[str] = mapped_column(String(1000), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    mtime_ns: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    releases: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    scanned_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    # What decoding repaired at the last read: JSON [[line, message], ...]; NULL when nothing.
    warnings: Mapped[str | None] = mapped_column(Text)


class IngestErrorRow(Base):
    __tablename__ = "ingest_errors"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    path: Mapped[str] = mapped_column(String(1000), index=True)
    reason: Mapped[str] = mapped_column(Text)
    occurred_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)


class ScanRow(Base):
    __tablename__ = "scans"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    files_scanned: Mapped[int] = mapped_column(Integer)
    files_changed: Mapped[int] = mapped_column(Integer)
    files_failed: Mapped[int] = mapped_column(Integer)
    releases_new: Mapped[int] = mapped_column(Integer)
    releases_updated: Mapped[int] = mapped_column(Integer)
    releases_unchanged: Mapped[int] = mapped_column(Integer)
    releases_withdrawn: Mapped[int] = mapped_column(Integer)

    warnings: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class MetaRow(Base):
    __tablename__ = "meta"

    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class FeedDocumentRow(Base):
    """A built feed: every web process serves these exact bytes, so they share one ETag."""

    __tablename__ = "feed_documents"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)  # e.g. "all.atom", "health.rss"
    etag: Mapped[str] = mapped_column(String(80))
    last_modified: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    content_type: Mapped[str] = mapped_column(String(80))
    body: Mapped[bytes] = mapped_column(LargeBinary)
    built_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class MediaRow(Base):
    """A file releases carry, stored once by its SHA-256 (issue 17 item 3).

    In the database, not on disk: on a PaaS the clock process ingests and the web processes serve,
    and they share no filesystem; every process shares the database.
    """

    __tablename__ = "media"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(BigInteger)
    body: Mapped[bytes] = mapped_column(LargeBinary)
    stored_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class ReleaseMediaRow(Base):
    """Which release carries which file under which name: what /media/<sha256>/<name> may serve."""

    __tablename__ = "release_media"

    release_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("releases.id", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), ForeignKey("media.sha256"))
    name: Mapped[str] = mapped_column(String(1000))

    __table_args__ = (Index("ix_release_media_file", "sha256", "name"),)


class MediaReferenceRow(Base):
    """A file a Markdown file named at its last read, and how it was then: a change re-reads the Markdown."""

    __tablename__ = "media_references"

    path: Mapped[str] = mapped_column(String(1000), primary_key=True)  # the Markdown file
    target: Mapped[str] = mapped_column(String(1000), primary_key=True)  # the file it names
    size: Mapped[int] = mapped_column(BigInteger)  # -1: absent when read
    mtime_ns: Mapped[int] = mapped_column(BigInteger)


ALL_KEY = "*"  # the ReleaseCountRow of every live release, beside the per-topic ones


class ReleaseCountRow(Base):
    """Live releases per topic ("*": all), kept in step by the ingest transactions.

    Counting 100,000 rows on every feed build or page view is what this saves.
    """

    __tablename__ = "release_counts"

    topic: Mapped[str] = mapped_column(String(80), primary_key=True)
    live: Mapped[int] = mapped_column(Integer, default=0)


class RateLimitRow(Base):
    """Attempts per client in a fixed window, shared by every web process (issue 14.2, 14.3).

    `bucket` names what is limited ("admin", "signup"); `client` is who (an address).
    """

    __tablename__ = "rate_limits"

    bucket: Mapped[str] = mapped_column(String(40), primary_key=True)
    client: Mapped[str] = mapped_column(String(200), primary_key=True)
    hits: Mapped[int] = mapped_column(Integer, default=0)
    window_end: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)


def table_of(row: type[Base]) -> Table:
    """The Core table of a model: what every storage statement is written against."""
    table = row.__table__
    # SQLAlchemy types `__table__` as any selectable; these declarative models map a Table each.
    if not isinstance(table, Table):
        raise TypeError(f"{row.__name__} is not mapped to a table")
    return table


RELEASES = table_of(ReleaseRow)
RELEASE_TOPICS = table_of(ReleaseTopicRow)
OCCURRENCES = table_of(OccurrenceRow)
FILES = table_of(FileRow)
INGEST_ERRORS = table_of(IngestErrorRow)
SCANS = table_of(ScanRow)
META = table_of(MetaRow)
FEED_DOCUMENTS = table_of(FeedDocumentRow)
RELEASE_COUNTS = table_of(ReleaseCountRow)
RELEASE_VERSIONS = table_of(ReleaseVersionRow)
RATE_LIMITS = table_of(RateLimitRow)
MEDIA = table_of(MediaRow)
RELEASE_MEDIA = table_of(ReleaseMediaRow)
MEDIA_REFERENCES = table_of(MediaReferenceRow)
