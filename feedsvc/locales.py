"""The interface's languages (issue 17 item 2): which there are, their catalogues, their direction.

The words of pages and emails are translated with gettext catalogues under
feedsvc/translations/<locale>/LC_MESSAGES/messages.mo (compiled from the .po beside them;
tests/test_translations.py checks they are up to date). English is the source language: its
catalogue is the messages themselves.
"""

from __future__ import annotations

import datetime as dt
import functools
import re

from babel import Locale
from babel.dates import format_date
from babel.support import NullTranslations, Translations

from .resources import TRANSLATIONS_DIR

#: The interface's locales, in the order the language switcher lists them.
LOCALES: tuple[str, ...] = ("en", "fr", "tr", "ar")
DEFAULT_LOCALE = "en"


@functools.lru_cache(maxsize=len(LOCALES))
def translations(locale: str) -> NullTranslations:
    """The catalogue of `locale` (loaded once); English and unknown locales get the messages as written."""
    if locale not in LOCALES or locale == DEFAULT_LOCALE:
        return NullTranslations()
    return Translations.load(str(TRANSLATIONS_DIR), [locale], domain="messages")


def direction(locale: str) -> str:
    """"rtl" for Arabic, "ltr" for the others: the value of <html dir>."""
    return "rtl" if Locale.parse(locale).character_order == "right-to-left" else "ltr"


def native_name(locale: str) -> str:
    """The language's name in itself ("Français", "Türkçe", "العربية"), as a switcher shows it."""
    name = Locale.parse(locale).get_display_name(locale) or locale
    return name[:1].upper() + name[1:]


def checked_locale(value: str | None) -> str | None:
    """`value` as one of LOCALES ("FR" → "fr", "fr-CA" → "fr"), or None when it is none of them."""
    primary = (value or "").strip().replace("_", "-").split("-", 1)[0].lower()
    return primary if primary in LOCALES else None


# A day as pages and emails write it: "16 November 2026", "16 novembre 2026", "16 Kasım 2026".
DAY_PATTERN = "d MMMM y"
_MONTHS = ("January", "February", "March", "April", "May", "June", "July",
           "August", "September", "October", "November", "December")
# The labels digest runs are stored with (zones.py, runs/postman.py): English, made once per run.
_PERIOD = re.compile(rf"(week of )?(\d{{1,2}}) ({'|'.join(_MONTHS)}) (\d{{4}})")


def localized_day(day: dt.date, locale: str) -> str:
    """`day` written in `locale` (Babel's CLDR month names)."""
    return format_date(day, DAY_PATTERN, locale=locale)


def localized_period(label: str, locale: str) -> str:
    """A digest run's stored label ("week of 16 November 2026", "just published") in `locale`."""
    if locale == DEFAULT_LOCALE:
        return label
    t = translations(locale)
    found = _PERIOD.fullmatch(label)
    if found is None:
        # "just published" is the one other label a run is given (zones.INSTANT_LABEL).
        return t.gettext("just published") if label == "just published" else label
    day = localized_day(dt.date(int(found[4]), _MONTHS.index(found[3]) + 1, int(found[2])), locale)
    return t.gettext("week of %(day)s") % {"day": day} if found[1] else day
