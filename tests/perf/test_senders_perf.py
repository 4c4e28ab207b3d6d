"""Several senders benchmark (issue 16.2): 1, 2 and 4 `feedsvc sender` processes on one run each;
then memory and time per subscriber from 10,000 to 100,000 subscribers.

An SMTP sink in its own process answers each message after 50 ms (a remote relay); 10,000
subscribers on PostgreSQL; each sender has FEEDSVC_MAIL_CONNECTIONS (4) connections. For each
count of senders a new run is planned (in this process: planning is not measured), then that many
`feedsvc sender --once` start together. Prints, per count, the wall time (start to the last exit),
the ledger's span (first to last `sent`), the speed-up over one sender (targets: 2 ≥ 1.8×,
4 ≥ 3.2×) and each sender's peak resident memory; asserts no time.

test_senders_at_100k: the same senders (LARGE_SENDERS, each with LARGE_CONNECTIONS) on a run of
10,000 subscribers, then of 100,000 (the same readers and 90,000 more). Measured from planning the
run (`Postman.manual_runs`: the ledger insert, in this process) to the last sender's exit; prints
seconds per subscriber at each size and their ratio (target ≤ about 1.2×), and asserts each
sender's peak resident memory at 100,000 is at most 300 MB (a count, not a time).

Run: FEEDSVC_TEST_DATABASE_URL=postgresql://… .venv/bin/python -m pytest -m perf tests/perf/test_senders_perf.py -s
"""

from __future__ import annotations

import os
import random
import re
import resource
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from feedsvc.cli import make_ingester
from feedsvc.config import load_settings
from feedsvc.ingest import Ingester
from feedsvc.runs.postman import Postman
from feedsvc.storage import Storage
from feedsvc.storage.mail_schema import DeliveryRow
from tests.conftest import ROOT
from tests.perf.test_digest_perf import CHILD, RELEASES, SEED, add_subscribers, bench_env, listing, topic_sets
from tests.smtp_server import free_port

pytestmark = pytest.mark.perf

SUBSCRIBERS = int(os.environ.get("FEEDSVC_PERF_SUBSCRIBERS", "10000"))
DELAY_MS = int(os.environ.get("FEEDSVC_PERF_RELAY_MS", "50"))
CONNECTIONS = 4
SENDERS = (1, 2, 4)
LARGE = int(os.environ.get("FEEDSVC_PERF_LARGE_SUBSCRIBERS", "100000"))
LARGE_SENDERS = 4
LARGE_CONNECTIONS = 8  # 32 messages in flight: the sink's 50 ms allows 640 msg/s, 100,000 in under 3 min
MEMORY_CEILING_MB = 300


@pytest.fixture
def slow_sink() -> Iterator[tuple[str, int]]:
    port = free_port()
    with subprocess.Popen([sys.executable, "-m", "tests.perf.slow_sink", str(port), str(DELAY_MS)],
                          cwd=ROOT, stdout=subprocess.PIPE, text=True) as proc:
        try:
            assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
            yield "127.0.0.1", port
        finally:
            proc.terminate()
            proc.wait(timeout=10)


def sent_in_run(storage: Storage, run_id: int) -> tuple[int, float]:
    """Messages the run sent, and the span from its first `sent` to its last."""
    DL = DeliveryRow.__table__
    with storage.read("benchmark: reading the ledger") as conn:
        n, first, last = conn.execute(sa.select(sa.func.count(), sa.func.min(DL.c.sent_at), sa.func.max(DL.c.sent_at))
                                      .where(DL.c.run_id == run_id, DL.c.state == "sent")).one()
    return int(n), (last - first).total_seconds() if n else 0.0


def run_senders(env: dict[str, str], count: int) -> tuple[float, list[float]]:
    """`count` senders started together: the wall time until the last exits, and each one's peak RSS (MB)."""
    args = [sys.executable, "-c", CHILD, "sender", "--once"]
    t = time.perf_counter()
    procs = [subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(count)]
    outs = [p.communicate(timeout=1800) for p in procs]
    wall = time.perf_counter() - t
    peaks = []
    for p, (out, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, (out + err)[-3000:]
        peaks.append(int(re.findall(r"VmHWM (\d+)", err)[-1]) / 1024)
    return wall, peaks


def prepared(storage: Storage, env: dict[str, str], sink: tuple[str, int],
             connections: int) -> tuple[dict[str, str], Ingester, Postman]:
    """Both benchmarks' start (PostgreSQL only): the senders' settings, the samples ingested, a Postman to plan runs."""
    if not storage.senders_share_runs:
        pytest.skip("several senders need PostgreSQL")
    env = bench_env(env, sink, FEEDSVC_MAIL_CONNECTIONS=str(connections))
    settings = load_settings(env)
    ingester = make_ingester(settings, storage)
    ingester.scan()
    return env, ingester, Postman(storage, settings)


def test_senders_scale(storage: Storage, env: dict[str, str], content_dir: Path, slow_sink: tuple[str, int]) -> None:
    env, ingester, postman = prepared(storage, env, slow_sink, CONNECTIONS)
    add_subscribers(storage, 0, topic_sets(SUBSCRIBERS, random.Random(SEED)))
    rows = []
    for no, count in enumerate(SENDERS, start=1):
        (content_dir / f"round-{no}.txt").write_text(listing(no), encoding="utf-8")
        assert ingester.scan().summary.releases_new == RELEASES
        (run_id,) = postman.manual_runs(("weekly",))
        wall, peaks = run_senders(env, count)
        sent, span = sent_in_run(storage, run_id)
        assert sent == SUBSCRIBERS
        assert storage.count_pending() == 0
        rows.append((count, wall, span, peaks))

    _, wall_1, span_1, _ = rows[0]
    print(f"\n[senders] {SUBSCRIBERS:,} subscribers, sink answering after {DELAY_MS} ms, "
          f"{CONNECTIONS} connections per sender, {os.cpu_count()} cores")
    print("senders  wall s  msg/s  × one  ledger span s  × one  peak RSS per sender (MB)")
    for count, wall, span, peaks in rows:
        print(f"{count:7}  {wall:6.1f}  {SUBSCRIBERS / wall:5.0f}  {wall_1 / wall:5.2f}  "
              f"{span:13.1f}  {span_1 / span:5.2f}  {', '.join(f'{p:.0f}' for p in peaks)}")
    print("targets: 2 senders ≥ 1.8× one, 4 ≥ 3.2×")


def test_senders_at_100k(storage: Storage, env: dict[str, str], content_dir: Path,
                         slow_sink: tuple[str, int]) -> None:
    env, ingester, postman = prepared(storage, env, slow_sink, LARGE_CONNECTIONS)
    sets = topic_sets(LARGE, random.Random(SEED))
    rows = []
    seeded = 0
    for no, size in enumerate((SUBSCRIBERS, LARGE), start=1):
        t = time.perf_counter()
        add_subscribers(storage, seeded, sets[seeded:size])
        seeding, seeded = time.perf_counter() - t, size
        (content_dir / f"round-{no}.txt").write_text(listing(no), encoding="utf-8")
        assert ingester.scan().summary.releases_new == RELEASES
        t = time.perf_counter()
        (run_id,) = postman.manual_runs(("weekly",))  # planning: the run's ledger rows, in one statement
        plan = time.perf_counter() - t
        before = resource.getrusage(resource.RUSAGE_CHILDREN)  # the senders are this process's waited children
        wall, peaks = run_senders(env, LARGE_SENDERS)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
        sent, span = sent_in_run(storage, run_id)
        assert sent == size
        assert storage.count_pending() == 0
        rows.append((size, seeding, plan, wall, span, cpu, peaks))

    print(f"\n[senders at 100k] {LARGE_SENDERS} senders × {LARGE_CONNECTIONS} connections, sink answering after "
          f"{DELAY_MS} ms, {os.cpu_count()} cores (shared: other work on the machine shifts these times)")
    print("subscribers  seeding s  planning s  senders wall s  ledger span s  ms/subscriber  "
          "senders' CPU ms/subscriber  peak RSS per sender (MB)")
    for size, seeding, plan, wall, span, cpu, peaks in rows:
        print(f"{size:11,}  {seeding:9.1f}  {plan:10.2f}  {wall:14.1f}  {span:13.1f}  "
              f"{1000 * (plan + wall) / size:13.3f}  {1000 * cpu / size:26.3f}  {', '.join(f'{p:.0f}' for p in peaks)}")
    (small, _, plan_s, wall_s, _, cpu_s, _), (large, _, plan_l, wall_l, _, cpu_l, peaks_l) = rows
    ratio = ((plan_l + wall_l) / large) / ((plan_s + wall_s) / small)
    print(f"time per subscriber (planning + senders' wall) at {large:,} / at {small:,}: {ratio:.2f}× "
          f"(target ≤ about 1.2×); planning {1000 * plan_s / small:.3f} → {1000 * plan_l / large:.3f} ms per "
          f"subscriber; senders' CPU per subscriber {(cpu_l / large) / (cpu_s / small):.2f}× (less load-dependent)")
    print(f"peak RSS per sender at {large:,}: max {max(peaks_l):.0f} MB (ceiling {MEMORY_CEILING_MB} MB)")
    assert max(peaks_l) <= MEMORY_CEILING_MB, peaks_l
