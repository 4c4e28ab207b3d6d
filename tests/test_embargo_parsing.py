"""Embargo lines and fields read by the pure parser (issue 17 item 1): each form with its input inline."""

from __future__ import annotations

import dataclasses
import datetime as dt
import zoneinfo

import pytest

from feedsvc.embargoes import hold_for
from feedsvc.model import Embargo
from feedsvc.parsing import parse_text, read_listing
from feedsvc.parsing.embargo import embargo_line

UTC = dt.UTC
CET = dt.timezone(dt.timedelta(hours=1))
BST = dt.timezone(dt.timedelta(hours=1))
NEW_YORK = zoneinfo.ZoneInfo("America/New_York")


@pytest.mark.parametrize(("line", "wall"), [
    ("EMBARGOED UNTIL 09:00 GMT, 2 December 2026", dt.datetime(2026, 12, 2, 9, 0, tzinfo=UTC)),
    ("EMBARGOED UNTIL 00:01 BST Tuesday 3 March 2026", dt.datetime(2026, 3, 3, 0, 1, tzinfo=BST)),
    ("Embargo: 2 December 2026 09:00 CET", dt.datetime(2026, 12, 2, 9, 0, tzinfo=CET)),
    ("Embargoed until 2026-12-02T09:00:00Z", dt.datetime(2026, 12, 2, 9, 0, tzinfo=UTC)),
    ("Embargoed until 2026-12-02T09:00+01:00", dt.datetime(2026, 12, 2, 9, 0, tzinfo=CET)),
    ("Embargoed until 2026-12-02 09:00", dt.datetime(2026, 12, 2, 9, 0)),  # no zone: FEEDSVC_TIMEZONE's
    ("Under embargo until 2 December 2026", dt.datetime(2026, 12, 2, 0, 0)),
    ("EMBARGOED UNTIL WEDNESDAY 2 DECEMBER 2026 AT 09:00 CET", dt.datetime(2026, 12, 2, 9, 0, tzinfo=CET)),
    ("Embargoed until 9 a.m. ET, Wednesday, December 2, 2026", dt.datetime(2026, 12, 2, 9, 0, tzinfo=NEW_YORK)),
    ("Embargoed until 09:00 ET, July 4, 2026", dt.datetime(2026, 7, 4, 9, 0, tzinfo=NEW_YORK)),
    ("Embargoed until 09:00 Paris time, 2 December 2026",
     dt.datetime(2026, 12, 2, 9, 0, tzinfo=zoneinfo.ZoneInfo("Europe/Paris"))),
    ("Embargoed until 09:00 Europe/Istanbul 2 December 2026",
     dt.datetime(2026, 12, 2, 9, 0, tzinfo=zoneinfo.ZoneInfo("Europe/Istanbul"))),
    ("Embargoed until 09:00 UTC+3 2 December 2026", dt.datetime(2026, 12, 2, 9, tzinfo=dt.timezone(dt.timedelta(hours=3)))),
    ("Embargoed until 09:00 +05:30, 2 December 2026",
     dt.datetime(2026, 12, 2, 9, tzinfo=dt.timezone(dt.timedelta(hours=5, minutes=30)))),
    ("Embargoed until 0900 hrs GMT 02.12.2026", dt.datetime(2026, 12, 2, 9, 0, tzinfo=UTC)),
    ("EMBARGOED UNTIL 10.30am 2 December 2026", dt.datetime(2026, 12, 2, 10, 30)),
    ("Embargoed until 12 pm 2 December 2026", dt.datetime(2026, 12, 2, 12, 0)),
    ("Embargoed until 2 December 2026 09:00 local time", dt.datetime(2026, 12, 2, 9, 0)),
    ("Embargoed until 09:00 GMT on Wednesday, 2 December 2026", dt.datetime(2026, 12, 2, 9, 0, tzinfo=UTC)),
    ("**EMBARGOED UNTIL 09:00 GMT, 2 December 2026**", dt.datetime(2026, 12, 2, 9, 0, tzinfo=UTC)),
    # Midnight and 24:00 are the end of the day they name: never the start, which would be early.
    ("Embargoed until midnight 2 December 2026", dt.datetime(2026, 12, 3, 0, 0)),
    ("Embargoed until 2 December 2026 at 24:00", dt.datetime(2026, 12, 3, 0, 0)),
])
def test_embargo_forms_are_read_as_written(line: str, wall: dt.datetime) -> None:
    embargo = embargo_line(line, 7)
    assert embargo is not None and (embargo.text, embargo.line, embargo.note) == (line, 7, None)
    assert embargo.wall == wall and (embargo.wall.tzinfo is None) == (wall.tzinfo is None)
    assert embargo.wall.utcoffset() == wall.utcoffset()


@pytest.mark.parametrize(("line", "why"), [
    ("Embargoed until further notice", "'further notice' is not a date"),
    ("Embargoed until delivery", "'delivery' is not a date"),
    ("Embargoed until 09:00", "names no day"),
    ("Embargoed until 09:00 XYZ 2 December 2026", "'XYZ' is not a time zone"),
    ("Embargoed until 09:00 Mars/Olympus 2 December 2026", "'Mars/Olympus' is not a time zone"),
    ("EMBARGOED UNTIL 00:01 BST Wednesday 3 March 2026", "3 March 2026 is a Tuesday, not a Wednesday"),
    ("Embargoed until 09:00 or 10:00 GMT, 2 December 2026", "more than one time"),
    ("Embargoed until 31 June 2026", "is not a date"),
    ("Embargoed until 25:00 GMT, 2 December 2026", "is not a time"),
    ("Embargoed until 2026-02-30T09:00Z", "not a real date"),
])
def test_an_embargo_that_cannot_be_read_says_why_and_has_no_instant(line: str, why: str) -> None:
    embargo = embargo_line(line, 3)
    assert embargo is not None and embargo.wall is None
    assert embargo.note is not None and why in embargo.note
    # Held, whatever the time: never published early.
    assert hold_for(embargo, UTC, dt.datetime(2099, 1, 1, tzinfo=UTC)) is not None


@pytest.mark.parametrize("line", [
    "Embargo on arms sales lifted", "Embargo: the case against", "The arms embargo holds until 2027",
    "UN extends embargo until December 2026 amid talks",  # a headline, not an embargo line
    "Embargoed until " + "x" * 200,
])
def test_lines_about_embargoes_are_not_embargo_lines(line: str) -> None:
    assert embargo_line(line, 1) is None


def test_an_ambiguous_abbreviation_is_read_as_its_latest_meaning_with_a_note() -> None:
    ist = embargo_line("Embargoed until 10:00 IST 2 December 2026", 1)
    assert ist is not None and ist.wall is not None
    assert ist.wall.utcoffset() == dt.timedelta(hours=1)  # Irish summer time: later than India's or Israel's
    assert ist.note is not None and "several meanings" in ist.note
    cst = embargo_line("Embargoed until 09:00 CST 2 December 2026", 1)
    assert cst is not None and cst.wall is not None and cst.wall.utcoffset() == dt.timedelta(hours=-6)


def test_a_time_without_a_zone_is_in_the_configured_zone_with_its_daylight_time() -> None:
    summer = Embargo("…", 1, dt.datetime(2026, 7, 1, 9, 0))
    winter = Embargo("…", 1, dt.datetime(2026, 12, 1, 9, 0))
    london = zoneinfo.ZoneInfo("Europe/London")
    assert summer.until(london) == dt.datetime(2026, 7, 1, 8, 0, tzinfo=UTC)
    assert winter.until(london) == dt.datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    stated = Embargo("…", 1, dt.datetime(2026, 12, 1, 9, 0, tzinfo=CET))
    assert stated.until(london) == dt.datetime(2026, 12, 1, 8, 0, tzinfo=UTC)  # a written zone wins


def test_hold_ends_exactly_at_the_instant() -> None:
    embargo = Embargo("…", 1, dt.datetime(2026, 12, 2, 9, 0, tzinfo=UTC))
    at = dt.datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
    assert hold_for(embargo, UTC, at - dt.timedelta(microseconds=1)) is not None
    assert hold_for(embargo, UTC, at) is None
    assert hold_for(None, UTC, at) is None


LISTING = """\
Press releases

Ministry announces new water programme
1 December 2026
ANKARA – The ministry today announced a programme bringing water to 40 villages.

Health workers trained in Edirne
30 November 2026
EDIRNE – Two hundred health workers finished a course this week.

Schools reopen in flood-hit valley
29 November 2026
GENEVA – Schools in the valley reopened on Monday.
"""


def _fields(text: str) -> list[tuple[object, ...]]:
    return [(r.title, r.location, r.date, r.paragraphs, r.line) for r in parse_text(text, "l.txt")]


@pytest.mark.parametrize(("where", "held"), [
    ("above the first title", 0), ("under the first title", 0), ("under a date line", 0),
    ("between two releases", 1), ("below the last body", 2),
])
def test_an_embargo_line_goes_to_the_release_it_stands_in_or_above(where: str, held: int) -> None:
    lines = LISTING.splitlines()
    embargo = "EMBARGOED UNTIL 09:00 GMT, 2 December 2026"
    at = {"above the first title": 2, "under the first title": 3, "under a date line": 4,
          "between two releases": 6, "below the last body": 13}[where]
    with_line = "\n".join([*lines[:at], embargo, *lines[at:]]) + "\n"
    releases = parse_text(with_line, "l.txt")
    assert [r.embargo is not None for r in releases] == [i == held for i in range(3)]
    assert releases[held].embargo == Embargo(embargo, at + 1, dt.datetime(2026, 12, 2, 9, tzinfo=UTC))
    # The page reads as if the line were not there (line numbers aside).
    assert [f[:4] for f in _fields(with_line)] == [f[:4] for f in _fields(LISTING)]


def test_two_embargo_lines_for_one_release_hold_it_until_one_is_removed() -> None:
    text = LISTING.replace("Health workers", "Embargoed until 1 December 2026\nEmbargo: 3 December 2026 10:00\n"
                                            "Health workers")
    releases = parse_text(text, "l.txt")
    e = releases[1].embargo
    assert e is not None and e.wall is None and e.note is not None and "2 embargo lines" in e.note
    assert releases[0].embargo is None and releases[2].embargo is None


def test_an_embargo_is_not_part_of_the_content() -> None:
    plain = parse_text(LISTING, "l.txt")
    held = parse_text(LISTING.replace("Health workers", "Embargoed until 1 December 2026\nHealth workers"), "l.txt")
    assert held[1].embargo is not None
    # Not in the hash: removing the line after the lift is no correction, and no new version.
    assert [r.content_hash for r in held] == [r.content_hash for r in plain]
    assert [r.key for r in held] == [r.key for r in plain]


@pytest.mark.parametrize(("field", "wall"), [
    ("embargo: 2026-12-02T09:00:00+01:00", dt.datetime(2026, 12, 2, 9, 0, tzinfo=CET)),
    ("embargo: 2026-12-02 09:00:00", dt.datetime(2026, 12, 2, 9, 0)),
    ("embargo: 2026-12-02", dt.datetime(2026, 12, 2, 0, 0)),
    ("embargo: 2 December 2026 09:00 CET", dt.datetime(2026, 12, 2, 9, 0, tzinfo=CET)),
    ("Embargo: 'Embargoed until 09:00 GMT, 2 December 2026'", dt.datetime(2026, 12, 2, 9, 0, tzinfo=UTC)),
    ("embargo: [2026, 12]", None),
    ("embargo: soon", None),
])
def test_front_matter_embargo(field: str, wall: dt.datetime | None) -> None:
    text = f"---\ntitle: Budget figures\ndate: 2026-12-02\n{field}\n---\nThe budget was agreed.\n"
    (release,) = parse_text(text, "b.md")
    assert release.embargo is not None and release.embargo.line == 4
    assert release.embargo.wall == wall
    if wall is not None:
        assert release.embargo.wall.utcoffset() == wall.utcoffset()
    assert release.title == "Budget figures" and release.paragraphs == ("The budget was agreed.",)


@pytest.mark.parametrize("field", ["embargo:", "embargo: ''", "embargo: false", "embargo: null"])
def test_an_empty_front_matter_embargo_is_none(field: str) -> None:
    (release,) = parse_text(f"---\ntitle: Budget figures\n{field}\n---\nText.\n", "b.md")
    assert release.embargo is None


def test_read_listing_warns_about_a_held_release_and_an_ambiguous_zone() -> None:
    text = LISTING.replace("Health workers", "Embargoed until delivery\nHealth workers").replace(
        "Schools reopen", "EMBARGOED UNTIL 10:00 IST 2 December 2026\nSchools reopen")
    parsed = read_listing(text.encode(), "l.txt")
    messages = [(w.line, w.message) for w in parsed.warnings]
    assert messages[0][0] == 7 and "not understood" in messages[0][1] and "is held" in messages[0][1]
    assert "'Health workers trained in Edirne' is held" in messages[0][1]
    assert messages[1][0] == 12 and "IST has several meanings" in messages[1][1]
    assert len(messages) == 2
    assert dataclasses.replace(parsed.releases[0], embargo=None) == parsed.releases[0]
