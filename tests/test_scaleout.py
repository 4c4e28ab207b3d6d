"""The Procfile run as an operator would: honcho, gunicorn with 4 workers, two clocks, two senders,
PostgreSQL, a crash."""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from feedsvc.config import load_settings, normalise_database_url
from feedsvc.runs.postman import Postman
from feedsvc.storage import Storage
from tests.conftest import ROOT, SAMPLES, pg_url_or_skip
from tests.smtp_server import free_port

NEW = """Press Releases

IOM Opens a Migrant Health Clinic in Hatay

Hatay – IOM opened a clinic offering health care and COVID-19 vaccination to migrants and host communities.
"""


def fetch(url: str) -> tuple[int, dict[str, str], bytes]:
    req = urllib.request.Request(url, headers={"Connection": "close"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return resp.status, dict(resp.headers), resp.read()


def wait_for(predicate, timeout: float, what: str):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except OSError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def descendants(pid: int) -> list[tuple[int, str]]:
    out = subprocess.run(["ps", "-e", "-ww", "-o", "pid=,ppid=,args="], capture_output=True, text=True)
    rows = [line.split(None, 2) for line in out.stdout.splitlines() if line.strip()]
    found, frontier = [], {pid}
    while frontier:
        kids = [(int(p), args) for p, pp, *rest in rows for args in [rest[0] if rest else ""]
                if int(pp) in frontier]
        found += kids
        frontier = {p for p, _ in kids}
    return found


@pytest.mark.postgres
def test_procfile_on_postgresql_with_two_clocks_and_a_crash(tmp_path: Path, smtp_server) -> None:  # type: ignore[no-untyped-def]
    url = pg_url_or_skip()
    storage = Storage(normalise_database_url(url, tmp_path))
    storage.drop_everything()
    content = tmp_path / "releases"
    shutil.copytree(SAMPLES, content)
    port = free_port()
    now = dt.datetime.now(dt.UTC)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FEEDSVC_", "DATABASE_URL", "SECRET_KEY"))}
    env.update({
        "PATH": f"{Path(sys.executable).parent}:{env.get('PATH', '')}", "DATABASE_URL": url,
        "SECRET_KEY": "scale-out-secret-padded-to-32-characters-or-more", "WEB_CONCURRENCY": "4", "FEEDSVC_CONTENT_DIR": str(content),
        "FEEDSVC_INSTANCE_DIR": str(tmp_path / "instance"), "FEEDSVC_BASE_URL": f"http://127.0.0.1:{port}",
        "SMTP_URL": f"smtp://{smtp_server.host}:{smtp_server.port}", "FEEDSVC_FEED_RECHECK": "0.5",
        "MAIL_FROM": "Press office <press@press-office.org>",
        # The daily digest was due a minute ago: both clocks catch up on it at start.
        "FEEDSVC_DAILY_AT": (now - dt.timedelta(minutes=1)).strftime("%H:%M"), "LOG_LEVEL": "INFO",
    })
    # The Procfile's release phase as the platform runs it (migrate, then `feedsvc check`), then
    # subscribers the office imported (their consent is on file).
    release = next(line.split(":", 1)[1] for line in (ROOT / "Procfile").read_text().splitlines()
                   if line.startswith("release:"))
    done = subprocess.run(["honcho", "run", "sh", "-c", release], env=env, cwd=ROOT, check=False,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    for i in range(40):
        storage.add_confirmed(f"reader{i}@example.org", (), "daily", now - dt.timedelta(hours=1))

    def start() -> subprocess.Popen[bytes]:
        with open(tmp_path / "honcho.log", "ab") as log:  # the child keeps its own copy of the fd
            return subprocess.Popen(["honcho", "start", "-f", str(ROOT / "Procfile"), "-p", str(port),
                                     "-c", "web=1,clock=2,sender=2", "web", "clock", "sender"], env=env, cwd=ROOT,
                                    stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def per_recipient(messages) -> dict[str, int]:  # type: ignore[no-untyped-def]
        counts: dict[str, int] = {}
        for m in messages:
            counts[str(m.message["To"])] = counts.get(str(m.message["To"]), 0) + 1
        return counts

    def clocks_ready() -> int:
        return (tmp_path / "honcho.log").read_text(errors="replace").count("ready: missed digests planned")

    def open_work() -> int:
        counts = storage.delivery_counts()
        return counts.get("pending", 0) + counts.get("sending", 0)

    everyone = {f"reader{i}@example.org": 1 for i in range(40)}
    base = f"http://127.0.0.1:{port}"
    honcho = start()
    try:
        wait_for(lambda: fetch(base + "/healthz")[0] == 200, 60, "the web process")
        wait_for(lambda: storage.count_releases() == 23, 60, "the clocks' first scan")
        wait_for(lambda: len(smtp_server.messages) >= 40, 60, "the caught-up daily digest")
        # Both clocks have done their start-up work and the ledger has nothing left to send:
        # a second clock or a retry had its chance, so the count below is final.
        wait_for(lambda: clocks_ready() == 2 and not open_work(), 60, "both clocks' start-up work")
        assert per_recipient(smtp_server.messages) == everyone
        assert len([r for r in storage.recent_runs() if r["kind"] == "scheduled" and r["frequency"] == "daily"]) == 1
        assert len({r.id for r in storage.list_releases(limit=100)}) == 23

        # Every worker serves the same bytes under the same ETag.
        wait_for(lambda: b"<entry " in fetch(base + "/feeds/all.atom")[2], 30, "the built feed")
        seen = {(h["ETag"], body) for _, h, body in (fetch(base + "/feeds/all.atom") for _ in range(60))}
        assert len(seen) == 1

        # A crash: one clock killed outright takes the formation down (honcho, like a dyno
        # crash); the platform starts it again.
        clocks = [pid for pid, args in descendants(honcho.pid)
                  if args.split()[-1:] == ["scheduler"] and "bin/feedsvc" in args]
        assert len(clocks) == 2, descendants(honcho.pid)
        os.kill(clocks[0], signal.SIGKILL)
        honcho.wait(timeout=60)
        honcho = start()
        wait_for(lambda: fetch(base + "/healthz")[0] == 200, 60, "the restarted web process")
        wait_for(lambda: clocks_ready() == 4 and not open_work(), 60, "the restarted clocks' start-up work")
        assert len(smtp_server.messages) == 40  # the period's digest is not sent again
        again = {(h["ETag"], body) for _, h, body in (fetch(base + "/feeds/all.atom") for _ in range(20))}
        assert again == seen  # same ids, same instants, same bytes after the restart

        (content / "new.txt").write_text(NEW, encoding="utf-8")

        def in_every_worker(feed: str) -> bool:
            return all(b"Migrant Health Clinic in Hatay" in fetch(f"{base}/feeds/{feed}")[2] for _ in range(12))

        # A rebuild stores feed by feed (all.* before health.*) and each worker reloads what changed
        # every FEEDSVC_FEED_RECHECK: the new release in all.atom says nothing yet of health.atom.
        wait_for(lambda: in_every_worker("all.atom"), 30, "the new release in every worker's all.atom")
        wait_for(lambda: in_every_worker("health.atom"), 30, "the new release in every worker's health.atom")
        assert len({r.id for r in storage.list_releases(limit=100)}) == 24

        # A run planned while the formation runs goes out through the `sender` processes. The clocks
        # send too (their resume job, every minute): frozen meanwhile, so none of it can be theirs.
        clocks = [pid for pid, args in descendants(honcho.pid)
                  if args.split()[-1:] == ["scheduler"] and "bin/feedsvc" in args]
        assert len(clocks) == 2, descendants(honcho.pid)
        for pid in clocks:
            os.kill(pid, signal.SIGSTOP)
        logged = len((tmp_path / "honcho.log").read_bytes())

        def sent_by_senders() -> int:  # what each sender process says it sent (honcho prefixes its lines)
            said = (tmp_path / "honcho.log").read_bytes()[logged:].decode(errors="replace")
            return sum(int(n) for n in re.findall(r"sender\.\d+ +\| digests: (\d+) sent", said))

        try:
            Postman(storage, load_settings(env)).manual_runs(("daily",))
            wait_for(lambda: sent_by_senders() >= 40 and not open_work(), 60, "the senders' digests")
        finally:
            for pid in clocks:
                os.kill(pid, signal.SIGCONT)
        assert sent_by_senders() == 40 and len(smtp_server.messages) == 80
        assert per_recipient(smtp_server.messages[40:]) == everyone
        for m in smtp_server.messages[40:]:
            assert "Hatay" in m.message.get_body(("plain",)).get_content()
    finally:
        os.killpg(honcho.pid, signal.SIGTERM)
        try:
            honcho.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(honcho.pid, signal.SIGKILL)
        storage.close()
