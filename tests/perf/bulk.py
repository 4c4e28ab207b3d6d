"""Releases stored in bulk behind the ingester's back, for the benchmarks that need 100,000 of them.

The ingester stores about 500 releases a second; these rows go in with SQLAlchemy core, 5,000 a
transaction, and are then left as a live database would have them: the per-topic counts
recounted (as migration 0003 does) and the tables analysed (as autovacuum would have).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Sequence
from typing import Any

from feedsvc.model import sort_day
from feedsvc.storage import Storage
from feedsvc.storage.schema import RELEASE_TOPICS, RELEASES

BATCH = 5000
Row = dict[str, Any]


def release_rows(rid: str, seq: int, when: dt.datetime, *, atom_id: str, title: str, paragraphs: Sequence[str],
                 topics: Sequence[str], location: str | None = None, date: dt.date | None = None,
                 author: str | None = None, section: str | None = None, title_inferred: bool = False,
                 declared_topics: Sequence[str] = (), content_hash: str | None = None,
                 withdrawn: bool = False) -> tuple[Row, list[Row]]:
    """One release's row, first seen and last updated at `when`, and its topic rows (none when
    withdrawn, as the ingester leaves a withdrawn release)."""
    day = sort_day(date, when)
    release = {
        "id": rid, "seq": seq, "key": rid, "atom_id": atom_id, "title": title, "title_inferred": title_inferred,
        "location": location, "date": date, "author": author, "section": section,
        "paragraphs": json.dumps(list(paragraphs), ensure_ascii=False), "body_html": None,
        "topics": " ".join(topics), "declared_topics": "\t".join(declared_topics),
        "content_hash": content_hash or rid, "first_seen": when, "sort_day": day, "updated": when,
        "withdrawn_at": when if withdrawn else None, "revised_at": None,
    }
    if withdrawn:
        return release, []
    return release, [{"topic": t, "release_id": rid, "sort_day": day, "first_seen": when} for t in topics]


def store(storage: Storage, rows: Iterable[tuple[Row, list[Row]]]) -> None:
    """Insert `release_rows` results, then recount and analyse."""
    batch: list[tuple[Row, list[Row]]] = []
    for item in rows:
        batch.append(item)
        if len(batch) == BATCH:
            _insert(storage, batch)
            batch = []
    if batch:
        _insert(storage, batch)
    with storage.begin("recounting releases") as conn:
        conn.exec_driver_sql("DELETE FROM release_counts")
        conn.exec_driver_sql("INSERT INTO release_counts (topic, live) "
                             "SELECT topic, COUNT(*) FROM release_topics GROUP BY topic")
        conn.exec_driver_sql("INSERT INTO release_counts (topic, live) "
                             "SELECT '*', COUNT(*) FROM releases WHERE withdrawn_at IS NULL")
    if storage.dialect == "postgresql":
        with storage.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
    else:
        with storage.begin("analysing") as conn:
            conn.exec_driver_sql("ANALYZE")


def _insert(storage: Storage, batch: list[tuple[Row, list[Row]]]) -> None:
    with storage.begin("bulk-inserting releases") as conn:
        conn.execute(RELEASES.insert(), [release for release, _ in batch])
        topic_rows = [row for _, rows in batch for row in rows]
        if topic_rows:
            conn.execute(RELEASE_TOPICS.insert(), topic_rows)
