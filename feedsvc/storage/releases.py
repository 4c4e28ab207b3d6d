"""Releases, the files they come from, and what each scan did."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from .. import identity
from ..embargoes import HoldRule, no_hold
from ..identity import StoredSnapshot
from ..instants import Stamps
from ..media import FileMedia
from ..model import FileOutcome, ParseWarning, Release, ScanSummary
from .base import take_stamps
from .batches import IN_BATCH, batches
from .embargoes import EmbargoesMixin, held_seqs, hold_values
from .media import extras_values, set_references, store_attachments
from .pages import pages_changed
from .reading import row_to_release
from .schema import ALL_KEY, META
from .schema import FILES as F
from .schema import INGEST_ERRORS as ERR
from .schema import MEDIA_REFERENCES as MREF
from .schema import OCCURRENCES as OCC
from .schema import RELEASE_TOPICS as RT
from .schema import RELEASES as R
from .schema import SCANS as SCAN
from .versions import record_versions

Classifier = Callable[[Release], tuple[str, ...]]

# Candidate ids loaded per key with a listing's releases; deeper only when all are taken.
ID_PROBES = 2


def _values(r: Release, topics: tuple[str, ...]) -> dict[str, Any]:
    return {
        "key": r.key, "title": r.title, "title_inferred": r.title_inferred, "location": r.location,
        "date": r.date, "author": r.author, "section": r.section,
        "paragraphs": json.dumps(list(r.paragraphs), ensure_ascii=False), "body_html": r.body_html,
        "topics": " ".join(topics), "declared_topics": "\t".join(r.topics),
        "content_hash": r.content_hash, **extras_values(r),
        "language": r.stored_language or r.language, "translation_of": r.translation_of,
    }


class ReleasesMixin(EmbargoesMixin):
    # -- files --------------------------------------------------------------------------

    def file_states(self) -> dict[str, tuple[int, int, str, str | None]]:
        """path → (size, mtime_ns, sha256, error) as the last scan left them."""
        with self.read("reading file states") as conn:
            rows = conn.execute(sa.select(F.c.path, F.c.size, F.c.mtime_ns, F.c.sha256, F.c.error))
            return {r.path: (r.size, r.mtime_ns, r.sha256, r.error) for r in rows}

    def touch_file(self, path: str, size: int, mtime_ns: int, now: dt.datetime) -> None:
        with self.begin(f"recording {path}") as conn:
            conn.execute(F.update().where(F.c.path == path).values(
                size=size, mtime_ns=mtime_ns, scanned_at=now))

    def record_file_error(self, path: str, size: int, mtime_ns: int, sha256: str,
                          reason: str, now: dt.datetime) -> None:
        """Remember a file that could not be ingested; the releases it gave before are kept."""
        with self.begin(f"recording the error of {path}") as conn:
            self._upsert_file(conn, path, size, mtime_ns, sha256, None, reason, now, ())
            conn.execute(ERR.insert().values(path=path, reason=reason, occurred_at=now))

    def record_ingest_error(self, path: str, reason: str, now: dt.datetime) -> None:
        """Remember what stopped part of the folder being read (a folder): no file row, nothing withdrawn."""
        with self.begin(f"recording the error of {path}") as conn:
            conn.execute(ERR.insert().values(path=path, reason=reason, occurred_at=now))

    def _upsert_file(self, conn: Connection, path: str, size: int, mtime_ns: int,
                     sha256: str, releases: int | None, error: str | None, now: dt.datetime,
                     warnings: Sequence[ParseWarning]) -> None:
        values: dict[str, Any] = {
            "path": path, "size": size, "mtime_ns": mtime_ns, "sha256": sha256, "error": error, "scanned_at": now,
            "warnings": json.dumps([[w.line, w.message] for w in warnings], ensure_ascii=False)
            if warnings else None}
        if releases is not None:
            values["releases"] = releases
        elif conn.execute(sa.select(F.c.path).where(F.c.path == path)).first() is None:
            values["releases"] = 0
        self.upsert(conn, F, values, ("path",))

    def forget_files(self, paths: Iterable[str]) -> None:
        """Files gone from the folder: their releases lose these places (withdrawn if none is left)."""
        for path in paths:
            with self.begin(f"forgetting {path}", lock=True) as conn:
                conn.execute(OCC.delete().where(OCC.c.path == path))
                conn.execute(F.delete().where(F.c.path == path))
                conn.execute(MREF.delete().where(MREF.c.path == path))

    # -- releases -----------------------------------------------------------------------

    def apply_file(self, path: str, size: int, mtime_ns: int, sha256: str,
                   releases: Sequence[Release], classify: Classifier, now: dt.datetime,
                   tag_authority: str, stamps: Stamps | None = None,
                   warnings: Sequence[ParseWarning] = (), hold: HoldRule = no_hold,
                   media: FileMedia | None = None) -> FileOutcome:
        """Store what one listing holds now, in one transaction: load, plan (`identity`), apply.

        `warnings` (what reading it repaired) replace the file's previous ones; `hold` says which
        releases an embargo keeps from the public (a held one whose embargo is gone goes public);
        `media` holds the bytes of the releases' attachments and what the file named (storage/media.py).
        """
        stamps = stamps or Stamps(now)
        with self.begin(f"storing the releases of {path}", lock=True) as conn:
            keys = [r.key for r in releases]
            probes = ID_PROBES
            stored = self._snapshots(conn, path, keys, probes)
            matching = identity.match_file(releases, stored)
            instants = take_stamps(conn, stamps, matching.stamps_needed)
            taken = {s.id for s in stored}
            while True:
                try:
                    plan = identity.plan_file(matching, stamps=instants, taken_ids=taken,
                                              probes=probes, tag_authority=tag_authority,
                                              classify=classify, hold=hold)
                    break
                except identity.IdProbesExhausted:
                    probes *= 8
                    taken |= self._taken_ids(conn, [r.key for r, s in matching.pairs if s is None],
                                             probes)
            out = self._apply(conn, path, plan)
            record_versions(conn, plan, now)
            # New and changed releases only: an unchanged one carries what it carried (its hash says so).
            store_attachments(conn, [(i.id, i.release.attachments) for i in plan.intents
                                     if isinstance(i, (identity.New, identity.Update))],
                              media.blobs if media else {}, now)
            if media is not None:
                set_references(conn, path, media)
            lifted = self._make_public(conn, [i.id for i in plan.intents if identity.goes_public(i)], stamps)
            out.topics |= lifted.topics
            out.lifted = list(lifted.ids)
            out.warnings = [ParseWarning(path, (r.embargo.line if r.embargo else r.line),
                                         f"embargo ignored: {r.title[:60]!r} is already public")
                            for r in plan.late_embargoes]
            self._upsert_file(conn, path, size, mtime_ns, sha256, len(releases), None, now,
                              [*warnings, *out.warnings])
        return out

    def _snapshots(self, conn: Connection, path: str, keys: Sequence[str],
                   probes: int) -> list[StoredSnapshot]:
        """The releases with these keys, the ones holding their candidate ids, and the ones this
        file held (`here`): one statement per batch of keys."""
        cols = (R.c.id, R.c.key, R.c.title, R.c.paragraphs, R.c.content_hash, R.c.topics,
                R.c.first_seen, R.c.withdrawn_at, R.c.embargo)
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
                here=bool(row.here), held=row.embargo is not None)
        return list(seen.values())

    def _taken_ids(self, conn: Connection, keys: Sequence[str], probes: int) -> set[str]:
        ids = [c for k in keys for c in identity.candidate_ids(k, probes)]
        return {i for batch in batches(ids) for (i,) in conn.execute(sa.select(R.c.id).where(R.c.id.in_(batch)))}

    def _apply(self, conn: Connection, path: str, plan: identity.FilePlan) -> FileOutcome:
        """Write a plan as it says: new rows in batches (one round trip each), updates, places."""
        out = FileOutcome(topics=plan.topics)
        new_rows: list[dict[str, Any]] = []
        topic_rows: list[dict[str, Any]] = []
        counts: Counter[str] = Counter()
        placed: list[dict[str, Any]] = []
        next_seq = 0
        if any(isinstance(i, identity.New) and i.hold is None for i in plan.intents):
            next_seq = (conn.execute(sa.select(sa.func.max(R.c.seq))).scalar() or 0) + 1
        held_seq: Iterator[int] | None = None
        for intent in plan.intents:
            r = intent.release
            if isinstance(intent, identity.New) and intent.hold is not None:
                # Held: stored with its place and versions, outside every public list and count.
                held_seq = held_seq or held_seqs(conn)
                new_rows.append({
                    "seq": next(held_seq), "id": intent.id, "first_seen": intent.first_seen,
                    "sort_day": intent.sort_day, "atom_id": intent.atom_id, "updated": intent.first_seen,
                    "withdrawn_at": None, **_values(r, intent.topics), **hold_values(intent.hold)})
                out.new += 1
                out.held += 1
            elif isinstance(intent, identity.New):
                new_rows.append({
                    "seq": next_seq, "id": intent.id, "first_seen": intent.first_seen,
                    "sort_day": intent.sort_day, "atom_id": intent.atom_id,
                    "updated": intent.first_seen, "withdrawn_at": None, **_values(r, intent.topics),
                    "embargo": None, "embargo_until": None})  # every row of one INSERT names the same columns
                topic_rows += [{"topic": t, "release_id": intent.id, "sort_day": intent.sort_day,
                                "first_seen": intent.first_seen} for t in intent.topics]
                counts.update([*intent.topics, ALL_KEY])
                next_seq += 1
                out.new += 1
                out.new_ids.append(intent.id)
            elif isinstance(intent, identity.Update):
                # model.REVIVE when it was withdrawn: live again, under the same id.
                values = _values(r, intent.topics) | {"withdrawn_at": None,
                                                      "sort_day": intent.sort_day}
                if intent.updated is not None:
                    values["updated"] = intent.updated
                if intent.hold is not None:
                    values |= hold_values(intent.hold)
                conn.execute(R.update().where(R.c.id == intent.id).values(**values))
                if not intent.held:  # a held one is filed under its topics as it goes public
                    self._set_topics(conn, intent.id, intent.topics, intent.sort_day,
                                     intent.first_seen, None if intent.revived else intent.stored_topics,
                                     counts)
                out.updated += 1
            else:
                if intent.hold is not None:  # still held: its embargo may have been moved
                    conn.execute(R.update().where(R.c.id == intent.id).values(**hold_values(intent.hold)))
                out.unchanged += 1
            if not isinstance(intent, identity.New) and intent.hold is not None:
                out.held += 1
            placed.append({"path": path, "position": r.position, "release_id": intent.id,
                           "line": r.line, "translation_slot": r.listed_with})
        if new_rows:
            conn.execute(R.insert(), new_rows)
        if topic_rows:
            conn.execute(RT.insert(), topic_rows)
        self.count_live(conn, counts)
        # Releases that left (`plan.left`) lose this place with the rest; withdraw_orphans
        # withdraws them at the scan's end if no other file holds them.
        conn.execute(OCC.delete().where(OCC.c.path == path))
        if placed:
            conn.execute(OCC.insert(), placed)
        pages_changed(conn)
        return out

    def _set_topics(self, conn: Connection, rid: str, topics: Sequence[str],
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

    def withdraw_orphans(self, now: dt.datetime) -> tuple[int, set[str]]:
        """Mark withdrawn every live release that no file holds any more; never delete it."""
        with self.begin("withdrawing releases no file holds", lock=True) as conn:
            orphan = sa.and_(R.c.withdrawn_at.is_(None),
                             ~sa.exists().where(OCC.c.release_id == R.c.id))
            rows = conn.execute(sa.select(R.c.id, R.c.topics, R.c.embargo).where(orphan)).all()
            if not rows:
                return 0, set()
            ids = [r.id for r in rows]
            # model.WITHDRAW: the row stays (its id and tag URI may come back), only marked.
            for batch in batches(ids):
                conn.execute(R.update().where(R.c.id.in_(batch)).values(withdrawn_at=now))
                conn.execute(RT.delete().where(RT.c.release_id.in_(batch)))
            # A held one (still held, so never public) was in no count and no feed.
            public = [r for r in rows if r.embargo is None]
            counts: Counter[str] = Counter()
            counts.subtract([ALL_KEY] * len(public) + [t for r in public for t in r.topics.split()])
            self.count_live(conn, counts)
            pages_changed(conn)
            topics = {"all"} | {t for r in public for t in r.topics.split()} if public else set()
            return len(ids), topics

    def reclassify(self, digest: str, classify: Classifier) -> set[str] | None:
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
                        if row.embargo is None:  # a held one is filed under its topics when it lifts
                            self._set_topics(conn, row.id, topics, row.sort_day, row.first_seen,
                                             row.topics.split(), counts)
                            touched.update(topics, row.topics.split())
            self.count_live(conn, counts)
            self._set_meta(conn, "taxonomy", digest)
            pages_changed(conn)
            return touched | ({"all"} if touched else set())

    def _set_meta(self, conn: Connection, key: str, value: str) -> None:
        self.upsert(conn, META, {"key": key, "value": value}, ("key",))

    def set_meta(self, key: str, value: str) -> None:
        with self.begin(f"writing {key}") as conn:
            self._set_meta(conn, key, value)

    def get_meta(self, key: str) -> str | None:
        with self.read(f"reading {key}") as conn:
            return conn.execute(sa.select(META.c.value).where(META.c.key == key)).scalar()

    def record_scan(self, s: ScanSummary) -> None:
        with self.begin("recording a scan") as conn:
            conn.execute(SCAN.insert().values(**dataclasses.asdict(s)))
