"""Digests at each subscriber's local time (issue 16 item 5): the pure slot decision, then the clock's
minute job through the real database and a real SMTP server, the forms, and the browser's zone."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from pathlib import Path
from typing import Any

import pytest

from feedsvc.app import create_app
from feedsvc.config import load_settings
from feedsvc.runs.postman import Postman
from feedsvc.scheduler import Clock as DigestClock
from feedsvc.services import Services, build_services
from feedsvc.storage import Storage
from feedsvc.zones import ZoneError, checked_zone, due_slots, instant_due, latest_slot
from tests.conftest import Clock
from tests.smtp_server import SmtpTestServer

UTC = dt.UTC
EIGHT = dt.time(8, 0)


def slot(frequency: str, zone: str, now: dt.datetime, at: dt.time = EIGHT, default: str = "UTC") -> Any:
    return latest_slot(frequency, zone, daily_at=at, weekly_on="mon", now=now, default_zone=default)


# ---------------------------------------------------------------- the decision (pure)


def test_tokyo_and_istanbul_fall_due_at_eight_their_time() -> None:
    before = slot("daily", "Asia/Tokyo", dt.datetime(2026, 11, 23, 22, 59, tzinfo=UTC))
    at = slot("daily", "Asia/Tokyo", dt.datetime(2026, 11, 23, 23, 0, tzinfo=UTC))
    assert before.key == "daily:Asia/Tokyo:2026-11-23"
    assert (at.key, at.label, at.when) == ("daily:Asia/Tokyo:2026-11-24", "24 November 2026",
                                           dt.datetime(2026, 11, 23, 23, 0, tzinfo=UTC))
    istanbul = slot("daily", "Europe/Istanbul", dt.datetime(2026, 11, 24, 5, 0, tzinfo=UTC))
    assert (istanbul.key, istanbul.when) == ("daily:Europe/Istanbul:2026-11-24",
                                             dt.datetime(2026, 11, 24, 5, 0, tzinfo=UTC))
    weekly = slot("weekly", "Asia/Tokyo", dt.datetime(2026, 11, 22, 23, 0, tzinfo=UTC))  # Monday 08:00 there
    assert (weekly.key, weekly.label) == ("weekly:Asia/Tokyo:2026-W48", "week of 23 November 2026")


def test_the_default_zone_keeps_the_keys_runs_had_before_zones() -> None:
    now = dt.datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    assert slot("daily", "UTC", now).key == "daily:2026-11-23"
    assert slot("weekly", "UTC", now).key == "weekly:2026-W48"
    slots = due_slots({"Asia/Tokyo"}, daily_at=EIGHT, weekly_on="mon", now=now, default_zone="UTC")
    assert {s.zone for s in slots} == {"UTC", "Asia/Tokyo"} and len(slots) == 4


def keys_over(zone: str, at: dt.time, start: dt.datetime, hours: int) -> dict[str, list[dt.datetime]]:
    """Every minute over `hours`: the first minute each daily key was the latest slot."""
    seen: dict[str, list[dt.datetime]] = {}
    for minute in range(hours * 60):
        now = start + dt.timedelta(minutes=minute)
        s = slot("daily", zone, now, at)
        if s.key not in seen:
            seen[s.key] = [now, s.when]
    return seen


@pytest.mark.parametrize(("zone", "day", "at"), [
    ("Europe/Berlin", dt.date(2026, 3, 29), dt.time(2, 30)),  # 02:30 does not exist that day
    ("America/New_York", dt.date(2026, 3, 8), dt.time(2, 30)),
    ("Europe/Berlin", dt.date(2026, 10, 25), dt.time(2, 30)),  # 02:30 happens twice
    ("America/New_York", dt.date(2026, 11, 1), dt.time(1, 30)),
])
def test_a_day_whose_hour_is_skipped_or_repeated_still_has_exactly_one_slot(zone: str, day: dt.date,
                                                                            at: dt.time) -> None:
    start = dt.datetime.combine(day, dt.time(0, 0), tzinfo=UTC) - dt.timedelta(hours=12)
    seen = keys_over(zone, at, start, 48)
    assert f"daily:{zone}:{day.isoformat()}" in seen
    days = [k.rsplit(":", 1)[1] for k in seen]
    assert len(days) == len(set(days))  # one key per local day, never two
    first_minute, when = seen[f"daily:{zone}:{day.isoformat()}"]
    assert first_minute == when  # due the minute it falls due, not earlier nor later
    local = when.astimezone(zoneinfo.ZoneInfo(zone))
    # At the hour itself; where DST skips it, at the first minute after the gap (an hour later).
    assert local.date() == day and local.replace(tzinfo=None) - dt.datetime.combine(day, at) in (
        dt.timedelta(0), dt.timedelta(hours=1))


def test_a_zone_is_an_iana_name_or_refused_with_the_reason() -> None:
    assert checked_zone(" Asia/Tokyo ") == "Asia/Tokyo"
    for bad in ("Mars/Olympus", "../../etc/passwd", "", "asia/tokyo"):
        with pytest.raises(ZoneError, match="time zone"):
            checked_zone(bad)


# ---------------------------------------------------------------- through the real parts


LISTING = """Press Releases

{title}

Ankara – IOM teams {what} this week.
"""


MONDAY = dt.datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # every daily slot of that day is past in each zone used


@pytest.fixture
def env(env: dict[str, str], mail_env: dict[str, str]) -> dict[str, str]:
    return env | mail_env | {"FEEDSVC_TIMEZONE": "UTC", "FEEDSVC_DAILY_AT": "08:00", "FEEDSVC_WEEKLY_ON": "mon"}


@pytest.fixture
def services(env: dict[str, str], storage: Storage, clock: Clock) -> Services:
    """This test's parts, with the samples stored at MONDAY, before anyone subscribed."""
    clock.now = MONDAY
    services = build_services(load_settings(env), clock, storage=storage)
    services.ingester().scan()
    return services


@pytest.fixture
def digests(services: Services, storage: Storage, clock: Clock) -> DigestClock:
    """The clock's minute job (`tick`) and its embargo lift over those parts."""
    return DigestClock(Postman(storage, services.settings, clock=clock), services.settings, services.publisher)


def publish(services: Services, content_dir: Path, name: str, title: str) -> None:
    """A new listing, scanned as the watcher would at the test clock's time."""
    (content_dir / f"{name}.txt").write_text(LISTING.format(title=title, what=f"worked on {name}"),
                                             encoding="utf-8")
    services.ingester().scan()


def received(server: SmtpTestServer) -> list[tuple[str, str]]:
    return [(str(m.message["To"]), str(m.message["Subject"])) for m in server.messages]


def test_tokyo_and_istanbul_get_their_daily_digest_at_eight_their_time_and_one_catch_up(
        services: Services, digests: DigestClock, storage: Storage, content_dir: Path, clock: Clock,
        smtp_server: SmtpTestServer) -> None:
    storage.add_confirmed("tokyo@example.org", (), "daily", clock(), time_zone="Asia/Tokyo")
    storage.add_confirmed("istanbul@example.org", (), "daily", clock(), time_zone="Europe/Istanbul")
    storage.add_confirmed("london@example.org", (), "daily", clock())  # no zone: FEEDSVC_TIMEZONE
    digests.tick()  # the slots already past are planned (nothing new for anyone: no mail)
    assert smtp_server.messages == []

    publish(services, content_dir, "monday", "Mobile Clinics Reach the Border Villages")
    clock.now = dt.datetime(2026, 11, 23, 22, 59, tzinfo=UTC)  # 07:59 in Tokyo
    assert digests.tick() == [] and smtp_server.messages == []
    clock.advance(minutes=1)  # 08:00 in Tokyo, 02:00 in Istanbul
    assert digests.tick() == ["daily:Asia/Tokyo:2026-11-24"]
    assert received(smtp_server) == [("tokyo@example.org", "IOM Turkey press releases — 24 November 2026 (1 new)")]

    clock.now = dt.datetime(2026, 11, 24, 4, 59, tzinfo=UTC)  # 07:59 in Istanbul
    assert digests.tick() == [] and len(smtp_server.messages) == 1
    clock.advance(minutes=1)
    assert digests.tick() == ["daily:Europe/Istanbul:2026-11-24"]
    assert received(smtp_server)[1] == ("istanbul@example.org", "IOM Turkey press releases — 24 November 2026 (1 new)")
    clock.now = dt.datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
    assert digests.tick() == ["daily:2026-11-24"]
    assert received(smtp_server)[2][0] == "london@example.org"
    assert digests.tick() == [] and len(smtp_server.messages) == 3  # every minute after: nothing again

    # Three days down, two listings meanwhile: one catch-up digest each, with both, not three.
    publish(services, content_dir, "tuesday", "Vocational Courses Open in Gaziantep")
    publish(services, content_dir, "wednesday", "Shelter Upgrades Finished Before Winter")
    clock.advance(days=3, hours=1)
    made = DigestClock(Postman(storage, services.settings, clock=clock), services.settings).tick()  # a new process
    assert sorted(made) == ["daily:2026-11-27", "daily:Asia/Tokyo:2026-11-27", "daily:Europe/Istanbul:2026-11-27"]
    later = received(smtp_server)[3:]
    assert sorted(to for to, _ in later) == ["istanbul@example.org", "london@example.org", "tokyo@example.org"]
    assert all(subject.endswith("(2 new)") for _, subject in later)
    runs = [r for r in storage.recent_runs(50) if r["kind"] == "scheduled" and r["frequency"] == "daily"]
    assert len({r["key"] for r in runs}) == len(runs)


def test_a_reader_who_moves_gets_the_new_zones_digest_and_no_second_one_that_day(
        services: Services, digests: DigestClock, storage: Storage, content_dir: Path, clock: Clock,
        smtp_server: SmtpTestServer) -> None:
    storage.add_confirmed("mover@example.org", (), "daily", clock(), time_zone="Asia/Tokyo")
    digests.tick()
    publish(services, content_dir, "monday", "Mobile Clinics Reach the Border Villages")
    clock.now = dt.datetime(2026, 11, 23, 23, 0, tzinfo=UTC)
    digests.tick()
    assert len(smtp_server.messages) == 1
    sub = storage.get_subscriber_by_email("mover@example.org")
    assert sub is not None and sub.time_zone == "Asia/Tokyo"
    storage.set_preferences(sub.id, (), "daily", "Europe/Istanbul")
    clock.now = dt.datetime(2026, 11, 24, 5, 0, tzinfo=UTC)
    digests.tick()  # Istanbul's 08:00: nothing new since Tokyo's digest, so no mail
    assert len(smtp_server.messages) == 1


def client_and_csrf(services: Services, path: str) -> tuple[Any, str]:
    client = create_app(services=services).test_client()
    page = client.get(path).get_data(as_text=True)
    return client, page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]


def test_the_forms_take_a_known_zone_and_refuse_an_unknown_one_clearly(
        services: Services, storage: Storage) -> None:
    client, csrf = client_and_csrf(services, "/subscribe")
    form = {"email": "zone@example.org", "frequency": "daily", "csrf_token": csrf}
    bad = client.post("/subscribe", data=form | {"time_zone": "Mars/Olympus"})
    assert bad.status_code == 400 and "&#39;Mars/Olympus&#39; is not a known time zone" in bad.get_data(as_text=True)
    assert storage.get_subscriber_by_email("zone@example.org") is None  # nothing stored
    assert client.post("/subscribe", data=form | {"time_zone": "Asia/Tokyo"}).status_code == 200
    sub = storage.get_subscriber_by_email("zone@example.org")
    assert sub is not None and sub.time_zone == "Asia/Tokyo"
    assert client.post("/subscribe", data={**form, "email": "nozone@example.org"}).status_code == 200
    nozone = storage.get_subscriber_by_email("nozone@example.org")
    assert nozone is not None and nozone.time_zone is None  # no script ran: FEEDSVC_TIMEZONE applies

    path = services.links.preferences(sub.id, sub.email).removeprefix("https://press.example.org")
    page = client.get(path).get_data(as_text=True)
    assert '<option selected value="Asia/Tokyo">' in page
    csrf = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    prefs = {"frequency": "weekly", "csrf_token": csrf}
    bad = client.post(path, data=prefs | {"time_zone": "Europe/Atlantis"})
    assert bad.status_code == 400 and "not a known time zone" in bad.get_data(as_text=True)
    assert client.post(path, data=prefs | {"time_zone": "Europe/Istanbul"}).status_code == 200
    moved = storage.get_subscriber_by_email("zone@example.org")
    assert moved is not None and (moved.time_zone, moved.frequency) == ("Europe/Istanbul", "weekly")
    js = client.get("/time-zone.js")
    assert js.status_code == 200 and js.mimetype == "text/javascript" and "resolvedOptions().timeZone" in js.get_data(as_text=True)


# ---------------------------------------------------------------- instant


def test_instant_waits_for_a_burst_to_settle_but_never_past_ten_minutes() -> None:
    t = dt.datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    m = dt.timedelta(minutes=1)
    assert not instant_due(t, t, t + m)  # one just out: wait, more may follow
    assert instant_due(t, t, t + 2 * m)  # quiet for two minutes: send
    assert not instant_due(t, t + 6 * m, t + 7 * m)  # still coming...
    assert instant_due(t, t + 7 * m, t + 8 * m)  # ...but the first has waited 8 minutes: send
    # Checked each minute, a steady stream still sends its oldest within 10 minutes.
    for start in range(60):
        first = t + start * dt.timedelta(seconds=1)
        sent = next(t + k * m for k in range(1, 20) if instant_due(first, t + k * m - dt.timedelta(seconds=30), t + k * m))
        assert sent - first <= dt.timedelta(minutes=10)


def test_instant_readers_get_a_burst_of_three_in_one_email_within_ten_minutes(
        services: Services, digests: DigestClock, storage: Storage, content_dir: Path, clock: Clock,
        smtp_server: SmtpTestServer) -> None:
    storage.add_confirmed("now@example.org", (), "instant", clock())
    storage.add_confirmed("daily@example.org", (), "daily", clock())
    digests.tick()
    assert smtp_server.messages == []

    first = clock.advance(minutes=1)
    for n, title in enumerate(("Mobile Clinics Reach the Border Villages", "Vocational Courses Open in Gaziantep",
                               "Shelter Upgrades Finished Before Winter")):
        publish(services, content_dir, f"burst{n}", title)
        assert digests.tick() == [] and smtp_server.messages == []  # the burst is still coming
        clock.advance(minutes=1)
    assert digests.tick() == []  # one minute quiet
    clock.advance(minutes=1)
    assert digests.tick() == [f"instant:{clock():%Y-%m-%dT%H:%M}Z"]
    assert received(smtp_server) == [("now@example.org", "IOM Turkey press releases — just published (3 new)")]
    assert clock() - first <= dt.timedelta(minutes=10)
    clock.advance(minutes=1)
    assert digests.tick() == [] and len(smtp_server.messages) == 1  # nothing new: nothing more


HELD = """Press releases

EMBARGOED UNTIL 09:00 GMT, 24 November 2026

Cholera Vaccination Reaches the Islands
24 November 2026
ANKARA – Health teams vaccinated 40,000 people on the islands this month.
"""


def test_an_embargoed_release_reaches_instant_readers_within_ten_minutes_of_its_lift(
        services: Services, digests: DigestClock, storage: Storage, content_dir: Path, clock: Clock,
        smtp_server: SmtpTestServer) -> None:
    storage.add_confirmed("now@example.org", (), "instant", clock())
    (content_dir / "held.txt").write_text(HELD, encoding="utf-8")
    services.ingester().scan()  # stored a day before its embargo ends: public nowhere, mailed to nobody
    clock.now = dt.datetime(2026, 11, 24, 8, 59, tzinfo=UTC)
    digests.lift_embargoes()
    digests.tick()
    assert smtp_server.messages == []
    clock.now = dt.datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
    digests.lift_embargoes()  # the lift job (every 15 s): public now
    minutes = 0
    while not smtp_server.messages:
        clock.advance(minutes=1)
        minutes += 1
        digests.tick()
    # Counted from the lift, not from when it was stored a day before: the 2-minute settle window.
    assert minutes == 2
    (msg,) = [m.message for m in smtp_server.messages]
    assert "Cholera Vaccination Reaches the Islands" in msg.get_body(("plain",)).get_content()
