"""One batch: every pending delivery rendered, claimed, sent and answered, each step named once.

The steps, and the thread each runs in (the ledger step it applies, model.py, in capitals):

  claim               sender thread  render a group (as many deliveries as connections) and
                                     hand it to the ledger thread: CLAIM, or NOTHING_NEW
  hand_over           sender thread  once a group's claim is committed, give its messages to
                                     the pool (transport.pool.BaseMailer.send_many)
  accepted            SMTP worker    ACCEPTED, committed before that worker sends anything else
  refused             SMTP worker    REFUSED, and the address bounced
  in_doubt            SMTP worker    IN_DOUBT: the line died after DATA; sent again, flagged
  release             sender thread  RELEASE: a temporary failure send_many listed
  release_unanswered  sender thread  RELEASE every claimed delivery with no answer (the batch
                                     stopped: SIGTERM, the server down, the ledger failed)

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
from ..model import Delivery
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
    busy: bool = False  # another process holds the sender lock and is sending
    paused: str | None = None  # why sending is paused (bounces/policy.py): nothing was sent

    def line(self) -> str:
        if self.paused is not None:
            return (f"sending is paused ({self.paused}); unsent digests wait: "
                    "lift it with `feedsvc digest --resume` or on /admin")
        if self.busy:
            return "another process is sending digests; it will finish the work"
        return (f"digests: {self.sent} sent, {self.empty} with nothing new, {self.failed} failed, "
                f"{self.retry_later} left for a retry, {self.in_doubt} resent after an interruption")


# A rendered group whose claim is being committed: the claim, its messages, how many were empty.
_Group = tuple[Future[set[int]], list[tuple[Delivery, EmailMessage]], int]


class Batch:
    """Sends every pending delivery once through `mailer`; run() it once, from the sender thread."""

    def __init__(self, storage: Storage, renderer: DigestRenderer, mailer: BaseMailer, clock: Clock,
                 report: SendReport, *, connections: int, stopping: threading.Event) -> None:
        self.storage, self.renderer, self.mailer, self.clock = storage, renderer, mailer, clock
        self.report, self.connections, self.stopping = report, connections, stopping
        self._lock = threading.Lock()
        self._claimed: dict[int, Delivery] = {}  # CLAIMed, no answer recorded yet
        # Groups whose claim is under way; at most two, so the next group renders while the
        # last one commits. Those left over at the end are released. Sender thread only.
        self._groups: collections.deque[_Group] = collections.deque()
        self._ledger: LedgerThread | None = None

    def run(self) -> None:
        ledger = self._ledger = LedgerThread(self.storage, self.clock)
        try:
            result = self.mailer.send_many(self._messages(), connections=self.connections,
                                           on_result=self.answered, record_in_worker=True)
            for delivery_id, failure in result.temporary_failures:
                self.release(delivery_id, failure.reason)
        except TemporaryFailure as exc:
            log.warning("mail server unavailable (%s); unsent digests wait for the next attempt", exc.reason)
        finally:
            try:
                ledger.close()  # commits every claim still queued; raises if the ledger failed
            finally:
                self.release_unanswered()
                self.mailer.close()

    # -- sender thread ------------------------------------------------------------------

    def _messages(self) -> Iterator[tuple[int, EmailMessage]]:
        """What send_many sends, rendered lazily as it asks (so rendering overlaps sending)."""
        last_id = 0
        while page := self.storage.pending_deliveries(after_id=last_id):
            last_id = page[-1].id
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

    def release(self, delivery_id: int, reason: str) -> None:
        """RELEASE: a temporary failure; back to pending for the next attempt."""
        with self._lock:
            self._claimed.pop(delivery_id, None)
            self.report.retry_later += 1
        self.storage.release_delivery(delivery_id, reason)

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
            self.report.retry_later += len(unanswered)
        for delivery_id in unanswered:
            self.storage.release_delivery(delivery_id, "not attempted: the batch stopped")

    # -- SMTP worker threads ------------------------------------------------------------

    def answered(self, delivery_id: int, result: SendResult) -> None:
        """send_many's on_result: runs in the SMTP worker thread, straight after the server's answer."""
        with self._lock:
            d = self._claimed.pop(delivery_id)
        if result.accepted:
            self.accepted(d)
        elif result.permanent_failure:
            self.refused(d, f"{result.code} {result.detail}".strip())
        else:
            self.in_doubt(d)

    def accepted(self, d: Delivery) -> None:
        """ACCEPTED, committed on this worker's ledger connection before it sends anything else."""
        assert self._ledger is not None
        self._ledger.accepted(d.id)
        with self._lock:
            self.report.sent += 1

    def refused(self, d: Delivery, reason: str) -> None:
        """REFUSED for good: the delivery failed and its address is bounced."""
        self.storage.delivery_refused(d.id, d.subscriber_id, reason)
        with self._lock:
            self.report.failed += 1

    def in_doubt(self, d: Delivery) -> None:
        """IN_DOUBT: the server may have it; resent, so nobody misses it, and flagged."""
        self.storage.delivery_in_doubt(d.id)
        with self._lock:
            self.report.retry_later += 1
