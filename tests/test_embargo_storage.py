"""What ingest and storage do with a held release as its file changes, on SQLite and PostgreSQL (issue 17 item 1)."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command

from feedsvc.storage import Storage
from tests.conftest import assert_counts_true

UTC = dt.UTC
T0 = dt.datetime(2026, 11, 23, 8, 0, tzinfo=UTC)  # the tests' clock starts here
INSTANT = dt.datetime(2026, 11, 24, 9, 0, tzinfo=UTC)

LISTING = """\
Press releases

{embargo}
Cholera vaccination reaches island villages
24 November 2026
ANKARA – Health teams vaccinated 40,000 people in the island villages this month.

{embargo}
Vaccination teams trained for the islands
24 November 2026
ANKARA – Two hundred vaccination workers were trained this week.
"""
EMBARGO = "EMBARGOED UNTIL 09:00 GMT, 24 November 2026"
TITLES = ("Cholera vaccination reaches island villages", "Vaccination teams trained for the islands")


def write(content_dir: Path, embargo: str = EMBARGO, text: str = LISTING, name: str = "held.txt") -> Path:
    path = content_dir / name
    path.write_text(text.format(embargo=embargo), encoding="utf-8")
    return path


def held_titles(storage: Storage) -> dict[str, dt.datetime | None]:
    return {h.title: h.until for h in storage.held_releases()}


def public_titles(storage: Storage, topic: str | None = None) -> list[str]:
    return [r.title for r in storage.list_releases(topic, limit=1000)]


def test_two_releases_held_by_their_lines_go_public_together_in_listing_order(  # type: ignore[no-untyped-def]
        storage: Storage, ingester, content_dir: Path, clock) -> None:
    ingester.scan()
    watermark = storage.max_seq()
    write(content_dir)
    result = ingester.scan()
    assert result.held == 2 and held_titles(storage) == dict.fromkeys(TITLES, INSTANT)
    assert not set(TITLES) & {*public_titles(storage), *public_titles(storage, "health")}
    assert storage.max_seq() == watermark  # held ones wait outside the public sequence
    assert_counts_true(storage)

    clock.now = INSTANT - dt.timedelta(seconds=1)
    assert storage.lift_embargoes(clock()).ids == ()
    clock.now = INSTANT
    lifted = storage.lift_embargoes(clock())
    assert len(lifted.ids) == 2 and "health" in lifted.topics and "all" in lifted.topics
    assert public_titles(storage)[:2] == list(TITLES)  # the listing's order, newest first
    assert [r.title for r in storage.releases_between(watermark, storage.max_seq())] == list(TITLES)
    assert storage.max_seq() == watermark + 2  # gapless: the next numbers
    assert held_titles(storage) == {}
    assert_counts_true(storage)
    assert storage.lift_embargoes(clock()).ids == ()  # once


def test_edits_while_held_replace_its_first_version(storage: Storage, ingester, content_dir: Path, clock) -> None:  # type: ignore[no-untyped-def]
    path = write(content_dir)
    ingester.scan()
    clock.advance(hours=2)
    path.write_text(path.read_text(encoding="utf-8").replace("40,000 people", "41,500 people"), encoding="utf-8")
    assert ingester.scan().summary.releases_updated == 1
    clock.now = INSTANT
    storage.lift_embargoes(clock())
    (release,) = [r for r in storage.list_releases(limit=5) if r.title == TITLES[0]]
    assert "41,500" in release.body and release.revised_at is None  # never "Updated on": it was never public
    (version,) = storage.release_versions(release.id)
    assert version.number == 1 and version.seen_at == INSTANT and "41,500" in " ".join(version.paragraphs)


def test_an_embargo_moved_later_holds_until_the_new_instant(storage: Storage, ingester, content_dir: Path, clock) -> None:  # type: ignore[no-untyped-def]
    write(content_dir)
    ingester.scan()
    write(content_dir, "EMBARGOED UNTIL 15:30 GMT, 24 November 2026")
    assert ingester.scan().summary.releases_unchanged == 2  # the content is the same; only the hold moved
    later = INSTANT.replace(hour=15, minute=30)
    assert held_titles(storage) == dict.fromkeys(TITLES, later)
    clock.now = INSTANT
    assert storage.lift_embargoes(clock()).ids == ()
    clock.now = later
    assert len(storage.lift_embargoes(clock()).ids) == 2


def test_an_embargo_line_removed_makes_it_public_at_that_scan(storage: Storage, ingester, content_dir: Path) -> None:  # type: ignore[no-untyped-def]
    write(content_dir)
    ingester.scan()
    before = storage.max_seq()
    write(content_dir, "")
    result = ingester.scan()
    assert result.lifted == 2 and "health" in result.topics_changed and "all" in result.topics_changed
    assert public_titles(storage)[:2] == list(TITLES) and storage.max_seq() == before + 2
    assert_counts_true(storage)


def test_an_embargo_already_passed_at_first_sight_holds_nothing(storage: Storage, ingester, content_dir: Path) -> None:  # type: ignore[no-untyped-def]
    write(content_dir, "EMBARGOED UNTIL 09:00 GMT, 2 November 2026")
    result = ingester.scan()
    assert result.held == 0 and public_titles(storage)[:2] == list(TITLES)
    assert_counts_true(storage)


def test_an_embargo_added_to_a_public_release_is_ignored_with_a_warning(  # type: ignore[no-untyped-def]
        storage: Storage, ingester, content_dir: Path) -> None:
    write(content_dir, "")
    ingester.scan()
    write(content_dir)
    result = ingester.scan()
    assert result.held == 0 and public_titles(storage)[:2] == list(TITLES)
    assert [w.message for w in result.warnings] == [
        f"embargo ignored: {t!r} is already public" for t in TITLES]
    assert [w["message"] for w in storage.file_warnings()] == [w.message for w in result.warnings]


def test_a_held_release_withdrawn_and_returned_is_never_counted_nor_public_early(  # type: ignore[no-untyped-def]
        storage: Storage, ingester, content_dir: Path, tmp_path: Path, clock) -> None:
    path = write(content_dir)
    ingester.scan()
    assert_counts_true(storage)
    shutil.move(path, tmp_path / "away.txt")
    result = ingester.scan()
    assert result.summary.releases_withdrawn == 2 and "health" not in result.topics_changed
    assert_counts_true(storage)
    assert held_titles(storage) == {}  # withdrawn: not waiting
    clock.now = INSTANT
    assert storage.lift_embargoes(clock()).ids == ()  # a withdrawn one is not lifted
    assert not set(TITLES) & set(public_titles(storage))
    shutil.move(tmp_path / "away.txt", path)
    path.touch()
    result = ingester.scan()  # back after its instant: public at this scan
    assert result.lifted == 2 and public_titles(storage)[:2] == list(TITLES)
    assert_counts_true(storage)


def test_a_taxonomy_change_while_held_files_it_only_when_it_lifts(  # type: ignore[no-untyped-def]
        storage: Storage, ingester, content_dir: Path, topics_file: Path, clock) -> None:
    write(content_dir)
    ingester.scan()
    topics_file.write_text(topics_file.read_text(encoding="utf-8").replace(
        '"film festival",', '"film festival", "island villages",'), encoding="utf-8")
    ingester.scan()
    assert not set(TITLES) & set(public_titles(storage, "events-and-campaigns"))
    assert_counts_true(storage)
    clock.now = INSTANT
    lifted = storage.lift_embargoes(clock())
    assert "events-and-campaigns" in lifted.topics
    (release,) = [r for r in storage.list_releases(limit=5) if r.title == TITLES[0]]
    assert "events-and-campaigns" in release.topics
    assert_counts_true(storage)


def test_downgrading_below_embargoes_refuses_while_a_release_is_held(  # type: ignore[no-untyped-def]
        storage: Storage, ingester, content_dir: Path, clock) -> None:
    write(content_dir)
    ingester.scan()
    with pytest.raises(RuntimeError, match=r"2 release\(s\) are held by an embargo"):
        command.downgrade(storage.alembic_config(), "0012")
    clock.now = INSTANT
    storage.lift_embargoes(clock())
    before = {r.id: r for r in storage.list_releases(limit=100)}
    command.downgrade(storage.alembic_config(), "0012")
    with storage.engine.connect() as conn:
        assert "embargo" not in {c["name"] for c in sa.inspect(conn).get_columns("releases")}
    storage.upgrade()
    ingester.scan()  # languages dropped with 0019 are identified again by the next scan
    assert {r.id: r for r in storage.list_releases(limit=100)} == before
    hits, total = storage.search("vaccinated")
    assert total == 1 and hits[0].release.title == TITLES[0]  # the search index kept up through it all
