"""Which releases an embargo keeps from the public, decided without I/O (issue 17 item 1).

A held release is stored but public nowhere; storage applies what is decided here, and the
lift job (publish.Publisher.lift_embargoes) makes it public once its instant has passed.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import zoneinfo
from collections.abc import Callable

from .model import Embargo, Release


@dataclasses.dataclass(frozen=True, slots=True)
class Hold:
    """What keeps a release from the public: its embargo as written, until `until` (aware UTC).

    `until` None: the embargo could not be read; the release waits until its line is corrected.
    """

    text: str
    until: dt.datetime | None


HoldRule = Callable[[Release], Hold | None]


def no_hold(release: Release) -> Hold | None:
    """The rule where nothing is embargoed."""
    return None


def hold_for(embargo: Embargo | None, zone: dt.tzinfo, now: dt.datetime) -> Hold | None:
    """The hold an embargo puts on a release at `now`; None when there is none or it has passed.

    A time written without a zone is in `zone` (FEEDSVC_TIMEZONE).
    """
    if embargo is None:
        return None
    until = embargo.until(zone)
    if until is not None and until <= now:
        return None
    return Hold(embargo.text, until)


def holding(zone_name: str, now: dt.datetime) -> HoldRule:
    """The rule ingest applies at `now`: each release's embargo read in FEEDSVC_TIMEZONE."""
    zone = zoneinfo.ZoneInfo(zone_name)
    return lambda release: hold_for(release.embargo, zone, now)
