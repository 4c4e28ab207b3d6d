"""One listing line, normalised and described: what it looks like, before deciding what it is."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re

from feedsvc.parsing.dates import parse_date_line, parse_meta_line
from feedsvc.parsing.datelines import place_names, spell_place, split_dateline

TEXT, DATE, BYLINE = 0, 1, 2

_BULLET = re.compile(r"(?:[•·▪●◦‣∙*–—-]|\d{1,3}[.)])\s+(?=\S)")
_LABEL = re.compile(
    r"(?:press[ -]?releases?|news(?:\s+releases?|room)?|latest\s+news|media\s+(?:centre|center)|"
    r"read\s+more|continue\s+reading|learn\s+more|more|share(?:\s+(?:this|on\s+\w+))?(?:\s+(?:article|page|story|post))?|"
    r"print(?:\s+this)?|back\s+to\s+top|top|load\s+more|view\s+all|see\s+all|next|previous|"
    r"page\s+\d+(?:\s+of\s+\d+)?|home)\s*[:»›>→.…]*",
    re.IGNORECASE,
)
_MAX_LABEL = 40
# A sentence ends inside a line when a full stop is followed by a capitalised word.
_INNER_SENTENCE = re.compile(r"[.!?][\"”’)]*\s+[\"“‘(]?[A-Z]")
_CLOSERS = "\"”’')»]"
# Words Title Case leaves in lower case; they do not count against a title.
_MINOR_WORDS = frozenset(
    "a an the and or but nor of in on at to for by with from as into onto upon via vs per "
    "de la le du des di da el al".split()
)
_BYLINE = re.compile(r"By:?\s+(?P<rest>\S.*)")
_NAME_END = re.compile(r"\s*(?:[,|;(/]|\s[–—-]\s)")
_NAME_PARTICLES = frozenset("de da das do dos du van von der den la le al el bin ibn".split())
# Role words end a name when the byline has no comma (`By Amy Pope IOM Deputy Director`).
_ROLE_WORDS = frozenset(
    "director deputy chief head minister president secretary ambassador representative "
    "coordinator officer spokesperson spokesman spokeswoman envoy commissioner chair "
    "manager advisor adviser professor dr".split()
)
_NOT_NAMES = frozenset(
    "monday tuesday wednesday thursday friday saturday sunday january february march april "
    "may june july august september october november december land sea air road".split()
)
MAX_TITLE = 250


@dataclasses.dataclass(slots=True)
class Line:
    """A non-blank line of a listing with the features classification uses."""

    no: int  # 1-based line number in the source
    paragraph: str  # the normalised line, as a body paragraph keeps it
    text: str  # without its bullet, as a title keeps it
    gap: bool  # a blank or label line (or the file's start) comes right before it
    bullet: bool
    kind: int = TEXT
    date: dt.date | None = None
    place: str | None = None  # a known place beside the date (`18 December 2019 | Geneva`)
    author: str | None = None
    heading: bool = False  # short and shaped like a title or a section heading
    titleish: bool = False  # a title even without a dateline under it
    ends_sentence: bool = False
    sep_dateline: bool = False  # opens with `Place –`
    words: int = 0
    title_case: float = 0.0


def is_label(text: str) -> bool:
    """Navigation words of a scraped page (`Press Releases`, `Read more`): neither release nor paragraph."""
    return len(text) <= _MAX_LABEL and _LABEL.fullmatch(text) is not None


def describe(no: int, paragraph: str, gap: bool) -> Line:
    """A normalised, non-blank line with what it looks like: date line, byline, heading, body."""
    bullet_match = _BULLET.match(paragraph)
    text = paragraph[bullet_match.end():] if bullet_match else paragraph
    line = Line(no, paragraph, text, gap, bullet_match is not None)
    date = parse_date_line(text)
    if date is not None:
        line.kind, line.date = DATE, date
        return line
    meta = parse_meta_line(text)
    if meta is not None:
        line.kind, line.date = DATE, meta[0]
        known = place_names()
        line.place = next((spell_place(p) for p in meta[1] if p.casefold() in known), None)
        return line
    author = parse_byline(text)
    if author is not None:
        line.kind, line.author = BYLINE, author
        return line
    size = len(text)
    stripped = text.rstrip(_CLOSERS)
    line.ends_sentence = stripped.endswith((".", "!", "?", "…"))
    ends_period = stripped.endswith((".", "…"))
    line.sep_dateline = split_dateline(text, gazetteer_only_ok=False) is not None
    if size > MAX_TITLE or text[0].islower() or text.endswith(":"):
        return line
    words = text.split()
    line.words = len(words)
    line.title_case = _title_case(words)
    inner = len(_INNER_SENTENCE.findall(text))
    line.heading = not line.sep_dateline and (
        line.bullet
        or (not ends_period and inner <= 1)
        or (size <= 160 and line.title_case >= 0.45 and inner <= 1)
    )
    line.titleish = (
        line.heading
        and not ends_period
        and line.words >= 2
        and (line.title_case >= 0.5 or size <= 120)
    )
    return line


def _title_case(words: list[str]) -> float:
    """Share of significant words that start with a capital (0.0 for scripts without case)."""
    upper = lower = 0
    for word in words:
        word = word.lstrip("\"“‘'(«[")
        if not word or word.casefold() in _MINOR_WORDS:
            continue
        first = word[0]
        if first.isupper():
            upper += 1
        elif first.islower():
            lower += 1
    total = upper + lower
    return upper / total if total else 0.0


def parse_byline(text: str) -> str | None:
    """The author of a `By NAME, ROLE` line, or None when the line is not a byline."""
    if not text.startswith("By") or len(text) > 200:
        return None
    match = _BYLINE.fullmatch(text)
    if match is None:
        return None
    rest = match.group("rest")
    end = _NAME_END.search(rest)
    words = (rest[: end.start()] if end else rest).split()
    kept: list[str] = []
    for word in words:
        low = word.casefold()
        if len(kept) >= 2 and (low in _ROLE_WORDS or _is_acronym(word)):
            break
        kept.append(word)
    if len(kept) > 8:
        return None
    names = " ".join(kept).replace(" & ", " and ").split(" and ")
    if not all(_is_name(part.split()) for part in names):
        return None
    return " ".join(kept)


def _is_name(words: list[str]) -> bool:
    capitals = 0
    for word in words:
        if any(ch.isdigit() for ch in word):
            return False
        if word[0].isupper():
            capitals += 1
        elif word.casefold() not in _NAME_PARTICLES:
            return False
    return capitals >= 2 and words[0].casefold() not in _NOT_NAMES


def _is_acronym(word: str) -> bool:
    return len(word) >= 2 and word.isupper() and word.isalpha()
