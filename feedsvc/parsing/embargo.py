"""Embargo lines (`EMBARGOED UNTIL 09:00 GMT, 2 December 2026`) and front-matter values, read
into an `Embargo`: the stated date and time, aware when a zone was written (issue 17 item 1).

Reading errs late, never early: what cannot be read holds the release (the office is warned and
fixes the line); an abbreviation with several meanings is read as the latest instant it can
mean; a bare `midnight` is the end of the day it names.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import zoneinfo
from typing import Final

from feedsvc.model import Embargo
from feedsvc.parsing.dates import parse_date_line

# A line that says it is an embargo: `Embargoed until …`, `Under embargo until …`, `EMBARGO: …`.
# The colon form only with a digit after it, so a title such as `Embargo: the case against`
# is not taken for one; `until` takes anything (`until delivery` is an embargo we cannot read).
_LINE: Final = re.compile(
    r"[\W_]*(?:strictly\s+)?(?:under\s+)?embargo(?:ed)?\s*"
    r"(?:(?:until|till|til|to)\b\s*:?|:(?=.*\d))\s*(?P<rest>.*)", re.IGNORECASE)
_MAX_LINE: Final = 160
# The same words before a front-matter value are allowed and skipped.
_PREFIX: Final = re.compile(r"\s*(?:strictly\s+)?(?:under\s+)?embargo(?:ed)?\s*(?:until|till|til|to)?\b\s*:?\s*",
                     re.IGNORECASE)

_ISO: Final = re.compile(r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?)?\s*(?:Z|[+-]\d{2}:?\d{2})?")
# A time of day, not part of a numeric date (`02.12.2026` holds no 02:12).
_TIME: Final = re.compile(
    r"(?<![\d./+-])(?:"
    r"(?P<h1>\d{1,2})(?:[:.h](?P<m1>\d{2}))?\s*(?P<ap>[ap])\.?\s?m\b\.?"  # 9am, 9.30 p.m.
    r"|(?P<h2>\d{1,2})[:h](?P<m2>\d{2})(?::(?P<s2>\d{2}))?(?!\d)"  # 09:00, 9h00, 09:00:30
    r"|(?P<h3>\d{1,2})\.(?P<m3>\d{2})(?![\d./-])"  # 09.00
    r"|(?P<h4>[0-2]\d)(?P<m4>[0-5]\d)\s*(?:hrs|hours|h)\b"  # 0900 hrs
    r"|(?P<word>midnight|noon|midday)"
    r")", re.IGNORECASE)
# `UTC+1`, `GMT -05:00`; a bare offset only as `+01:00` or `-0500` (a lone `-` separates dates too).
_NAMED_OFFSET: Final = re.compile(r"\b(?:UTC|GMT)\s?(?P<sign>[+\-])(?P<h>\d{1,2})(?::?(?P<m>\d{2}))?(?!\d)")
_BARE_OFFSET: Final = re.compile(r"\s*(?P<sign>[+\-])(?P<h>\d{2}):?(?P<m>\d{2})(?!\d)")
_IANA: Final = re.compile(r"\b[A-Z][A-Za-z_]+(?:/[A-Za-z_\-]+){1,2}\b")
_CITY_TIME: Final = re.compile(r"\b(?P<city>[A-Z][a-z]+(?:[ _][A-Z][a-z]+)?)\s+time\b")
_LOCAL_TIME: Final = re.compile(r"\blocal\s+time\b", re.IGNORECASE)
_WORD_ZONE: Final = re.compile(r"\b[A-Z]{1,5}\b")
_FILLERS: Final = ("at", "on", "from", "hours", "hrs", "h", "le", "à", "am", "um", "the")
_FILLER: Final = re.compile(r"\b(?:" + "|".join(_FILLERS) + r")\b", re.IGNORECASE)
# Capitals after a time that are a date's words, not an unknown zone (`09:00 ON 2 MAY 2026`).
_DATE_WORD: Final = re.compile(r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec|mon|tue|wed|thu|fri|sat|sun)[a-z]*",
                        re.IGNORECASE)
_SEPARATORS: Final = re.compile(r"\s*([,;])(?:\s*[,;])*\s*")
_WEEKDAYS: Final = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_WEEKDAY: Final = re.compile(r"\b(" + "|".join(_WEEKDAYS) + r")\b", re.IGNORECASE)

# Zone abbreviations offices write, to a fixed offset or an IANA zone. Several meanings: the
# latest instant wins (the smallest offset), and the office is told which was chosen.
ZONES: Final[dict[str, tuple[str, ...]]] = {
    "UTC": ("+00:00",), "GMT": ("+00:00",), "UT": ("+00:00",), "Z": ("+00:00",),
    "BST": ("+01:00",), "IST": ("+05:30", "+02:00", "+01:00"),  # India, Israel, Ireland (summer)
    "WET": ("+00:00",), "WEST": ("+01:00",), "CET": ("+01:00",), "CEST": ("+02:00",),
    "MEZ": ("+01:00",), "MESZ": ("+02:00",), "EET": ("+02:00",), "EEST": ("+03:00",),
    "MSK": ("+03:00",), "TRT": ("+03:00",), "EAT": ("+03:00",), "CAT": ("+02:00",),
    "WAT": ("+01:00",), "SAST": ("+02:00",), "GST": ("+04:00",), "PKT": ("+05:00",),
    "NPT": ("+05:45",), "ICT": ("+07:00",), "WIB": ("+07:00",), "HKT": ("+08:00",),
    "SGT": ("+08:00",), "PHT": ("+08:00",), "AWST": ("+08:00",), "JST": ("+09:00",),
    "KST": ("+09:00",), "ACST": ("+09:30",), "AEST": ("+10:00",), "AEDT": ("+11:00",),
    "NZST": ("+12:00",), "NZDT": ("+13:00",),
    "AST": ("+03:00", "-04:00"),  # Arabia, Atlantic
    "EST": ("-05:00",), "EDT": ("-04:00",), "CST": ("+08:00", "-06:00"),  # China, US Central
    "CDT": ("-05:00",), "MST": ("-07:00",), "MDT": ("-06:00",), "PST": ("-08:00",),
    "PDT": ("-07:00",), "AKST": ("-09:00",), "AKDT": ("-08:00",), "HST": ("-10:00",),
    "BRT": ("-03:00",), "ART": ("-03:00",),
    # Zones whose offset depends on the day: the date settles standard or daylight time.
    "ET": ("America/New_York",), "CT": ("America/Chicago",), "MT": ("America/Denver",),
    "PT": ("America/Los_Angeles",), "UKT": ("Europe/London",),
}


class Unreadable(ValueError):
    """An embargo whose instant cannot be read; the message says why."""


def embargo_line(text: str, line: int) -> Embargo | None:
    """The embargo a listing line states, or None when the line is no embargo line."""
    if len(text) > _MAX_LINE:
        return None
    found = _LINE.fullmatch(text)
    if found is None:
        return None
    return read_embargo(found.group("rest").strip("*_[] "), text, line)


def front_matter_embargo(value: object, text: str, line: int) -> Embargo | None:
    """The embargo of a front-matter `embargo:` value as YAML read it (`text`: as written)."""
    if value is None or value is False or (isinstance(value, str) and not value.strip()):
        return None  # `embargo:` left empty in a template, or `false`: no embargo
    if isinstance(value, dt.datetime):
        return Embargo(text, line, value)
    if isinstance(value, dt.date):
        return Embargo(text, line, dt.datetime.combine(value, dt.time()))
    if isinstance(value, str):
        prefix = _PREFIX.match(value)
        return read_embargo(value[prefix.end():] if prefix else value, text, line)
    return Embargo(text, line, None, f"not a date and time: {text!r}")


def read_embargo(rest: str, text: str, line: int) -> Embargo:
    """An Embargo from the words after `Embargoed until`; unreadable ones carry why in `note`."""
    try:
        wall, note = read_instant(rest)
    except Unreadable as exc:
        return Embargo(text, line, None, str(exc))
    return Embargo(text, line, wall, note)


def read_instant(text: str) -> tuple[dt.datetime, str | None]:
    """(the stated date and time, a note on a choice made); Unreadable when it cannot be read."""
    text = " ".join(text.replace("\u2212", "-").split()).strip(" .,;:–—")
    if not text:
        raise Unreadable("no date or time after the embargo's words")
    if _ISO.fullmatch(text):
        iso = re.sub(r"\s+(?=Z|[+-]\d)", "", text).replace(" ", "T", 1)
        try:
            wall = dt.datetime.fromisoformat(iso)
        except ValueError:
            raise Unreadable(f"{text!r} is not a real date and time") from None
        return wall, None
    times = list(_TIME.finditer(text))
    if len(times) > 1:
        raise Unreadable(f"{text!r} states more than one time")
    rest = text
    day_after = False
    clock = dt.time()
    if times:
        found = times[0]
        clock, day_after = _clock(found)
        rest = text[:found.start()] + " \x00 " + text[found.end():]
    zone, note, rest = _zone(rest)
    rest = _FILLER.sub(" ", rest.replace("\x00", " "))
    rest = _SEPARATORS.sub(r"\1 ", " ".join(rest.split())).strip(" .,;:-–—()")
    if not rest:
        raise Unreadable(f"{text!r} names no day")
    date = parse_date_line(rest)
    if date is None:
        raise Unreadable(f"{rest!r} is not a date")
    named = {m.casefold() for m in _WEEKDAY.findall(rest)}
    if named and named != {_WEEKDAYS[date.weekday()]}:
        raise Unreadable(f"{date:%-d %B %Y} is a {_WEEKDAYS[date.weekday()].title()}, "
                         f"not a {' or '.join(sorted(n.title() for n in named))}")
    wall = dt.datetime.combine(date + dt.timedelta(days=day_after), clock)
    return (wall.replace(tzinfo=zone) if zone is not None else wall), note


def _clock(found: re.Match[str]) -> tuple[dt.time, bool]:
    """The time of day a _TIME match states, and whether it is the end of its day (24:00)."""
    g = found.groupdict()
    word = (g["word"] or "").casefold()
    if word == "midnight":
        return dt.time(), True  # `midnight 2 December`: the end of the 2nd, never its start
    if word:
        return dt.time(12), False
    if g["h1"] is not None:
        hour, minute = int(g["h1"]), int(g["m1"] or 0)
        if not 1 <= hour <= 12:
            raise Unreadable(f"{found.group()!r} is not a time")
        hour = hour % 12 + (12 if g["ap"].casefold() == "p" else 0)
        second = 0
    else:
        h = g["h2"] or g["h3"] or g["h4"]
        m = g["m2"] or g["m3"] or g["m4"]
        hour, minute, second = int(h), int(m), int(g["s2"] or 0)
    if (hour, minute, second) == (24, 0, 0):
        return dt.time(), True
    if hour > 23 or minute > 59 or second > 59:
        raise Unreadable(f"{found.group()!r} is not a time")
    return dt.time(hour, minute, second), False


def _zone(text: str) -> tuple[dt.tzinfo | None, str | None, str]:
    """(the zone written in `text`, a note on an ambiguous one, `text` without it); None: no zone."""
    found = _NAMED_OFFSET.search(text)
    if found is None:
        # A bare offset only right after the time (`09:00 +01:00`): elsewhere `-` is a date's.
        found = _BARE_OFFSET.match(text, text.index("\x00") + 1) if "\x00" in text else None
    if found is not None:
        sign = -1 if found.group("sign") == "-" else 1
        hours, minutes = int(found.group("h")), int(found.group("m") or 0)
        if hours > 14 or minutes > 59:
            raise Unreadable(f"{found.group().strip()!r} is not a UTC offset")
        offset = dt.timezone(sign * dt.timedelta(hours=hours, minutes=minutes))
        return offset, None, text[:found.start()] + " " + text[found.end():]
    for pattern in (_IANA, _CITY_TIME):
        for match in pattern.finditer(text):
            name = match.group() if pattern is _IANA else match.group("city")
            zone = _iana(name) if pattern is _IANA else _city(name)
            if zone is not None:
                return zone, None, text[:match.start()] + " " + text[match.end():]
            if pattern is _IANA:
                raise Unreadable(f"{name!r} is not a time zone")
    local = _LOCAL_TIME.search(text)
    if local is not None:
        return None, None, text[:local.start()] + " " + text[local.end():]
    for match in _WORD_ZONE.finditer(text):
        word = match.group()
        rest = text[:match.start()] + " " + text[match.end():]
        if word in ZONES:
            zone, note = _abbreviation(word)
            return zone, note, rest
        after_time = "\x00" in text and text[:match.start()].rstrip().endswith("\x00")
        if after_time and len(word) >= 2 and word.casefold() not in _FILLERS and not _DATE_WORD.fullmatch(word):
            raise Unreadable(f"{word!r} is not a time zone this reader knows: write an offset "
                             "such as +01:00 or a zone such as Europe/Paris")
    return None, None, text


def _abbreviation(word: str) -> tuple[dt.tzinfo, str | None]:
    meanings = [_fixed(m) or _iana(m) for m in ZONES[word]]
    zones = [z for z in meanings if z is not None]
    if len(zones) == 1:
        return zones[0], None
    # Several meanings: the smallest offset is the latest instant (so never early).
    chosen = min(ZONES[word], key=lambda m: _minutes(m))
    return _fixed(chosen) or dt.UTC, (f"{word} has several meanings ({', '.join(ZONES[word])}); read as "
                                      f"UTC{chosen}, the latest: write the offset to be exact")


def _minutes(offset: str) -> int:
    sign = -1 if offset[0] == "-" else 1
    return sign * (int(offset[1:3]) * 60 + int(offset[4:6]))


def _fixed(meaning: str) -> dt.tzinfo | None:
    if meaning[:1] not in "+-":
        return None
    return dt.timezone(dt.timedelta(minutes=_minutes(meaning)))


@functools.lru_cache(maxsize=64)
def _iana(name: str) -> dt.tzinfo | None:
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return None


@functools.lru_cache(maxsize=1)
def _cities() -> dict[str, str]:
    """`paris` → Europe/Paris: the last part of every IANA zone name, where it names one zone."""
    by_city: dict[str, list[str]] = {}
    for name in zoneinfo.available_timezones():
        if "/" in name and not name.startswith(("Etc/", "SystemV/", "US/")):
            by_city.setdefault(name.rsplit("/", 1)[1].replace("_", " ").casefold(), []).append(name)
    return {city: sorted(names)[0] for city, names in by_city.items() if len(names) == 1}


def _city(name: str) -> dt.tzinfo | None:
    found = _cities().get(name.replace("_", " ").casefold())
    return _iana(found) if found else None
