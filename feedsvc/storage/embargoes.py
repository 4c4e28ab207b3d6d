"""Releases held by an embargo (issue 17 item 1): stored, public nowhere, made public when it lifts.

A held release has `embargo` set and a negative `seq`, no `release_topics` rows and no place in
`release_counts`, so every public list, count, feed, search, sitemap and digest leaves it out by
the same predicate (reading.PUBLIC). Lifting it is the moment it is first seen by the public: it
takes the next `seq` (a digest planned during the embargo cannot have passed it), and `first_seen`
and `updated` become that instant (a feed's Last-Modified moves, so no cache answers 304).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import json
from collections import Counter
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..embargoes import Hold
from ..instants import Stamps
from ..model import sort_day
from .base import StorageBase, max_seq, take_stamps
from .pages import pages_changed
from .schema import ALL_KEY, META
from .schema import OCCURRENCES as OCC
from .schema import RELEASE_TOPICS as RT
from .schema import RELEASE_VERSIONS as V
from .schema import RELEASES as R


@dataclasses.dataclass(frozen=True, slots=True)
class HeldRelease:
    """A release waiting for its embargo, as /admin lists it."""

    id: str
    title: str
    embargo: str  # as written
    until: dt.datetime | None  # aware UTC; None: the embargo could not be read
    paths: tuple[str, ...]  # the files that hold it


@dataclasses.dataclass(frozen=True, slots=True)
class Lifted:
    """What a lift made public: the releases, and the feeds (topics and "all") they change."""

    ids: tuple[str, ...] = ()
    topics: frozenset[str] = frozenset()


STALE_FEEDS = "lifted_feeds"  # the meta row of stale_feeds()


def _stale(conn: Connection) -> dict[str, int]:
    value = conn.execute(sa.select(META.c.value).where(META.c.key == STALE_FEEDS)).scalar()
    return {str(t): int(n) for t, n in json.loads(value).items()} if value else {}


def hold_values(hold: Hold) -> dict[str, object]:
    """The columns that keep a release held."""
    return {"embargo": hold.text, "embargo_until": hold.until}


def held_seqs(conn: Connection) -> itertools.count[int]:
    """Sequence numbers for newly held releases: below every one in use, counting down."""
    lowest = int(conn.execute(sa.select(sa.func.coalesce(sa.func.min(R.c.seq), 0))).scalar() or 0)
    return itertools.count(min(lowest, 0) - 1, -1)


class EmbargoesMixin(StorageBase):
    def _make_public(self, conn: Connection, ids: Sequence[str], stamps: Stamps) -> Lifted:
        """Make these held, live releases public now, in `conn`'s transaction (under the ingest lock)."""
        if not ids:
            return Lifted()
        rows = list(conn.execute(sa.select(R.c.id, R.c.date, R.c.topics, R.c.seq).where(
            R.c.id.in_(list(ids)), R.c.embargo.is_not(None), R.c.withdrawn_at.is_(None))))
        if not rows:
            return Lifted()
        # Held seqs count down in listing order: this keeps a listing's order, newest first.
        rows.sort(key=lambda row: row.seq, reverse=True)
        instants = take_stamps(conn, stamps, len(rows))
        counts: Counter[str] = Counter()
        topic_rows: list[dict[str, object]] = []
        # The first of a listing gets the lowest seq and the latest instant, as new ones do.
        for row, at, seq in zip(rows, instants, itertools.count(max_seq(conn) + 1), strict=False):
            day = sort_day(row.date, at)
            topics = row.topics.split()
            conn.execute(R.update().where(R.c.id == row.id).values(
                seq=seq, first_seen=at, updated=at, sort_day=day, embargo=None, embargo_until=None))
            # Its first public version is seen now; what changed while held was never public.
            conn.execute(V.update().where(V.c.release_id == row.id).values(seen_at=at))
            topic_rows += [{"topic": t, "release_id": row.id, "sort_day": day, "first_seen": at} for t in topics]
            counts.update([*topics, ALL_KEY])
        if topic_rows:
            conn.execute(RT.insert(), topic_rows)
        self.count_live(conn, counts)
        pages_changed(conn)
        lifted = Lifted(tuple(row.id for row in rows),
                        frozenset({"all", *(t for row in rows for t in row.topics.split())}))
        stale = _stale(conn)
        self._set_stale(conn, stale | {t: stale.get(t, 0) + 1 for t in lifted.topics})
        return lifted

    # The feeds a lift changed, kept until they are rebuilt: a process that dies between the two
    # leaves them here for the next lift job, so a lifted release never misses its feeds.
    # topic → a count that each lift raises, so a rebuild clears only what it saw.

    def _set_stale(self, conn: Connection, stale: dict[str, int]) -> None:
        self.upsert(conn, META, {"key": STALE_FEEDS, "value": json.dumps(stale, sort_keys=True)}, ("key",))

    def stale_feeds(self) -> dict[str, int]:
        """The feeds lifts changed and no rebuild has yet taken in (topic → lift count)."""
        with self.read("reading the feeds lifts changed") as conn:
            return _stale(conn)

    def feeds_rebuilt(self, seen: dict[str, int]) -> None:
        """Forget the stale feeds of `seen` (from stale_feeds) that no lift touched since."""
        with self.begin("noting feeds rebuilt after a lift", lock=True) as conn:
            stale = _stale(conn)
            left = {t: n for t, n in stale.items() if seen.get(t) != n}
            if left != stale:
                self._set_stale(conn, left)

    def lift_embargoes(self, now: dt.datetime) -> Lifted:
        """Make public every live held release whose embargo ended at or before `now`."""
        with self.begin("lifting embargoes", lock=True) as conn:
            due = [rid for (rid,) in conn.execute(sa.select(R.c.id).where(
                R.c.embargo.is_not(None), R.c.embargo_until <= now, R.c.withdrawn_at.is_(None)))]
            return self._make_public(conn, due, Stamps(now))

    def held_releases(self) -> list[HeldRelease]:
        """Live releases waiting for their embargo: unreadable ones first, then by when they are due."""
        with self.read("listing held releases") as conn:
            rows = conn.execute(sa.select(R.c.id, R.c.title, R.c.embargo, R.c.embargo_until).where(
                R.c.embargo.is_not(None), R.c.withdrawn_at.is_(None))
                .order_by(R.c.embargo_until.is_not(None), R.c.embargo_until, R.c.id)).all()
            paths: dict[str, list[str]] = {}
            if rows:
                for rid, path in conn.execute(sa.select(OCC.c.release_id, OCC.c.path).where(
                        OCC.c.release_id.in_([r.id for r in rows])).order_by(OCC.c.path)):
                    paths.setdefault(rid, []).append(path)
        return [HeldRelease(r.id, r.title, r.embargo, r.embargo_until, tuple(paths.get(r.id, ())))
                for r in rows]
