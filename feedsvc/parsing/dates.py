"""Dates as press-release listings write them: date lines under titles and dates inside datelines."""

from __future__ import annotations

import datetime as dt
import re

_MONTHS = {
    "january": 1, "february": 2, "march": 3, "april": 4, "may": 5, "june": 6, "july": 7,
    "august": 8, "september": 9, "october": 10, "november": 11, "december": 12,
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "jun": 6, "jul": 7, "aug": 8, "sep": 9,
    "sept": 9, "oct": 10, "nov": 11, "dec": 12,
}
_MONTH = r"(?:" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")"
_WEEKDAY = (
    r"(?:(?:mon|tues?|wed(?:nes)?|thu(?:rs?)?|fri|sat(?:ur)?|sun)(?:day)?\.?,?\s+)?"
)
_ORD = r"(?:st|nd|rd|th)?"

# Each alternative names its groups so one function turns any match into a date.
_DATE_BODY = (
    r"(?:" + _WEEKDAY + r"(?:"
    rf"(?P<d1>\d{{1,2}}){_ORD}\s+(?:of\s+)?(?P<m1>{_MONTH})\.?,?(?:\s+(?P<y1>\d{{4}}))?"
    rf"|(?P<m2>{_MONTH})\.?\s+(?P<d2>\d{{1,2}}){_ORD}(?:,?\s+(?P<y2>\d{{4}}))?"
    r"|(?P<y3>\d{4})-(?P<m3>\d{1,2})-(?P<d3>\d{1,2})"
    r"|(?P<a4>\d{1,2})(?P<s4>[/.\-])(?P<b4>\d{1,2})(?P=s4)(?P<y4>\d{4})"
    r"))"
)
_PREFIX = (
    r"(?:(?:posted|published|updated|released|issued|date[d]?)(?:\s+on)?\s*:?\s*)?"
)
_TIME = r"(?:,?\s*(?:at\s+)?\d{1,2}[:.]\d{2}(?:\s*[ap]\.?m\.?)?(?:\s*(?:GMT|UTC|CET|CEST|EST|EDT))?)?"

_DATE_LINE = re.compile(r"\s*" + _PREFIX + _DATE_BODY + _TIME + r"\s*", re.IGNORECASE)
# In a dateline the date sits at the head's start or end, possibly in brackets.
_HEAD_DATE_FIRST = re.compile(r"\(?" + _DATE_BODY + r"\)?\s*[,/]?\s*(?P<rest>.*)", re.IGNORECASE)
_HEAD_DATE_LAST = re.compile(
    r"(?P<rest>.*?)\s*[,/]?\s*\(?" + _DATE_BODY + r"\)?", re.IGNORECASE
)
# Cheap pre-check before the regex: a date line is short and holds a digit.
_MAX_DATE_LINE = 60
_MAX_META_LINE = 100
_META_SPLIT = re.compile(r"\s+[|·]\s+")
_TITLE_DATE = re.compile(
    r"(?P<title>.*?\S)(?:\s*[(\[]|\s+[|–—]\s+)" + _DATE_BODY + r"[)\]]?",
    re.IGNORECASE,
)
_DIGIT = re.compile(r"\d")


def parse_date_line(text: str) -> dt.date | None:
    """The date a whole line states (`18 December 2019`, `Posted on: 06/28/2019`), else None."""
    if len(text) > _MAX_DATE_LINE or _DIGIT.search(text) is None:
        return None
    match = _DATE_LINE.fullmatch(text)
    if match is None:
        return None
    return _to_date(match)


def parse_meta_line(text: str) -> tuple[dt.date, list[str]] | None:
    """A date line with short labels beside it: `18 December 2019 | Geneva`, `News | 3 Dec 2019`."""
    if len(text) > _MAX_META_LINE or "|" not in text and "·" not in text:
        return None
    parts = [part.strip() for part in _META_SPLIT.split(text)]
    if len(parts) > 3:
        return None
    found: dt.date | None = None
    others: list[str] = []
    for part in parts:
        date = parse_date_line(part) if found is None else None
        if date is not None:
            found = date
        elif not part or len(part.split()) > 5 or part.endswith("."):
            return None
        else:
            others.append(part)
    return (found, others) if found is not None else None


def split_title_date(text: str) -> tuple[str, dt.date | None]:
    """A title with its date appended (`Title (12/18/2019)`, `Title | 18 Dec 2019`) split in two."""
    if _DIGIT.search(text[-12:]) is None:
        return text, None
    match = _TITLE_DATE.fullmatch(text)
    if match is None:
        return text, None
    date = _to_date(match)
    if date is None or not match.group("title"):
        return text, None
    return match.group("title"), date


def split_head_date(head: str) -> tuple[str, dt.date | None, bool]:
    """Split a dateline head into (place, date, found) for `17 May 2018, Ankara` or `Ankara, 17 May 2018`.

    `found` is true when a date expression was removed even if it names no year (so no date).
    """
    if _DIGIT.search(head) is None:
        return head, None, False
    for pattern in (_HEAD_DATE_FIRST, _HEAD_DATE_LAST):
        match = pattern.fullmatch(head)
        if match is not None:
            return match.group("rest").strip(" ,"), _to_date(match), True
    return head, None, False


def _to_date(match: re.Match[str]) -> dt.date | None:
    groups = match.groupdict()
    try:
        if groups["m1"]:
            return _make(groups["y1"], _MONTHS[groups["m1"].lower()], groups["d1"])
        if groups["m2"]:
            return _make(groups["y2"], _MONTHS[groups["m2"].lower()], groups["d2"])
        if groups["y3"]:
            return _make(groups["y3"], int(groups["m3"]), groups["d3"])
        first, second = int(groups["a4"]), int(groups["b4"])
    except KeyError:
        return None
    # Day-month order: a first number over 12 can only be a day; dots are European
    # (day first); otherwise slashes and hyphens follow the US habit, month first.
    if first > 12 or (groups["s4"] == "." and second <= 12):
        day, month = first, second
    else:
        month, day = first, second
    return _make(groups["y4"], month, str(day))


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
