"""Digest benchmark: 10,000 subscribers, 50 new releases, sent into an aiosmtpd sink in another process.

Compared, in one run, with raw smtplib sending as many pre-rendered messages over one reused
connection. Prints msg/s, the ratio (target ≥ 0.8× raw), the sending process's peak memory
(target ≤ 300 MB) and the time per subscriber at 1,000 and at 10,000; asserts no time.

Run: .venv/bin/python -m pytest -m perf tests/perf/test_digest_perf.py -s
"""

from __future__ import annotations

import datetime as dt
import os
import random
import re
import smtplib
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from feedsvc.cli import make_ingester
from feedsvc.config import load_settings
from feedsvc.deliveries import Delivery
from feedsvc.runs.postman import Postman
from feedsvc.storage import Storage
from feedsvc.storage.mail_schema import DeliveryRow, SubscriberRow
from feedsvc.transport.wire import message_bytes
from tests.conftest import ROOT, mail_settings, process_env
from tests.smtp_server import free_port

pytestmark = pytest.mark.perf

SUBSCRIBERS = int(os.environ.get("FEEDSVC_PERF_SUBSCRIBERS", "10000"))
SMALL = SUBSCRIBERS // 10
RELEASES = 50
SEED = 7
BULK_ROWS = 5000

# A phrase that puts a release in each topic (opinion comes from a byline: not generated here).
TOPIC_PHRASES = {
    "borders-and-emergencies": ("Coast Guard Rescue", "Çeşme", "teams met people rescued by the coast guard"),
    "counter-trafficking": ("Trafficking Victims Protected", "Antalya", "victims of trafficking found shelter"),
    "return-and-reintegration": ("Voluntary Return Flights", "Istanbul", "migrants chose assisted voluntary return"),
    "social-cohesion": ("Social Cohesion Week", "Izmir", "host communities met their new neighbours"),
    "health": ("Vaccination Drive", "Ankara", "mobile health teams began vaccination visits"),
    "partnerships-and-funding": ("Funding Agreement Signed", "Ankara", "donors signed a new funding agreement"),
    "migration-governance": ("Migration Policy Forum", "Ankara", "officials discussed migration policy reform"),
    "livelihoods": ("Vocational Courses Open Jobs", "Gaziantep", "graduates of vocational courses found jobs"),
    "data-and-research": ("New Report on Mobility", "Ankara", "a new report gives flow monitoring figures"),
    "events-and-campaigns": ("Film Festival Opens", "Mersin", "the film festival opened in twelve cities"),
}
SLUGS = list(TOPIC_PHRASES)
FILLER = ("The programme, run with local partners, also offers counselling, language classes and legal "
          "information, and will continue through the coming months in the provinces concerned.")


def listing(round_no: int) -> str:
    parts = ["Press Releases", ""]
    for k in range(RELEASES):
        title, place, what = TOPIC_PHRASES[SLUGS[k % len(SLUGS)]]
        parts += [f"{title}: Round {round_no} Item {k}", "", f"{place} – This week {what}. {FILLER}", ""]
    return "\n".join(parts)


def topic_sets(n: int, rng: random.Random) -> list[tuple[str, ...]]:
    """A fifth want everything; the others one to three topics (176 distinct sets in all)."""
    out: list[tuple[str, ...]] = []
    for _ in range(n):
        out.append(() if rng.random() < 0.2 else tuple(sorted(rng.sample(SLUGS, rng.randint(1, 3)))))
    return out


def add_subscribers(storage: Storage, start: int, sets: list[tuple[str, ...]]) -> None:
    """Bulk insert (the benchmark's set-up, not what it measures), 5,000 rows a statement (each a
    multi-row INSERT); cursors at the newest release."""
    S = SubscriberRow.__table__
    now = dt.datetime.now(dt.UTC)
    cursor = storage.max_seq()
    rows = [{"email": f"reader{start + i:05}@example.org", "topics": " ".join(t),
             "frequency": "weekly", "state": "confirmed", "created_at": now, "confirmed_at": now,
             "cursor_seq": cursor} for i, t in enumerate(sets)]
    with storage.begin("benchmark: adding subscribers") as conn:
        for at in range(0, len(rows), BULK_ROWS):
            conn.execute(S.insert(), rows[at:at + BULK_ROWS])


@pytest.fixture
def sink() -> Iterator[tuple[str, int]]:
    """aiosmtpd's Sink handler in its own process: it accepts everything and keeps nothing."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{port}",
                             "-c", "aiosmtpd.handlers.Sink"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while True:
        try:
            with smtplib.SMTP("127.0.0.1", port, timeout=2) as probe:
                probe.noop()
            break
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                pytest.fail("the aiosmtpd sink did not start")
            time.sleep(0.1)
    try:
        yield "127.0.0.1", port
    finally:
        proc.terminate()
        proc.wait(timeout=10)


# `feedsvc digest`, reporting its own peak resident memory when it exits. Not ru_maxrss from
# wait4(): Linux carries the peak of the forked child (this test process, 150 MB) across exec.
CHILD = """
import atexit, cProfile, os, re, runpy, sys
profile = cProfile.Profile() if os.environ.get("PERF_PROFILE_OUT") else None
def done():
    if profile:
        profile.disable()
        profile.dump_stats(os.environ["PERF_PROFILE_OUT"])
    status = open("/proc/self/status").read()
    print("VmHWM", re.search(r"VmHWM:\\s+(\\d+) kB", status).group(1), file=sys.stderr)
atexit.register(done)
sys.argv = ["feedsvc", *sys.argv[1:]]
if profile:
    profile.enable()
runpy.run_module("feedsvc.cli", run_name="__main__")
"""


def run_digest(env: dict[str, str], connections: int, profile: Path | None = None) -> dict[str, float]:
    """`feedsvc digest --send-now` as its own process: wall time and peak resident memory."""
    args = [sys.executable, "-c", CHILD, "digest", "--send-now"]
    extra = {"FEEDSVC_MAIL_CONNECTIONS": str(connections)}
    if profile is not None:
        extra["PERF_PROFILE_OUT"] = str(profile)
    t = time.perf_counter()
    out = subprocess.run(args, env=env | extra,
                         capture_output=True, text=True, timeout=900)
    wall = time.perf_counter() - t
    assert out.returncode == 0, (out.stdout + out.stderr)[-3000:]
    peak_kb = int(re.findall(r"VmHWM (\d+)", out.stderr)[-1])
    return {"wall": wall, "rss_mb": peak_kb / 1024}


def sent_in_last_run(storage: Storage) -> tuple[int, float]:
    """Messages the newest run sent, and the span from its first `sent` to its last."""
    DL = DeliveryRow.__table__
    run = storage.recent_runs(limit=2)  # --send-now makes a daily run (empty here) and a weekly one
    ids = [r["id"] for r in run]
    with storage.read("benchmark: reading the ledger") as conn:
        n, first, last = conn.execute(sa.select(sa.func.count(), sa.func.min(DL.c.sent_at), sa.func.max(DL.c.sent_at))
                                      .where(DL.c.run_id.in_(ids), DL.c.state == "sent")).one()
    return int(n), (last - first).total_seconds() if n else 0.0


def raw_smtplib(host: str, port: int, messages: list[tuple[str, bytes]]) -> float:
    """The baseline: ready bytes, one connection reused for all (as NOTES' 425 msg/s)."""
    t = time.perf_counter()
    conn = smtplib.SMTP(host, port)
    for to, data in messages:
        conn.sendmail("news@bench.example.org", [to], data)
    conn.quit()
    return time.perf_counter() - t


def bench_env(env: dict[str, str], sink: tuple[str, int], **more: str) -> dict[str, str]:
    """A digest process's environment: conftest's `env`, mailing `sink` at full speed, quietly."""
    return process_env(env | mail_settings(*sink) | {"FEEDSVC_MAIL_RATE": "0", "LOG_LEVEL": "WARNING",
                                                     "PYTHONPATH": str(ROOT)} | more)


def test_digest_throughput_memory_and_scaling(storage: Storage, env: dict[str, str], content_dir: Path,
                                              sink: tuple[str, int]) -> None:
    host, port = sink
    rng = random.Random(SEED)
    env = bench_env(env, sink)
    settings = load_settings(env)
    ingester = make_ingester(settings, storage)
    ingester.scan()
    sets = topic_sets(SUBSCRIBERS, rng)
    profile_dir = os.environ.get("FEEDSVC_PERF_PROFILE")  # a folder: cProfile each digest process there
    results: list[tuple[str, int, int, dict[str, float], float]] = []

    def round_(no: int, label: str, subscribers: int, connections: int) -> None:
        (content_dir / f"round-{no}.txt").write_text(listing(no), encoding="utf-8")
        assert ingester.scan().summary.releases_new == RELEASES
        prof = Path(profile_dir) / f"{storage.dialect}-{label}.prof" if profile_dir else None
        figures = run_digest(env, connections, prof)
        sent, span = sent_in_last_run(storage)
        assert sent == subscribers
        results.append((label, subscribers, connections, figures, span))

    # The same number of the same kind of messages, rendered beforehand, sent over one connection:
    # before and after feedsvc's runs, as the machine's load drifts (others share these two cores).
    def pre_rendered() -> list[tuple[str, bytes]]:
        postman, until = Postman(storage, settings), storage.max_seq()
        rendered: dict[tuple[str, ...], bytes] = {}
        for t in set(sets):
            d = Delivery(1, 1, 1, "reader@example.org", t, "weekly", "bench", until - RELEASES, until, False, 0)
            msg = postman.preview(d)
            assert msg is not None
            rendered[t] = message_bytes(msg)
        return [(f"reader{i:05}@example.org", rendered[t]) for i, t in enumerate(sets)]

    add_subscribers(storage, 0, sets[:SMALL])
    round_(1, "1k", SMALL, 4)
    add_subscribers(storage, SMALL, sets[SMALL:])
    messages = pre_rendered()
    raw_before = raw_smtplib(host, port, messages)
    round_(2, "10k", SUBSCRIBERS, 4)
    round_(3, "10k", SUBSCRIBERS, 8)
    raw_after = raw_smtplib(host, port, messages)
    raw_rate = 2 * SUBSCRIBERS / (raw_before + raw_after)
    avg_kb = sum(len(b) for _, b in messages) / len(messages) / 1024

    print(f"\n[{storage.dialect}] {SUBSCRIBERS:,} subscribers, {RELEASES} new releases, "
          f"{len(set(sets))} distinct topic sets, digests of {avg_kb:.0f} KB on average")
    print(f"  raw smtplib, pre-rendered, 1 connection: {SUBSCRIBERS / raw_before:.0f} msg/s before, "
          f"{SUBSCRIBERS / raw_after:.0f} after: {raw_rate:.0f} msg/s")
    print("  run   subs   conns  wall s  msg/s  ratio  send-phase msg/s  ratio  peak MB  ms/subscriber (send phase)")
    for label, subs, conns, f, span in results:
        rate = subs / f["wall"]
        send_rate = subs / span if span else float("nan")
        print(f"  {label:4} {subs:6,}  {conns:5}  {f['wall']:6.1f}  {rate:5.0f}  {rate / raw_rate:5.2f}  "
              f"{send_rate:16.0f}  {send_rate / raw_rate:5.2f}  {f['rss_mb']:7.0f}  "
              f"{1000 * f['wall'] / subs:6.2f} ({1000 * span / subs:.2f})")
    print("  (wall: the whole `feedsvc digest --send-now` process, start-up and planning included; "
          "send phase: first to last `sent` in the ledger; targets: ratio ≥ 0.8, peak ≤ 300 MB, "
          "ms/subscriber flat from 1k to 10k)")
