"""feedsvc.clock: the one place that reads the time of day (issue 12 item 4)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from feedsvc.clock import SYSTEM_CLOCK, Clock, SystemClock

PACKAGE = Path(__file__).resolve().parents[1] / "feedsvc"
# Reading the wall clock; time.monotonic/perf_counter for durations are measurements, not decisions.
READS_THE_CLOCK = re.compile(r"\b(?:datetime\.now|datetime\.utcnow|date\.today|time\.time|utcnow)\(")


def test_the_system_clock_is_aware_utc() -> None:
    before = dt.datetime.now(dt.UTC)
    now = SystemClock()()
    assert now.tzinfo is not None and now.utcoffset() == dt.timedelta(0)
    assert before <= now <= dt.datetime.now(dt.UTC)


def test_the_tests_clock_is_a_clock(clock) -> None:  # type: ignore[no-untyped-def]
    def take(c: Clock) -> dt.datetime:
        return c()

    assert take(clock) == dt.datetime(2026, 11, 23, 8, 0, tzinfo=dt.UTC)
    assert take(SYSTEM_CLOCK).tzinfo is not None


def test_nothing_outside_the_clock_module_reads_the_clock() -> None:
    offenders = [f"{path.relative_to(PACKAGE.parent)}:{n}: {line.strip()}"
                 for path in sorted(PACKAGE.rglob("*.py")) if path.name != "clock.py" or path.parent != PACKAGE
                 for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
                 if READS_THE_CLOCK.search(line)]
    assert offenders == []


def test_the_publisher_dates_feed_ids_by_the_clock_it_is_given(storage, clock) -> None:  # type: ignore[no-untyped-def]
    from feedsvc.config import load_settings
    from feedsvc.services import build_services

    services = build_services(load_settings({"DATABASE_URL": "sqlite://"}), clock, storage=storage)
    clock.advance(days=40)
    assert services.publisher.tag_date() == "2027-01-02"
    clock.advance(days=400)
    assert services.publisher.tag_date() == "2027-01-02"  # fixed at the first build, never changed after
