"""Dates as press-release listings write them, in the languages offices publish in.

Month and weekday names come from Babel's CLDR data, so `14 de febrero de 2002`,
`AMMAN, le 20 février 2018`, `3. März 2021` and `15 Kasım 2022` read like
`26 November 2014`. Numeric dates (`09/23/2020`, `26. 01. 2022`, `02.06.2023`) are
read day first or month first by the habit of their separator unless a number
over 12 settles it.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from typing import Any, Final

# Languages whose month names a listing may use. CLDR's Catalan forms carry their
# article (`de gener`), so Catalan is left out rather than matched half-way.
_LOCALES: Final = ("en", "fr", "es", "de", "de_AT", "it", "pt", "nl", "tr", "pl", "sv", "da", "nb", "ro", "id", "ar", "ar_SY", "ru", "uk")


# Built on first use, then shared. Plain lists, not functools.lru_cache: compiled code calls a
# cached function through Python's generic call, at every date line.
_NAMES: Final[list[tuple[dict[str, int], str, str]]] = []
_PATTERNS: Final[list[dict[str, re.Pattern[str]]]] = []


def _names() -> tuple[dict[str, int], str, str]:
    """(month name → number, month alternation, weekday alternation) for every locale."""
    if not _NAMES:
        _NAMES.append(_read_names())  # two threads may both build it: the same value, the first one kept
    return _NAMES[0]


def _read_names() -> tuple[dict[str, int], str, str]:
    from babel import Locale

    months: dict[str, int] = {}
    spelled: set[str] = set()  # as CLDR writes them, for the pattern (`kasım` has a dotless i)
    weekdays: set[str] = set()
    for code in _LOCALES:
        locale = Locale.parse(code)
        for context in ("format", "stand-alone"):
            for width in ("wide", "abbreviated"):
                for number, name in locale.months[context][width].items():
                    key = fold_name(name).rstrip(".")
                    # Two-letter abbreviations (`ag`) match too many ordinary words.
                    if len(key) >= 3:  # Levantine Arabic `كانون الثاني` has a space
                        months.setdefault(key, number)
                        spelled.update((key, name.lower().rstrip(".")))
                for name in locale.days[context][width].values():
                    key = name.lower().rstrip(".")
                    if len(key) >= 3 and " " not in key:
                        weekdays.update((key, fold_name(key)))
    # Forms CLDR's locales lack: `Sept. 3`, the commonest English one; `setiembre`, September in
    # Peru, Paraguay and Uruguay (in the RAE's dictionary beside `septiembre`).
    for name, number in (("sept", 9), ("setiembre", 9)):
        months.setdefault(name, number)
        spelled.add(name)
    return months, trie_alternation(spelled), trie_alternation(weekdays)


def trie_alternation(words: set[str]) -> str:
    """A regular expression matching any of `words` (a space in one matches any run of spaces).

    Written as a tree of shared prefixes, so the engine compares a name's letters once rather
    than trying two hundred names one after the other at every position. At each branch the
    longer continuations come first and the name that ends there last: the names a text can
    match at one position are prefixes of one another, so they are tried longest first, as a
    flat alternation sorted by length tries them.
    """
    trie: dict[str, Any] = {}
    for word in words:
        node = trie
        for token in (r"\s+" if ch == " " else re.escape(ch) for ch in word):
            node = node.setdefault(token, {})
        node[""] = {}
    return _trie_pattern(trie)


def _trie_pattern(node: dict[str, Any]) -> str:
    branches = [token + _trie_pattern(child) for token, child in node.items() if token]
    ends = "" in node
    if not branches:
        return ""
    if len(branches) == 1 and not ends:
        return branches[0]
    return "(?:" + "|".join(branches) + ("|" if ends else "") + ")"


def fold_name(text: str) -> str:
    """A name folded for lookups (months, places): case and the Turkish i's folded alike."""
    # Turkish capitals fold oddly (`İ` to `i` + a combining dot, `KASIM` to `kasim`
    # where CLDR has `kasım`): every i is one letter for lookups.
    return text.replace("İ", "i").casefold().replace("ı", "i").replace("\u0307", "")


_ORD: Final = r"(?:st|nd|rd|th|er|re|º|°|\.)?"


# `Published` and `Updated` in languages that write the day before the month (date-line
# prefixes here, and what settles a page's numeric dates in numeric_order).
_PUBLISHED_ELSEWHERE: Final = (
    r"publié|publicado|pubblicato|gepubliceerd|veröffentlicht|mis\s+à\s+jour|atualizado|actualizado|aggiornato|"
    r"bijgewerkt|aktualisiert"
)


def _patterns() -> dict[str, re.Pattern[str]]:
    if not _PATTERNS:
        _PATTERNS.append(_build_patterns())
    return _PATTERNS[0]


def _build_patterns() -> dict[str, re.Pattern[str]]:
    _, month, weekday = _names()
    wd = rf"(?:\b(?:{weekday})\.?,?\s+)?"
    de = r"(?:\s+(?:de|del|of)\s+|\s*,?\s+|\s*\.\s*)"  # `14 de febrero de`, `3. März`, `3 May`
    body = (
        r"(?:" + wd + r"(?:\ble\s+)?(?:"
        rf"(?P<d1>\d{{1,2}}){_ORD}{de}(?P<m1>{month})\.?(?:(?:\s+de\s+|,?\s+)(?P<y1>\d{{4}})(?:\s?[гр]\.|\s+року|\s+года)?)?"
        rf"|\b(?P<m2>{month})\.?\s+(?P<d2>\d{{1,2}}){_ORD},?(?:\s+(?P<y2>\d{{4}}))?"
        r"|(?P<y3>\d{4})-(?P<m3>\d{1,2})-(?P<d3>\d{1,2})"
        r"|(?P<a4>\d{1,2})\s?(?P<s4>[/.\-])\s?(?P<b4>\d{1,2})\s?(?P=s4)\s?(?P<y4>\d{4})"
        r"))"
    )
    # `Published on`, `Publicado em`, `Pubblicato il`, `Gepubliceerd op`; and the same pages'
    # `Updated` lines (`Atualizado em`, `Mis à jour le`), which is_updated_line tells apart.
    prefix = (
        r"(?:(?:(?:first\s+|last\s+)?(?:posted|published|updated|modified)|released|issued|dated?|"
        + _PUBLISHED_ELSEWHERE + r")(?:\s+(?:on|le|el|em|il|op|am))?\s*:?\s*)?"
    )
    time = (
        r"(?:\s*[,|·-]?\s*(?:at\s+|à\s+|às\s+|alle\s+|ore\s+|a\s+las\s+|om\s+|um\s+|-\s+)?\d{1,2}[:.h]\d{2}(?::\d{2})?(?:\s*[ap]\.?m\.?)?"
        r"(?:\s*(?:GMT|UTC|CET|CEST|EST|EDT|BST|[+-]\d{2}:?\d{2}))?(?:\s*(?:Uhr))?)?"
    )
    flags = re.IGNORECASE
    # `15 Mart 2023 Çarşamba`: Turkish pages put the weekday after the date.
    time = time + rf"(?:\s*,?\s*(?:{weekday})\.?)?"
    return {
        "line": re.compile(r"\s*(?P<pre>" + prefix + r")" + body + time + r"\s*(?:[-–—]\s*)?", flags),  # `- 14 March 2002 -`
        # A short tag glued before the date: `Communiqués 02.06.2023`, `Sudan26. 01. 2022`.
        "tagged": re.compile(r"(?P<tag>[^\d|·]{1,40}?)\s*[|·:–-]?\s*" + body + time + r"\s*", flags),
        "head_first": re.compile(r"\(?" + body + r"\)?\s*[,/]?\s*(?P<rest>.*)", flags),
        "head_last": re.compile(r"(?P<rest>.*?)\s*[,/(]?\s*" + body + r"\)?", flags),
        "title": re.compile(
            r"(?P<title>.*?\S)(?:\s*[(\[]|\s+[|–—]\s+)" + body + r"[)\]]?", flags
        ),
        "anywhere": re.compile(body, flags),
    }


_MAX_DATE_LINE: Final = 70
_MAX_META_LINE: Final = 220  # `Source: <a long office> | Posted: 18 Mar 2019 | Country: Malawi, Mozambique`
_META_SPLIT: Final = re.compile(r"\s+[|·]\s+")
_DIGIT: Final = re.compile(r"\d")
# The look-behind after the first digit, not before it: a pattern that opens with a digit lets
# the engine skip to digits, which makes a search over a whole page three times faster.
YEAR: Final = re.compile(r"\d(?<!\d\d)\d{3}(?!\d)")
_UPDATED: Final = re.compile(
    r"\s*(?:(?:last\s+)?(?:updated|modified)\b|last\s+update\b|(?:derni[èe]re\s+)?mise?\s+à\s+jour|"
    r"[úu]ltima\s+actualizaci[óo]n|letzte\s+aktualisierung|son\s+g[üu]ncelleme|atualizad[oa]\b|actualizad[oa]\b|aggiornat[oa]\b|"
    r"bijgewerkt\b|(?:zuletzt\s+)?aktualisiert\b)",
    re.IGNORECASE,
)
# A tag before a date is a label, not the end of a sentence (`Elections on 3 May`).
_TAG_END_WORDS: Final = frozenset(
    ["on", "of", "in", "at", "by", "to", "from", "for", "and", "the", "le", "la", "les", "du", "des", "de", "el", "en", "am", "im", "um", "vom", "zum", "since", "until", "till", "before", "after", "during"]
)


# Not preceded by a digit, checked after the first one (see YEAR).
_NUMERIC: Final = re.compile(r"(\d(?<!\d\d)\d?)\s?([/.-])\s?(\d{1,2})\s?\2\s?\d{4}(?!\d)")


# `Publié le`, `Publicado el`, `Veröffentlicht am` before a numeric date: a page in a language
# that writes the day first (only the US writes the month first).
_DAY_FIRST_CUE: Final = re.compile(
    r"(?:" + _PUBLISHED_ELSEWHERE + r"|publi[ée]e?|publicada|pubblicata|veroffentlicht|atualizada|actualizada|"
    r"aggiornata|yay[ıi]nlanma(?:\s+tarihi)?|opublikowano|publicerad|udgivet|publisert|publicat|diterbitkan)"
    r"\s*(?:le|el|em|il|op|am|den|på)?\s*:?\s*\d{1,2}\s?/",
    re.IGNORECASE)


def numeric_order(text: str) -> str | None:
    """How a page writes numeric dates, when one of them settles it: "dmy", "mdy" or None.

    `05/03/2021` alone is a coin flip; beside `17/03/2021` on the same page it is 5 March.
    """
    day_first = month_first = slashed = False
    for match in _NUMERIC.finditer(text):
        first, second = int(match.group(1)), int(match.group(3))
        day_first |= first > 12 >= second
        month_first |= second > 12 >= first
        slashed |= match.group(2) == "/"
    if day_first != month_first:
        return "dmy" if day_first else "mdy"
    if slashed and not day_first and _DAY_FIRST_CUE.search(text) is not None:
        return "dmy"  # `Publié le 12/03/2024`: pages in these languages write the day first
    return None


def parse_date_line(text: str) -> dt.date | None:
    """The date a whole line states (`18 December 2019`, `Posted on: 06/28/2019`), else None."""
    found = read_date_line(text)
    return found[0] if found is not None else None


def read_date_line(text: str, order: str | None = None) -> tuple[dt.date | None, str | None] | None:
    """(date, tag) for a line that is a date, maybe after a short tag (`Communiqués 02.06.2023`).

    The date is None when the line has the shape of a date but names no valid day
    (`31 June 2020`, no year); None as a whole when the line is not a date line.
    """
    # A date line names its year: the cheap test rules out nearly every other line.
    if len(text) > _MAX_DATE_LINE or YEAR.search(text) is None:
        return None
    patterns = _patterns()
    match = patterns["line"].fullmatch(text)
    if match is not None:
        return _to_date(match, order), None
    match = patterns["tagged"].fullmatch(text)
    if match is None:
        # `Monday, 13 Febuary 2023`: a date line whose month is misspelt names no day, but it is
        # the release's date line all the same.
        return (None, None) if _misspelt_date(text) else None
    tag = match.group("tag").strip(" |·:–-")
    words = tag.split()
    if not tag or len(words) > 4 or not tag[0].isalpha() or tag.endswith(","):
        return None
    if words[-1].casefold() in _TAG_END_WORDS or any(ch in tag for ch in ".!?;"):
        return None
    return _to_date(match, order), tag


_MONTHS_EN: Final = ("january", "february", "march", "april", "may", "june", "july", "august", "september",
              "october", "november", "december")
_WEEKDAYS_EN: Final = r"(?:(?:mon|tues?|wed(?:nes)?|thu(?:rs)?|fri|sat(?:ur)?|sun)(?:day)?\.?,?\s+)?"
_MISSPELT: Final = re.compile(
    _WEEKDAYS_EN + r"(?:\d{1,2}(?:st|nd|rd|th)?\s+(?P<a>[a-z]{3,10})\.?|(?P<b>[a-z]{3,10})\.?\s+\d{1,2}(?:st|nd|rd|th)?),?\s+(?:19|20)\d\d",
    re.IGNORECASE,
)


def _misspelt_date(text: str) -> bool:
    """`9 Apil 2020`, `Marhc 24, 2021`: a day and a year around a word a letter or two off a month's name."""
    match = _MISSPELT.fullmatch(text) if len(text) <= 40 else None
    if match is None:
        return False
    word = (match.group("a") or match.group("b")).casefold()
    return word not in _MONTHS_EN and bool(difflib.get_close_matches(word, _MONTHS_EN, n=1, cutoff=0.75))


def is_month_heading(text: str) -> bool:
    """`Febrero 2002`, `March 2021`: a heading grouping a month's releases, not a date line."""
    if len(text) > 30 or YEAR.search(text) is None:
        return False
    return re.fullmatch(rf"(?:{_names()[1]})\.?,?\s+(?:de\s+)?\d{{4}}", text.strip(), re.IGNORECASE) is not None


def is_updated_line(text: str) -> bool:
    """`Last updated Saturday December 22, 2001`: a page's own date, not a release's.

    `Last updated: 9 March 2021 | First published: 5 March 2021` also states when the
    release came out: that line is the release's date line.
    """
    if _UPDATED.match(text) is None:
        return False
    parts = _META_SPLIT.split(text) if ("|" in text or "·" in text) else ()
    return not any(_UPDATED.match(part) is None and parse_date_line(part) is not None for part in parts)


# `19 March 2019 | Published in The Jakarta Post`: where an op-ed first ran.
_PUBLISHED_IN: Final = re.compile(r"(?:first\s+|originally\s+)?(?:published|appeared)\s+(?:in|on|by)\s+\S.{0,60}", re.IGNORECASE)
_FIELD: Final = re.compile(r"[^\W\d_][\w-]*(?:\s[\w-]+)?\s*:\s")


def parse_meta_line(text: str) -> dt.date | None:
    """The date of a date line with short labels beside it: `18 December 2019 | Geneva`, `News | 3 Dec 2019`.

    Of a publication and an update date on one line, the publication's is the release's.
    """
    if len(text) > _MAX_META_LINE or ("|" not in text and "·" not in text):
        return None
    parts = [part.strip() for part in _META_SPLIT.split(text)]
    if len(parts) > 3:
        return None
    found: dt.date | None = None
    found_updated = False
    for part in parts:
        date = parse_date_line(part) if found is None or found_updated else None
        if date is not None:
            updated = _UPDATED.match(part) is not None
            if found is None or not updated:
                found, found_updated = date, updated
        elif not part or part.endswith(".") or (len(part.split()) > (16 if _FIELD.match(part) else 3)
                                                 and _PUBLISHED_IN.fullmatch(part) is None):
            # Beside a date, a label is short (`Geneva`, `Press release`) or a field (`Source: …`, which
            # may name a long office); four words or more unlabelled are a title (`Mar 05, 2024 | Annual
            # report published`).
            return None
    return found


def split_title_date(text: str) -> tuple[str, dt.date | None]:
    """A title with its date beside it (`Title (12/18/2019)`, `Title | 18 Dec 2019`,
    `12 April 2022 — Title`) split in two."""
    leading = _leading_date(text)
    if leading is not None:
        return leading
    if _DIGIT.search(text[-12:]) is None:
        return text, None
    match = _patterns()["title"].fullmatch(text)
    if match is None:
        return text, None
    date = _to_date(match)
    if date is None or not match.group("title"):
        return text, None
    return match.group("title"), date


_LEAD_SEPARATOR: Final = re.compile(r"\s*(?:[—–|:]|-{1,2})\s+")


def _leading_date(text: str) -> tuple[str, dt.date] | None:
    """`12 April 2022 — Community water points restored`: the date, then the title."""
    if not text[:1].isalnum() or YEAR.search(text[:40]) is None:
        return None
    for separator in _LEAD_SEPARATOR.finditer(text, 0, 60):
        found = read_date_line(text[: separator.start()])
        if found is not None and found[0] is not None and found[1] is None:
            title = text[separator.end():].strip()
            return (title, found[0]) if title else None
    return None


def split_head_date(head: str) -> tuple[str, dt.date | None, bool]:
    """Split a dateline head into (place, date, found) for `17 May 2018, Ankara` or `Ankara, 17 May 2018`.

    `found` is true when a date expression was removed even if it names no year (so no date).
    """
    if _DIGIT.search(head) is None:
        return head, None, False
    patterns = _patterns()
    for name in ("head_first", "head_last"):
        match = patterns[name].fullmatch(head)
        if match is not None:
            rest = match.group("rest").strip(" ,")
            # `Paris, le 26 mai`, `Berlin, den 5. März`: the article belongs to the date.
            words = rest.split()
            if words and words[-1].casefold() in ("le", "el", "den", "am", "il", "o"):
                rest = " ".join(words[:-1]).strip(" ,،")
            return rest, _to_date(match), True
    return head, None, False


def has_full_date(text: str) -> bool:
    """Whether a day, month and year appear somewhere in the text."""
    if YEAR.search(text) is None:
        return False
    return any(_to_date(m) is not None for m in _patterns()["anywhere"].finditer(text))


def _to_date(match: re.Match[str], order: str | None = None) -> dt.date | None:
    groups = match.groupdict()
    months = _names()[0]
    try:
        if groups["m1"]:
            return _make(groups["y1"], months[_month_key(groups["m1"])], groups["d1"])
        if groups["m2"]:
            return _make(groups["y2"], months[_month_key(groups["m2"])], groups["d2"])
        if groups["y3"]:
            return _make(groups["y3"], int(groups["m3"]), groups["d3"])
        first, second = int(groups["a4"]), int(groups["b4"])
    except KeyError:
        return None
    # Day-month order: a first number over 12 can only be a day; dots and hyphens are
    # European (day first); slashes follow the US habit, month first, unless the
    # second number cannot be a month.
    if first > 12 or second > 12:
        day, month = (first, second) if first > 12 else (second, first)
    elif order is not None:
        day, month = (first, second) if order == "dmy" else (second, first)
    elif groups["s4"] in ".-":
        day, month = first, second
    else:
        month, day = first, second
    return _make(groups["y4"], month, str(day))


def _month_key(name: str) -> str:
    return " ".join(fold_name(name).rstrip(".").split())


def _make(year: str | None, month: int, day: str) -> dt.date | None:
    if year is None:
        return None
    try:
        return dt.date(int(year), month, int(day))
    except ValueError:
        return None


def parse_date_value(value: object) -> dt.date | None:
    """A front-matter date: a YAML date/datetime or a string in any date-line form."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        text = value.strip()
        found = parse_date_line(text)
        if found is None and "T" in text:
            found = parse_date_line(text.split("T", 1)[0])
        return found
    return None
