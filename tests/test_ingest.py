"""Ingest through real files and a real database: ids, updates, withdrawals, bad input."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from feedsvc.ingest import Ingester
from feedsvc.model import release_key
from feedsvc.storage import Storage
from tests.conftest import assert_counts_true

SAMPLE_COUNT = 23

LISTING = """Press Releases

Migrants Rescued Off the Coast of Izmir

Izmir – The Turkish Coast Guard rescued 42 migrants on Tuesday, IOM said.

IOM Opens a New Office in Gaziantep

Gaziantep – IOM opened a new field office to support the growing number of returnees.
"""


def all_live(storage: Storage) -> list:
    return storage.list_releases(limit=10_000)


def test_samples_are_stored_once_with_derived_ids(ingester: Ingester, storage: Storage) -> None:
    result = ingester.scan()
    s = result.summary
    assert (s.files_scanned, s.files_changed, s.files_failed) == (3, 3, 0)
    assert (s.releases_new, s.releases_updated, s.releases_withdrawn) == (SAMPLE_COUNT, 0, 0)
    releases = all_live(storage)
    assert len(releases) == SAMPLE_COUNT
    assert len({r.id for r in releases}) == SAMPLE_COUNT
    assert len({r.atom_id for r in releases}) == SAMPLE_COUNT
    for r in releases:
        assert r.id == release_key(r.title, r.location)
        assert r.atom_id == f"tag:press.example.org,2026-11-23:release/{r.id}"
    # Distinct `updated` instants (feed validators warn on ties) in listing order.
    assert len({r.updated for r in releases}) == SAMPLE_COUNT


def test_listing_order_is_kept_for_undated_releases(ingester: Ingester, storage: Storage) -> None:
    ingester.scan()
    order = [(p, pos) for r in all_live(storage) for p, pos in storage.occurrences(r.id)
             if r.date is None]
    # Newest first: within a file the first release is the newest; a scan counts down from its
    # start, so the files it reads first come out newer.
    assert order == sorted(order)


def test_rescan_of_unchanged_folder_changes_nothing(ingester: Ingester, storage: Storage, clock) -> None:
    ingester.scan()
    before = {r.id: (r.updated, r.published, r.atom_id) for r in all_live(storage)}
    clock.advance(hours=1)
    s = ingester.scan().summary
    assert (s.files_changed, s.releases_new, s.releases_updated) == (0, 0, 0)
    # Touched but identical bytes: read, hashed, and still nothing changes.
    for f in ingester.content_dir.iterdir():
        os.utime(f)
    s = ingester.scan().summary
    assert (s.files_changed, s.releases_new, s.releases_updated, s.releases_unchanged) == (0, 0, 0, 0)
    after = {r.id: (r.updated, r.published, r.atom_id) for r in all_live(storage)}
    assert after == before


def test_edit_updates_in_place_and_moves_only_its_updated(ingester: Ingester, storage: Storage,
                                                          content_dir: Path, clock) -> None:
    ingester.scan()
    before = {r.id: r for r in all_live(storage)}
    path = content_dir / "002_5ebc7182fa02c775.txt"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("continues to provide humanitarian aid",
                                 "continues to provide urgent humanitarian aid"), encoding="utf-8")
    clock.advance(minutes=5)
    s = ingester.scan().summary
    assert (s.files_changed, s.releases_new, s.releases_updated) == (1, 0, 1)
    after = {r.id: r for r in all_live(storage)}
    assert after.keys() == before.keys()
    moved = [i for i in after if after[i].updated != before[i].updated]
    assert len(moved) == 1
    edited = after[moved[0]]
    assert "urgent humanitarian aid" in edited.body
    assert edited.updated > max(r.updated for r in before.values())
    assert (edited.atom_id, edited.published) == (before[edited.id].atom_id, before[edited.id].published)


def test_corrected_title_keeps_its_id(ingester: Ingester, storage: Storage, content_dir: Path,
                                      clock) -> None:
    ingester.scan()
    old_title = "Death and Desperation on Turkey’s EU Border"
    old = next(r for r in all_live(storage) if r.title == old_title)
    path = content_dir / "002_5ebc7182fa02c775.txt"
    path.write_text(path.read_text(encoding="utf-8").replace(
        old_title, "Death and Desperation at Turkey’s EU Border"), encoding="utf-8")
    clock.advance(minutes=5)
    s = ingester.scan().summary
    assert (s.releases_new, s.releases_updated, s.releases_withdrawn) == (0, 1, 0)
    new = storage.get_release(old.id)
    assert new is not None and new.title == "Death and Desperation at Turkey’s EU Border"
    assert new.atom_id == old.atom_id and new.updated > old.updated
    assert len(all_live(storage)) == SAMPLE_COUNT


def test_release_in_two_files_is_stored_once_and_withdrawn_only_when_gone_from_both(
        ingester: Ingester, storage: Storage, content_dir: Path, clock) -> None:
    (content_dir / "a.txt").write_text(LISTING, encoding="utf-8")
    (content_dir / "b.txt").write_text(LISTING.replace("\r\n", "\n"), encoding="utf-8")
    s = ingester.scan().summary
    assert s.releases_new == SAMPLE_COUNT + 2
    izmir = next(r for r in all_live(storage) if r.location == "Izmir")
    assert sorted(p for p, _ in storage.occurrences(izmir.id)) == ["a.txt", "b.txt"]

    (content_dir / "a.txt").unlink()
    clock.advance(minutes=1)
    s = ingester.scan().summary
    assert s.releases_withdrawn == 0 and storage.get_release(izmir.id).withdrawn is False

    (content_dir / "b.txt").unlink()
    clock.advance(minutes=1)
    s = ingester.scan().summary
    assert s.releases_withdrawn == 2
    gone = storage.get_release(izmir.id)
    assert gone is not None and gone.withdrawn  # never silently deleted
    assert len(all_live(storage)) == SAMPLE_COUNT

    # Put back: the same release comes back with the same id and instants.
    (content_dir / "b.txt").write_text(LISTING, encoding="utf-8")
    clock.advance(minutes=1)
    ingester.scan()
    back = storage.get_release(izmir.id)
    assert back is not None and not back.withdrawn
    assert (back.atom_id, back.updated) == (izmir.atom_id, izmir.updated)


def test_new_release_on_top_of_a_listing_is_new_and_others_unchanged(
        ingester: Ingester, storage: Storage, content_dir: Path, clock) -> None:
    (content_dir / "a.txt").write_text(LISTING, encoding="utf-8")
    ingester.scan()
    before = {r.id: r.updated for r in all_live(storage)}
    (content_dir / "a.txt").write_text(LISTING.replace("Press Releases\n", """Press Releases

IOM Welcomes New Funding for Return Programmes

Ankara – A new contribution will help 3,000 migrants return home in safety and dignity.
"""), encoding="utf-8")
    clock.advance(minutes=1)
    s = ingester.scan().summary
    assert (s.releases_new, s.releases_updated, s.releases_unchanged) == (1, 0, 2)
    after = {r.id: r.updated for r in all_live(storage)}
    assert {k: v for k, v in after.items() if k in before} == before
    newest = all_live(storage)[0]
    assert newest.title == "IOM Welcomes New Funding for Return Programmes"


def test_rebuilding_the_database_gives_the_same_ids(ingester: Ingester, storage: Storage,
                                                    content_dir: Path, topics_file: Path,
                                                    tmp_path: Path, clock) -> None:
    ingester.scan()
    fresh = Storage(f"sqlite:///{tmp_path / 'rebuilt.sqlite3'}")
    fresh.upgrade()
    Ingester(fresh, content_dir, topics_file, tag_authority="press.example.org", clock=clock).scan()
    assert {r.id for r in all_live(storage)} == {r.id for r in all_live(fresh)}
    fresh.close()


def test_editing_the_taxonomy_reclassifies_at_the_next_scan(ingester: Ingester, storage: Storage,
                                                            topics_file: Path, clock) -> None:
    ingester.scan()
    topics_file.write_text(topics_file.read_text(encoding="utf-8") + """
[[topic]]
slug = "cookery"
title = "Cookery"
description = "Food and recipes"
words = ["cookbook", "recipes"]
""", encoding="utf-8")
    clock.advance(minutes=1)
    result = ingester.scan()
    assert "cookery" in result.topics_changed
    assert [r.title for r in storage.list_releases("cookery")] == [
        "New Turkish-Syrian Cookbook Shares the Spice of Life"]
    assert storage.count_releases("cookery") == 1


def test_bad_inputs_are_reported_and_lose_nothing(ingester: Ingester, storage: Storage,
                                                  content_dir: Path, tmp_path: Path) -> None:
    (content_dir / "binary.txt").write_bytes(bytes(range(256)) * 64)
    (content_dir / "empty.txt").write_bytes(b"")
    (content_dir / "huge.txt").write_bytes(b"A title\n\nAnkara - body.\n" * 2_200_000)  # ~55 MB
    (content_dir / "undecodable.txt").write_bytes(b"\xff\xfe\xfa\x00\x81" * 500 + b"\x00\x00\x9f" * 300)
    (content_dir / "nothing.txt").write_text("Press Releases\n\n", encoding="utf-8")
    outside = tmp_path / "outside.txt"
    outside.write_text(LISTING, encoding="utf-8")
    (content_dir / "link.txt").symlink_to(outside)
    odd = os.fsdecode(b"odd name \xe9 (copy) #2.txt")
    (content_dir / odd).write_text(LISTING, encoding="utf-8")
    (content_dir / "ünïcödé ☃.txt").write_text(LISTING.replace("Izmir", "Bodrum"), encoding="utf-8")

    result = ingester.scan()
    reasons = dict(result.errors)
    assert set(reasons) == {"binary.txt", "empty.txt", "huge.txt", "undecodable.txt",
                            "nothing.txt", "link.txt"}
    assert "too large" in reasons["huge.txt"]
    assert "empty" in reasons["empty.txt"]
    assert "outside" in reasons["link.txt"]
    assert result.summary.files_failed == 6
    stored = {e["path"]: e["reason"] for e in storage.recent_errors()}
    assert set(stored) == set(reasons)
    titles = {r.title for r in all_live(storage)}
    assert "Migrants Rescued Off the Coast of Izmir" in titles  # from the oddly named file
    assert "Migrants Rescued Off the Coast of Bodrum" in titles
    # Two good files, three distinct releases: the Gaziantep one is in both and stored once.
    assert len(all_live(storage)) == SAMPLE_COUNT + 3
    # The outside file was never read.
    assert not any(p == "link.txt" for r in all_live(storage) for p, _ in storage.occurrences(r.id))

    # Reported once: an unchanged bad file is not read or reported again.
    again = ingester.scan()
    assert again.errors == [] and len(storage.recent_errors()) == 6


def test_file_deleted_during_the_scan(ingester: Ingester, storage: Storage, content_dir: Path) -> None:
    victim = content_dir / "zz_last.txt"
    victim.write_text(LISTING, encoding="utf-8")
    seen: list[int] = []

    def progress(done: int, total: int) -> None:
        seen.append(done)
        if done == total - 1:
            victim.unlink()  # removed after the walk listed it, before it was read

    result = ingester.scan(progress=progress)
    assert result.errors == [("zz_last.txt", "file vanished during the scan")]
    assert len(all_live(storage)) == SAMPLE_COUNT


def test_release_counts_follow_every_change(ingester: Ingester, storage: Storage, content_dir: Path,
                                            topics_file: Path, clock) -> None:
    listing = content_dir / "a.txt"
    changes: list[Callable[[], object]] = [
        lambda: None,
        lambda: listing.write_text(LISTING, encoding="utf-8"),
        # An edit that changes a release's topics, a withdrawal, a return, a new taxonomy.
        lambda: listing.write_text(LISTING.replace("rescued 42 migrants", "found 42 trafficking victims"),
                                   encoding="utf-8"),
        listing.unlink,
        lambda: listing.write_text(LISTING, encoding="utf-8"),
        lambda: topics_file.write_text(topics_file.read_text(encoding="utf-8").replace('"border"', '"frontier"'),
                                       encoding="utf-8"),
    ]
    for change in changes:
        change()
        clock.advance(minutes=1)
        ingester.scan()
        assert_counts_true(storage)


def test_repairs_are_warned_about_stored_and_cleared_when_fixed(ingester: Ingester, storage: Storage,
                                                               content_dir: Path, clock) -> None:
    # Issue 11, item 4: a UTF-8 listing with one stray byte and a NUL is ingested, and says so.
    folder = content_dir / "2026"
    folder.mkdir()
    damaged = LISTING.encode("utf-8").replace(b"rescued", b"res\xffcued").replace(b"IOM opened", b"IOM\x00 opened")
    (folder / "stray.txt").write_bytes(damaged)
    result = ingester.scan()
    assert result.errors == [] and result.summary.warnings == 2
    assert [str(w) for w in result.warnings] == [
        "2026/stray.txt line 5: invalid UTF-8 byte 0xFF replaced with U+FFFD",
        "2026/stray.txt line 9: 1 NUL byte dropped"]
    assert "files: 4 scanned, 4 changed, 0 failed, 2 warnings" in result.lines()
    assert "warning: 2026/stray.txt line 5: invalid UTF-8 byte 0xFF replaced with U+FFFD" in result.lines()
    titles = {r.title for r in all_live(storage)}
    assert {"Migrants Rescued Off the Coast of Izmir", "IOM Opens a New Office in Gaziantep"} <= titles
    assert any("res\ufffdcued" in r.body for r in all_live(storage))
    stored = [(w["path"], w["line"], w["message"]) for w in storage.file_warnings()]
    assert stored == [("2026/stray.txt", 5, "invalid UTF-8 byte 0xFF replaced with U+FFFD"),
                      ("2026/stray.txt", 9, "1 NUL byte dropped")]
    assert storage.recent_scans()[0]["warnings"] == 2

    # Unchanged: not read or reported again, and still shown.
    clock.advance(minutes=1)
    again = ingester.scan()
    assert again.warnings == [] and again.summary.warnings == 0
    assert len(storage.file_warnings()) == 2

    # Fixed: the file's warnings are gone.
    (folder / "stray.txt").write_text(LISTING, encoding="utf-8")
    clock.advance(minutes=1)
    fixed = ingester.scan()
    assert fixed.warnings == [] and storage.file_warnings() == []
    assert storage.recent_scans()[0]["warnings"] == 0
