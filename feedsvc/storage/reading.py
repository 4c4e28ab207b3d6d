"""Reading releases back: the one order of every list, pages, counts, and what scans left behind."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import sqlalchemy as sa

from ..model import Attachment, Contact, StoredRelease
from .base import StorageBase
from .schema import ALL_KEY
from .schema import FILES as F
from .schema import INGEST_ERRORS as ERR
from .schema import OCCURRENCES as OCC
from .schema import RELEASE_COUNTS as CNT
from .schema import RELEASE_TOPICS as RT
from .schema import RELEASES as R
from .schema import SCANS as SCAN

# Whom a release is shown to: anyone, once it is live (not withdrawn) and no embargo holds it.
# Every public read says this, in these words: it is the predicate of ix_releases_live_order.
PUBLIC = sa.and_(R.c.withdrawn_at.is_(None), R.c.embargo.is_(None))


def release_order(table: sa.Table, oldest_first: bool = False) -> list[sa.UnaryExpression[Any]]:
    """The one order of every list (issue 13): `StoredRelease.order_key`, newest first.

    `table` is `releases` or `release_topics`, which copies the ordering columns.
    """
    cols = [table.c.sort_day, table.c.first_seen, table.c["release_id" if table is RT else "id"]]
    return [c.asc() if oldest_first else c.desc() for c in cols]


def _midnight(date: dt.date | None) -> dt.datetime | None:
    return None if date is None else dt.datetime.combine(date, dt.time(), tzinfo=dt.UTC)


def read_extras(row: sa.Row[Any]) -> tuple[tuple[Attachment, ...], tuple[Contact, ...]]:
    """A release row's attachments and contacts (issue 17 item 3), as storage/media.extras_values wrote them."""
    attachments = tuple(Attachment.from_json(d) for d in json.loads(row.attachments)) if row.attachments else ()
    contacts = tuple(Contact.from_json(d) for d in json.loads(row.contacts)) if row.contacts else ()
    return attachments, contacts


def row_to_release(row: sa.Row[Any]) -> StoredRelease:
    attachments, contacts = read_extras(row)
    return StoredRelease(
        id=row.id, atom_id=row.atom_id, title=row.title, title_inferred=bool(row.title_inferred),
        location=row.location, date=row.date, author=row.author, section=row.section,
        paragraphs=tuple(json.loads(row.paragraphs)),
        topics=tuple(row.topics.split()) if row.topics else (),
        published=_midnight(row.date), updated=row.updated, first_seen=row.first_seen,
        withdrawn=row.withdrawn_at is not None, body_html=row.body_html,
        withdrawn_at=row.withdrawn_at, revised_at=row.revised_at, attachments=attachments, contacts=contacts,
        language=row.language, translation_group=row.translation_group,
    )


class ReadingMixin(StorageBase):

    def list_releases(self, topic: str | None = None, *, limit: int = 50, offset: int = 0,
                      oldest_first: bool = False, language: str | None = None) -> list[StoredRelease]:
        """Public releases, newest first (`_order`: day, then first seen last, then listing order).

        The page is chosen on ids alone (an index-only walk, however deep the offset), then
        only its rows are read. `language`: only releases in that BCP 47 tag (a language's feeds).
        """
        with self.read(f"listing releases of {topic or 'every topic'}") as conn:
            if language is not None and topic is None:
                ids = (sa.select(R.c.id.label("release_id"), R.c.sort_day, R.c.first_seen)
                       .where(PUBLIC, R.c.language == language).order_by(*release_order(R, oldest_first)))
            elif language is not None:
                ids = (sa.select(RT.c.release_id, RT.c.sort_day, RT.c.first_seen)
                       .select_from(RT.join(R, R.c.id == RT.c.release_id))
                       .where(RT.c.topic == topic, R.c.language == language)
                       .order_by(*release_order(RT, oldest_first)))
            elif topic is None:
                ids = (sa.select(R.c.id.label("release_id"), R.c.sort_day, R.c.first_seen)
                       .where(PUBLIC).order_by(*release_order(R, oldest_first)))
            else:
                ids = (sa.select(RT.c.release_id, RT.c.sort_day, RT.c.first_seen)
                       .where(RT.c.topic == topic).order_by(*release_order(RT, oldest_first)))
            page = ids.limit(limit).offset(offset).subquery()
            rows = conn.execute(sa.select(R).join(page, page.c.release_id == R.c.id)
                                .order_by(*release_order(R, oldest_first))).all()
            return [row_to_release(r) for r in rows]

    def count_releases(self, topic: str | None = None) -> int:
        """Live releases (of a topic): one row read, kept current by ingest."""
        with self.read("counting releases") as conn:
            return int(conn.execute(sa.select(CNT.c.live).where(
                CNT.c.topic == (topic or ALL_KEY))).scalar() or 0)

    def get_release(self, release_id: str) -> StoredRelease | None:
        """A release that is or was public (withdrawn ones too); None for one an embargo holds."""
        with self.read(f"reading release {release_id}") as conn:
            row = conn.execute(sa.select(R).where(R.c.id == release_id, R.c.embargo.is_(None))).first()
            return row_to_release(row) if row else None

    def release_neighbours(self, release_id: str) -> tuple[StoredRelease | None, StoredRelease | None]:
        """(newer, older): the public releases just before and just after this one in the one list
        order (the home page's), for a release page's "next" and "previous" links."""
        cols = (R.c.sort_day, R.c.first_seen, R.c.id)
        with self.read(f"reading the neighbours of release {release_id}") as conn:
            key = conn.execute(sa.select(*cols).where(R.c.id == release_id)).first()
            if key is None:
                return None, None
            day, seen, rid = key
            # (day, seen, id) > key, spelt out so each value binds with its column's type; the
            # first term alone lets the live-order index start at the release's day.
            after = sa.and_(R.c.sort_day >= day, sa.or_(
                R.c.sort_day > day, sa.and_(R.c.sort_day == day, R.c.first_seen > seen),
                sa.and_(R.c.sort_day == day, R.c.first_seen == seen, R.c.id > rid)))
            before = sa.and_(R.c.sort_day <= day, sa.or_(
                R.c.sort_day < day, sa.and_(R.c.sort_day == day, R.c.first_seen < seen),
                sa.and_(R.c.sort_day == day, R.c.first_seen == seen, R.c.id < rid)))
            newer = conn.execute(sa.select(R).where(PUBLIC, after)
                                 .order_by(*release_order(R, oldest_first=True)).limit(1)).first()
            older = conn.execute(sa.select(R).where(PUBLIC, before).order_by(*release_order(R)).limit(1)).first()
            return (row_to_release(newer) if newer else None), (row_to_release(older) if older else None)

    def topic_counts(self) -> dict[str, int]:
        with self.read("counting releases per topic") as conn:
            return {t: n for t, n in conn.execute(sa.select(CNT.c.topic, CNT.c.live)
                                                  .where(CNT.c.topic != ALL_KEY))}

    def recent_errors(self, limit: int = 50) -> list[dict[str, Any]]:
        with self.read("reading ingest errors") as conn:
            rows = conn.execute(sa.select(ERR).order_by(ERR.c.id.desc()).limit(limit))
            return [r._asdict() for r in rows]

    def file_warnings(self, limit: int = 100) -> list[dict[str, Any]]:
        """The warnings of each file's last read (path, line, message, scanned_at), latest files first."""
        with self.read("reading ingest warnings") as conn:
            rows = conn.execute(sa.select(F.c.path, F.c.warnings, F.c.scanned_at)
                                .where(F.c.warnings.is_not(None))
                                .order_by(F.c.scanned_at.desc(), F.c.path).limit(limit))
            return [{"path": r.path, "line": line, "message": message, "scanned_at": r.scanned_at}
                    for r in rows for line, message in json.loads(r.warnings)][:limit]

    def recent_scans(self, limit: int = 20) -> list[dict[str, Any]]:
        with self.read("reading scans") as conn:
            rows = conn.execute(sa.select(SCAN).order_by(SCAN.c.id.desc()).limit(limit))
            return [r._asdict() for r in rows]

    def occurrences(self, release_id: str) -> list[tuple[str, int]]:
        with self.read("reading where a release stands") as conn:
            rows = conn.execute(sa.select(OCC.c.path, OCC.c.position)
                                .where(OCC.c.release_id == release_id).order_by(OCC.c.path))
            return [(r.path, r.position) for r in rows]
