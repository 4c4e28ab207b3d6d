"""A release being read (a mutable draft) and what turns drafts into `Release`s: datelines, inferred titles, keys."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Sequence
from typing import Final

from feedsvc.model import Embargo, Release, release_key
from feedsvc.parsing.datelines import Dateline, split_dateline

_INFERRED_MAX: Final = 90  # an inferred title up to this length is the whole first sentence
_INFERRED_CUT: Final = 80  # longer ones are cut at the last word boundary before this
_SENTENCE_END: Final = re.compile(r"[.!?…][\"”’)]*(?=\s+[\"“‘(]?[A-Z0-9]|\s*$)")


@dataclasses.dataclass(slots=True)
class Draft:
    title: str | None
    line: int
    section: str | None = None
    date: dt.date | None = None
    author: str | None = None
    location: str | None = None
    paragraphs: list[str] = dataclasses.field(default_factory=list)
    topics: tuple[str, ...] = ()
    opinion: bool = False  # an op-ed: a byline, never a dateline
    read_dateline: bool = True
    standfirst: str | None = None  # a summary line between the title and a dateline body
    # The first paragraph's dateline as the line reader found it (with a separator, and
    # a known place without one), so it is not read twice; None: read it here.
    first_dateline: tuple[Dateline | None, Dateline | None] | None = None
    embargoes: list[Embargo] = dataclasses.field(default_factory=list)  # the lines holding it back

    def fill(self, date: dt.date | None, place: str | None) -> None:
        """Take a date and a place found for this release, keeping any it already has."""
        if self.date is None:
            self.date = date
        if self.location is None:
            self.location = place


def finish(drafts: Sequence[Draft], source_file: str) -> list[Release]:
    """Releases from drafts: dateline split off, missing titles inferred, keys unique within the file."""
    releases: list[Release] = []
    used: set[str] = set()
    for position, draft in enumerate(drafts):
        if draft.read_dateline and draft.paragraphs:
            _take_dateline(draft)
        title = draft.title
        inferred = not title
        if not title:
            title = infer_title(draft.paragraphs, draft.author)
        paragraphs = tuple(draft.paragraphs)
        key = _unique_key(title, draft.location, paragraphs, position, used)
        releases.append(Release(
            source_file=source_file,
            position=position,
            title=title,
            title_inferred=inferred,
            location=draft.location,
            date=draft.date,
            author=draft.author,
            section=draft.section,
            paragraphs=paragraphs,
            topics=draft.topics,
            line=draft.line,
            key=key,
            embargo=one_embargo(draft.embargoes),
        ))
    return releases


def one_embargo(embargoes: Sequence[Embargo]) -> Embargo | None:
    """The one embargo of a release; two lines for one release hold it until one is removed."""
    if len(embargoes) <= 1:
        return embargoes[0] if embargoes else None
    first = embargoes[0]
    return Embargo(first.text, first.line, None,
                   f"{len(embargoes)} embargo lines for one release (lines "
                   f"{', '.join(str(e.line) for e in embargoes)}): keep one")


def _take_dateline(draft: Draft) -> None:
    # An op-ed's first words are the author's: only a dateline with a separator counts.
    if draft.first_dateline is not None:
        separated, known = draft.first_dateline
        found = separated or (None if draft.opinion else known)
    else:
        found = split_dateline(draft.paragraphs[0], gazetteer_only_ok=not draft.opinion)
    if found is None:
        return
    draft.fill(found.date, found.place)
    rest = found.rest.strip()
    if rest:
        draft.paragraphs[0] = rest
    else:
        del draft.paragraphs[0]


def infer_title(paragraphs: Sequence[str], author: str | None) -> str:
    """A short readable title from the first sentence of the body (cut with an ellipsis if long)."""
    first = paragraphs[0] if paragraphs else ""
    end = _SENTENCE_END.search(first)
    sentence = first[: end.end()] if end else first
    if len(sentence) <= _INFERRED_MAX:
        title = sentence.rstrip(".").strip()
    else:
        cut = sentence[: _INFERRED_CUT + 1]
        if " " in cut:
            cut = cut.rsplit(" ", 1)[0]  # end on a whole word
        title = cut[:_INFERRED_CUT].rstrip(" ,;:–—-") + "…"
    if title:
        return title
    return f"Opinion by {author}" if author else "Untitled release"


def _unique_key(
    title: str, location: str | None, paragraphs: tuple[str, ...], position: int, used: set[str]
) -> str:
    key = release_key(title, location)
    if key in used:
        # Same title and place twice in one file (a re-posted release): the first
        # paragraph tells them apart; the position only when even that repeats.
        basis = (location or "") + "\x1f" + (paragraphs[0] if paragraphs else str(position))
        key = release_key(title, basis)
        salt = position
        while key in used:
            key = release_key(title, basis + "\x1f" + str(salt))
            salt += 1
    used.add(key)
    return key
