"""A scraped listing page (many releases per file) to drafts: which line is a title, a section, a body.

Lines are first described on their own (lines.py), then given a role by looking at
their neighbours: a title is a heading-shaped line followed by a dateline, a byline or
a date line (the strong signal, it holds for nearly every release), or a clearly
title-shaped line standing alone above a body paragraph. A short heading right above a
title is that title's section, or the first half of a wrapped title.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from feedsvc.parsing.dates import split_title_date
from feedsvc.parsing.drafts import Draft
from feedsvc.parsing.lines import BYLINE, DATE, TEXT, Line, describe, is_label
from feedsvc.parsing.normalise import normalise_text, split_lines

BODY, TITLE, TITLE_MORE, SECTION = 0, 1, 2, 3
_SECTION_MAX_CHARS = 70
_SECTION_MAX_WORDS = 8
_SECTION_FORBIDDEN = frozenset(",:;@/|›»>")  # breadcrumbs are navigation, not sections
_WORD = re.compile(r"[^\W_]")


def read_lines(text: str) -> list[Line]:
    """Every non-blank, non-label line of a listing, described."""
    lines: list[Line] = []
    gap = True
    for no, raw in enumerate(split_lines(text), 1):
        paragraph = normalise_text(raw) if raw else ""
        # Rules (`----`, `* * *`) and navigation labels separate like blank lines.
        if not paragraph or _WORD.search(paragraph) is None or is_label(paragraph):
            gap = True
            continue
        lines.append(describe(no, paragraph, gap))
        gap = False
    return lines


def parse_listing(text: str) -> list[Draft]:
    """The releases of a listing, in order, before dateline and key handling."""
    lines = read_lines(text)
    if not lines:
        return []
    dates_first = _dates_precede_titles(lines)
    roles = _roles(lines, dates_first)
    return _assemble(lines, roles, dates_first)


def _dates_precede_titles(lines: Sequence[Line]) -> bool:
    # Some listings put the date line above the title; it is decided per file, by
    # which neighbour the date lines stick to more often.
    before = after = 0
    for i, line in enumerate(lines):
        if line.kind != DATE:
            continue
        prev = lines[i - 1] if i else None
        nxt = lines[i + 1] if i + 1 < len(lines) else None
        under_heading = prev is not None and not line.gap and prev.heading
        over_heading = nxt is not None and not nxt.gap and nxt.heading
        if under_heading != over_heading:  # between two headings it tells nothing
            after += under_heading
            before += over_heading
    return before > after


def _roles(lines: Sequence[Line], dates_first: bool) -> list[int]:
    count = len(lines)
    roles = [BODY] * count
    for i, line in enumerate(lines):
        if line.kind != TEXT:
            continue
        nxt = lines[i + 1] if i + 1 < count else None
        prev = lines[i - 1] if i else None
        if _announces_body(line, nxt, dates_first):
            roles[i] = TITLE
        elif dates_first and prev is not None and prev.kind == DATE and not line.gap and line.heading:
            roles[i] = TITLE
    bullet_titles = sum(1 for i, role in enumerate(roles) if role == TITLE and lines[i].bullet)
    bullet_mode = bullet_titles >= 2 and bullet_titles * 2 >= roles.count(TITLE)
    for i, line in enumerate(lines):
        if roles[i] != BODY or line.kind != TEXT or not line.gap:
            continue
        nxt = lines[i + 1] if i + 1 < count else None
        if bullet_mode:
            if line.bullet and line.heading and not _in_bullet_list(lines, i) and (
                nxt is None or _body_follows(nxt)
            ):
                roles[i] = TITLE
        elif line.titleish and nxt is not None and _body_follows(nxt):
            roles[i] = TITLE
    _mark_sections(lines, roles, dates_first)
    return roles


def _announces_body(line: Line, nxt: Line | None, dates_first: bool) -> bool:
    """A heading directly above a dateline, a byline or (dates under titles) a date line."""
    if nxt is None:
        return False
    if nxt.kind == BYLINE or (nxt.kind == DATE and not dates_first):
        return line.heading
    if nxt.sep_dateline:
        if line.heading:
            return True
        # `Syria – IOM Scales Up Aid` above `Gaziantep – …`: two datelines in a row
        # cannot both open a body, so the first, if short, is a title.
        return line.sep_dateline and len(line.text) <= 120 and not line.ends_sentence
    return False


def _body_follows(nxt: Line) -> bool:
    """The line after a would-be title reads as the start of a body."""
    if nxt.kind != TEXT or nxt.titleish:
        return False
    if nxt.sep_dateline or len(nxt.text) > 100:
        return True
    # Right under the title (no blank line) a short line is more likely the end of a
    # hard-wrapped sentence than a body, so only a full separate paragraph counts.
    return nxt.gap and nxt.ends_sentence


def _in_bullet_list(lines: Sequence[Line], i: int) -> bool:
    """Bullets touching other bullets are a list inside a body, not titles."""
    line = lines[i]
    after = lines[i + 1] if i + 1 < len(lines) else None
    before = lines[i - 1] if i else None
    return (after is not None and after.bullet and not after.gap) or (
        before is not None and before.bullet and not line.gap
    )


def _mark_sections(lines: Sequence[Line], roles: list[int], dates_first: bool) -> None:
    for i in range(1, len(lines)):
        if roles[i] != TITLE:
            continue
        j = i - 1
        if lines[j].kind == DATE and not lines[i].gap and j:
            if not dates_first and _sandwiched_date(lines, roles, j):
                roles[j - 1] = SECTION
                continue
            if dates_first:
                j -= 1  # the section sits above the date line that opens the release
        above, below = lines[j], lines[j + 1]
        if roles[j] != BODY or above.kind != TEXT or not above.heading:
            continue
        if j == i - 1 and not below.gap and _wraps(above, below):
            roles[j], roles[i] = TITLE, TITLE_MORE
        elif above.gap and _section_like(above):
            roles[j] = SECTION


def _sandwiched_date(lines: Sequence[Line], roles: Sequence[int], j: int) -> bool:
    """`Section / date / title` with no blank line: the top line took the date as its own."""
    top = lines[j - 1]
    return roles[j - 1] == TITLE and top.gap and not lines[j].gap and _section_like(top)


def _wraps(first: Line, second: Line) -> bool:
    """Two adjacent heading lines that are one title broken in two."""
    if first.ends_sentence:
        return False
    last_word = first.text.rsplit(None, 1)[-1]
    return (
        last_word[0].islower()
        or first.text.endswith((",", "-", "–", "—", "&"))
        or second.text[0].islower()
        or (first.words >= 7 and not _section_like(first))
    )


def _section_like(line: Line) -> bool:
    text = line.text
    return (
        len(text) <= _SECTION_MAX_CHARS
        and line.words <= _SECTION_MAX_WORDS
        and not line.ends_sentence
        and line.title_case >= 0.6
        and not any(ch in _SECTION_FORBIDDEN for ch in text)
    )


def _opens_byline(lines: Sequence[Line], i: int) -> bool:
    """A date line standing apart from the text above and directly over a byline is the op-ed's."""
    nxt = lines[i + 1] if i + 1 < len(lines) else None
    return lines[i].gap and nxt is not None and nxt.kind == BYLINE and not nxt.gap


def _assemble(lines: Sequence[Line], roles: Sequence[int], dates_first: bool) -> list[Draft]:
    drafts: list[Draft] = []
    current: Draft | None = None
    section: str | None = None
    pending: Line | None = None  # a date line waiting for the release below it
    for i, line in enumerate(lines):
        role = roles[i]
        if role == TITLE:
            title, title_date = split_title_date(line.text)
            j = i + 1
            while j < len(lines) and roles[j] == TITLE_MORE:
                title += " " + lines[j].text
                j += 1
            current = Draft(title=title, line=line.no, section=section, date=title_date)
            drafts.append(current)
            _take_date(current, pending)
            section = pending = None
        elif role == TITLE_MORE:
            continue
        elif role == SECTION:
            section = line.text
        elif line.kind == DATE:
            if dates_first or current is None or _opens_byline(lines, i) or (
                i > 0 and roles[i - 1] == SECTION and not line.gap
            ):
                pending = line
            else:
                _take_date(current, line)
        elif line.kind == BYLINE:
            if current is not None and current.title and not current.paragraphs and not current.author:
                current.author = line.author
                current.opinion = True
            else:
                current = Draft(title=None, line=line.no, section=section, author=line.author,
                                opinion=True)
                drafts.append(current)
                _take_date(current, pending)
                section = pending = None
        elif current is not None:
            current.paragraphs.append(line.paragraph)
    return drafts


def _take_date(draft: Draft, line: Line | None) -> None:
    if line is None:
        return
    if draft.date is None:
        draft.date = line.date
    if draft.location is None:
        draft.location = line.place
