"""One release in several languages inside one listing (issue 17 item 2). Pure.

Offices that publish in several languages often list a release and then its versions, one after
the other: the English release, then the same release in French, then in Turkish. No front matter
says so; what says so is evidence a reader would use too:

- the languages differ (required: two releases in one language are two releases);
- they stand next to each other in the file, and no item between them (required);
- they carry the same stated date (two stated dates that differ: never one release);
- they share the anchors that do not change with the language: numbers, URLs, e-mail
  addresses, proper names and acronyms written with a capital, the place. A translation shares most
  of the anchors of its shorter version (`ANCHOR_SHARE`, measured against the smaller set, as
  an Arabic or a Turkish text writes fewer names with a capital than an English one), and at least
  `MIN_SHARED` of them, so a place and the office's name alone never make two releases one.
  What recurs in two releases of one language in the file (a contact, a phone number, the
  office's website and city) is the office's boilerplate and is not counted.

A release whose file states `translation_of:` is left out: what the office states wins over what
is guessed. Nothing here reaches across files: each listing is decided alone, and the result is
each grouped release's slot, the position of its group's first release in that listing.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import unicodedata
from collections import Counter
from collections.abc import Sequence

# At least this share of the smaller anchor set must be found in the other version.
ANCHOR_SHARE = 0.5
# ... and more when either version states no date (nothing else then says they are the same day).
ANCHOR_SHARE_UNDATED = 0.7
# At least this many anchors shared: the place and the office's acronym are what any two releases
# of one office on one day may share; a third is the text's own.
MIN_SHARED = 3

_URL = re.compile(r"(?:https?://|www\.)[^\s<>\"'()]+", re.IGNORECASE)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# Digits of any script with their thousands marks (each before three digits) and a decimal part:
# `1,200`, `1.200`, `1 200`, `3,5`, `٣٥`; the marks are dropped, so every spelling is one token.
_NUMBER = re.compile(r"\d+(?:[.,\u00a0\u202f ]\d{3}(?!\d))*(?:[.,]\d+)?")
# A word with a capital first letter, apostrophes kept so `d'Ankara` and `Van'da` can be cut.
_CAPITALISED = re.compile(r"[^\W\d_][\w’'-]*")
_SENTENCE_END = re.compile(r"[.!?:;…«»\"“”(\[–—-]\s*$")
_ELISION = frozenset({"l", "d", "qu", "j", "n", "s", "c", "m", "t", "lorsqu", "jusqu", "puisqu"})


@dataclasses.dataclass(frozen=True, slots=True)
class ListedRelease:
    """What a listing says of one of its releases, as this rule reads it."""

    position: int  # its position in the listing (0 is the first)
    language: str | None  # stated or identified (languages.identify)
    date: dt.date | None
    location: str | None
    title: str
    paragraphs: tuple[str, ...]
    links: tuple[str, ...] = ()  # hrefs of the body's links (HTML listings)
    translation_of: str | None = None  # stated: this release is linked as stated, never guessed


@dataclasses.dataclass(frozen=True, slots=True)
class Evidence:
    """How alike two neighbouring releases are, and whether that makes them one release."""

    languages_differ: bool
    dates: str  # "same", "differ" or "unknown" (either states none)
    shared: int  # anchors found in both
    share: float  # shared / the smaller anchor set

    @property
    def same_release(self) -> bool:
        if not self.languages_differ or self.dates == "differ" or self.shared < MIN_SHARED:
            return False
        return self.share >= (ANCHOR_SHARE if self.dates == "same" else ANCHOR_SHARE_UNDATED)


def _fold(word: str) -> str:
    # Accents and dotless i folded, so `Şanlıurfa`, `Sanliurfa` and `ŞANLIURFA` are one name.
    text = unicodedata.normalize("NFKD", word.replace("ı", "i").replace("İ", "I"))
    return "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()


def _name(word: str) -> str | None:
    """A capitalised word as a name: French elision cut before it, Turkish suffixes after it."""
    parts = re.split(r"[’']", word)
    if len(parts) > 1 and parts[0].casefold() in _ELISION:
        parts = parts[1:]
    core = parts[0].strip("-")
    if len(core) < 2 or not core[:1].isupper():
        return None
    return "w:" + _fold(core)


def _number(text: str) -> str:
    digits = "".join(str(unicodedata.digit(ch)) for ch in text if ch.isdigit())
    return "n:" + (digits.lstrip("0") or "0")


def anchors(release: ListedRelease) -> frozenset[str]:
    """The tokens a release keeps in any language: numbers, URLs, e-mail addresses, names, place.

    The year and day of its own date are left out: they are the date's evidence, not the text's.
    """
    out: set[str] = set()
    texts = (release.title, *release.paragraphs)
    for text in texts:
        rest = text
        for m in _URL.finditer(text):
            out.add("u:" + _fold(m.group().rstrip(".,;:!?").split("://", 1)[-1].removeprefix("www.").rstrip("/")))
        rest = _URL.sub(" ", rest)
        for m in _EMAIL.finditer(rest):
            out.add("e:" + m.group().casefold())
        rest = _EMAIL.sub(" ", rest)
        for m in _NUMBER.finditer(rest):
            out.add(_number(m.group()))
        sentence_start = True
        pos = 0
        for m in _CAPITALISED.finditer(rest):
            before = rest[pos:m.start()]
            pos = m.end()
            # A sentence's first word is capitalised in any case: a name only if written in capitals.
            starts = sentence_start or bool(_SENTENCE_END.search(before))
            sentence_start = False
            word = m.group()
            if starts and not (len(word) > 1 and word.isupper()):
                continue
            name = _name(word)
            if name is not None:
                out.add(name)
    for href in release.links:
        if href.casefold().startswith("mailto:"):
            out.add("e:" + href[7:].split("?", 1)[0].casefold())
        else:
            out.add("u:" + _fold(href.split("://", 1)[-1].removeprefix("www.").rstrip("/")))
    if release.location:
        out |= {n for n in (_name(w) for w in _CAPITALISED.findall(release.location)) if n}
    if release.date is not None:
        out -= {_number(str(release.date.year)), _number(str(release.date.day))}
    return frozenset(out)


def evidence(a: ListedRelease, b: ListedRelease, anchors_a: frozenset[str] | None = None,
             anchors_b: frozenset[str] | None = None) -> Evidence:
    """How alike `a` and `b` are (anchor sets given when already computed)."""
    left = anchors(a) if anchors_a is None else anchors_a
    right = anchors(b) if anchors_b is None else anchors_b
    shared = len(left & right)
    smaller = min(len(left), len(right))
    dates = "unknown" if a.date is None or b.date is None else ("same" if a.date == b.date else "differ")
    return Evidence(languages_differ=bool(a.language and b.language and a.language != b.language),
                    dates=dates, shared=shared, share=shared / smaller if smaller else 0.0)


def listed_translations(releases: Sequence[ListedRelease]) -> dict[int, int]:
    """position → slot (its group's first position) of the releases that are one release in several languages.

    `releases` are one listing's, in its order. A release joins the group of the one just before
    it when its language is none of the group's and the evidence says it is the same release as
    one of them; otherwise it starts a group of its own. Releases left alone are not in the result.
    """
    found = [anchors(r) for r in releases]
    # What two releases in one language of this file both carry is the office's own (its contact,
    # phone, address, website, city), not a release's: left out, or any two releases of the office
    # would look alike. A release and its translation are never two releases in one language.
    seen = Counter((r.language, a) for r, mine in zip(releases, found, strict=True) for a in mine)
    boilerplate = {a for (_, a), n in seen.items() if n > 1}
    groups: list[list[tuple[ListedRelease, frozenset[str]]]] = []
    for r, all_mine in zip(releases, found, strict=True):
        mine = all_mine - boilerplate
        group = groups[-1] if groups else None
        if (r.translation_of is None and group is not None and r.language
                and all(m.language != r.language for m, _ in group)
                and any(evidence(m, r, theirs, mine).same_release for m, theirs in group)):
            group.append((r, mine))
        else:
            # One stating `translation_of` stands alone here (what it states links it: languages.py),
            # and breaks the run: the releases on either side of it are not neighbours.
            groups.append([(r, mine)] if r.translation_of is None else [])
    return {m.position: group[0][0].position for group in groups if len(group) > 1 for m, _ in group}
