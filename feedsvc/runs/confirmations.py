"""The confirmation queue drained: double opt-in emails sent outside any request.

A sign-up queues its email in the database (storage.subscribe) and returns at once; whichever
sender process drains the queue sends it through the same transport as the digests:
`feedsvc serve` and `feedsvc scheduler` run a ConfirmationWorker, and `feedsvc digest` drains
once. A temporary failure leaves the email queued for the next drain; a permanent refusal, or
an email older than its link's lifetime, is dropped as failed.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import threading
from collections.abc import Callable

from ..bounces.verp import return_paths_for, stamp
from ..clock import Clock
from ..config import Settings
from ..deliveries import QueuedConfirmation
from ..digest import render_confirmation
from ..links import Links
from ..storage import Storage
from ..tokens import CONFIRM_MAX_AGE
from ..transport.dkim import signer_for
from ..transport.outcomes import TemporaryFailure
from ..transport.pool import BaseMailer
from ..transport.smtp import make_mailer
from .render import mail_settings

log = logging.getLogger("feedsvc.postman")

# A claim older than this is a dead sender's: the email is taken again (it may go out twice).
LEASE = dt.timedelta(minutes=10)
# The link in the email stops working after this: an older email is not worth sending.
EXPIRES = dt.timedelta(seconds=CONFIRM_MAX_AGE)
# How often a worker looks for emails queued by other processes (the web's, on a PaaS).
POLL_SECONDS = 10.0


@dataclasses.dataclass
class ConfirmationReport:
    sent: int = 0
    failed: int = 0
    retry_later: int = 0

    def line(self) -> str:
        return (f"confirmation emails: {self.sent} sent, {self.failed} failed, "
                f"{self.retry_later} left for a retry")


class ConfirmationSender:
    """Drains the queue. send_queued() may be called from any thread; one drain runs at a time."""

    def __init__(self, storage: Storage, settings: Settings, links: Links, clock: Clock, *,
                 mailer_factory: Callable[[], BaseMailer] | None = None) -> None:
        self.storage, self.settings, self.links, self.clock = storage, settings, links, clock
        signer = signer_for(settings)
        self.mailer_factory: Callable[[], BaseMailer] = mailer_factory or (
            lambda: make_mailer(settings.smtp_url, settings.outbox_dir, signer=signer))
        self._draining = threading.Lock()
        self.return_paths = return_paths_for(settings)  # VERP, when FEEDSVC_BOUNCE_DOMAIN is set

    def send_queued(self) -> ConfirmationReport:
        """Send every queued confirmation email once; what the server cannot take now stays queued."""
        report = ConfirmationReport()
        with self._draining:
            mailer = self.mailer_factory()
            try:
                self._drain(mailer, report)
            finally:
                mailer.close()
        if report.sent or report.failed or report.retry_later:
            log.info(report.line())
        return report

    def _drain(self, mailer: BaseMailer, report: ConfirmationReport) -> None:
        last_id = 0
        while True:
            now = self.clock()
            claimed = self.storage.claim_confirmations(now, stale_before=now - LEASE, after_id=last_id)
            if not claimed:
                return
            last_id = claimed[-1].id
            for n, queued in enumerate(claimed):
                try:
                    done = self._send_one(mailer, queued, report)
                except BaseException:  # MailerError or a bug: the unsent rest goes back, then it is said
                    for rest in claimed[n:]:
                        self.storage.release_confirmation(rest.id, "not attempted: the drain stopped")
                    raise
                if not done:  # the server is down: every other email would fail alike
                    for rest in claimed[n + 1:]:
                        self.storage.release_confirmation(rest.id, "not attempted: the server is down")
                        report.retry_later += 1
                    return

    def _send_one(self, mailer: BaseMailer, queued: QueuedConfirmation, report: ConfirmationReport) -> bool:
        """One email, its outcome recorded; False when the server is unreachable."""
        now = self.clock()
        if now - queued.queued_at > EXPIRES:
            self.storage.confirmation_failed(queued.id, "expired: its link would no longer work")
            report.failed += 1
            return True
        confirm_url = self.links.confirm(queued.subscriber_id, queued.email, queued.id, queued.locale)
        msg = render_confirmation(queued.email, confirm_url=confirm_url, locale=queued.locale,
                                  settings=mail_settings(self.settings), now=now,
                                  templates_dir=self.settings.templates_dir)
        stamp(msg, self.return_paths, queued.subscriber_id, "confirmation", queued.id)
        try:
            result = mailer.send(msg)
        except TemporaryFailure as exc:
            self.storage.release_confirmation(queued.id, exc.reason)
            report.retry_later += 1
            log.warning("confirmation email to subscriber %s not sent yet: %s", queued.subscriber_id, exc.reason)
            return not exc.connection
        if result.accepted:
            self.storage.confirmation_sent(queued.id, now)
            report.sent += 1
        elif result.permanent_failure:
            self.storage.confirmation_failed(queued.id, f"{result.code} {result.detail}".strip())
            report.failed += 1
        else:  # in doubt: a second confirmation email does no harm, a missing one loses the reader
            self.storage.release_confirmation(queued.id, f"in doubt: {result.detail}")
            report.retry_later += 1
        return True


class ConfirmationWorker:
    """Drains the queue in its own thread ("confirmations"): at once when woken, else every `poll_seconds`.

    Threading contract: wake() and stop() are called from any thread (wake() from the request
    thread that queued an email); send_queued() runs only in the worker's thread.
    """

    def __init__(self, sender: ConfirmationSender, *, poll_seconds: float = POLL_SECONDS) -> None:
        self.sender, self.poll_seconds = sender, poll_seconds
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="confirmations", daemon=True)

    def start(self) -> ConfirmationWorker:
        self._thread.start()
        return self

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        """Stop after the email in flight; what is left stays queued for the next sender."""
        self._stopping.set()
        self._wake.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                self.sender.send_queued()
            except Exception:  # the worker must survive a bad drain; the next one tries again
                log.exception("sending confirmation emails failed; trying again in %ss", self.poll_seconds)
            self._wake.wait(self.poll_seconds)
            self._wake.clear()
