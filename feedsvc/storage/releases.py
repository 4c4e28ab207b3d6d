"""Releases, the files they come from, and what each scan did."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from .. import identity
from ..identity import StoredSnapshot
from ..model import ParseWarning, Release, StoredRelease
from .batches import IN_BATCH, batches
from .schema import (
    FileRow, IngestErrorRow, MetaRow, OccurrenceRow, ReleaseCountRow, ReleaseRow, ReleaseTopicRow,
    ScanRow,
)
from .versions import record_versions

if TYPE_CHECKING:
    from . import Storage

R = ReleaseRow.__table__
RT = ReleaseTopicRow.__table__
OCC = OccurrenceRow.__table__
F = FileRow.__table__
ERR = IngestErrorRow.__table__
SCAN = ScanRow.__table__
META = MetaRow.__table__
CNT = ReleaseCountRow.__table__
ALL_KEY = "*"  # the count of every live release, beside the per-topic ones

Classifier = Callable[[Release], tuple[str, ...]]

# Feeds need distinct `updated` instants (the W3C validator warns on ties, and feed readers
# compare them to the second) that keep listing order: whole seconds, one per release.
STAMP_STEP = dt.timedelta(seconds=1)
# Candidate ids loaded per key with a listing's releases; deeper only when all are taken.
ID_PROBES = 2


@dataclasses.dataclass
class FileOutcome:
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    topics: set[str] = dataclasses.field(default_factory=set)  # feeds whose content changed
    new_ids: list[str] = dataclasses.field(default_factory=list)


@dataclasses.dataclass(frozen=True)
class ScanSummary:
    started_at: dt.datetime
    finished_at: dt.datetime
    files_scanned: int
    files_changed: int
    files_failed: int
    releases_new: int
    releases_updated: int
    releases_unchanged: int
    releases_withdrawn: int
    warnings: int = 0  # ParseWarnings of the files read (repaired, still ingested)


def _max_updated(conn: Connection) -> dt.datetime | None:
    latest = conn.execute(sa.select(sa.func.max(R.c.updated))).scalar()
    if isinstance(latest, str):  # SQLite aggregates lose the column type
        latest = dt.datetime.fromisoformat(latest)
    if latest is not None and latest.tzinfo is None:
        latest = latest.replace(tzinfo=dt.timezone.utc)
    return latest


class Stamps:
    """Hands out the `updated` instants of one scan: distinct whole seconds, newest first.

    A scan counts down from its start, so a first import of 100,000 releases is spread over the
    past rather than the future; every instant is still later than any stored before the scan.
    When that room runs out, or another process took those seconds, it counts up past the latest.
    """

    def __init__(self, now: dt.datetime) -> None:
        self.start = now.replace(microsecond=0)
        self.cursor: dt.datetime | None = None
        self.floor: dt.datetime | None = None

    def take(self, conn: Connection, n: int) -> list[dt.datetime]:
        if n == 0:
            return []
        if self.cursor is None:
            self.cursor, self.floor = self.start, _max_updated(conn)
        lowest = self.cursor - (n - 1) * STAMP_STEP
        taken = conn.execute(sa.select(R.c.id).where(
            R.c.updated >= lowest, R.c.updated < self.cursor + STAMP_STEP).limit(1)).first()
        if (self.floor is None or lowest > self.floor) and taken is None:
            top, self.cursor = self.cursor, lowest - STAMP_STEP
        else:
            latest = _max_updated(conn) or self.start
            top = max(self.start, latest.replace(microsecond=0) + n * STAMP_STEP)
        return [top - i * STAMP_STEP for i in range(n)]


def _values(r: Release, topics: tuple[str, ...]) -> dict[str, Any]:
    return {
        "key": r.key, "title": r.title, "title_inferred": r.title_inferred, "location": r.location,
        "date": r.date, "author": r.author, "section": r.section,
        "paragraphs": json.dumps(list(r.paragraphs), ensure_ascii=False), "body_html": r.body_html,
        "topics": " ".join(topics), "declared_topics": "\t".join(r.topics),
        "content_hash": r.content_hash,
    }


def _midnight(date: dt.date | None) -> dt.datetime | None:
    return None if date is None else dt.datetime.combine(date, dt.time(), tzinfo=dt.timezone.utc)


def row_to_release(row: Any) -> StoredRelease:
    return StoredRelease(
        id=row.id, atom_id=row.atom_id, title=row.title, title_inferred=bool(row.title_inferred),
        location=row.location, date=row.date, author=row.author, section=row.section,
        paragraphs=tuple(json.loads(row.paragraphs)),
        topics=tuple(row.topics.split()) if row.topics else (),
        published=_midnight(row.date), updated=row.updated, first_seen=row.first_seen,
        withdrawn=row.withdrawn_at is not None, body_html=row.body_html,
        withdrawn_at=row.withdrawn_at, revised_at=row.revised_at,
    )


class ReleasesMixin:
    # -- files --------------------------------------------------------------------------

    def file_states(self: Storage) -> dict[str, tuple[int, int, str, str | None]]:
        """path → (size, mtime_ns, sha256, error) as the last scan left them."""
        with self.read("reading file states") as conn:
            rows = conn.execute(sa.select(F.c.path, F.c.size, F.c.mtime_ns, F.c.sha256, F.c.error))
            return {r.path: (r.size, r.mtime_ns, r.sha256, r.error) for r in rows}

    def touch_file(self: Storage, path: str, size: int, mtime_ns: int, now: dt.datetime) -> None:
        with self.begin(f"recording {path}") as conn:
            conn.execute(F.update().where(F.c.path == path).values(
                size=size, mtime_ns=mtime_ns, scanned_at=now))

    def record_file_error(self: Storage, path: str, size: int, mtime_ns: int, sha256: str,
                          reason: str, now: dt.datetime) -> None:
        """Remember a file that could not be ingested; the releases it gave before are kept."""
        with self.begin(f"recording the error of {path}") as conn:
            self._upsert_file(conn, path, size, mtime_ns, sha256, None, reason, now, ())
            conn.execute(ERR.insert().values(path=path, reason=reason, occurred_at=now))

    def record_ingest_error(self: Storage, path: str, reason: str, now: dt.datetime) -> None:
        """Remember what stopped part of the folder being read (a folder): no file row, nothing withdrawn."""
        with self.begin(f"recording the error of {path}") as conn:
            conn.execute(ERR.insert().values(path=path, reason=reason, occurred_at=now))

    def _upsert_file(self: Storage, conn: Connection, path: str, size: int, mtime_ns: int,
                     sha256: str, releases: int | None, error: str | None, now: dt.datetime,
                     warnings: Sequence[ParseWarning]) -> None:
        values: dict[str, Any] = dict(
            path=path, size=size, mtime_ns=mtime_ns, sha256=sha256, error=error, scanned_at=now,
            warnings=json.dumps([[w.line, w.message] for w in warnings], ensure_ascii=False)
            if warnings else None)
        if releases is not None:
            values["releases"] = releases
        elif conn.execute(sa.select(F.c.path).where(F.c.path == path)).first() is None:
            values["releases"] = 0
        self.upsert(conn, F, values, ("path",))

    def forget_files(self: Storage, paths: Iterable[str]) -> None:
        """Files gone from the folder: their releases lose these places (withdrawn if none is left)."""
        for path in paths:
            with self.begin(f"forgetting {path}", lock=True) as conn:
                conn.execute(OCC.delete().where(OCC.c.path == path))
                conn.execute(F.delete().where(F.c.path == path))

    # -- releases -----------------------------------------------------------------------

    def apply_file(self: Storage, path: str, size: int, mtime_ns: int, sha256: str,
                   releases: Sequence[Release], classify: Classifier, now: dt.datetime,
                   tag_authority: str, stamps: Stamps | None = None,
                   warnings: Sequence[ParseWarning] = ()) -> FileOutcome:
        """Store what one listing holds now, in one transaction: load, plan (`identity`), apply.

        `warnings` (what reading it repaired) replace the file's previous ones.
        """
        with self.begin(f"storing the releases of {path}", lock=True) as conn:
            keys = [r.key for r in releases]
            probes = ID_PROBES
            stored = self._snapshots(conn, path, keys, probes)
            matching = identity.match_file(releases, stored)
            instants = (stamps or Stamps(now)).take(conn, matching.stamps_needed)
            taken = {s.id for s in stored}
            while True:
                try:
                    plan = identity.plan_file(matching, stamps=instants, taken_ids=taken,
                                              probes=probes, tag_authority=tag_authority,
                                              classify=classify)
                    break
                except identity.IdProbesExhausted:
                    probes *= 8
                    taken |= self._taken_ids(conn, [r.key for r, s in matching.pairs if s is None],
                                             probes)
            out = self._apply(conn, path, plan)
            record_versions(conn, plan, now)
            self._upsert_file(conn, path, size, mtime_ns, sha256, len(releases), None, now, warnings)
        return out

    def _snapshots(self: Storage, conn: Connection, path: str, keys: Sequence[str],
                   probes: int) -> list[StoredSnapshot]:
        """The releases with these keys, the ones holding their candidate ids, and the ones this
        file held (`here`): one statement per batch of keys."""
        cols = (R.c.id, R.c.key, R.c.title, R.c.paragraphs, R.c.content_hash, R.c.topics,
                R.c.first_seen, R.c.withdrawn_at)
        # Three indexed branches rather than one OR, which planners may answer with a full scan.
        queries: list[Any] = [sa.select(*cols, sa.literal(1).label("here"))
                              .select_from(R.join(OCC, OCC.c.release_id == R.c.id))
                              .where(OCC.c.path == path)]
        # Keys with their candidate ids a batch at a time: a listing of 100,000 releases would
        # otherwise bind more parameters than either database takes in one statement.
        for batch in batches(keys, IN_BATCH // (1 + probes)):
            ids = [c for k in batch for c in identity.candidate_ids(k, probes)]
            queries.append(sa.union_all(
                sa.select(*cols, sa.literal(0).label("here")).where(R.c.key.in_(batch)),
                sa.select(*cols, sa.literal(0).label("here")).where(R.c.id.in_(ids))))
        seen: dict[str, StoredSnapshot] = {}
        for row in (row for query in queries for row in conn.execute(query)):
            if row.id in seen:
                if row.here:
                    seen[row.id] = dataclasses.replace(seen[row.id], here=True)
                continue
            seen[row.id] = StoredSnapshot(
                id=row.id, key=row.key, title=row.title, paragraphs=tuple(json.loads(row.paragraphs)),
                content_hash=row.content_hash, topics=tuple(row.topics.split()),
                first_seen=row.first_seen, withdrawn=row.withdrawn_at is not None,
                here=bool(row.here))
        return list(seen.values())

    def _taken_ids(self: Storage, conn: Connection, keys: Sequence[str], probes: int) -> set[str]:
        ids = [c for k in keys for c in identity.candidate_ids(k, probes)]
        return {i for batch in batches(ids) for (i,) in conn.execute(sa.select(R.c.id).where(R.c.id.in_(batch)))}

    def _apply(self: Storage, conn: Connection, path: str, plan: identity.FilePlan) -> FileOutcome:
        """Write a plan as it says: new rows in batches (one round trip each), updates, places."""
        out = FileOutcome(topics=plan.topics)
        new_rows: list[dict[str, Any]] = []
        topic_rows: list[dict[str, Any]] = []
        counts: Counter[str] = Counter()
        placed: list[dict[str, Any]] = []
        next_seq = 0
        if any(isinstance(i, identity.New) for i in plan.intents):
            next_seq = (conn.execute(sa.select(sa.func.max(R.c.seq))).scalar() or 0) + 1
        for intent in plan.intents:
            r = intent.release
            if isinstance(intent, identity.New):
                new_rows.append({
                    "seq": next_seq, "id": intent.id, "first_seen": intent.first_seen,
                    "sort_day": intent.sort_day, "atom_id": intent.atom_id,
                    "updated": intent.first_seen, "withdrawn_at": None, **_values(r, intent.topics)})
                topic_rows += [{"topic": t, "release_id": intent.id, "sort_day": intent.sort_day,
                                "first_seen": intent.first_seen} for t in intent.topics]
                counts.update([*intent.topics, ALL_KEY])
                next_seq += 1
                out.new += 1
                out.new_ids.append(intent.id)
            elif isinstance(intent, identity.Update):
                values = _values(r, intent.topics) | {"withdrawn_at": None,
                                                      "sort_day": intent.sort_day}
                if intent.updated is not None:
                    values["updated"] = intent.updated
                conn.execute(R.update().where(R.c.id == intent.id).values(**values))
                self._set_topics(conn, intent.id, intent.topics, intent.sort_day,
                                 intent.first_seen, None if intent.revived else intent.stored_topics,
                                 counts)
                out.updated += 1
            else:
                out.unchanged += 1
            placed.append({"path": path, "position": r.position, "release_id": intent.id,
                           "line": r.line})
        if new_rows:
            conn.execute(R.insert(), new_rows)
        if topic_rows:
            conn.execute(RT.insert(), topic_rows)
        self._count(conn, counts)
        # Releases that left (`plan.left`) lose this place with the rest; withdraw_orphans
        # withdraws them at the scan's end if no other file holds them.
        conn.execute(OCC.delete().where(OCC.c.path == path))
        if placed:
            conn.execute(OCC.insert(), placed)
        return out

    def _count(self: Storage, conn: Connection, counts: Counter[str]) -> None:
        rows = [{"topic": topic, "live": delta} for topic, delta in sorted(counts.items()) if delta]
        if rows:
            self.upsert(conn, CNT, rows, ("topic",), add="live")

    def _set_topics(self: Storage, conn: Connection, rid: str, topics: Sequence[str],
                    day: dt.date, first_seen: dt.datetime,
                    was: Sequence[str] | None, counts: Counter[str]) -> None:
        """Re-file a live release under `topics`; `was`: its topics before, None if it was not live."""
        counts.update(topics)
        if was is None:
            counts[ALL_KEY] += 1
        else:
            counts.subtract(was)
        conn.execute(RT.delete().where(RT.c.release_id == rid))
        if topics:
            conn.execute(RT.insert(), [
                {"topic": t, "release_id": rid, "sort_day": day, "first_seen": first_seen}
                for t in topics])

    def withdraw_orphans(self: Storage, now: dt.datetime) -> tuple[int, set[str]]:
        """Mark withdrawn every live release that no file holds any more; never delete it."""
        with self.begin("withdrawing releases no file holds", lock=True) as conn:
            orphan = sa.and_(R.c.withdrawn_at.is_(None),
                             ~sa.exists().where(OCC.c.release_id == R.c.id))
            rows = conn.execute(sa.select(R.c.id, R.c.topics).where(orphan)).all()
            if not rows:
                return 0, set()
            ids = [r.id for r in rows]
            for batch in batches(ids):
                conn.execute(R.update().where(R.c.id.in_(batch)).values(withdrawn_at=now))
                conn.execute(RT.delete().where(RT.c.release_id.in_(batch)))
            counts: Counter[str] = Counter()
            counts.subtract([ALL_KEY] * len(ids) + [t for r in rows for t in r.topics.split()])
            self._count(conn, counts)
            topics = {"all"} | {t for r in rows for t in r.topics.split()}
            return len(ids), topics

    def reclassify(self: Storage, digest: str, classify: Classifier) -> set[str] | None:
        """Re-run the taxonomy over every release when it changed; return the topics touched."""
        with self.begin("re-classifying releases", lock=True) as conn:
            stored = conn.execute(sa.select(META.c.value).where(META.c.key == "taxonomy")).scalar()
            if stored == digest:
                return None
            touched: set[str] = set()
            counts: Counter[str] = Counter()
            last = ""
            # In batches by id: 100,000 releases are never all in memory at once.
            while rows := conn.execute(sa.select(R).where(R.c.withdrawn_at.is_(None), R.c.id > last)
                                       .order_by(R.c.id).limit(1000)).all():
                last = rows[-1].id
                for row in rows:
                    sr = row_to_release(row)
                    probe = Release(source_file="", position=0, title=sr.title,
                                    title_inferred=sr.title_inferred, location=sr.location,
                                    date=sr.date, author=sr.author, section=sr.section,
                                    paragraphs=sr.paragraphs,
                                    topics=tuple(t for t in row.declared_topics.split("\t") if t))
                    topics = classify(probe)
                    if " ".join(topics) != row.topics:
                        conn.execute(R.update().where(R.c.id == row.id).values(topics=" ".join(topics)))
                        self._set_topics(conn, row.id, topics, row.sort_day, row.first_seen,
                                         row.topics.split(), counts)
                        touched.update(topics, row.topics.split())
            self._count(conn, counts)
            self._set_meta(conn, "taxonomy", digest)
            return touched | ({"all"} if touched else set())

    def _set_meta(self: Storage, conn: Connection, key: str, value: str) -> None:
        self.upsert(conn, META, {"key": key, "value": value}, ("key",))

    def set_meta(self: Storage, key: str, value: str) -> None:
        with self.begin(f"writing {key}") as conn:
            self._set_meta(conn, key, value)

    def get_meta(self: Storage, key: str) -> str | None:
        with self.read(f"reading {key}") as conn:
            return conn.execute(sa.select(META.c.value).where(META.c.key == key)).scalar()

    def record_scan(self: Storage, s: ScanSummary) -> None:
        with self.begin("recording a scan") as conn:
            conn.execute(SCAN.insert().values(**dataclasses.asdict(s)))

    # -- reading ------------------------------------------------------------------------

    def _order(self: Storage, table: Any, oldest_first: bool = False) -> list[Any]:
        """The one order of every list (issue 13): `StoredRelease.order_key`, newest first."""
        cols = [table.c.sort_day, table.c.first_seen, table.c[
            "release_id" if table is RT else "id"]]
        return [c.asc() if oldest_first else c.desc() for c in cols]

    def list_releases(self: Storage, topic: str | None = None, *, limit: int = 50, offset: int = 0,
                      oldest_first: bool = False) -> list[StoredRelease]:
        """Live releases, newest first (`_order`: day, then first seen last, then listing order).

        The page is chosen on ids alone (an index-only walk, however deep the offset), then
        only its rows are read.
        """
        with self.read(f"listing releases of {topic or 'every topic'}") as conn:
            if topic is None:
                ids = (sa.select(R.c.id.label("release_id"), R.c.sort_day, R.c.first_seen)
                       .where(R.c.withdrawn_at.is_(None)).order_by(*self._order(R, oldest_first)))
            else:
                ids = (sa.select(RT.c.release_id, RT.c.sort_day, RT.c.first_seen)
                       .where(RT.c.topic == topic).order_by(*self._order(RT, oldest_first)))
            page = ids.limit(limit).offset(offset).subquery()
            rows = conn.execute(sa.select(R).join(page, page.c.release_id == R.c.id)
                                .order_by(*self._order(R, oldest_first))).all()
            return [row_to_release(r) for r in rows]

    def count_releases(self: Storage, topic: str | None = None) -> int:
        """Live releases (of a topic): one row read, kept current by ingest."""
        with self.read("counting releases") as conn:
            return int(conn.execute(sa.select(CNT.c.live).where(
                CNT.c.topic == (topic or ALL_KEY))).scalar() or 0)

    def get_release(self: Storage, release_id: str) -> StoredRelease | None:
        with self.read(f"reading release {release_id}") as conn:
            row = conn.execute(sa.select(R).where(R.c.id == release_id)).first()
            return row_to_release(row) if row else None

    def topic_counts(self: Storage) -> dict[str, int]:
        with self.read("counting releases per topic") as conn:
            return {t: n for t, n in conn.execute(sa.select(CNT.c.topic, CNT.c.live)
                                                  .where(CNT.c.topic != ALL_KEY))}

    def recent_errors(self: Storage, limit: int = 50) -> list[dict[str, Any]]:
        with self.read("reading ingest errors") as conn:
            rows = conn.execute(sa.select(ERR).order_by(ERR.c.id.desc()).limit(limit))
            return [r._asdict() for r in rows]

    # The ignore is mypy's false alarm on every mixin method's `self: Storage` (see the others).
    def file_warnings(self: Storage, limit: int = 100) -> list[dict[str, Any]]:  # type: ignore[misc]
        """The warnings of each file's last read (path, line, message, scanned_at), latest files first."""
        with self.read("reading ingest warnings") as conn:
            rows = conn.execute(sa.select(F.c.path, F.c.warnings, F.c.scanned_at)
                                .where(F.c.warnings.is_not(None))
                                .order_by(F.c.scanned_at.desc(), F.c.path).limit(limit))
            return [{"path": r.path, "line": line, "message": message, "scanned_at": r.scanned_at}
                    for r in rows for line, message in json.loads(r.warnings)][:limit]

    def recent_scans(self: Storage, limit: int = 20) -> list[dict[str, Any]]:
        with self.read("reading scans") as conn:
            rows = conn.execute(sa.select(SCAN).order_by(SCAN.c.id.desc()).limit(limit))
            return [r._asdict() for r in rows]

    def occurrences(self: Storage, release_id: str) -> list[tuple[str, int]]:
        with self.read("reading where a release stands") as conn:
            rows = conn.execute(sa.select(OCC.c.path, OCC.c.position)
                                .where(OCC.c.release_id == release_id).order_by(OCC.c.path))
            return [(r.path, r.position) for r in rows]
