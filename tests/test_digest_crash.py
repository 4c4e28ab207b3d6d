"""The ledger under SIGKILL: a real `feedsvc digest` process killed at chosen points, then restarted.

Each round writes new releases into the content folder, ingests them and runs
`python -m feedsvc.cli digest --send-now`; the process is killed with SIGKILL at points a seeded
generator picks in its SMTP conversation (its first connection, after planning and recovery; a
MAIL command; an accepted DATA whose reply it never hears) and restarted until the round is
delivered. The SMTP
server is the aiosmtpd fixture in this process, so it sees every message that got through, even
one whose sender died before hearing the reply. Afterwards: nobody misses a digest, and every
extra copy belongs to a delivery the ledger marked in doubt (the one unavoidable window, between
the server's acceptance and the `sent` commit).
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import random
import re
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest
import sqlalchemy as sa

from feedsvc.cli import make_ingester
from feedsvc.config import load_settings
from feedsvc.storage import Storage
from feedsvc.storage.mail_schema import DeliveryRow, SubscriberRow
from feedsvc.storage.schema import ReleaseRow
from tests.conftest import ROOT, process_env
from tests.crashing import killed_at, launch, tail

SEED = 20261123
SUBSCRIBERS = 300
ROUNDS = 4
KILLS_PER_ROUND = 6  # 24 in all: the issue asks for at least 20
RATE = 150  # messages a second in all: about two seconds of sending per round
CONNECTIONS = 2
# What one kill can leave in doubt (runs/batch.py): two claimed groups (a group is one message per
# connection), the pool's queue (two per connection) and one message on each connection.
IN_DOUBT_PER_KILL = 2 * CONNECTIONS + 2 * CONNECTIONS + CONNECTIONS
LAUNCHES_PER_ROUND = 40  # the loop's bound; a round needs KILLS_PER_ROUND + 1 or a few more

# One release per topic a subscriber can choose below, so every subscriber gets one digest a round.
TOPIC_RELEASES = {
    "health": ("Mobile Health Teams Start a Vaccination Drive",
               "Ankara – Mobile health teams began vaccination visits in the district this week."),
    "borders-and-emergencies": ("Coast Guard Rescue Off the Aegean Coast",
                                "Çeşme – IOM teams met the people rescued by the coast guard at dawn."),
    "livelihoods": ("Vocational Courses Open New Jobs",
                    "Gaziantep – Two hundred people finished vocational courses and found jobs."),
}
TOPIC_SETS = [(), ("health",), ("borders-and-emergencies", "livelihoods"), ("livelihoods",)]
ROUND_MARK = re.compile(r"Round (\d+):")
DELIVERY_IN_MESSAGE_ID = re.compile(r"\.digest\.\d+\.(\d+)\.\d+@")


def listing(round_no: int) -> str:
    parts = ["Press Releases", ""]
    for title, paragraph in TOPIC_RELEASES.values():
        parts += [f"Round {round_no}: {title}", "", paragraph, ""]
    return "\n".join(parts)


def child_env(env: dict[str, str], mail_env: dict[str, str]) -> dict[str, str]:
    """The sender process's environment: the test's settings, its mail server, this file's rate."""
    return process_env(env | mail_env | {
        "FEEDSVC_MAIL_RATE": str(RATE), "FEEDSVC_MAIL_CONNECTIONS": str(CONNECTIONS), "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT)})


def unplanned(storage: Storage) -> int:
    """Confirmed subscribers whose cursor is behind the newest release: a run still has to plan them."""
    S, R = SubscriberRow.__table__, ReleaseRow.__table__
    with storage.read("test: counting unplanned subscribers") as conn:
        newest = sa.select(sa.func.coalesce(sa.func.max(R.c.seq), 0)).scalar_subquery()
        return int(conn.execute(sa.select(sa.func.count()).select_from(S).where(
            S.c.state == "confirmed", S.c.cursor_seq < newest)).scalar() or 0)


def open_work(storage: Storage) -> int:
    counts = storage.delivery_counts()
    return counts.get("pending", 0) + counts.get("sending", 0)


class Sender:
    """Launches `feedsvc digest` and kills it at a point of its SMTP conversation chosen in advance.

    The SMTP server calls back in its own thread before it answers (tests/smtp_server.py,
    `on_event`): the kill lands there, and the server waits for the process to be gone before it
    answers, so where each kill falls is decided by the seed, never by timing.
    """

    def __init__(self, env: dict[str, str], smtp_server, rng: random.Random, logs: Path) -> None:  # type: ignore[no-untyped-def]
        self.env, self.smtp, self.rng, self.logs = env, smtp_server, rng, logs
        self.launches = 0
        self.kills: list[str] = []  # where each kill landed, for the printout

    def _log(self) -> Path:
        return self.logs / f"launch-{self.launches:03}.log"

    def _start(self, args: list[str]) -> subprocess.Popen[bytes]:
        self.launches += 1
        return launch(["digest", *args], self.env, self._log())

    def choose(self, remaining: int, kills_left: int) -> tuple[str, int]:
        """(event, k): kill at this launch's k-th connection, MAIL command or accepted DATA."""
        spread = max(1, 2 * remaining // (kills_left + 1))  # kills spread over the round's messages
        roll = self.rng.random()
        if roll < 0.15:
            return "connect", 1  # planned and recovered, not yet sending
        if roll < 0.45:
            return "mail", self.rng.randint(1, spread)  # between messages: nothing in doubt on that line
        return "data", self.rng.randint(1, spread)  # accepted, reply not heard: the in-doubt window

    def run_and_kill(self, args: list[str], remaining: int, kills_left: int) -> bool:
        """One launch killed at its chosen point; False when it finished before reaching it."""
        event, k = self.choose(remaining, kills_left)
        counts = {"connect": self.smtp.connections, "mail": self.smtp.handler.mail_commands,
                  "data": len(self.smtp.messages)}
        target = counts[event] + k
        proc = self._start(args)
        if not killed_at(self.smtp, proc, self._log(), lambda kind, n: kind == event and n == target, timeout=60):
            return False
        self.kills.append(f"{event}#{k}")
        return True

    def run_to_end(self, args: list[str]) -> None:
        proc = self._start(args)
        try:
            assert proc.wait(timeout=60) == 0, tail(self._log())
        finally:
            if proc.poll() is None:
                proc.kill()


def test_sigkilled_sender_restarted_delivers_everything_once_or_in_doubt(
        storage: Storage, env: dict[str, str], mail_env: dict[str, str], content_dir: Path, tmp_path: Path,
        smtp_server) -> None:  # type: ignore[no-untyped-def]
    started = time.monotonic()
    rng = random.Random(SEED)
    env = child_env(env, mail_env)
    settings = load_settings(env)
    ingester = make_ingester(settings, storage)
    ingester.scan()  # the samples: subscribers added after them get no back catalogue
    now = dt.datetime.now(dt.UTC)
    emails = []
    for i in range(SUBSCRIBERS):
        email_address = f"reader{i:03}@example.org"
        storage.add_confirmed(email_address, TOPIC_SETS[i % len(TOPIC_SETS)], ("daily", "weekly")[i % 2], now)
        emails.append(email_address)
    logs = tmp_path / "logs"
    logs.mkdir()
    sender = Sender(env, smtp_server, rng, logs)

    for round_no in range(1, ROUNDS + 1):
        (content_dir / f"round-{round_no}.txt").write_text(listing(round_no), encoding="utf-8")
        assert ingester.scan().summary.releases_new == len(TOPIC_RELEASES)
        round_kills, round_start = 0, len(smtp_server.messages)
        for _ in range(LAUNCHES_PER_ROUND):
            # Restarted as an operator would: the same --send-now until the round is planned
            # (a kill may land between the daily and the weekly run), then plain `digest` (resume).
            args = ["--send-now"] if unplanned(storage) else []
            if round_kills < KILLS_PER_ROUND:
                remaining = SUBSCRIBERS - (len(smtp_server.messages) - round_start)
                round_kills += sender.run_and_kill(args, remaining, KILLS_PER_ROUND - round_kills)
            else:
                sender.run_to_end(args)
            if round_kills >= KILLS_PER_ROUND and not unplanned(storage) and not open_work(storage):
                break
        else:
            pytest.fail(f"round {round_no} not delivered after {LAUNCHES_PER_ROUND} launches")

    # What the server received, by (recipient, round) as the reader sees it, and by ledger row.
    per_reader: Counter[tuple[str, int]] = Counter()
    per_delivery: Counter[int] = Counter()
    for received in smtp_server.messages:
        msg = email.message_from_bytes(received.data, policy=email.policy.default)
        rounds = {int(n) for n in ROUND_MARK.findall(msg.get_body(("plain",)).get_content())}
        assert len(rounds) == 1, f"a digest should carry one round's releases, not {sorted(rounds)}"
        per_reader[(str(msg["To"]), rounds.pop())] += 1
        match = DELIVERY_IN_MESSAGE_ID.search(str(msg["Message-ID"]))
        assert match, msg["Message-ID"]
        per_delivery[int(match.group(1))] += 1
    expected = {(e, r) for e in emails for r in range(1, ROUNDS + 1)}
    missing = len(expected - set(per_reader))
    duplicates = sum(n - 1 for n in per_reader.values())
    assert set(per_reader) <= expected

    DL = DeliveryRow.__table__
    with storage.read("test: reading the ledger") as conn:
        in_doubt_ids = {r.id for r in conn.execute(sa.select(DL.c.id).where(DL.c.in_doubt.is_(True)))}
        states = Counter(r.state for r in conn.execute(sa.select(DL.c.state)))
    in_doubt = sum(run["in_doubt"] for run in storage.recent_runs(limit=10_000))
    assert in_doubt == len(in_doubt_ids)
    duplicated = {d for d, n in per_delivery.items() if n > 1}
    print(f"\n[{storage.dialect}] {len(sender.kills)} kills in {sender.launches} launches "
          f"({', '.join(sender.kills)}); {len(smtp_server.messages)} messages received for "
          f"{len(expected)} digests: missing {missing}, duplicates {duplicates} "
          f"({len(duplicated)} deliveries), in doubt {in_doubt}; ledger {dict(states)}; "
          f"{time.monotonic() - started:.1f} s")

    assert len(sender.kills) >= 20
    assert missing == 0
    assert states == Counter({"sent": len(expected)})
    assert duplicates <= in_doubt
    # A kill after an accepted DATA is a message the server has and the sender never heard of:
    # each one is resent, so it shows as a duplicate.
    assert duplicates >= sum(kill.startswith("data") for kill in sender.kills)
    # Bounded, not only harmless: a kill leaves at most what was claimed and in flight in doubt.
    assert in_doubt <= len(sender.kills) * IN_DOUBT_PER_KILL, (in_doubt, len(sender.kills))
    # Sharper than the count: every delivery that went out twice is one the ledger flagged.
    assert duplicated <= in_doubt_ids


# -- the ledger's other edges -----------------------------------------------------------------


def test_unsubscribing_while_a_run_is_sending_stops_the_planned_digest(
        storage: Storage, env: dict[str, str], mail_env: dict[str, str], content_dir: Path, smtp_server) -> None:  # type: ignore[no-untyped-def]
    """A click that lands after the sender read its page of deliveries must still stop that digest."""
    from feedsvc.runs.postman import Postman
    from feedsvc.transport.smtp import SmtpMailer, parse_smtp_url

    env = child_env(env, mail_env) | {"FEEDSVC_MAIL_RATE": "0"}
    settings = load_settings(env)
    ingester = make_ingester(settings, storage)
    ingester.scan()
    now = dt.datetime.now(dt.UTC)
    for i in range(20):
        storage.add_confirmed(f"reader{i:02}@example.org", (), "daily", now)
    (content_dir / "round-1.txt").write_text(listing(1), encoding="utf-8")
    ingester.scan()
    leaver = storage.get_subscriber_by_email("reader19@example.org")

    class ClickDuringTheRun(SmtpMailer):
        """The real SMTP mailer; the reader's click lands as the second message is handed over."""

        def send_many(self, messages, **kw):  # type: ignore[no-untyped-def,override]
            def click_on_the_way():  # type: ignore[no-untyped-def]
                for n, item in enumerate(messages):
                    if n == 1:
                        assert storage.unsubscribe(leaver.id, now)
                    yield item
            return super().send_many(click_on_the_way(), **kw)

    postman = Postman(storage, settings, mailer_factory=lambda: ClickDuringTheRun(parse_smtp_url(settings.smtp_url)))
    postman.manual_runs(("daily",))
    report = postman.send_pending(connections=1)
    got = {str(m.message["To"]) for m in smtp_server.messages}
    assert "reader19@example.org" not in got
    assert got == {f"reader{i:02}@example.org" for i in range(19)}
    assert report.sent == 19
    assert storage.delivery_counts() == {"sent": 19, "skipped": 1}


def test_a_bounce_cancels_the_addresses_other_planned_digests_and_runs_finish(
        storage: Storage, env: dict[str, str], mail_env: dict[str, str], content_dir: Path, smtp_server) -> None:  # type: ignore[no-untyped-def]
    """Two runs planned before sending; the first attempt bounces: the second is not left pending.

    The bouncer's second delivery sits on a later page of the ledger (pages are 500 rows), which
    is read after the bounce: left `pending`, it would keep its run open and the clock's resume
    job calling send_pending every minute, for ever.
    """
    from feedsvc.runs.postman import Postman

    env = child_env(env, mail_env) | {"FEEDSVC_MAIL_RATE": "0"}
    ingester = make_ingester(load_settings(env), storage)
    ingester.scan()
    now = dt.datetime.now(dt.UTC)
    readers = [f"reader{i:03}@example.org" for i in range(510)]
    for address in readers:
        storage.add_confirmed(address, (), "daily", now)
    postman = Postman(storage, load_settings(env))
    for round_no in (1, 2):  # two runs planned before anything is sent (an outage, a late clock)
        (content_dir / f"round-{round_no}.txt").write_text(listing(round_no), encoding="utf-8")
        ingester.scan()
        postman.manual_runs(("daily",))
    assert storage.count_pending() == 2 * len(readers)

    smtp_server.handler.rcpt_replies[readers[0]] = ["550 5.1.1 no such user"] * 3
    report = postman.send_pending()
    assert (report.sent, report.failed) == (2 * len(readers) - 2, 1)
    assert storage.get_subscriber_by_email(readers[0]).state == "bounced"
    assert storage.count_pending() == 0
    assert storage.delivery_counts() == {"sent": 2 * len(readers) - 2, "failed": 1, "skipped": 1}
    assert all(run["finished_at"] is not None for run in storage.recent_runs())
