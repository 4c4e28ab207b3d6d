"""The delivery ledger's steps on each database, the SQLite writers' queue, and signed tokens."""

from __future__ import annotations

import datetime as dt
import sys
import threading
import time
from pathlib import Path
from unittest import mock

import pytest
from itsdangerous import URLSafeTimedSerializer

from feedsvc.deliveries import Delivery
from feedsvc.model import StorageError
from feedsvc.storage import Storage
from feedsvc.tokens import BadToken, Tokens
from feedsvc.transport.outcomes import SendResult
from feedsvc.transport.pool import BaseMailer

NEW = """Press Releases

Mobile Health Teams Start a Vaccination Drive

Ankara – Mobile health teams began vaccination visits in the district this week.
"""


def planned(storage: Storage, ingester, content_dir: Path, clock, n: int = 3) -> list[Delivery]:  # type: ignore[no-untyped-def]
    ingester.scan()  # the samples: subscribers added after them get no back catalogue
    for i in range(n):
        storage.add_confirmed(f"reader{i}@example.org", (), "weekly", clock())
    (content_dir / "new.txt").write_text(NEW, encoding="utf-8")
    assert ingester.scan().summary.releases_new == 1
    storage.create_run("manual:ledger-test", "weekly", "manual", "week of the test", clock())
    deliveries = storage.pending_deliveries()
    assert len(deliveries) == n
    return deliveries


def test_claim_moves_only_pending_rows_and_says_which(storage: Storage, ingester, content_dir: Path, clock) -> None:  # type: ignore[no-untyped-def]
    a, b, c, d = planned(storage, ingester, content_dir, clock, 4)
    storage.unsubscribe(c.subscriber_id, clock())  # read as pending, then the reader left
    writer = storage.ledger_writer()
    try:
        marked = writer.claim([(a.id, "r1 r2", "<a@x>"), (b.id, "r1", "<b@x>"), (c.id, "r1", "<c@x>")],
                              [d.id])
        assert marked == {a.id, b.id}
        # A second claim of the same rows moves nothing: they are no longer pending.
        assert writer.claim([(a.id, "r1", "<a2@x>")]) == set()
        assert storage.delivery_counts() == {"sending": 2, "skipped": 1, "empty": 1}
        row = storage.get_delivery(a.id)
        assert row is not None and (row["release_ids"], row["message_id"]) == ("r1 r2", "<a@x>")

        writer.accepted([a.id, b.id], clock())
        assert storage.delivery_counts() == {"sent": 2, "skipped": 1, "empty": 1}
        storage.finish_runs(clock.advance(minutes=1))
        reader, other = storage.get_subscriber(a.subscriber_id), storage.get_subscriber(d.subscriber_id)
        assert reader is not None and reader.last_digest_at == clock() - dt.timedelta(minutes=1)
        assert other is not None and other.last_digest_at is None
        assert storage.recent_runs()[0]["finished_at"] == clock()
        assert writer.claim([]) == set()
    finally:
        writer.close()


def test_a_writer_survives_the_database_dropping_its_connection(storage: Storage, ingester, content_dir: Path,
                                                               clock) -> None:  # type: ignore[no-untyped-def]
    a, b = planned(storage, ingester, content_dir, clock, 2)
    writer = storage.ledger_writer()
    try:
        assert writer.claim([(a.id, "r", "<a@x>")]) == {a.id}
        storage.engine.dispose()  # every pooled connection closed, the writer's kept one too on PostgreSQL
        if storage.dialect == "postgresql":
            with storage.begin("test: ending other sessions") as conn:
                conn.exec_driver_sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                     "WHERE datname = current_database() AND pid <> pg_backend_pid()")
            with pytest.raises(StorageError, match="recording digest deliveries"):
                writer.claim([(b.id, "r", "<b@x>")])
        # The next step opens a fresh connection: nothing is lost but the failed step.
        assert writer.claim([(b.id, "r", "<b@x>")]) == {b.id}
    finally:
        writer.close()


def test_sqlite_writers_of_one_process_queue_instead_of_failing(tmp_path: Path) -> None:
    storage = Storage(f"sqlite:///{tmp_path / 'queue.sqlite3'}")
    storage.upgrade()
    errors: list[BaseException] = []

    def write(i: int) -> None:
        try:
            for j in range(20):
                with storage.begin("test: writing") as conn:
                    conn.exec_driver_sql("INSERT INTO ingest_errors (path, reason, occurred_at) VALUES (?, ?, ?)",
                                         (f"t{i}-{j}", "x", "2026-01-01 00:00:00"))
        except BaseException as exc:  # noqa: BLE001 - a thread's failure is asserted on in the test thread
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with storage.read("test") as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM ingest_errors").scalar() == 160

    # A writer holding the lock past the timeout: the other gets a clear error, not a hang.
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with storage.begin("test: holding"):
            held.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    held.wait(5)
    try:
        storage.write_timeout = 0.2
        started = time.monotonic()
        with pytest.raises(StorageError, match="while test: waiting: the database is locked by another thread"), \
                storage.begin("test: waiting"):
                pass
        assert time.monotonic() - started < 5
    finally:
        release.set()
        holder.join()
    storage.close()


def test_send_many_gives_threads_quick_gil_turns_then_restores_the_interval() -> None:
    seen: list[float] = []

    class Recorder(BaseMailer):
        def send(self, msg):  # type: ignore[no-untyped-def]
            seen.append(sys.getswitchinterval())
            return SendResult("accepted", "")

    before = sys.getswitchinterval()
    Recorder().send_many(((i, None) for i in range(3)), connections=2, on_result=lambda k, r: None)  # type: ignore[misc]
    assert seen and max(seen) <= 0.001
    assert sys.getswitchinterval() == before


def test_tokens_are_those_of_itsdangerous_and_old_compressed_ones_still_load() -> None:
    tokens = Tokens("secret")
    with mock.patch("time.time", return_value=1_700_000_000):
        stock = URLSafeTimedSerializer("secret", salt="feedsvc.unsubscribe").dumps(123456)
        assert tokens.make("unsubscribe", 123456) == stock
    assert tokens.read("unsubscribe", stock) == 123456
    # A payload the stock serializer compresses ("." prefix) still loads.
    compressed = URLSafeTimedSerializer("secret", salt="feedsvc.digest").dumps(10 ** 200)
    assert compressed.startswith(".")
    assert tokens.read("digest", compressed) == 10 ** 200
    with pytest.raises(BadToken):
        tokens.read("confirm", stock)  # another purpose's token
