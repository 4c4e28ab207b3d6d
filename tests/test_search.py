"""Full-text search (issue 17 item 5) through real Markdown files, a real ingest and a real
database, on SQLite (FTS5) and PostgreSQL (tsvector)."""

from __future__ import annotations

from pathlib import Path

import pytest

from feedsvc.ingest import Ingester
from feedsvc.storage import Storage


def release(title: str, body: str, *, place: str = "Geneva", date: str = "2026-11-20",
            topics: str = "[]") -> str:
    return f"---\ntitle: {title}\ndate: {date}\nlocation: {place}\ntopics: {topics}\n---\n{body}\n"


RELEASES = {
    "clinic.md": release("Mobile Clinics Reach Villages", "Nurses vaccinated 4,000 children in Çeşme.",
                         place="Izmir", topics="[health]"),
    "office.md": release("New Office Opens", "The field office serves returnees near the clinics.",
                         place="Gaziantep", date="2025-03-02"),
    "hostile.md": release("Warning About Scripts",
                          "Never paste `<script>alert(1)</script>` into a clinic form & say “café”."),
}


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    folder = tmp_path / "search-releases"
    folder.mkdir()
    for name, text in RELEASES.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


@pytest.fixture
def scan(storage: Storage, folder: Path, topics_file: Path, clock):  # type: ignore[no-untyped-def]
    ingester = Ingester(storage, folder, topics_file, tag_authority="press.example.org", clock=clock)

    def run() -> None:
        clock.advance(minutes=1)
        ingester.scan()

    run()
    return run


def titles(storage: Storage, query: str, **filters: object) -> list[str]:
    hits, total = storage.search(query, **filters)  # type: ignore[arg-type]
    assert total == len(hits)
    return sorted(h.release.title for h in hits)


def test_finds_by_title_word_and_body_word_in_any_case(storage: Storage, scan) -> None:  # type: ignore[no-untyped-def]
    assert titles(storage, "villages") == ["Mobile Clinics Reach Villages"]
    assert titles(storage, "NURSES") == ["Mobile Clinics Reach Villages"]
    assert titles(storage, "returnees office") == ["New Office Opens"]  # every word must be there
    assert titles(storage, "returnees nurses") == []
    assert titles(storage, "gaziantep") == ["New Office Opens"]  # the place is searched too


def test_accented_words_are_found_as_stored(storage: Storage, scan) -> None:  # type: ignore[no-untyped-def]
    assert titles(storage, "Çeşme") == ["Mobile Clinics Reach Villages"]
    assert titles(storage, "çeşme") == ["Mobile Clinics Reach Villages"]
    assert titles(storage, "café") == ["Warning About Scripts"]


def test_withdrawn_release_is_not_found(storage: Storage, scan, folder: Path) -> None:  # type: ignore[no-untyped-def]
    assert titles(storage, "returnees") == ["New Office Opens"]
    (folder / "office.md").unlink()
    scan()
    assert titles(storage, "returnees") == []
    assert storage.search("returnees") == ([], 0)


def test_edited_release_is_found_by_its_new_words_not_its_old(storage: Storage, scan, folder: Path) -> None:  # type: ignore[no-untyped-def]
    path = folder / "office.md"
    path.write_text(path.read_text(encoding="utf-8").replace("returnees", "farmers"), encoding="utf-8")
    scan()
    assert titles(storage, "farmers") == ["New Office Opens"]
    assert titles(storage, "returnees") == []


@pytest.mark.parametrize("query", [
    '"', '""', "'", 'clinic"', '"clinic', "clinic AND", "OR", "NOT clinic", "clinic NEAR office",
    "NEAR(clinic office)", "*", "clin*", "(clinic", "clinic)", "()", "title:clinic", "^clinic",
    "clinic -office", "a\x00b", "\u202eclinic", "😀 clinic", "中文 检索", "\\", "%_", "';--", "&|!:<>",
    "x" * 500, "clinic " * 100,
])
def test_hostile_queries_never_fail(storage: Storage, scan, query: str) -> None:  # type: ignore[no-untyped-def]
    hits, total = storage.search(query)
    assert total == len(hits)
    if "clinic" in query and query.count("clinic") == 1 and ":" not in query and "NEAR(" not in query:
        # Operators are words like any other: "clinic AND" wants a release with both words.
        assert total in (0, 1)


def test_operators_are_searched_as_words(storage: Storage, scan) -> None:  # type: ignore[no-untyped-def]
    assert titles(storage, "clinic OR villages") == []  # no release says "or"
    assert titles(storage, "clin*") == []  # no prefix search: "clin" is a word nobody wrote
    assert titles(storage, "(clinic)") == ["Warning About Scripts"]


def test_highlights_escape_the_release_text(storage: Storage, scan) -> None:  # type: ignore[no-untyped-def]
    (hit,), _ = storage.search("script alert")
    assert "<script" not in hit.snippet
    assert "&lt;script&gt;" in hit.snippet.replace("<mark>", "").replace("</mark>", "")
    assert "<mark>alert</mark>" in hit.snippet and "&amp;" in hit.snippet
    assert "<mark>Scripts</mark>" not in hit.title  # "scripts" is not the word "script"
    (hit,), _ = storage.search("scripts")
    assert hit.title == "Warning About <mark>Scripts</mark>"


def test_filters_by_topic_place_and_year(storage: Storage, scan) -> None:  # type: ignore[no-untyped-def]
    assert titles(storage, "clinics") == ["Mobile Clinics Reach Villages", "New Office Opens"]
    assert titles(storage, "clinics", topic="health") == ["Mobile Clinics Reach Villages"]
    assert titles(storage, "clinics", place="gaziantep") == ["New Office Opens"]
    assert titles(storage, "clinics", year=2025) == ["New Office Opens"]
    assert titles(storage, "clinics", year=2026) == ["Mobile Clinics Reach Villages"]
    assert titles(storage, "clinics", year=2024) == []
    assert titles(storage, "clinics", topic="health", place="Gaziantep") == []


def test_pages_are_newest_first_and_total_counts_every_match(storage: Storage, scan, folder: Path) -> None:  # type: ignore[no-untyped-def]
    for day in range(1, 8):
        (folder / f"paged-{day}.md").write_text(
            release(f"Bulletin number {day}", "Weekly bulletin.", date=f"2024-01-0{day}"), encoding="utf-8")
    scan()
    first, total = storage.search("bulletin", limit=3)
    second, _ = storage.search("bulletin", limit=3, offset=3)
    last, _ = storage.search("bulletin", limit=3, offset=6)
    assert total == 7
    assert [h.release.title for h in first + second + last] == [f"Bulletin number {d}" for d in range(7, 0, -1)]
    assert storage.search("bulletin", limit=3, offset=9) == ([], 7)


def test_empty_or_wordless_query_finds_nothing(storage: Storage, scan) -> None:  # type: ignore[no-untyped-def]
    assert storage.search("") == ([], 0)
    assert storage.search("  \"*() ") == ([], 0)
