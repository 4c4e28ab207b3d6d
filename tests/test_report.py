"""The readable report of `feedsvc parse`: blocks fitted to a terminal, warnings under their release."""

from __future__ import annotations

import datetime as dt
import unicodedata

from feedsvc.model import ParseWarning, Release
from feedsvc.report import release_block, report_lines, summary_line


def release(title: str, line: int, **kw: object) -> Release:
    values: dict[str, object] = {
        "source_file": "l.txt", "position": 0, "title": title, "title_inferred": False, "location": None,
        "date": None, "author": None, "section": None, "paragraphs": ("Body text.",), "line": line}
    values.update(kw)
    return Release(**values)  # type: ignore[arg-type]


def columns(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in ("W", "F") else 1 for c in text)


def test_block_lists_every_field_and_fits_80_columns() -> None:
    r = release("Title", 3, date=dt.date(2026, 11, 23), location="Çeşme, Western Turkey",
                author="Amy Pope, IOM Director General", section="Op-eds",
                paragraphs=("word " * 40,))
    block = release_block(7, r, [], lambda _: ("health", "opinion"))
    assert block == [
        "7. Title",
        "   date:    2026-11-23",
        "   place:   Çeşme, Western Turkey",
        "   by:      Amy Pope, IOM Director General",
        "   section: Op-eds",
        "   topics:  health, opinion",
        "   body:    " + "word " * 12 + "word…",
    ]
    assert all(len(line) <= 80 for line in block)


def test_wide_characters_are_wrapped_by_the_columns_they_take() -> None:
    title = "移民" * 60  # no spaces, two columns each
    block = release_block(1, release(title, 1, paragraphs=("移民" * 60,)), [], None)
    assert all(columns(line) <= 80 for line in block) and columns(block[0]) >= 78
    assert "".join(line[3:] for line in block[:4]) == title
    body = next(line for line in block if line.startswith("   body:    "))
    assert body.endswith("…") and columns(body) <= 80
    assert not any(line.lstrip().startswith("topics:") for line in block)  # no taxonomy: no topics line


def test_warnings_go_under_the_release_holding_their_line() -> None:
    releases = [release("First", 3, position=0), release("Second", 8, position=1, title_inferred=True)]
    warnings = [ParseWarning("l.txt", 1, "1 NUL byte dropped"),
                ParseWarning("l.txt", 5, "invalid UTF-8 byte 0xFF replaced with U+FFFD"),
                ParseWarning("l.txt", 9, "2 NUL bytes dropped")]
    lines = report_lines("l.txt", releases, warnings, None)
    second = lines.index("2. Second")
    assert lines.index("   warning: line 5: invalid UTF-8 byte 0xFF replaced with U+FFFD") < second
    assert lines.index("   warning: line 9: 2 NUL bytes dropped") > second
    assert "   note:    title inferred from the body (no title line found)" in lines[second:]
    assert lines[-2:] == ["l.txt: 2 releases, 3 warnings (2 undated, 1 with an inferred title)",
                          "   warning: line 1: 1 NUL byte dropped"]


def test_summary_line() -> None:
    assert summary_line("a.txt", [release("T", 1, date=dt.date(2026, 1, 2))], []) == "a.txt: 1 release, 0 warnings"
