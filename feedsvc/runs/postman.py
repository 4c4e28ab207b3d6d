"""Digest runs: plan once per period, send each planned delivery exactly once, resume after a crash.

The ledger protocol (deliveries.py names each step; storage/digests.py applies them): a run's
deliveries are planned in one transaction that also moves each subscriber's cursor; a delivery
is CLAIMed (`sending`, committed) before its message is handed to SMTP and ACCEPTED (`sent`,
committed) just after the server accepts it. On SQLite one process sends at a time (the sender
lock); whoever takes the lock next finds any `sending` rows of a dead sender, resends them and
flags them IN_DOUBT. On PostgreSQL any number of senders share the runs: each holds a lock of its
own and reserves small batches of rows; the others recover a dead one's rows the same way
(storage/senders.py). How one batch is sent, and which thread does what: batch.py.

A delivery is handed over at most MAX_ATTEMPTS times (deliveries.py), then parked until the
operator retries it; each resend carries the Message-ID of its first hand-over. A relay that
refuses message after message pauses sending (relay.py decides; batch.py applies) until
`feedsvc digest` resumes it (send_pending(resume_relay=True)).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import uuid
import zoneinfo
from collections.abc import Callable
from email.message import EmailMessage

from ..clock import SYSTEM_CLOCK, Clock
from ..config import Settings
from ..deliveries import Delivery
from ..links import Links
from ..model import StoredRelease
from ..storage import Storage
from ..subscribers import FREQUENCIES
from ..tokens import Tokens
from ..topics import Taxonomy, load_taxonomy
from ..transport.dkim import signer_for
from ..transport.pool import BaseMailer
from ..transport.smtp import make_mailer
from ..zones import INSTANT_LABEL, Slot, instant_key
from .batch import Batch, SendReport
from .render import DigestRenderer

log = logging.getLogger("feedsvc.postman")


def period_key(frequency: str, when: dt.datetime, tz: str) -> tuple[str, str]:
    """The key and label of the period a scheduled run at `when` belongs to."""
    local = when.astimezone(zoneinfo.ZoneInfo(tz))
    if frequency == "instant":
        return instant_key(when), INSTANT_LABEL
    if frequency == "daily":
        return f"daily:{local.date().isoformat()}", local.strftime("%-d %B %Y")
    year, week, _ = local.isocalendar()
    monday = local.date() - dt.timedelta(days=local.weekday())
    return f"weekly:{year}-W{week:02}", f"week of {monday.strftime('%-d %B %Y')}"


class Postman:
    """Plans and sends digest runs. Callers pass the clock; nothing here reads it otherwise."""

    def __init__(self, storage: Storage, settings: Settings, *, clock: Clock = SYSTEM_CLOCK,
                 mailer_factory: Callable[[], BaseMailer] | None = None, links: Links | None = None,
                 taxonomy: Callable[[], Taxonomy] | None = None) -> None:
        if not settings.secret_key:
            raise ValueError("digests need SECRET_KEY for their signed links")
        self.storage = storage
        self.settings = settings
        self.clock = clock
        self.links = links or Links(settings.base_url, Tokens(settings.secret_key))
        # One function for every digest: render_digest caches rendered sections keyed by it.
        self._release_url: Callable[[StoredRelease], str] = lambda r: self.links.release(r.id)
        self._taxonomy_source = taxonomy  # the taxonomy in force (services' TaxonomyKeeper)
        self._taxonomy: Taxonomy | None = None
        self.stopping = threading.Event()  # SIGTERM: finish the message in flight, leave the rest
        signer = signer_for(settings)  # built once: the key is parsed at start-up, not per run
        self.mailer_factory: Callable[[], BaseMailer] = mailer_factory or (lambda: make_mailer(
            settings.smtp_url, settings.outbox_dir, rate=settings.mail_rate, signer=signer))

    # -- planning -----------------------------------------------------------------------

    def scheduled_run(self, frequency: str, when: dt.datetime) -> tuple[int, bool]:
        """The run of FEEDSVC_TIMEZONE's period at `when` (its readers and those with no zone of their own)."""
        key, label = period_key(frequency, when, self.settings.timezone)
        zone = self.settings.timezone
        return self.storage.create_run(key, frequency, "scheduled", label, self.clock(), zone=(zone, zone))

    def slot_run(self, slot: Slot) -> tuple[int, bool]:
        """The run of one (frequency, zone, period) slot: only the readers timed in that zone."""
        return self.storage.create_run(slot.key, slot.frequency, "scheduled", slot.label, self.clock(),
                                       zone=(slot.zone, self.settings.timezone))

    def instant_run(self) -> tuple[str, bool]:
        """A run for every instant reader, of what became public since their last email; (key, made now)."""
        now = self.clock()
        key = instant_key(now)
        return key, self.storage.create_run(key, "instant", "scheduled", INSTANT_LABEL, now)[1]

    def manual_runs(self, frequencies: tuple[str, ...] = FREQUENCIES) -> list[int]:
        """`--send-now`: a run now for each frequency; each subscriber gets what is new since their last."""
        now = self.clock()
        runs = []
        for frequency in frequencies:
            _, label = period_key(frequency, now, self.settings.timezone)
            key = f"manual:{frequency}:{now.isoformat()}:{uuid.uuid4().hex[:8]}"
            runs.append(self.storage.create_run(key, frequency, "manual", label, now)[0])
        return runs

    # -- sending ------------------------------------------------------------------------

    def renderer(self) -> DigestRenderer:
        """A renderer for one batch or one preview (its caches live as long as it does)."""
        if self._taxonomy_source is not None:
            taxonomy = self._taxonomy_source()
        else:
            if self._taxonomy is None:
                self._taxonomy = load_taxonomy(self.settings.topics_file)
            taxonomy = self._taxonomy
        return DigestRenderer(self.storage, self.settings, self.links, self.clock, taxonomy,
                              self._release_url)

    def preview(self, delivery: Delivery) -> EmailMessage | None:
        return self.renderer().render(delivery)[0]

    def send_pending(self, *, connections: int | None = None, resume_relay: bool = False) -> SendReport:
        """Send every planned delivery not yet sent, whatever run it belongs to.

        Nothing while sending is paused (storage/bounces.py), except that `resume_relay` (the
        operator's `feedsvc digest`, once the relay is fixed) first lifts a pause a failing relay
        caused; a pause for spam complaints waits for `--resume` or /admin. The clock never lifts one.
        """
        report = SendReport()
        pause = self.storage.sending_pause()
        if pause is not None and resume_relay and pause.cause == "relay":
            lifted = self.storage.resume_sending()
            report.resumed = lifted.reason if lifted else None
            log.warning("sending resumed: it was paused since %s UTC: %s", f"{pause.since:%Y-%m-%d %H:%M}",
                        pause.reason)
        elif pause is not None:
            report.paused = pause.reason
            log.info(report.line())
            return report
        with self.storage.sender_lock() as owner:
            if owner is None:
                report.busy = True
                return report
            report.in_doubt = self.storage.recover_deliveries()
            if report.in_doubt:
                log.warning("%d deliveries were being sent when a sender stopped; resending them "
                            "(marked in doubt: those subscribers may get them twice)", report.in_doubt)
            try:
                Batch(self.storage, self.renderer(), self.mailer_factory(), self.clock, report,
                      connections=connections or self.settings.mail_connections, owner=owner,
                      stopping=self.stopping, relay_failures=self.settings.relay_failures).run()
            finally:
                self.storage.finish_runs(self.clock())
        log.info(report.line())
        return report
