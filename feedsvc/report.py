"""What `feedsvc parse` prints for the office: one readable block per release, a summary line per file.

Pure: releases, warnings and a classifier in, lines out, fitted to a terminal's width (issue 11, item 6).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Sequence

from .model import ParseWarning, Release

Classifier = Callable[[Release], tuple[str, ...]]

INDENT = "   "
_LABEL = 9  # "warning: " is the longest label
_NONE = "—"


def report_lines(name: str, releases: Sequence[Release], warnings: Sequence[ParseWarning],
                 classify: Classifier | None, width: int = 80) -> list[str]:
    """The blocks of one file's releases, then its summary line and the warnings of no release.

    `classify` None: the taxonomy could not be loaded, and no topics line is shown.
    """
    starts = [r.line for r in releases]
    # An embargo line stands above its release: its warning goes with that release.
    embargo_lines = {r.embargo.line: i for i, r in enumerate(releases) if r.embargo is not None}
    by_release: list[list[ParseWarning]] = [[] for _ in releases]
    loose: list[ParseWarning] = []
    for warning in warnings:
        index = embargo_lines.get(warning.line or 0, _release_at(starts, warning.line))
        (loose if index is None else by_release[index]).append(warning)
    out: list[str] = []
    for number, (release, own) in enumerate(zip(releases, by_release, strict=False), 1):
        out += release_block(number, release, own, classify, width)
        out.append("")
    out.append(summary_line(name, releases, warnings))
    for warning in loose:
        out += _field("warning", _where(warning), width)
    return out


def release_block(number: int, release: Release, warnings: Sequence[ParseWarning],
                  classify: Classifier | None, width: int = 80) -> list[str]:
    """`1. Title` then indented date, place, by, topics, body, notes and warnings."""
    head = f"{number}. "
    lines = _wrap(release.title, width - len(head)) or [_NONE]
    out = [head + lines[0]] + [" " * len(head) + line for line in lines[1:]]
    out += _field("date", release.date.isoformat() if release.date else _NONE, width)
    out += _field("place", release.location or _NONE, width)
    out += _field("by", release.author or _NONE, width)
    if release.section:
        out += _field("section", release.section, width)
    if classify is not None:
        topics = classify(release)
        out += _field("topics", ", ".join(topics) if topics else f"{_NONE} (only the feed of all releases)",
                      width)
    out += _field("body", _clip(release.body, width - len(INDENT) - _LABEL) if release.body else _NONE, width)
    if release.embargo is not None:
        out += _field("embargo", embargo_text(release), width)
    if release.media:  # as named: whether each exists and may be attached is seen at ingest
        out += _field("media", ", ".join(m.target for m in release.media), width)
    for c in release.contacts:
        out += _field("contact", " · ".join(v for v in (c.name, c.role, c.email, c.phone) if v), width)
    for note in notes(release):
        out += _field("note", note, width)
    for warning in warnings:
        out += _field("warning", _where(warning), width)
    return out


def notes(release: Release) -> list[str]:
    """What the parser had to guess or go without, in the office's words."""
    found = []
    if release.title_inferred:
        found.append("title inferred from the body (no title line found)")
    if release.date is None:
        found.append("no date: shown as added on the day first seen")
    return found


def embargo_text(release: Release) -> str:
    """When an embargo ends, as read: the zone written, else FEEDSVC_TIMEZONE's; or that it holds."""
    embargo = release.embargo
    if embargo is None:
        return _NONE
    if embargo.wall is None:
        return "not understood: held, published nowhere, until the line is corrected"
    wall = embargo.wall
    zone = " in FEEDSVC_TIMEZONE"
    if wall.tzinfo is not None:
        offset = wall.strftime("%z")
        offset = f"UTC{offset[:3]}:{offset[3:]}"
        name = getattr(wall.tzinfo, "key", None)  # a ZoneInfo's name (`America/New_York`)
        zone = f" {name} ({offset})" if name else f" {offset}"
    return f"held until {wall:%Y-%m-%d %H:%M}{zone}"


def summary_line(name: str, releases: Sequence[Release], warnings: Sequence[ParseWarning]) -> str:
    """`file.txt: 12 releases, 1 warning`, and how many are undated or have an inferred title."""
    line = f"{name}: {_count(len(releases), 'release')}, {_count(len(warnings), 'warning')}"
    extra = [f"{n} {what}" for n, what in (
        (sum(r.date is None for r in releases), "undated"),
        (sum(r.title_inferred for r in releases), "with an inferred title")) if n]
    return line + (f" ({', '.join(extra)})" if extra else "")


def _release_at(starts: Sequence[int], line: int | None) -> int | None:
    """The index of the release whose lines hold `line`; None before the first or without a line."""
    if line is None:
        return None
    found = None
    for index, start in enumerate(starts):
        if start and start <= line:
            found = index
    return found


def _where(warning: ParseWarning) -> str:
    return f"line {warning.line}: {warning.message}" if warning.line else warning.message


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _field(label: str, value: str, width: int) -> list[str]:
    lead = INDENT + f"{label}:".ljust(_LABEL)
    lines = _wrap(value, width - len(lead)) or [""]
    return [lead + lines[0]] + [" " * len(lead) + line for line in lines[1:]]


def _cells(char: str) -> int:
    """Columns a character takes on a terminal: CJK wide ones two, combining marks none."""
    if unicodedata.combining(char):
        return 0
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def _width(text: str) -> int:
    return len(text) if text.isascii() else sum(map(_cells, text))


def _wrap(text: str, width: int) -> list[str]:
    """Words greedily into lines of at most `width` columns; a longer word is cut (CJK has no spaces)."""
    width = max(width, 10)
    lines: list[str] = []
    line = ""
    for word in text.split():
        while _width(word) > width:
            room = width - _width(line) - (1 if line else 0)
            if room < 4:  # not worth starting the word here
                lines.append(line)
                line, room = "", width
            head, word = _split_at(word, room)
            lines.append(f"{line} {head}" if line else head)
            line = ""
        if not line:
            line = word
        elif _width(line) + 1 + _width(word) <= width:
            line += " " + word
        else:
            lines.append(line)
            line = word
    if line:
        lines.append(line)
    return lines


def _split_at(word: str, columns: int) -> tuple[str, str]:
    used = 0
    for index, char in enumerate(word):
        used += _cells(char)
        if used > columns:
            return word[:index], word[index:]
    return word, ""


def _clip(text: str, width: int) -> str:
    """The first words of `text` that fit in `width` columns, with … when some were left out."""
    text = " ".join(text.split())
    if _width(text) <= width:
        return text
    head, _ = _split_at(text, width - 1)
    if " " in head and not text[len(head)].isspace():
        head = head.rsplit(" ", 1)[0]  # end at a word's end, not inside it
    return head.rstrip(" ,;:") + "…"
