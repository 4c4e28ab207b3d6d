"""A scraped listing page (many releases per file) to drafts.

Lines are described on their own (lines.py), labelled as a whole page (sequence.py),
then assembled here: a release opens at its date line above the title, at its title,
or at a byline or body that follows no title; what the labels call noise is dropped.
`Embargoed until …` lines leave the page before it is labelled (the page reads as if they
were not there) and are given to the release of the next line that belongs to one.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from typing import Final

from feedsvc.model import Embargo
from feedsvc.parsing import labels as L
from feedsvc.parsing.dates import numeric_order, split_title_date
from feedsvc.parsing.drafts import Draft
from feedsvc.parsing.embargo import embargo_line
from feedsvc.parsing.lines import Line, describe, names_over_reading_times
from feedsvc.parsing.normalise import is_clean, normalise_text, split_lines
from feedsvc.parsing.sequence import label_lines

_WORD: Final = re.compile(r"[^\W_]")


def read_lines(text: str) -> list[Line]:
    """Every non-blank line of a listing that holds a word, described."""
    lines: list[Line] = []
    gap = True
    order = numeric_order(text)
    # Most files need no line cleaned but of its spaces: one look at the whole text says so.
    clean = is_clean(text)
    for no, raw in enumerate(split_lines(text), 1):
        paragraph = ("" if not raw else " ".join(raw.split()) if clean else normalise_text(raw))
        # Rules (`----`, `* * *`, a lone `-`) separate like blank lines.
        if not paragraph or _WORD.search(paragraph) is None:
            gap = True
            continue
        lead = raw[: len(raw) - len(raw.lstrip())]
        lines.append(describe(no, paragraph, gap, len(lead.expandtabs(4)), order))
        gap = False
    names_over_reading_times(lines)
    return lines


def parse_listing(text: str) -> list[Draft]:
    """The releases of a listing, in order, before dateline and key handling."""
    lines, embargoes = take_embargo_lines(read_lines(text))
    return assemble(lines, label_lines(lines), embargoes)


def take_embargo_lines(lines: Sequence[Line]) -> tuple[list[Line], list[Embargo]]:
    """The lines without their embargo lines, and those lines' embargoes in file order.

    The line after an embargo line takes its gap, so the page's shape is as if it were absent.
    """
    kept: list[Line] = []
    embargoes: list[Embargo] = []
    gap = False
    for line in lines:
        text = line.paragraph
        found = embargo_line(text, line.no) if ("mbargo" in text or "MBARGO" in text) else None
        if found is not None:
            embargoes.append(found)
            gap = gap or line.gap
            continue
        if gap:
            line.gap, gap = True, False
        kept.append(line)
    return kept, embargoes


# Labels whose line belongs to the release `assemble` has open after reading it.
_OWNED: Final = frozenset([L.TITLE, L.TITLE_MORE, L.DATE_POST, L.DATE_END, L.BYLINE_L, L.STANDFIRST, L.BODY_FIRST, L.BODY_MORE])
# The labels after which a byline belongs to the release above it (its head is not over yet).
_IN_HEAD: Final = frozenset([L.TITLE, L.TITLE_MORE, L.DATE_POST, L.STANDFIRST, L.NOISE_IN])


class _Releases:
    """The drafts of a page so far, and what stands above the next one to open."""

    __slots__ = ("drafts", "pending", "section")

    def __init__(self) -> None:
        self.drafts: list[Draft] = []
        self.section: str | None = None  # the heading of the group the next release opens in
        self.pending: Line | None = None  # a date line above the release it opens

    def open(self, line: Line, title: str | None = None, date: dt.date | None = None,
             author: str | None = None) -> Draft:
        """A release opening at `line`: it takes the section and the date line above it."""
        draft = Draft(title=title, line=line.no, section=self.section, date=date, author=author)
        self.drafts.append(draft)
        _take_date(draft, self.pending)
        self.section = self.pending = None
        return draft


def assemble(lines: Sequence[Line], labels: Sequence[int], embargoes: Sequence[Embargo] = ()) -> list[Draft]:
    """Drafts from labelled lines; each embargo goes to the release of the next line that has one."""
    page = _Releases()
    current: Draft | None = None
    previous = -1
    unplaced = list(embargoes)
    waiting: list[Embargo] = []  # embargo lines read, not yet given to a release
    for line, label in zip(lines, labels, strict=False):
        while unplaced and unplaced[0].line < line.no:
            waiting.append(unplaced.pop(0))
        if label == L.DATE_PRE:
            page.pending = line
        elif label == L.TITLE:
            title, title_date = split_title_date(line.text)
            current = page.open(line, title, title_date)
        elif label == L.TITLE_MORE and current is not None and current.title:
            current.title += " " + line.text
        elif label in (L.DATE_POST, L.DATE_END) and current is not None:
            _take_date(current, line)
        elif label == L.BYLINE_L:
            if current is not None and previous in _IN_HEAD and not current.author:
                current.author = line.author
                if current.date is None:
                    current.date = line.date
            else:
                current = page.open(line, author=line.author, date=line.date)
            current.opinion = True
        elif label == L.STANDFIRST and current is not None:
            current.standfirst = line.paragraph
        elif label == L.BODY_FIRST:
            if current is None or current.paragraphs or page.pending is not None:
                current = page.open(line)
            if not current.paragraphs and line.text == line.paragraph:
                current.first_dateline = (line.found_dateline, line.known_place)
            current.paragraphs.append(line.paragraph)
        elif label == L.BODY_MORE and current is not None:
            current.paragraphs.append(line.paragraph)
        elif label == L.SECTION:
            page.section = line.text
        if label != L.ROLE:  # a role line under a byline does not end the byline's header
            previous = label
        if waiting and label in _OWNED and current is not None:
            current.embargoes += waiting
            waiting = []
    drafts = page.drafts
    if drafts and (waiting or unplaced):
        # Below the last release: it is that release's (holding it errs late, never early).
        drafts[-1].embargoes += waiting + unplaced
    return drafts


def _take_date(draft: Draft, line: Line | None) -> None:
    if line is not None:
        draft.fill(line.date, None)
