"""The watcher with real files: chunked writes, moves, deletions, timing."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from feedsvc.ingest import Ingester
from feedsvc.storage import Storage
from feedsvc.watcher import Watcher
from tests.waiting import wait_for

LISTING = """Press Releases

IOM Opens Migrant Resource Centre in Izmir

Izmir – IOM opened a migrant resource centre on Monday to give migrants information on their rights.

Second Release About Border Monitoring

Edirne – Border monitoring teams recorded a rise in crossings this week, IOM staff said.
"""


@pytest.fixture
def watcher(ingester: Ingester):  # type: ignore[no-untyped-def]
    ingester.scan()
    w = Watcher(ingester, rescan_seconds=3600)
    w.start()  # inotify watches are in place when start() returns
    assert w.wait_for_scans(1, 30), "the watcher's start-up scan never finished"
    yield w
    w.stop()


def titles(storage: Storage) -> set[str]:
    return {r.title for r in storage.list_releases(limit=1000)}


def test_file_written_in_chunks_is_ingested_once_complete_within_2s(
        watcher: Watcher, storage: Storage, content_dir: Path) -> None:
    path = content_dir / "new.txt"
    data = LISTING.encode()
    with open(path, "wb") as fh:
        for i in range(0, len(data), 40):
            fh.write(data[i:i + 40])
            fh.flush()
            time.sleep(0.05)  # a slow writer: events arrive while the file is incomplete
        # nothing may be stored from a half-written file
        assert "Second Release About Border Monitoring" not in titles(storage)
    closed = time.monotonic()
    took = wait_for(lambda: "Second Release About Border Monitoring" in titles(storage), "the slow file stored", 5)
    assert time.monotonic() - closed < 2.0, f"took {took:.2f}s after close"
    assert "IOM Opens Migrant Resource Centre in Izmir" in titles(storage)
    # The scan record is written after the releases: wait for the scan itself to finish.
    assert watcher.wait_for_scans(2, 30)
    scans = [s for s in storage.recent_scans() if s["releases_new"]]
    assert len(scans) == 2  # the first full scan, then this file exactly once
    assert scans[0]["releases_new"] == 2 and scans[0]["releases_updated"] == 0


def test_moved_in_edited_and_deleted_files(watcher: Watcher, storage: Storage, content_dir: Path,
                                           tmp_path: Path) -> None:
    staging = tmp_path / "staging.txt"
    staging.write_text(LISTING, encoding="utf-8")
    os.replace(staging, content_dir / "moved.txt")
    wait_for(lambda: "IOM Opens Migrant Resource Centre in Izmir" in titles(storage), "the moved-in file stored", 2)

    (content_dir / "moved.txt").write_text(LISTING.replace("on Monday", "on Tuesday"), encoding="utf-8")
    wait_for(lambda: any("on Tuesday" in r.body for r in storage.list_releases(limit=1000)), "the edit stored", 2)

    (content_dir / "moved.txt").unlink()
    wait_for(lambda: "IOM Opens Migrant Resource Centre in Izmir" not in titles(storage), "the deletion withdrawn", 2)
    assert len(storage.list_releases(limit=1000)) == 23


def test_editor_temporary_files_are_ignored(watcher: Watcher, storage: Storage, content_dir: Path) -> None:
    (content_dir / ".new.txt.swp").write_text(LISTING, encoding="utf-8")
    (content_dir / "draft.txt.tmp").write_text(LISTING, encoding="utf-8")
    # A real file written after them: events arrive in order, so once it is stored the
    # temporary files' events have been seen (and ignored), with no sleep to guess how long.
    (content_dir / "marker.txt").write_text(LISTING.replace("Izmir", "Mersin"), encoding="utf-8")
    wait_for(lambda: "marker.txt" in storage.file_states(), "the marker file recorded", 5)
    assert storage.file_states().keys() == {p.name for p in content_dir.iterdir()
                                            if not p.name.startswith(".") and not p.name.endswith(".tmp")}
