"""What changed between two versions of a release, for readers (issue 13 item 5). Pure: data in, data out.

Paragraphs are aligned with difflib; a paragraph that was edited rather than replaced is shown
word by word. The result is plain text in typed pieces: templates escape it, so nothing a
release says is ever markup on the history page.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import re
from collections.abc import Sequence
from typing import Literal

from feedsvc.model import ReleaseVersion

# Below this similarity two paragraphs are different paragraphs (one removed, one added), not
# one edited: a word diff of unrelated text is noise, not a correction a reader can follow.
EDITED_RATIO = 0.5
_MONTHS = ("January", "February", "March", "April", "May", "June", "July",
           "August", "September", "October", "November", "December")
# A word with the space before it; words are compared without it, so re-spacing is no change.
_WORD = re.compile(r"\s*\S+")

Op = Literal["same", "removed", "added"]


@dataclasses.dataclass(frozen=True, slots=True)
class Piece:
    """A run of text that stayed, went or came."""

    op: Op
    text: str


@dataclasses.dataclass(frozen=True, slots=True)
class Change:
    """One thing a reader can see changed.

    kind: "field" (title, place, date, author, section; `pieces` is the word diff of the
    field), "edited" (a paragraph, `pieces` its word diff), "added" or "removed" (a whole
    paragraph, one piece).
    """

    kind: Literal["field", "edited", "added", "removed"]
    label: str  # "Title", "Place", …, or "Paragraph 3" (its number in the newer version, or the older when removed)
    pieces: tuple[Piece, ...]


def day(when: ReleaseVersion) -> str:
    """The day a version was stored, as pages write dates: "2 December 2026" (UTC)."""
    return _date(when.seen_at.astimezone(dt.UTC).date())


def word_diff(old: str, new: str) -> tuple[Piece, ...]:
    """`old` → `new` as runs of words kept, removed and added (a replacement: removed, then added)."""
    a, b = _WORD.findall(old), _WORD.findall(new)
    out: list[Piece] = []

    def put(op: Op, text: str) -> None:
        if not text:
            return
        if op != "same":
            # The space before a changed run stays outside its mark: "for [-200-]{+250+} people".
            lead = text[:len(text) - len(text.lstrip())]
            put("same", lead)
            text = text[len(lead):]
        elif out and out[-1].op != "same" and not text[0].isspace():
            text = " " + text  # a run removed at the start took the only space with it
        if out and out[-1].op == op:
            out[-1] = Piece(op, out[-1].text + text)
        else:
            out.append(Piece(op, text))

    # autojunk off: in a long paragraph "the" and "of" are still words a reader compares.
    matcher = difflib.SequenceMatcher(None, [w.strip() for w in a], [w.strip() for w in b],
                                      autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            put("same", "".join(b[j1:j2]))
        else:
            put("removed", "".join(a[i1:i2]))
            put("added", "".join(b[j1:j2]).lstrip() if i2 > i1 else "".join(b[j1:j2]))
    return tuple(out)


def _similar(a: str, b: str) -> float:
    return difflib.SequenceMatcher(None, a.split(), b.split(), autojunk=False).ratio()


def _align(old: Sequence[str], new: Sequence[str]) -> list[tuple[int | None, int | None]]:
    """Pair the paragraphs of a replaced run: the order-keeping pairing of the most similar ones.

    A small dynamic programme (runs are a release's paragraphs, a few dozen at most); unpaired
    paragraphs come out as (i, None) removed or (None, j) added, in reading order.
    """
    n, m = len(old), len(new)
    score = [[0.0] * (m + 1) for _ in range(n + 1)]
    ratio = [[_similar(old[i], new[j]) for j in range(m)] for i in range(n)]
    for i in range(n - 1, -1, -1):
        for j in range(m - 1, -1, -1):
            best = max(score[i + 1][j], score[i][j + 1])
            if ratio[i][j] >= EDITED_RATIO:
                best = max(best, ratio[i][j] + score[i + 1][j + 1])
            score[i][j] = best
    pairs: list[tuple[int | None, int | None]] = []
    i = j = 0
    while i < n and j < m:
        if ratio[i][j] >= EDITED_RATIO and score[i][j] == ratio[i][j] + score[i + 1][j + 1]:
            pairs.append((i, j))
            i, j = i + 1, j + 1
        elif score[i][j] == score[i + 1][j]:
            pairs.append((i, None))
            i += 1
        else:
            pairs.append((None, j))
            j += 1
    pairs += [(k, None) for k in range(i, n)] + [(None, k) for k in range(j, m)]
    return pairs


def _paragraph_changes(old: Sequence[str], new: Sequence[str]) -> list[Change]:
    out: list[Change] = []
    matcher = difflib.SequenceMatcher(None, list(old), list(new), autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        for i, j in _align(old[i1:i2], new[j1:j2]):
            if i is not None and j is not None:
                out.append(Change("edited", f"Paragraph {j1 + j + 1}",
                                  word_diff(old[i1 + i], new[j1 + j])))
            elif j is not None:
                out.append(Change("added", f"Paragraph {j1 + j + 1}", (Piece("added", new[j1 + j]),)))
            elif i is not None:
                out.append(Change("removed", f"Paragraph {i1 + i + 1}",
                                  (Piece("removed", old[i1 + i]),)))
    return out


def _date(d: dt.date) -> str:
    return f"{d.day} {_MONTHS[d.month - 1]} {d.year}"


def _text(value: str | dt.date | None) -> str:
    if value is None:
        return ""
    return _date(value) if isinstance(value, dt.date) else value


def changes(old: ReleaseVersion, new: ReleaseVersion) -> list[Change]:
    """What a reader sees changed from `old` to `new`: fields first, then paragraphs in reading order."""
    out: list[Change] = []
    for label, name in (("Title", "title"), ("Place", "location"), ("Date", "date"),
                        ("Author", "author"), ("Section", "section")):
        before, after = _text(getattr(old, name)), _text(getattr(new, name))
        if before != after:
            out.append(Change("field", label, word_diff(before, after)))
    out += _paragraph_changes(old.paragraphs, new.paragraphs)
    return out


@dataclasses.dataclass(frozen=True, slots=True)
class VersionView:
    """One version as the history page lists it, with what changed since the one before."""

    version: ReleaseVersion
    day: str
    changes: tuple[Change, ...]  # empty for version 1, or when only formatting or topics changed
    first: bool


def history(versions: Sequence[ReleaseVersion]) -> list[VersionView]:
    """Versions (any order) newest first, each with its changes against the previous one."""
    ordered = sorted(versions, key=lambda v: v.number)
    views = [VersionView(v, day(v), tuple(changes(prev, v)) if prev else (), prev is None)
             for prev, v in zip([None, *ordered[:-1]], ordered, strict=False)]
    return views[::-1]
