"""One batch: every pending delivery rendered, claimed, sent and answered, each step named once.

The steps, and the thread each runs in (the ledger step it applies, deliveries.py, in capitals):

  claim               sender thread  render a group (as many deliveries as connections) and
                                     hand it to the ledger thread: CLAIM, or NOTHING_NEW
  hand_over           sender thread  once a group's claim is committed, give its messages to
                                     the pool (transport.pool.BaseMailer.send_many)
  accepted            SMTP worker    ACCEPTED, committed before that worker sends anything else;
                                     the refusals held so far become bounces
  refused             SMTP worker    a 5xx: held (relay.py) until an acceptance shows it was the
                                     recipient's (REFUSED, the address bounced), or the row of
                                     refusals shows the relay failing (RELEASE, the runs paused)
  in_doubt            SMTP worker    IN_DOUBT: the line died after DATA; sent again, flagged
                                     (PARK at the MAX_ATTEMPTS-th attempt)
  release             sender thread  RELEASE: a temporary failure send_many listed
  release_unanswered  sender thread  RELEASE every claimed delivery with no answer (the batch
                                     stopped: SIGTERM, the server down, the ledger failed, the
                                     relay failing), and the refusals still held

The sender thread is the one that called Batch.run. The SMTP workers are send_many's threads:
they call `answered` (record_in_worker=True), which runs accepted, refused or in_doubt. What
both sides touch (the claimed deliveries, the report) is under one lock.

A crash can flag as in doubt a few messages that never left (at most two groups, the send
queue and one per connection), but never loses one, and every duplicate belongs to a delivery
flagged in doubt.
"""

from __future__ import annotations

import collections
import dataclasses
import logging
import threading
from collections.abc import Iterator
from concurrent.futures import Future
from email.message import EmailMessage

from ..clock import Clock
from ..deliveries import MAX_ATTEMPTS, Delivery
from ..model import FeedsvcError
from ..relay import DEFAULT_THRESHOLD, RefusalRow
from ..storage import Storage
from ..transport.outcomes import SendResult, TemporaryFailure
from ..transport.pool import BaseMailer
from .ledger import LedgerThread, Marks
from .render import DigestRenderer

log = logging.getLogger("feedsvc.postman")


@dataclasses.dataclass
class SendReport:
    sent: int = 0
    empty: int = 0
    failed: int = 0
    in_doubt: int = 0  # resent after a crash: these subscribers may have it twice
    retry_later: int = 0
    parked: int = 0  # attempted MAX_ATTEMPTS times: they wait on /admin (also counted in retry_later)
    busy: bool = False  # another process holds the sender lock and is sending
    paused: str | None = None  # why sending is paused (bounces/policy.py, or a relay): nothing was sent
    relay_failing: str | None = None  # this batch found the relay failing and paused sending (relay.py)
    resumed: str | None = None  # the relay's pause this send lifted first (`feedsvc digest`), if one

    def line(self) -> str:
        if self.paused is not None:
            return (f"sending is paused ({self.paused}); unsent digests wait: "
                    "lift it with `feedsvc digest --resume` or on /admin")
        if self.busy:
            return "another process is sending digests; it will finish the work"
        line = (f"digests: {self.sent} sent, {self.empty} with nothing new, {self.failed} failed, "
                f"{self.retry_later} left for a retry, {self.in_doubt} resent after an interruption")
        if self.parked:
            line += f", {self.parked} parked after {MAX_ATTEMPTS} attempts (see /admin)"
        if self.relay_failing:
            line += f"; sending PAUSED: {self.relay_failing} (`feedsvc digest` resumes once it is fixed)"
        return line


# PostgreSQL: a sender reserves this many groups (one message per connection each) at a time.
RESERVE_GROUPS = 4


class RelayFailing(FeedsvcError):
    """Raised by the worker that saw the relay fail: stops send_many; the runs are already paused."""


# A rendered group whose claim is being committed: the claim, its messages, how many were empty.
_Group = tuple[Future[set[int]], list[tuple[Delivery, EmailMessage]], int]


class Batch:
    """Sends every pending delivery once through `mailer`; run() it once, from the sender thread."""

    def __init__(self, storage: Storage, renderer: DigestRenderer, mailer: BaseMailer, clock: Clock,
                 report: SendReport, *, connections: int, stopping: threading.Event,
                 relay_failures: int = DEFAULT_THRESHOLD, owner: int | None = None) -> None:
        self.storage, self.renderer, self.mailer, self.clock = storage, renderer, mailer, clock
        self.owner = owner  # this sender session (storage/senders.py)
        self.report, self.connections, self.stopping = report, connections, stopping
        self.relay_failures = relay_failures
        # Refusals since the last acceptance (relay.py), not yet recorded: their deliveries
        # stay `sending` meanwhile. Under the lock, as everything both sides touch.
        self._row = RefusalRow()
        self._held: dict[int, tuple[Delivery, str]] = {}
        self._paused: str | None = None
        self._lock = threading.Lock()
        self._claimed: dict[int, Delivery] = {}  # CLAIMed, no answer recorded yet
        # Groups whose claim is under way; at most two, so the next group renders while the
        # last one commits. Those left over at the end are released. Sender thread only.
        self._groups: collections.deque[_Group] = collections.deque()
        self._ledger: LedgerThread | None = None

    def run(self) -> None:
        ledger = self._ledger = LedgerThread(self.storage, self.clock, self.owner)
        try:
            result = self.mailer.send_many(self._messages(), connections=self.connections,
                                           on_result=self.answered, record_in_worker=True)
            for delivery_id, failure in result.temporary_failures:
                self.release(delivery_id, failure.reason, attempted=not failure.connection)
            self.bounce_held()  # fewer refusals in a row than a failing relay makes: the recipients'
        except TemporaryFailure as exc:
            log.warning("mail server unavailable (%s); unsent digests wait for the next attempt", exc.reason)
        except RelayFailing as exc:
            self.report.relay_failing = str(exc)
            self.storage.pause_sending(f"{exc}: nobody was marked bounced for it", self.clock(), cause="relay")
            log.error("digest sending PAUSED: %s. Nobody was marked bounced for it; the digests wait. "
                      "Fix the relay (SMTP_URL, its credentials, its relaying rules), then run "
                      "`feedsvc digest` to resume.", exc)
        finally:
            try:
                ledger.close()  # commits every claim still queued; raises if the ledger failed
            finally:
                self.release_unanswered()
                self.mailer.close()

    # -- sender thread ------------------------------------------------------------------

    def _pages(self) -> Iterator[list[Delivery]]:
        """The deliveries this sender sends, a page at a time.

        SQLite (one sender): the pending rows in id order. PostgreSQL (any number): small batches
        reserved for this sender alone, each after recovering what dead senders left, so a
        killed sender's rows go out from the others while they run; small, so that senders
        finishing a run wait for each other at most one batch.
        """
        if self.owner is None or not self.storage.senders_share_runs:
            last_id = 0
            while page := self.storage.pending_deliveries(after_id=last_id):
                last_id = page[-1].id
                yield page
            return
        while True:
            recovered = self.storage.recover_deliveries()
            if recovered:
                with self._lock:
                    self.report.in_doubt += recovered
                log.warning("%d deliveries were being sent by a sender that stopped; resending them "
                            "(marked in doubt: those subscribers may get them twice)", recovered)
            page = self.storage.reserve_deliveries(self.owner, RESERVE_GROUPS * self.connections)
            if not page:
                return
            yield page

    def _messages(self) -> Iterator[tuple[int, EmailMessage]]:
        """What send_many sends, rendered lazily as it asks (so rendering overlaps sending)."""
        for page in self._pages():
            for start in range(0, len(page), self.connections):
                if self.stopping.is_set():
                    return
                self.claim(page[start:start + self.connections])
                if len(self._groups) > 1:
                    yield from self.hand_over()
                    if self.stopping.is_set():
                        return
        while self._groups and not self.stopping.is_set():
            yield from self.hand_over()

    def claim(self, deliveries: list[Delivery]) -> None:
        """Render a group and queue its CLAIM (NOTHING_NEW for the empty) on the ledger thread."""
        assert self._ledger is not None
        ready: list[tuple[Delivery, EmailMessage]] = []
        marks: Marks = []
        empty: list[int] = []
        for d in deliveries:
            msg, ids = self.renderer.render(d)
            if msg is None:
                empty.append(d.id)
            else:
                ready.append((d, msg))
                marks.append((d.id, " ".join(ids), str(msg["Message-ID"])))
        self._groups.append((self._ledger.claim(marks, empty), ready, len(empty)))

    def hand_over(self) -> Iterator[tuple[int, EmailMessage]]:
        """The oldest group's messages, once its claim is committed; only those it claimed."""
        future, ready, n_empty = self._groups[0]
        claimed = future.result()
        self._groups.popleft()
        # Unsubscribed (or removed) since the page was read: not claimed, not sent.
        group = [(d, msg) for d, msg in ready if d.id in claimed]
        with self._lock:
            self.report.empty += n_empty
            self._claimed.update((d.id, d) for d, _ in group)
        for d, msg in group:
            if self.stopping.is_set():
                return  # the group's rest stays claimed: release_unanswered gives it back
            yield d.id, msg

    def release(self, delivery_id: int, reason: str, *, attempted: bool) -> None:
        """RELEASE: a temporary failure; back to pending for the next attempt (PARK after the last)."""
        with self._lock:
            self._claimed.pop(delivery_id, None)
            self.report.retry_later += 1
        self._count_parked(self.storage.release_delivery(delivery_id, reason, attempted=attempted))

    def _count_parked(self, parked: bool) -> None:
        if parked:
            with self._lock:
                self.report.parked += 1

    def release_unanswered(self) -> None:
        """RELEASE what was claimed and never answered: the server has not accepted it."""
        for future, ready, n_empty in self._groups:  # claimed, never handed over
            if future.done() and future.exception() is None:
                with self._lock:
                    self.report.empty += n_empty
                    self._claimed.update((d.id, d) for d, _ in ready if d.id in future.result())
        self._groups.clear()
        with self._lock:
            unanswered, self._claimed = list(self._claimed), {}
            # Refusals not judged yet when the batch stopped: neither bounced nor attempted.
            unanswered += list(self._held)
            self._held, self._row = {}, RefusalRow()
            self.report.retry_later += len(unanswered)
        reason = f"relay failing: {self._paused}" if self._paused else "not attempted: the batch stopped"
        for delivery_id in unanswered:
            self.storage.release_delivery(delivery_id, reason, attempted=False)

    # -- SMTP worker threads ------------------------------------------------------------

    def answered(self, delivery_id: int, result: SendResult) -> None:
        """send_many's on_result: runs in the SMTP worker thread, straight after the server's answer."""
        with self._lock:
            d = self._claimed.pop(delivery_id)
        if result.accepted:
            self.accepted(d)
        elif result.permanent_failure and result.code is None:
            self.refused(d, result.detail)  # refused before reaching the server: the address itself
        elif result.permanent_failure:
            self.held_refusal(d, f"{result.code} {result.detail}".strip())
        else:
            self.in_doubt(d, result.detail)

    def accepted(self, d: Delivery) -> None:
        """ACCEPTED, committed on this worker's ledger connection before it sends anything else."""
        assert self._ledger is not None
        self._ledger.accepted(d.id)
        with self._lock:
            self.report.sent += 1
            held = bool(self._held)
        if held:
            self.bounce_held()  # the relay works: the refusals before this were the recipients' own

    def held_refusal(self, d: Delivery, reason: str) -> None:
        """A 5xx: held until the row it joins is judged (relay.py). Raises RelayFailing, which stops
        send_many at once, when the row shows the relay failing: release_unanswered then gives
        every held delivery back, unbounced and unattempted, and run() pauses the runs."""
        with self._lock:
            self._held[d.id] = (d, reason)
            if self._paused is None:
                self._row = self._row.after_refusal(d.id, d.email, reason)
                if not self._row.failing(self.relay_failures):
                    return
                self._paused = self._row.summary()
            # Raised again by each worker whose answer comes after the verdict (it is given back
            # like the rest): each stops at once, so every other connection sends one more at most.
            paused = self._paused
        raise RelayFailing(paused)

    def bounce_held(self) -> None:
        """REFUSED, each held refusal: the row they made was not a failing relay's."""
        with self._lock:
            if self._paused is not None:
                return
            held, self._held, self._row = list(self._held.values()), {}, RefusalRow()
        for d, reason in held:
            self.refused(d, reason)

    def refused(self, d: Delivery, reason: str) -> None:
        """REFUSED for good: the delivery failed and its address is bounced."""
        self.storage.delivery_refused(d.id, d.subscriber_id, reason)
        with self._lock:
            self.report.failed += 1

    def in_doubt(self, d: Delivery, detail: str = "") -> None:
        """IN_DOUBT: the server may have it; resent (with its Message-ID), flagged; PARKed after the last attempt."""
        parked = self.storage.delivery_in_doubt(d.id, detail)
        with self._lock:
            self.report.retry_later += 1
        self._count_parked(parked)
