"""Migrations carry existing data forward (numbering releases, counting them)."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command

from feedsvc.ingest import Ingester
from feedsvc.storage import Storage


def test_upgrade_from_the_first_revision_keeps_and_numbers_releases(db_kind: str, tmp_path: Path,
                                                                    storage: Storage, content_dir: Path,
                                                                    topics_file: Path, clock) -> None:  # type: ignore[no-untyped-def]
    Ingester(storage, content_dir, topics_file, tag_authority="x.org", clock=clock).scan()
    before = {r.id: r for r in storage.list_releases(limit=100)}
    # Back to 0001 (drops the sequence and counts), then forward again as a deploy would.
    command.downgrade(storage.alembic_config(), "0001")
    with storage.engine.connect() as conn:
        assert "seq" not in {c["name"] for c in sa.inspect(conn).get_columns("releases")}
    storage.upgrade()
    # Migration 0019 leaves the languages of releases stored before it to the next scan.
    assert {r.language for r in storage.list_releases(limit=100)} == {None}
    Ingester(storage, content_dir, topics_file, tag_authority="x.org", clock=clock).scan()
    after = {r.id: r for r in storage.list_releases(limit=100)}
    assert after == before
    with storage.engine.connect() as conn:
        seqs = [row.seq for row in conn.execute(sa.text("SELECT seq FROM releases ORDER BY first_seen, id"))]
    assert seqs == list(range(1, len(before) + 1))
    assert storage.count_releases() == len(before)
    assert sum(storage.topic_counts().values()) == sum(len(r.topics) for r in before.values())


def test_upgrade_to_versions_makes_version_one_of_every_release(storage: Storage, content_dir: Path,  # type: ignore[no-untyped-def]
                                                                topics_file: Path, clock) -> None:
    Ingester(storage, content_dir, topics_file, tag_authority="x.org", clock=clock).scan()
    before = {r.id: r for r in storage.list_releases(limit=100)}
    command.downgrade(storage.alembic_config(), "0007")  # a database from before issue 13 item 5
    storage.upgrade()
    Ingester(storage, content_dir, topics_file, tag_authority="x.org", clock=clock).scan()  # languages
    assert {r.id: r for r in storage.list_releases(limit=100)} == before
    for r in before.values():
        (v1,) = storage.release_versions(r.id)
        assert (v1.number, v1.seen_at, v1.title, v1.location, v1.date, v1.paragraphs) == (
            1, r.first_seen, r.title, r.location, r.date, r.paragraphs)
        assert r.revised_at is None
