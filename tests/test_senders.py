"""Sender sessions on PostgreSQL (storage/senders.py): disjoint reservations, claims only of one's
own rows, and a dead session's rows recovered by the living (issue 16.1). Real PostgreSQL; a
sender's death is its database session ending, as when its process is killed."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from feedsvc.storage import Storage
from feedsvc.storage.senders import SENDERS
from tests.test_ledger import planned


def lock_gone(storage: Storage, owner: int) -> None:
    """Wait for the server to end the closed session (it does so just after the socket closes)."""
    deadline = time.monotonic() + 30
    with storage.engine.connect() as conn:
        while conn.execute(sa.text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                                   "AND classid::bigint = :ns AND objid::bigint = :o"),
                           {"ns": SENDERS, "o": owner}).scalar():
            conn.rollback()  # pg_locks is read afresh by each statement; this ends the transaction
            assert time.monotonic() < deadline, "the dead session's lock never went away"


@pytest.mark.parametrize("db_kind", ["postgresql"])  # SQLite keeps one sender
def test_sessions_reserve_disjoint_batches_and_claim_only_their_own(
        storage: Storage, ingester, content_dir: Path, clock) -> None:  # type: ignore[no-untyped-def]
    assert storage.senders_share_runs
    planned(storage, ingester, content_dir, clock, 10)
    with storage.sender_lock() as a, storage.sender_lock() as b:  # two senders at once: both get one
        assert a is not None and b is not None and a != b
        first = storage.reserve_deliveries(a, 4)
        second = storage.reserve_deliveries(b, 4)
        rest = storage.reserve_deliveries(a, 4)
        assert [len(first), len(second), len(rest)] == [4, 4, 2]
        assert not {d.id for d in first} & {d.id for d in second}
        assert storage.reserve_deliveries(b, 4) == []
        writer = storage.ledger_writer(b)
        try:  # b cannot claim a's rows
            assert writer.claim([(d.id, "r", f"<{d.id}@x>") for d in first + second]) == {d.id for d in second}
        finally:
            writer.close()
        assert storage.recover_deliveries() == 0  # both alive: nothing of theirs is touched
    # Sessions over: a's reservations (never claimed) are free; b's claims are not a's to release.
    assert storage.delivery_counts() == {"pending": 6, "sending": 4}


@pytest.mark.parametrize("db_kind", ["postgresql"])  # SQLite keeps one sender
def test_a_dead_sessions_rows_are_recovered_by_the_living(
        storage: Storage, ingester, content_dir: Path, clock) -> None:  # type: ignore[no-untyped-def]
    assert storage.senders_share_runs
    planned(storage, ingester, content_dir, clock, 6)
    owner = 4242
    doomed = storage.engine.connect()  # the dead sender's session: its lock lives as long as it does
    assert doomed.execute(sa.text("SELECT pg_try_advisory_lock(:ns, :o)"), {"ns": SENDERS, "o": owner}).scalar()
    doomed.commit()
    taken = storage.reserve_deliveries(owner, 4)
    writer = storage.ledger_writer(owner)
    try:
        assert writer.claim([(d.id, "r", f"<{d.id}@x>") for d in taken[:3]]) == {d.id for d in taken[:3]}
    finally:
        writer.close()
    with storage.sender_lock() as living:
        assert living is not None
        assert storage.recover_deliveries() == 0  # its owner is alive: nothing is in doubt
        assert len(storage.reserve_deliveries(living, 10)) == 2  # only the rows nobody holds
        doomed.invalidate()  # the process dies: PostgreSQL ends the session and its lock
        doomed.close()
        lock_gone(storage, owner)
        assert storage.recover_deliveries() == 3  # the three it was sending: in doubt
        again = storage.reserve_deliveries(living, 10)  # they, and the one it had not started
        assert sorted(d.id for d in again) == sorted(d.id for d in taken)
        assert [d.in_doubt for d in again] == [True, True, True, False]
        assert all(d.message_id == f"<{d.id}@x>" for d in again[:3])  # resent with its Message-ID
        assert all(d.attempts == 1 for d in again[:3])
