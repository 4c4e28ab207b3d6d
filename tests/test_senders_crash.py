"""Two senders share each digest run on PostgreSQL; one is SIGKILLed again and again (issue 16.1).

A steady `feedsvc sender --once` runs through each round while a second one, the victim, is
killed at a point the seeded generator picks: its k-th accepted DATA, whose reply it never hears
(the in-doubt window). The SMTP server's `on_event` hook tells the two apart by envelope sender
(each has its own MAIL_FROM), kills the victim there and waits for it to be gone before it
answers, so where each kill lands is decided by the seed, not by timing. The victim is relaunched
until the round is delivered. Afterwards: nobody misses a digest, every extra copy belongs to a
delivery the ledger flagged in doubt, and each kill after DATA made exactly such a copy.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import random
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest
import sqlalchemy as sa

from feedsvc.cli import make_ingester
from feedsvc.config import load_settings
from feedsvc.runs.postman import Postman
from feedsvc.storage import Storage
from feedsvc.storage.mail_schema import DeliveryRow
from tests.crashing import killed_at, launch
from tests.test_digest_crash import (
    DELIVERY_IN_MESSAGE_ID,
    ROUND_MARK,
    TOPIC_SETS,
    child_env,
    listing,
    open_work,
)

SEED = 20261202
SUBSCRIBERS = 240
ROUNDS = 3
KILLS_PER_ROUND = 4
LAUNCHES_PER_ROUND = 30
STEADY_RATE = 25  # messages a second: slow enough that the victim's relaunches find work left
STEADY, VICTIM = "news@press.example.org", "victim@press.example.org"


class Senders:
    def __init__(self, env: dict[str, str], smtp_server, rng: random.Random, logs: Path) -> None:  # type: ignore[no-untyped-def]
        self.env, self.smtp, self.rng, self.logs = env, smtp_server, rng, logs
        self.launches = 0
        self.kills: list[int] = []

    def log(self) -> Path:
        return self.logs / f"launch-{self.launches:03}.log"

    def start(self, mail_from: str, rate: int) -> subprocess.Popen[bytes]:
        self.launches += 1
        env = self.env | {"MAIL_FROM": f"IOM Turkey <{mail_from}>", "FEEDSVC_MAIL_RATE": str(rate)}
        return launch(["sender", "--once"], env, self.log())

    def victim_killed(self, spread: int) -> bool:
        """One victim launch, killed at its k-th accepted DATA; False when it finished first."""
        k = self.rng.randint(1, spread)
        proc = self.start(VICTIM, 0)
        seen = 0

        def victims_kth_data(kind: str, n: int) -> bool:  # the steady sender's messages do not count
            nonlocal seen
            if kind != "data" or self.smtp.messages[n - 1].mail_from != VICTIM:
                return False
            seen += 1
            return seen == k

        if not killed_at(self.smtp, proc, self.log(), victims_kth_data, timeout=120):
            return False
        self.kills.append(k)
        return True


@pytest.mark.parametrize("db_kind", ["postgresql"])  # SQLite keeps one sender (tests/test_digest_crash.py)
def test_two_senders_one_killed_repeatedly_deliver_everything_once_or_in_doubt(
        storage: Storage, env: dict[str, str], mail_env: dict[str, str], content_dir: Path, tmp_path: Path,
        smtp_server) -> None:  # type: ignore[no-untyped-def]
    assert storage.senders_share_runs
    started = time.monotonic()
    rng = random.Random(SEED)
    env = child_env(env, mail_env) | {"FEEDSVC_MAIL_CONNECTIONS": "2"}
    settings = load_settings(env)
    ingester = make_ingester(settings, storage)
    ingester.scan()
    now = dt.datetime.now(dt.UTC)
    emails = [f"reader{i:03}@example.org" for i in range(SUBSCRIBERS)]
    for i, address in enumerate(emails):
        storage.add_confirmed(address, TOPIC_SETS[i % len(TOPIC_SETS)], ("daily", "weekly")[i % 2], now)
    logs = tmp_path / "logs"
    logs.mkdir()
    senders = Senders(env, smtp_server, rng, logs)
    postman = Postman(storage, settings)

    kills_per_round: list[int] = []
    for round_no in range(1, ROUNDS + 1):
        (content_dir / f"round-{round_no}.txt").write_text(listing(round_no), encoding="utf-8")
        ingester.scan()
        postman.manual_runs()  # planned here: the senders only send
        steady = senders.start(STEADY, STEADY_RATE)
        round_kills = 0
        try:
            for _ in range(LAUNCHES_PER_ROUND):
                if round_kills < KILLS_PER_ROUND:
                    round_kills += senders.victim_killed(spread=8)
                else:
                    # Relaunched once more to finish: it recovers what its killed selves left.
                    assert senders.victim_killed(spread=10**9) is False
                if not open_work(storage) and steady.poll() is not None:
                    break
                if round_kills >= KILLS_PER_ROUND and steady.poll() is None:
                    steady.wait(timeout=120)
            else:
                pytest.fail(f"round {round_no} not delivered after {LAUNCHES_PER_ROUND} launches")
        finally:
            if steady.poll() is None:
                steady.kill()
        assert steady.wait() == 0
        kills_per_round.append(round_kills)

    per_reader: Counter[tuple[str, int]] = Counter()
    per_delivery: Counter[int] = Counter()
    by_sender: Counter[str] = Counter()
    for received in smtp_server.messages:
        msg = email.message_from_bytes(received.data, policy=email.policy.default)
        rounds = {int(n) for n in ROUND_MARK.findall(msg.get_body(("plain",)).get_content())}
        assert len(rounds) == 1
        per_reader[(str(msg["To"]), rounds.pop())] += 1
        match = DELIVERY_IN_MESSAGE_ID.search(str(msg["Message-ID"]))
        assert match, msg["Message-ID"]
        per_delivery[int(match.group(1))] += 1
        by_sender[received.mail_from] += 1
    expected = {(e, r) for e in emails for r in range(1, ROUNDS + 1)}
    missing = len(expected - set(per_reader))
    duplicates = sum(n - 1 for n in per_reader.values())
    DL = DeliveryRow.__table__
    with storage.read("test: reading the ledger") as conn:
        in_doubt_ids = {r.id for r in conn.execute(sa.select(DL.c.id).where(DL.c.in_doubt.is_(True)))}
        states = Counter(r.state for r in conn.execute(sa.select(DL.c.state)))
        held = conn.execute(sa.select(sa.func.count()).where(
            DL.c.state.in_(("pending", "sending")), DL.c.claimed_by.is_not(None))).scalar()
    duplicated = {d for d, n in per_delivery.items() if n > 1}
    print(f"\n[two senders] {len(senders.kills)} kills of the victim in {senders.launches} launches "
          f"(at its DATA #{', #'.join(map(str, senders.kills))}); {len(smtp_server.messages)} messages for "
          f"{len(expected)} digests (steady {by_sender[STEADY]}, victim {by_sender[VICTIM]}): missing {missing}, "
          f"duplicates {duplicates} ({len(duplicated)} deliveries), in doubt {len(in_doubt_ids)}; "
          f"ledger {dict(states)}; {time.monotonic() - started:.1f} s")

    # Every round must have crashed the victim at least once, or it proved nothing. Up to
    # KILLS_PER_ROUND are tried; on a loaded machine the steady sender may finish a round before a
    # slow relaunch finds work, which ends that round's kills early but is no delivery failure.
    assert all(n >= 1 for n in kills_per_round), kills_per_round
    assert set(per_reader) <= expected
    assert missing == 0
    assert states == Counter({"sent": len(expected)})
    assert held == 0
    assert duplicated <= in_doubt_ids  # every delivery that went out twice is one the ledger flagged
    assert duplicates <= len(in_doubt_ids)
    # Each kill after an accepted DATA left a message the server has and the ledger had `sending`:
    # recovered in doubt by a sender still alive (or the next launch) and resent with its Message-ID.
    assert duplicates >= len(senders.kills)
    assert by_sender[STEADY] > 0 and by_sender[VICTIM] > 0  # both shared the runs
