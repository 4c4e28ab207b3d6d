"""The connection pool: a batch sent over N worker threads, each with its own connection, under one rate limit.

BaseMailer is what both mailers (smtp.SmtpMailer, outbox.OutboxMailer) share; send_many is the
pool. Its threading contract is stated on send_many and holds for every callback it takes.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import queue
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from email.message import Message
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, Self, TypeVar

from feedsvc.transport.outcomes import SendResult, TemporaryFailure
from feedsvc.transport.wire import message_bytes

if TYPE_CHECKING:
    from feedsvc.transport.dkim import Signer

log = logging.getLogger("feedsvc.mailer")

K = TypeVar("K")


class TokenBucket:
    """At most `rate` acquisitions per second across threads (0: unlimited); `burst` may go at once."""

    def __init__(self, rate: float, *, burst: float = 1.0, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.rate, self.burst, self._clock, self._sleep = rate, max(1.0, burst), clock, sleep
        self._tokens, self._last = self.burst, clock()
        self._lock = threading.Lock()

    def acquire(self) -> None:
        if self.rate <= 0:
            return
        with self._lock:
            now = self._clock()
            self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
            self._last = now
            # Taking the token now (going into debt) and sleeping outside the lock lets each
            # waiting thread compute its own turn: the order is fair and the lock is never held long.
            self._tokens -= 1.0
            wait = -self._tokens / self.rate if self._tokens < 0 else 0.0
        if wait > 0:
            self._sleep(wait)


# ---------------------------------------------------------------- batches over N connections

_STOP = object()
_SKIPPED = object()
_DONE = object()


@dataclasses.dataclass(frozen=True, slots=True)
class _Recorded:
    """A result whose on_result already ran in the worker thread."""

    result: SendResult


@dataclasses.dataclass
class BatchReport(Generic[K]):
    """What send_many did; keys never handed to a worker are in none of these."""

    accepted: int = 0
    permanent_failures: int = 0
    in_doubt: int = 0
    not_attempted: int = 0  # taken from the queue after the batch was stopped
    temporary_failures: list[tuple[K, TemporaryFailure]] = dataclasses.field(default_factory=list)


@contextlib.contextmanager
def _quick_gil_turns() -> Iterator[None]:
    # Each message costs an SMTP connection four round trips, and after each reply its thread
    # waits for the GIL while the renderer holds it: up to the switch interval, 5 ms by default.
    # At 1 ms a digest batch into a local aiosmtpd went from ~426 to ~490 msg/s (8 connections).
    before = sys.getswitchinterval()
    sys.setswitchinterval(min(before, 0.001))
    try:
        yield
    finally:
        sys.setswitchinterval(before)


class BaseMailer:
    """The part both mailers share: a context manager, the bytes to send, and send_many()."""

    signer: Signer | None = None  # DKIM; one for all threads (it holds no state between messages)

    def wire_bytes(self, msg: Message) -> bytes:
        """The message's bytes exactly as they go out, DKIM-signed when a signer is set."""
        data = message_bytes(msg)
        return data if self.signer is None else self.signer.sign(data)

    def send(self, msg: Message) -> SendResult:
        raise NotImplementedError

    def close(self) -> None:
        """Release connections; the mailer stays usable and reconnects when needed."""

    def _clone(self) -> BaseMailer:
        return self

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def send_many(self, messages: Iterable[tuple[K, Message]], *, connections: int = 4,
                  on_result: Callable[[K, SendResult], None], queue_size: int | None = None,
                  record_in_worker: bool = False) -> BatchReport[K]:
        """Send over `connections` worker threads, each with its own reused connection.

        Threading contract:
        - `messages` is consumed lazily in the calling thread (render inside the generator:
          rendering overlaps sending and memory stays bounded by the queue).
        - `on_result(key, result)` gets each SendResult (accepted, permanent_failure, in_doubt):
          by default in the calling thread, one call at a time, so it needs no locking; with
          `record_in_worker=True` in the worker thread that sent the message, right after the
          server's answer and before that worker sends anything else, several workers at once
          (it must be thread-safe). A TemporaryFailure never reaches `on_result`: it is listed
          in the report's `temporary_failures`, read by the caller after send_many returns.
        - An error raised by `on_result` stops the batch and is raised here.

        A TemporaryFailure saying the server is unreachable, or any other error, stops the batch
        and is raised once the workers are done: unsent messages are left for the next run (the
        ledger knows which).
        """
        if connections < 1:
            raise ValueError("connections must be at least 1")
        with _quick_gil_turns():
            return self._send_many(messages, connections, on_result, queue_size, record_in_worker)

    def _send_many(self, messages: Iterable[tuple[K, Message]], connections: int,
                   on_result: Callable[[K, SendResult], None], queue_size: int | None,
                   record_in_worker: bool) -> BatchReport[K]:
        work: queue.Queue[Any] = queue.Queue(maxsize=max(queue_size or 2 * connections, connections))
        results: queue.SimpleQueue[Any] = queue.SimpleQueue()
        stop = threading.Event()
        report: BatchReport[K] = BatchReport()
        live = connections
        callback_error: list[BaseException] = []
        stopped_by: list[BaseException] = []  # what stopped the workers early, first one first

        def handle(entry: Any) -> None:
            nonlocal live
            if entry is _DONE:
                live -= 1
                return
            key, outcome = entry
            recorded = isinstance(outcome, _Recorded)
            if recorded:
                outcome = outcome.result
            if outcome is _SKIPPED:
                report.not_attempted += 1
            elif isinstance(outcome, SendResult):
                report.accepted += outcome.accepted
                report.permanent_failures += outcome.permanent_failure
                report.in_doubt += outcome.in_doubt
                if recorded:
                    return
                if callback_error:
                    log.error("not recorded (the ledger failed earlier): %s %s", outcome.status, outcome.message_id)
                    return
                try:
                    on_result(key, outcome)
                except BaseException as exc:  # noqa: BLE001 - re-raised after the workers stop
                    callback_error.append(exc)
                    stop.set()
            elif isinstance(outcome, TemporaryFailure):
                report.temporary_failures.append((key, outcome))
                if outcome.connection:
                    stopped_by.append(outcome)
            else:
                stopped_by.append(outcome)

        def put(item: Any) -> None:
            while live:
                try:
                    work.put_nowait(item)
                    return
                except queue.Full:
                    # The queue is full: the workers are busy, so wait for their next outcome.
                    with contextlib.suppress(queue.Empty):
                        handle(results.get(timeout=0.05))

        record = on_result if record_in_worker else None
        workers = [threading.Thread(target=self._work, args=(work, results, stop, record), daemon=True,
                                    name=f"mailer-{i}") for i in range(connections)]
        for worker in workers:
            worker.start()
        finished = False
        try:
            for item in messages:
                if stop.is_set() or not live:
                    break
                put(item)
                while True:  # hand over what is ready now: on_result soon after each acceptance
                    try:
                        handle(results.get_nowait())
                    except queue.Empty:
                        break
            finished = True
        finally:
            if not finished:
                stop.set()
            for _ in workers:
                put(_STOP)
            while live:
                handle(results.get())
            for worker in workers:
                worker.join()
        if callback_error or stopped_by:
            raise (callback_error or stopped_by)[0]
        return report

    def _work(self, work: queue.Queue[Any], results: queue.SimpleQueue[Any], stop: threading.Event,
              record: Callable[[Any, SendResult], None] | None = None) -> None:
        try:
            with self._clone() as mailer:
                while (item := work.get()) is not _STOP:
                    key, msg = item
                    if stop.is_set():
                        results.put((key, _SKIPPED))
                        continue
                    try:
                        result = mailer.send(msg)
                        if record is not None:
                            record(key, result)  # an error here stops the batch, like any other
                            results.put((key, _Recorded(result)))
                        else:
                            results.put((key, result))
                    except TemporaryFailure as exc:
                        if exc.connection:
                            stop.set()  # the server is down: every other message would fail alike
                        results.put((key, exc))
        except BaseException as exc:  # noqa: BLE001 - MailerError or a bug: send_many raises it
            # The other workers drain the queue (skipping); put() gives up once none is left.
            stop.set()
            results.put((None, exc))
        finally:
            results.put(_DONE)
