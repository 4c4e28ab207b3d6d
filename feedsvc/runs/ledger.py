"""The ledger thread: commits a batch's claims while the next group renders.

Threading contract (who calls what, from where):
- `claim()` and `close()`: the sender thread (the one running the batch).
- the claims are committed on this class's own thread, named "ledger".
- `accepted()`: an SMTP worker thread, straight after the server accepted; committed on that
  worker's own LedgerWriter before it returns (before that worker sends anything else).
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Future

from ..clock import Clock
from ..storage import Storage
from ..storage.digests import LedgerWriter

log = logging.getLogger("feedsvc.postman")

# (delivery id, ids of the releases it carries, Message-ID) for each rendered delivery.
Marks = list[tuple[int, str, str]]


class LedgerThread:
    """Writes the delivery ledger while a batch is sent.

    An acceptance is committed by the SMTP worker that got it, over its own kept connection (on
    PostgreSQL one statement, one round trip): the window in which a crash leaves an accepted
    message `sending` is that one commit. Tried the other way, acceptances group-committed on
    the ledger thread, the window grew to a few commits and the crash test's duplicates on
    SQLite from 1 to 13, for no gain in throughput.
    """

    def __init__(self, storage: Storage, clock: Clock, owner: int | None = None) -> None:
        self._storage, self._clock, self._owner = storage, clock, owner
        self._claims: list[tuple[Future[set[int]], Marks, list[int]]] = []
        self._wake = threading.Condition()
        self._closing = False
        self.error: BaseException | None = None
        self._local = threading.local()
        self._writers: list[LedgerWriter] = []
        self._thread = threading.Thread(target=self._run, name="ledger", daemon=True)
        self._thread.start()

    def claim(self, sending: Marks, empty: list[int]) -> Future[set[int]]:
        """Sender thread: CLAIM the rendered deliveries (NOTHING_NEW the empty ones).

        The future gives the ids claimed.
        """
        future: Future[set[int]] = Future()
        with self._wake:
            if self.error is not None:
                raise self.error
            self._claims.append((future, sending, empty))
            self._wake.notify()
        return future

    def accepted(self, delivery_id: int) -> None:
        """SMTP worker thread: ACCEPTED, committed before it returns; raises if the ledger failed."""
        if self.error is not None:
            raise self.error  # stops the batch: nothing more goes out unrecorded
        writer: LedgerWriter | None = getattr(self._local, "writer", None)
        if writer is None:
            writer = self._local.writer = self._storage.ledger_writer()
            with self._wake:
                self._writers.append(writer)
        writer.accepted([delivery_id], self._clock())

    def close(self) -> None:
        """Sender thread: commit what is queued, then stop; raises what the ledger failed with, if it did."""
        with self._wake:
            self._closing = True
            self._wake.notify()
        self._thread.join()
        for writer in self._writers:
            writer.close()
        if self.error is not None:
            raise self.error

    def _run(self) -> None:
        writer = self._storage.ledger_writer(self._owner)
        try:
            while True:
                with self._wake:
                    while not (self._claims or self._closing):
                        self._wake.wait()
                    claims, self._claims = self._claims, []
                if not claims:
                    return
                try:
                    claimed = writer.claim([m for _, sending, _ in claims for m in sending],
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
                    future.set_result({i for i, _, _ in sending if i in claimed})
        finally:
            writer.close()
