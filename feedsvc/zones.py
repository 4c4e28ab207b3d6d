"""Subscribers' time zones and the digest slots in them (issue 16 item 5). Pure: data in, data out.

A scheduled run belongs to one (frequency, zone, period): its key names all three, so two clocks
make one run between them, and a clock back from downtime plans only each zone's latest period.
Subscribers in FEEDSVC_TIMEZONE keep the keys runs had before zones existed ("daily:2026-11-23"),
so the deploy that brings zones sends nobody a second digest that day.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import zoneinfo
from collections.abc import Iterable

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
SCHEDULED = ("daily", "weekly")  # the frequencies that have slots; `instant` has none


class ZoneError(ValueError):
    """A time zone name that is not an IANA zone this machine knows."""


@functools.lru_cache(maxsize=1024)
def _zone(name: str) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(name)


def checked_zone(name: str) -> str:
    """`name` when it is a known IANA zone ("Asia/Tokyo"); ZoneError saying why otherwise."""
    name = (name or "").strip()
    if not name:
        raise ZoneError("no time zone given")
    # ZoneInfo also opens relative paths and accepts "localtime"-like files: only the IANA list.
    if name not in known_zones():
        raise ZoneError(f"{name!r} is not a known time zone (an IANA name such as Europe/Istanbul)")
    return name


@functools.lru_cache(maxsize=1)
def known_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


@dataclasses.dataclass(frozen=True, slots=True)
class Slot:
    """One scheduled digest: its run key, label, zone and the instant it fell due (aware, UTC)."""

    frequency: str
    zone: str
    key: str
    label: str
    when: dt.datetime


def latest_slot(frequency: str, zone: str, *, daily_at: dt.time, weekly_on: str, now: dt.datetime,
                default_zone: str) -> Slot:
    """The latest slot of `frequency` in `zone` at or before `now`.

    Slots are counted by local calendar day, so a day has exactly one: when DST skips `daily_at`
    (it does not exist that day) the slot is the first instant after the gap; when it happens
    twice, the first of the two (fold=0) — either way one digest that day.
    """
    tz = _zone(zone)
    local_now = now.astimezone(tz)
    day = local_now.date()
    if frequency == "weekly":
        day -= dt.timedelta(days=(day.weekday() - WEEKDAYS.index(weekly_on)) % 7)
    step = dt.timedelta(days=1 if frequency == "daily" else 7)
    when = _instant(day, daily_at, tz)
    if when > now:
        day -= step
        when = _instant(day, daily_at, tz)
    return Slot(frequency, zone, *_key_and_label(frequency, zone, day, default_zone), when)


def _instant(day: dt.date, at: dt.time, tz: zoneinfo.ZoneInfo) -> dt.datetime:
    """`at` on `day` in `tz`, as UTC.

    fold=0 (PEP 495) reads a wall time DST skips with the offset before the jump, which lands
    just after the gap, and a repeated wall time as its first occurrence.
    """
    return dt.datetime.combine(day, at, tzinfo=tz).replace(fold=0).astimezone(dt.UTC)


def _key_and_label(frequency: str, zone: str, day: dt.date, default_zone: str) -> tuple[str, str]:
    where = "" if zone == default_zone else f"{zone}:"
    if frequency == "daily":
        return f"daily:{where}{day.isoformat()}", f"{day.day} {day:%B %Y}"
    year, week, _ = day.isocalendar()
    monday = day - dt.timedelta(days=day.weekday())
    return f"weekly:{where}{year}-W{week:02}", f"week of {monday.day} {monday:%B %Y}"


def due_slots(zones: Iterable[str], *, daily_at: dt.time, weekly_on: str, now: dt.datetime,
              default_zone: str) -> list[Slot]:
    """Each scheduled frequency's latest slot in each zone (the default zone always included).

    The caller plans those whose key has no run yet: after any downtime that is one per
    (frequency, zone), the latest, never one per missed slot.
    """
    return [latest_slot(frequency, zone, daily_at=daily_at, weekly_on=weekly_on, now=now,
                        default_zone=default_zone)
            for zone in sorted(set(zones) | {default_zone}) for frequency in SCHEDULED]


# `instant` (issue 16 item 5): each release within 10 minutes of becoming public, a burst in one email.
INSTANT_SETTLE = dt.timedelta(minutes=2)  # quiet this long after the newest: the burst is over
INSTANT_MAX_WAIT = dt.timedelta(minutes=8)  # the oldest waits no longer, even while releases keep coming
INSTANT_LABEL = "just published"


def instant_due(oldest: dt.datetime, newest: dt.datetime, now: dt.datetime) -> bool:
    """Whether to send instant readers what became public between `oldest` and `newest` now.

    Checked every minute, so the oldest goes out at most INSTANT_MAX_WAIT plus a minute after
    it became public (an embargoed release counts from its lift): within 10 minutes.
    """
    return now - newest >= INSTANT_SETTLE or now - oldest >= INSTANT_MAX_WAIT


def instant_key(now: dt.datetime) -> str:
    """One instant run per minute at most, the same for every clock that plans it."""
    return f"instant:{now.astimezone(dt.UTC):%Y-%m-%dT%H:%M}Z"
