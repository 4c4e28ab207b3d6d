"""The clock: digests on schedule in each subscriber's time zone, catch-up after downtime, resumption,
and the lift job that publishes releases whose embargo has ended (issue 17 item 1).

Several clocks may run at once by mistake: a scheduled run is keyed by its period in the
database, so they make one run between them, and only the holder of the sender lock sends.
"""

from __future__ import annotations

import datetime as dt
import logging
import zoneinfo
from collections.abc import Callable
from typing import TYPE_CHECKING

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger

from .config import Settings
from .runs.postman import Postman
from .zones import due_slots, instant_due

if TYPE_CHECKING:
    from .publish import Publisher

log = logging.getLogger(__name__)

RESUME_EVERY_SECONDS = 60
# Issue 17 item 1: a release is public everywhere within 60 s of its embargo's end. A lift runs
# every 15 s, and the web processes see rebuilt feeds within FEEDSVC_FEED_RECHECK (2 s).
LIFT_EVERY_SECONDS = 15
BOUNCES_EVERY_SECONDS = 300  # FEEDSVC_BOUNCE_MAILBOX read every 5 minutes


def latest_due(frequency: str, settings: Settings, now: dt.datetime) -> dt.datetime:
    """The most recent scheduled instant at or before `now` for this frequency."""
    tz = zoneinfo.ZoneInfo(settings.timezone)
    local = now.astimezone(tz)
    at = dt.datetime.combine(local.date(), settings.daily_at, tzinfo=tz)
    if frequency == "daily":
        return at if at <= local else at - dt.timedelta(days=1)
    weekday = ("mon", "tue", "wed", "thu", "fri", "sat", "sun").index(settings.weekly_on)
    at -= dt.timedelta(days=(local.weekday() - weekday) % 7)
    return at if at <= local else at - dt.timedelta(days=7)


class Clock:
    """Runs the digest schedule, and the lifting of embargoes, in a background thread."""

    def __init__(self, postman: Postman, settings: Settings, publisher: Publisher | None = None, *,
                 read_bounces: Callable[[], object] | None = None) -> None:
        self.postman = postman
        self.settings = settings
        self.publisher = publisher
        self.read_bounces = read_bounces  # drains the bounce mailbox (when FEEDSVC_BOUNCE_MAILBOX is set)
        self.scheduler = BackgroundScheduler(timezone=zoneinfo.ZoneInfo(settings.timezone))

    def catch_up(self) -> list[str]:
        """Plan each (frequency, zone)'s latest slot that has no run yet; the keys planned now.

        Called every minute, it is the schedule itself: a slot is planned in the minute it falls due
        in its zone. After downtime it is the catch-up: only the latest slot of each (frequency,
        zone), so three days down give one digest per subscriber, not three (zones.py decides).
        """
        made: list[str] = []
        s = self.settings
        try:
            zones = self.postman.storage.subscriber_zones()
        except Exception:  # the clock must keep running; the next minute tries again
            log.exception("could not read the subscribers' time zones")
            return made
        for slot in due_slots(zones, daily_at=s.daily_at, weekly_on=s.weekly_on, now=self.postman.clock(),
                              default_zone=s.timezone):
            try:
                if not self.postman.storage.run_exists(slot.key) and self.postman.slot_run(slot)[1]:
                    made.append(slot.key)
                    log.info("planned %s digest %s", slot.frequency, slot.key)
            except Exception:  # the clock must keep running; the next minute tries again
                log.exception("could not plan the %s digest %s", slot.frequency, slot.key)
        return made

    def instant(self) -> list[str]:
        """Plan an instant run when what instant readers wait for is due (zones.instant_due decides)."""
        try:
            backlog = self.postman.storage.instant_backlog()
            if backlog is None or not instant_due(*backlog, self.postman.clock()):
                return []
            key, made = self.postman.instant_run()
        except Exception:  # the clock must keep running; the next minute tries again
            log.exception("could not plan an instant run")
            return []
        return [key] if made else []

    def tick(self) -> list[str]:
        """The minute job: plan the slots now due in any zone and instant runs, and send what they planned."""
        made = self.catch_up() + self.instant()
        if made:
            try:
                self.postman.send_pending()
            except Exception:  # the clock must survive a bad run; the resume job carries on
                log.exception("sending the digests of %s failed; they will be resumed", ", ".join(made))
        return made

    def resume(self) -> None:
        try:
            if self.postman.storage.count_pending() or self.postman.storage.delivery_counts().get("sending"):
                self.postman.send_pending()
        except Exception:
            log.exception("resuming digests failed; trying again in %ss", RESUME_EVERY_SECONDS)

    def lift_embargoes(self) -> None:
        if self.publisher is None:
            return
        try:
            self.publisher.lift_embargoes()
        except Exception:  # the clock must keep running; the next tick lifts them
            log.exception("lifting embargoes failed; trying again in %ss", LIFT_EVERY_SECONDS)

    def bounces(self) -> None:
        if self.read_bounces is None:
            return
        try:
            self.read_bounces()
        except Exception:  # an unreachable mailbox must not stop the clock; its messages wait
            log.exception("reading the bounce mailbox failed; trying again in %ss", BOUNCES_EVERY_SECONDS)

    def _resume_at_start(self) -> None:
        self.resume()
        # Operators (and the scale-out test) read this line as "this clock has done its start-up work".
        log.info("ready: missed digests planned, interrupted sends resumed")

    def start(self) -> None:
        s = self.settings
        # One job for every zone rather than a cron trigger per zone: subscribers add zones while it runs.
        self.scheduler.add_job(self.tick, CronTrigger(second=0, timezone="UTC"), id="digests",
                               coalesce=True, max_instances=1)
        self.scheduler.add_job(self.resume, "interval", seconds=RESUME_EVERY_SECONDS, id="resume",
                               coalesce=True, max_instances=1)
        if self.publisher is not None:
            self.scheduler.add_job(self.lift_embargoes, "interval", seconds=LIFT_EVERY_SECONDS, id="embargoes",
                                   coalesce=True, max_instances=1)
        if self.read_bounces is not None:
            self.scheduler.add_job(self.bounces, "interval", seconds=BOUNCES_EVERY_SECONDS, id="bounces",
                                   coalesce=True, max_instances=1)
        self.catch_up()
        self.scheduler.start()
        self.scheduler.add_job(self._resume_at_start, id="resume-now")  # whatever a dead sender left, now
        log.info("digests scheduled daily at %s and weekly on %s, in each subscriber's time zone "
                 "(default %s)", s.daily_at.strftime("%H:%M"), s.weekly_on, s.timezone)

    def stop(self) -> None:
        self.postman.stopping.set()
        self.scheduler.shutdown(wait=True)
