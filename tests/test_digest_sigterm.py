"""SIGTERM to the clock mid-digest (a PaaS restart): it stops cleanly, the next process finishes, no duplicates."""

from __future__ import annotations

import datetime as dt
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from feedsvc.storage import Storage
from tests.test_digest_crash import child_env


def test_sigterm_stops_the_clock_cleanly_and_the_next_process_resumes(
        storage: Storage, env: dict[str, str], mail_env: dict[str, str], content_dir: Path, tmp_path: Path,
        smtp_server) -> None:  # type: ignore[no-untyped-def]
    env = child_env(env, mail_env)
    now = dt.datetime.now(dt.UTC)
    # The daily digest fell due a minute ago: the clock catches up on it as soon as it starts.
    env |= {"FEEDSVC_DAILY_AT": (now - dt.timedelta(minutes=1)).strftime("%H:%M"), "FEEDSVC_MAIL_RATE": "60"}
    for i in range(200):
        storage.add_confirmed(f"reader{i}@example.org", (), "daily", now - dt.timedelta(hours=1))

    clock = subprocess.Popen([sys.executable, "-m", "feedsvc.cli", "scheduler"], env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while len(smtp_server.messages) < 20:
            assert time.monotonic() < deadline and clock.poll() is None, "the clock never started sending"
            time.sleep(0.05)
        clock.send_signal(signal.SIGTERM)
        out, _ = clock.communicate(timeout=30)
    finally:
        if clock.poll() is None:
            clock.kill()
    assert clock.returncode == 0, out
    stopped_at = len(smtp_server.messages)
    assert stopped_at < 200, "the test needs the clock stopped mid-run"
    counts = storage.delivery_counts()
    assert counts.get("sending", 0) == 0  # nothing left in flight: a clean stop, nothing in doubt
    assert sum(r["in_doubt"] for r in storage.recent_runs()) == 0

    resume = subprocess.run([sys.executable, "-m", "feedsvc.cli", "digest"], env=env, capture_output=True,
                            text=True, timeout=120)
    assert resume.returncode == 0, resume.stderr
    per = Counter(str(m.message["To"]) for m in smtp_server.messages)
    assert per == {f"reader{i}@example.org": 1 for i in range(200)}
