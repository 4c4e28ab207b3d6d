"""Golden files for the parser: each tests/data/<case>.txt (or .md) beside <case>.json.

Adding a layout is adding two files. The .json holds either a list of expected releases,
compared only on the fields each entry gives, or {"error": "...", "line": N} when the file
must raise ParseError. Conventions follow data/releases' expected.json:
  title null           the source has no title: it is inferred (non-empty, title_inferred true);
                       "inferred_title" then gives the exact inferred text
  date                 ISO date or null
  body_startswith      the start of the body (paragraphs joined by spaces) after the dateline
  paragraphs           how many body paragraphs
  topics               front-matter topics, in order
  line                 1-based line where the release's title (or byline) starts
  embargo              {"text", "line", "until", "note"} of an embargo line or field, or null
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from feedsvc.model import ParseError, Release, release_key
from feedsvc.parsing import decode, normalise_text, parse_bytes, parse_file, parse_text

DATA = Path(__file__).resolve().parent / "data"
CASES = sorted(p for p in DATA.iterdir() if p.suffix in (".txt", ".md"))


def expected_for(case: Path) -> Any:
    companion = case.with_suffix(".json")
    assert companion.exists(), f"{case.name} has no {companion.name} beside it"
    return json.loads(companion.read_text(encoding="utf-8"))


def release_fields(release: Release) -> dict[str, Any]:
    return {
        "title": None if release.title_inferred else release.title,
        "inferred_title": release.title if release.title_inferred else None,
        "title_inferred": release.title_inferred,
        "location": release.location,
        "date": release.date.isoformat() if release.date else None,
        "author": release.author,
        "section": release.section,
        "paragraphs": len(release.paragraphs),
        "topics": list(release.topics),
        "line": release.line,
        "embargo": release.embargo.to_json() if release.embargo else None,
    }


def check_release(release: Release, want: dict[str, Any], where: str) -> None:
    got = release_fields(release)
    for field, value in want.items():
        if field == "body_startswith":
            assert release.body.startswith(value), f"{where}: body {release.body[:80]!r} should start {value!r}"
        else:
            assert got[field] == value, f"{where}: {field} is {got[field]!r}, expected {value!r}"
    if release.title_inferred:
        assert release.title, f"{where}: an inferred title must not be empty"


@pytest.mark.parametrize("case", CASES, ids=[p.name for p in CASES])
def test_golden_case(case: Path) -> None:
    expected = expected_for(case)
    if isinstance(expected, dict):
        with pytest.raises(ParseError) as caught:
            parse_file(case)
        assert expected["error"] in caught.value.reason
        assert caught.value.source_file == case.name
        if "line" in expected:
            assert caught.value.line == expected["line"]
        return
    releases = parse_file(case)
    assert len(releases) == len(expected), [r.title for r in releases]
    for release, want in zip(releases, expected, strict=False):
        check_release(release, want, f"{case.name}[{release.position}]")


@pytest.mark.parametrize(
    "case", [c for c in CASES if isinstance(expected_for(c), list)], ids=lambda p: p.name
)
def test_golden_case_invariants(case: Path) -> None:
    releases = parse_file(case)
    assert [r.position for r in releases] == list(range(len(releases)))
    assert all(r.source_file == case.name for r in releases)
    keys = [r.key for r in releases]
    assert len(set(keys)) == len(keys), "keys must be unique within a listing"
    seen: set[str] = set()
    for release in releases:
        plain = release_key(release.title, release.location)
        if plain not in seen:
            assert release.key == plain
        seen.add(plain)
        for text in (release.title, release.location, release.author, release.section,
                     *release.paragraphs, *release.topics):
            if text is not None:
                assert text and normalise_text(text) == text
    again = parse_bytes(case.read_bytes(), case.name)
    assert again == releases, "parsing the same bytes twice must give the same releases"


def test_parse_text_decides_markdown_from_suffix_or_front_matter() -> None:
    text = "---\ntitle: IOM Opens Office in Gaziantep\nlocation: GAZIANTEP\n---\nThe office opened on Monday.\n"
    for name in ("release.md", "release.txt"):
        (release,) = parse_text(text, name)
        assert release.title == "IOM Opens Office in Gaziantep"
        assert release.location == "Gaziantep"
    (release,) = parse_text("# IOM Opens Office\n\nThe office opened on Monday.\n", "r.markdown")
    assert release.title == "IOM Opens Office"
    assert release.paragraphs == ("The office opened on Monday.",)


def test_listing_opening_with_a_rule_is_not_front_matter() -> None:
    text = "---\nPress Releases\n---\n\nIOM Opens Office in Izmir\n\nIzmir – The office opened.\n"
    (release,) = parse_text(text, "listing.txt")
    assert (release.title, release.location) == ("IOM Opens Office in Izmir", "Izmir")


def test_parse_text_markdown_flag_overrides_the_name() -> None:
    listing = "IOM Opens Office in Izmir\n\nIzmir – The office opened on Monday.\n"
    (as_md,) = parse_text(listing, "listing.txt", markdown=True)
    assert as_md.title == "IOM Opens Office in Izmir" and as_md.location is None
    (as_listing,) = parse_text(listing, "listing.md", markdown=False)
    assert as_listing.location == "Izmir"


def test_front_matter_error_carries_line_and_file() -> None:
    text = "---\ntitle: Fine\nauthor: [unclosed\n---\nBody.\n"
    with pytest.raises(ParseError) as caught:
        parse_text(text, "bad.md")
    assert caught.value.line is not None and caught.value.line >= 3
    assert "bad.md" in str(caught.value)


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("  Ankara\u00a0–\u00a0IOM  ", "Ankara – IOM"),
        ("a\u202fb\u2007c\u2003d\u3000e\tf", "a b c d e f"),
        ("Re\u200bturnees\ufeff", "Returnees"),
        ("x\x00\x07\x0b\x0c\x1f\x7f\x85\x9fy", "xy"),
        ("\ufffe\uffffok\ud800", "ok"),
        ("Cafe\u0301", "Café"),
        ("“Baharat” – تركيا – Çeşme – Москва – 東京", "“Baharat” – تركيا – Çeşme – Москва – 東京"),
        ("", ""),
    ],
)
def test_normalise_text(raw: str, clean: str) -> None:
    assert normalise_text(raw) == clean


def test_parse_file_refuses_a_file_over_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "big.txt"
    path.write_bytes(b"IOM Statement\n\nGeneva - IOM is concerned.\n\n" * 10)
    with pytest.raises(ParseError, match=r"file too large \(430 bytes, limit 100\)"):
        parse_file(path, max_bytes=100)
    releases = parse_file(path)
    assert len(releases) == 10 and len({r.key for r in releases}) == 10


def test_parse_file_missing_file_is_a_parse_error(tmp_path: Path) -> None:
    with pytest.raises(ParseError, match="cannot read file"):
        parse_file(tmp_path / "absent.txt")


def test_decode_is_reexported() -> None:
    assert decode("Title\n".encode("utf-16"), "x.txt") == "Title\n"
