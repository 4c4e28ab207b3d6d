"""Bylines: `By NAME, ROLE`, `By NAME | DATE`, `Posted on DATE by NAME`, `Opinion | NAME | DATE`."""

from __future__ import annotations

import datetime as dt
import re
from typing import Final

from feedsvc.parsing.dates import read_date_line

_BYLINE: Final = re.compile(
    r"(?:By|BY|by|Par|PAR|Por|POR|Von|VON|Di|DI|di|Door|DOOR|door|Posted\s+by|Written\s+by|Words\s+by|Publié\s+par|Publicado\s+por|"
    # Author fields: `Author: Grace Otieno`, `Autorin: …`, `Yazar: …`
    r"Authors?|AUTHORS?|Autor(?:in|a)?|Auteure?|Yazar|Yazan):?\s+(?P<rest>\S.*)"
)
# `Posted by Tom Ellery on April 9, 2021`, `Par Anne Roux le 3 mai 2021`
# `Posted on April 22, 2021 by Hannah Oduya`
POSTED_ON_BY: Final = re.compile(r"(?:posted|published|publié|publicado)\s+(?:on|le|el)\s+(?P<date>.+?)\s+(?:by|par|por)\s+(?P<name>.+)", re.IGNORECASE)
_DATE_BY: Final = re.compile(r"(?P<date>[^|]{6,40}?)\s+by\s+(?P<name>.+?)(?:\s+in\s+[^|]{1,40})?")
# `Opinion | Grace Otieno | 12 May 2021`: an opinion page's meta line names the author.
OPINION_WORDS: Final = frozenset(["opinion", "op-ed", "oped", "commentary", "column", "blog", "analysis", "editorial", "comment"])
_OPINION_META: Final = re.compile(r"(?i:opinion|op-ed|oped|commentary|column|blog|analysis|editorial|comment)\s*[|·]\s*.+")
META_PARTS: Final = re.compile(r"\s*[|·]\s*")
_BYLINE_ON: Final = re.compile(r"(?P<name>.+?)(?:\s+(?:on|le|el|am)|\s*,)\s+(?P<date>[^,]*\d.*)")  # `By NAME, 2 June 2021` too
# `By LINDA BURNEY | 25 October 2019`: a byline and the piece's date on one line.
_BYLINE_DATE: Final = re.compile(r"(?P<name>.+?)\s+[|·/]\s+(?P<date>[^|·/]+)")  # `BY NAME / SEPTEMBER 18, 2017` too
_NAME_END: Final = re.compile(r"\s*(?:[,|;(/]|\s[–—-]\s)")
_NAME_PARTICLES: Final = frozenset(["de", "da", "das", "do", "dos", "du", "van", "von", "der", "den", "la", "le", "al", "el", "bin", "ibn"])
# Role words end a name when the byline has no comma (`By Amy Pope IOM Deputy Director`).
_ROLE_WORDS: Final = frozenset(
    ["director", "deputy", "chief", "head", "minister", "president", "secretary", "ambassador", "representative", "coordinator", "officer", "spokesperson", "spokesman", "spokeswoman", "envoy", "commissioner", "chair", "manager", "advisor", "adviser", "professor", "dr"]
)
_NOT_NAMES: Final = frozenset(
    ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november", "december", "land", "sea", "air", "road"]
)
_GIVEN_NAME_MONTHS: Final = frozenset(["april", "may", "june", "august"])
# A poster named by these is an office (`Secretaría General`, `Press Office`), not an author.
_OFFICE_WORDS: Final = frozenset(
    ["office", "department", "secretariat", "team", "staff", "desk", "unit", "communications", "newsroom", "admin", "administrator", "webmaster", "editor", "editors", "oficina", "departamento", "secretaría", "secretaria", "comunicación", "prensa", "redacción", "equipo", "gabinete", "bureau", "service", "secrétariat", "rédaction", "équipe", "pressestelle", "redaktion", "abteilung", "referat", "basın", "birimi", "müdürlüğü"]
)


def read_byline(text: str) -> tuple[str, dt.date | None] | None:
    """(author, date) of `By NAME, ROLE` or `By NAME | 25 October 2019`; None for other lines."""
    if len(text) > 200:
        return None
    dated = _DATE_BY.fullmatch(text) if " by " in text else None
    if dated is not None:
        # WordPress: `March 3, 2021 by Tomas Ekwueme in Commentary`
        found = read_date_line(dated.group("date"))
        author = parse_byline("By " + dated.group("name")) if found is not None else None
        if author is not None and found is not None:
            return author, found[0]  # (no day when the month is misspelt: `Marhc 24, 2021 by …`)
    if text[:1] not in "BbPpWOoCcVAYDd" and not (text[:1].isupper() and "," in text):
        return None
    date: dt.date | None = None
    posted = POSTED_ON_BY.fullmatch(text) if text[:1] in "Pp" else None
    if posted is not None:
        found = read_date_line(posted.group("date"))
        author = parse_byline("By " + posted.group("name"))
        return None if found is None or author is None else (author, found[0])
    meta = _OPINION_META.fullmatch(text) if ("|" in text or "·" in text) else None
    if meta is not None:
        parts = [part.strip() for part in META_PARTS.split(text)]
        found = next((f for part in parts if (f := read_date_line(part)) is not None), None)
        # A part with digits is the date, read or not (`12 Marhc 2019`): never a name.
        names = [part for part in parts if not any(ch.isdigit() for ch in part) and part.casefold() not in OPINION_WORDS]
        author = parse_byline("By " + names[0]) if len(names) == 1 else None
        return None if author is None else (author, found[0] if found else None)
    if _BYLINE.match(text) is None:
        return _capitals_and_role(text)  # every other form opens with `By`, `Par`, `Posted by`…
    split = _BYLINE_DATE.fullmatch(text) or _BYLINE_ON.fullmatch(text)
    if split is not None:
        found = read_date_line(split.group("date").strip())
        if found is not None or any(ch.isdigit() for ch in split.group("date")):
            # A date-shaped part that names no real day (`9 Apil 2020`) is no date.
            text = split.group("name")
            date = found[0] if found is not None else None
    author = parse_byline(text)
    return None if author is None else (author, date)


# `JOANNA PRZYBYLSKA, Senior Fellow`: a name in capitals, a comma, the author's role.
_CAPITALS_ROLE: Final = re.compile(r"(?P<name>[^\W\d_a-z][^,\d]{3,60}?),\s+(?P<role>[^\W\d][^\d|]{2,80})")
_ROLE_LINE_WORDS: Final = _ROLE_WORDS | frozenset(
    ["fellow", "fellows", "researcher", "researchers", "analyst", "analysts", "economist", "economists", "specialist",
     "specialists", "associate", "lead", "professor", "professors", "founder", "co-founder", "executive", "expert",
     "experts", "consultant", "lecturer", "directors", "advisers", "advisors", "scientist", "journalist", "author"])


def _capitals_and_role(text: str) -> tuple[str, dt.date | None] | None:
    match = _CAPITALS_ROLE.fullmatch(text) if len(text) <= 140 and "," in text else None
    if match is None or text.endswith("."):
        return None
    name = match.group("name")
    if any(ch.islower() for ch in name) or not any(
            word.strip("(),").casefold() in _ROLE_LINE_WORDS for word in match.group("role").split()):
        return None
    author = parse_byline("By " + name)
    return None if author is None else (author, None)


# What joins two authors' names: `By A B and C D`, `Por A B y C D`, `Par A B et C D`.
_AND: Final = frozenset(["and", "&", "y", "et", "und", "e"])
_AND_SPLIT: Final = re.compile(r"\s+(?:" + "|".join(map(re.escape, sorted(_AND))) + r")\s+")


def parse_byline(text: str) -> str | None:
    """The author of a `By NAME, ROLE` line, or None when the line is not a byline."""
    if len(text) > 200 or _BYLINE.match(text) is None:
        return None
    match = _BYLINE.fullmatch(text)
    if match is None:
        return None
    rest = match.group("rest")
    end = _NAME_END.search(rest)
    words = (rest[: end.start()] if end else rest).split()
    kept: list[str] = []
    part = 0  # words of the name being read: a second one starts after `and`
    for word in words:
        low = word.casefold()
        # A role or an agency's acronym ends a name of two words or more, so a second name is
        # read whole (`By PETER NGUYEN and ANNA KOWALSKI`); in a name printed in capitals every
        # word looks like an acronym, so there only a role ends it (`Por ANA BELÉN ROMERO`).
        if part >= 2 and (low in _ROLE_WORDS or (_is_acronym(word) and not all(w.isupper() for w in kept[-part:]))):
            break
        kept.append(word)
        part = 0 if word in _AND else part + 1
    if len(kept) > 8:
        return None
    names = _AND_SPLIT.split(" ".join(kept))
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
    first = words[0].casefold()
    # `By June Alvarez`: four months are given names too; then a surname follows, and no more
    # than one word after it (`By June Next Year Millions …` is a headline).
    named = first not in _NOT_NAMES or (
        first in _GIVEN_NAME_MONTHS and 2 <= len(words) <= 3 and words[1].casefold() not in _NOT_NAMES)
    return capitals >= 2 and named and not any(word.casefold() in _OFFICE_WORDS for word in words)


def _is_acronym(word: str) -> bool:
    return len(word) >= 2 and word.isupper() and word.isalpha()
