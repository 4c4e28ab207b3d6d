"""Digest runs: plan once per period, send each planned delivery exactly once, resume after a crash.

The ledger protocol (storage.digests): a run's deliveries are planned in one transaction that
also moves each subscriber's cursor; a delivery is marked `sending` (committed) before its
message is handed to SMTP and `sent` (committed) just after the server accepts it. Only one
process sends at a time (the sender lock); whoever takes the lock next finds any `sending` rows
of a dead sender, resends them and marks them in doubt.

While a batch is sent (_Ledger), a ledger thread commits each rendered group's `sending` mark
while the next group renders, and each SMTP worker commits its own acceptances. A group is as
many messages as there are connections; it is handed over once its `sending` commit is done,
and every row marked is either answered (sent, failed, back to pending in doubt) or, if the
batch stops first, released to pending. A crash can therefore flag as in doubt a few messages
that never left (at most two groups, the send queue and one per connection), but never loses
one, and every duplicate belongs to a delivery flagged in doubt.
"""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt
import logging
import threading
import uuid
import zoneinfo
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from email.message import EmailMessage

from .clock import SYSTEM_CLOCK, Clock
from .config import Settings
from .digest import DigestLinks, DigestSection, MailSettings, plan_digest, render_digest
from .links import Links
from .mailer import make_mailer
from .model import FREQUENCIES, StoredRelease, Subscriber
from .sending import BaseMailer, SendResult, TemporaryFailure
from .storage import Storage
from .storage.digests import Delivery, LedgerWriter
from .tokens import Tokens
from .topics import Taxonomy, load_taxonomy

log = logging.getLogger(__name__)


# Per releases window: the releases, and each topic choice's planned sections and release ids.
_Window = tuple[list[StoredRelease], dict[tuple[str, ...], tuple[list[DigestSection], list[str]]]]


@dataclasses.dataclass
class SendReport:
    sent: int = 0
    empty: int = 0
    failed: int = 0
    in_doubt: int = 0  # resent after a crash: these subscribers may have it twice
    retry_later: int = 0
    busy: bool = False  # another process holds the sender lock and is sending

    def line(self) -> str:
        if self.busy:
            return "another process is sending digests; it will finish the work"
        return (f"digests: {self.sent} sent, {self.empty} with nothing new, {self.failed} failed, "
                f"{self.retry_later} left for a retry, {self.in_doubt} resent after an interruption")


def period_key(frequency: str, when: dt.datetime, tz: str) -> tuple[str, str]:
    """The key and label of the period a scheduled run at `when` belongs to."""
    local = when.astimezone(zoneinfo.ZoneInfo(tz))
    if frequency == "daily":
        return f"daily:{local.date().isoformat()}", local.strftime("%-d %B %Y")
    year, week, _ = local.isocalendar()
    monday = local.date() - dt.timedelta(days=local.weekday())
    return f"weekly:{year}-W{week:02}", f"week of {monday.strftime('%-d %B %Y')}"


class _Ledger:
    """Writes the delivery ledger while a batch is sent.

    Claims (rendered groups to mark `sending`) are committed by one ledger thread, so the
    renderer hands a group over and renders the next while it commits. An acceptance is
    committed as `sent` by the SMTP worker that got it, before that worker sends anything else,
    over its own kept connection (on PostgreSQL one statement, one round trip): the window in
    which a crash leaves an accepted message `sending` is that one commit. Tried the other way,
    acceptances group-committed on the ledger thread, the window grew to a few commits and the
    crash test's duplicates on SQLite from 1 to 13, for no gain in throughput.
    """

    def __init__(self, storage: Storage, clock: Clock, on_committed: Callable[[int], None]) -> None:
        self._storage, self._clock, self._on_committed = storage, clock, on_committed
        self._claims: list[tuple[Future[set[int]], list[tuple[int, str, str]], list[int]]] = []
        self._wake = threading.Condition()
        self._closing = False
        self.error: BaseException | None = None
        self._local = threading.local()
        self._writers: list[LedgerWriter] = []
        self._thread = threading.Thread(target=self._run, name="ledger", daemon=True)
        self._thread.start()

    def sent(self, delivery_id: int) -> None:
        """From an SMTP worker, straight after the server accepted: committed before it returns."""
        if self.error is not None:
            raise self.error  # stops the batch: nothing more goes out unrecorded
        writer = getattr(self._local, "writer", None)
        if writer is None:
            writer = self._local.writer = self._storage.ledger_writer()
            with self._wake:
                self._writers.append(writer)
        writer.sent([delivery_id], self._clock())
        self._on_committed(1)

    def claim(self, sending: list[tuple[int, str, str]], empty: list[int]) -> Future[set[int]]:
        """Mark rendered deliveries `sending` (and empty ones `empty`); the future gives the ids marked."""
        future: Future[set[int]] = Future()
        with self._wake:
            if self.error is not None:
                raise self.error
            self._claims.append((future, sending, empty))
            self._wake.notify()
        return future

    def close(self) -> None:
        """Commit what is queued, then stop; raises what the ledger failed with, if it did."""
        with self._wake:
            self._closing = True
            self._wake.notify()
        self._thread.join()
        for writer in self._writers:
            writer.close()
        if self.error is not None:
            raise self.error

    def _run(self) -> None:
        writer = self._storage.ledger_writer()
        try:
            while True:
                with self._wake:
                    while not (self._claims or self._closing):
                        self._wake.wait()
                    claims, self._claims = self._claims, []
                if not claims:
                    return
                try:
                    marked = writer.claim([m for _, sending, _ in claims for m in sending],
                                          [i for _, _, empty in claims for i in empty])
                except BaseException as exc:  # noqa: BLE001 - handed to the workers, the renderer and close()
                    with self._wake:
                        self.error = exc
                        claims += self._claims
                        self._claims = []
                    for future, _, _ in claims:
                        future.set_exception(exc)
                    log.error("could not record digest deliveries: %s", exc)
                    return
                for future, sending, _ in claims:
                    future.set_result({i for i, _, _ in sending if i in marked})
        finally:
            writer.close()


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
        self._taxonomy_source = taxonomy
        self.links = links or Links(settings.base_url, Tokens(settings.secret_key))
        self.mail_settings = MailSettings(
            mail_from=settings.mail_from, reply_to=settings.mail_from,
            list_id=f"{settings.organisation} press releases <releases.{settings.tag_authority}>",
            organisation=settings.organisation)
        # One function for every digest: render_digest caches rendered sections keyed by it.
        self._release_url: Callable[[StoredRelease], str] = lambda r: self.links.release(r.id)
        self.stopping = threading.Event()  # SIGTERM: finish the message in flight, leave the rest
        self.mailer_factory = mailer_factory or (lambda: make_mailer(
            settings.smtp_url, settings.outbox_dir, rate=settings.mail_rate))

    # -- planning -----------------------------------------------------------------------

    def scheduled_run(self, frequency: str, when: dt.datetime) -> tuple[int, bool]:
        key, label = period_key(frequency, when, self.settings.timezone)
        return self.storage.create_run(key, frequency, "scheduled", label, self.clock())

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

    def preview(self, delivery: Delivery) -> EmailMessage | None:
        return self._render(delivery, {})[0]

    def _render(self, d: Delivery, cache: dict[tuple[int, int], _Window]) -> tuple[EmailMessage | None, list[str]]:
        window = (d.since_seq, d.until_seq)
        if window not in cache:
            if len(cache) > 8:
                cache.clear()
            cache[window] = (self.storage.releases_between(*window), {})
        releases, plans = cache[window]
        subscriber = Subscriber(id=d.subscriber_id, email=d.email, topics=d.topics,
                                frequency=d.frequency, state="confirmed", created_at=self.clock())
        # A run's subscribers share a few hundred topic choices at most: plan each choice once
        # per window, not once per subscriber (it was a third of the rendering time).
        if d.topics not in plans:
            if len(plans) > 4096:
                plans.clear()
            sections = plan_digest(subscriber, releases, self._taxonomy().titles)
            plans[d.topics] = (sections, [item.release.id for s in sections for item in s.items])
        sections, ids = plans[d.topics]
        if not sections:
            return None, []
        links = DigestLinks(unsubscribe_url=self.links.unsubscribe(d.subscriber_id),
                            preferences_url=self.links.preferences(d.subscriber_id),
                            archive_url=self.links.digest_archive(d.id),
                            release_url=self._release_url, base_url=self.links.base_url)
        msg = render_digest(subscriber, sections, period_label=d.period_label, links=links,
                            settings=self.mail_settings, now=self.clock(), run_id=f"{d.run_id}.{d.id}",
                            templates_dir=self.settings.templates_dir)
        return msg, ids

    def _taxonomy(self) -> Taxonomy:
        if self._taxonomy_source is not None:
            return self._taxonomy_source()  # the taxonomy in force (services' TaxonomyKeeper)
        if not hasattr(self, "_tax"):
            self._tax = load_taxonomy(self.settings.topics_file)
        return self._tax

    def send_pending(self, *, connections: int | None = None) -> SendReport:
        """Send every planned delivery not yet sent, whatever run it belongs to."""
        report = SendReport()
        with self.storage.sender_lock() as got:
            if not got:
                report.busy = True
                return report
            report.in_doubt = self.storage.recover_deliveries()
            if report.in_doubt:
                log.warning("%d deliveries were being sent when a sender stopped; resending them "
                            "(marked in doubt: those subscribers may get them twice)", report.in_doubt)
            try:
                self._send_all(report, connections or self.settings.mail_connections)
            finally:
                self.storage.finish_runs(self.clock())
        log.info(report.line())
        return report

    def _send_all(self, report: SendReport, connections: int) -> None:
        mailer = self.mailer_factory()
        inflight: dict[int, Delivery] = {}  # marked `sending`, no outcome recorded yet
        cache: dict[tuple[int, int], _Window] = {}
        # Rendered groups whose `sending` commit is under way; at most two, so the next group
        # renders while the last one commits. Those left over at the end go back to pending.
        claims: collections.deque[tuple[Future[set[int]], list[tuple[Delivery, EmailMessage]], int]] = \
            collections.deque()
        counting = threading.Lock()

        def committed(n: int) -> None:
            with counting:
                report.sent += n

        ledger = _Ledger(self.storage, self.clock, committed)

        def messages() -> Iterator[tuple[int, EmailMessage]]:
            last_id = 0
            while batch := self.storage.pending_deliveries(after_id=last_id):
                last_id = batch[-1].id
                for start in range(0, len(batch), connections):
                    if self.stopping.is_set():
                        return
                    ready: list[tuple[Delivery, EmailMessage]] = []
                    marks: list[tuple[int, str, str]] = []
                    empty: list[int] = []
                    for d in batch[start:start + connections]:
                        msg, ids = self._render(d, cache)
                        if msg is None:
                            empty.append(d.id)
                        else:
                            ready.append((d, msg))
                            marks.append((d.id, " ".join(ids), str(msg["Message-ID"])))
                    claims.append((ledger.claim(marks, empty), ready, len(empty)))
                    if len(claims) > 1:
                        yield from hand_over()
                        if self.stopping.is_set():
                            return
            while claims and not self.stopping.is_set():
                yield from hand_over()

        def hand_over() -> Iterator[tuple[int, EmailMessage]]:
            future, ready, n_empty = claims[0]
            marked = future.result()
            claims.popleft()
            report.empty += n_empty
            # Unsubscribed (or removed) since the page was read: not marked, not sent.
            group = [(d, msg) for d, msg in ready if d.id in marked]
            inflight.update((d.id, d) for d, _ in group)
            for d, msg in group:
                if self.stopping.is_set():
                    return  # the group's rest is in `inflight`: released to pending below
                yield d.id, msg

        def on_result(delivery_id: int, result: SendResult) -> None:
            # Runs in the SMTP worker thread, straight after the server's answer.
            d = inflight.pop(delivery_id)
            if result.accepted:
                ledger.sent(delivery_id)
            elif result.permanent_failure:
                reason = f"{result.code} {result.detail}".strip()
                self.storage.mark_delivery(delivery_id, "failed", error=reason)
                self.storage.record_bounce(d.subscriber_id, reason)
                with counting:
                    report.failed += 1
            else:  # in doubt: the server may have it; resend, so nobody misses it
                self.storage.mark_delivery(delivery_id, "pending", in_doubt=True,
                                           attempts=d.attempts + 1)
                with counting:
                    report.retry_later += 1

        try:
            result = mailer.send_many(messages(), connections=connections, on_result=on_result,
                                      record_in_worker=True)
            for delivery_id, failure in result.temporary_failures:
                inflight.pop(delivery_id, None)
                self.storage.release_delivery(delivery_id, failure.reason)
                report.retry_later += 1
        except TemporaryFailure as exc:
            log.warning("mail server unavailable (%s); unsent digests wait for the next attempt", exc.reason)
        finally:
            try:
                ledger.close()  # commits every acceptance and claim still queued
            finally:
                for future, ready, n_empty in claims:  # claimed, never handed over
                    if future.done() and future.exception() is None:
                        report.empty += n_empty
                        inflight.update((d.id, d) for d, _ in ready if d.id in future.result())
                # Marked but never answered (handed over and skipped, or never handed over): the
                # server has not accepted them, so back to pending.
                for delivery_id in list(inflight):
                    self.storage.release_delivery(delivery_id, "not attempted: the batch stopped")
                    report.retry_later += 1
                mailer.close()
