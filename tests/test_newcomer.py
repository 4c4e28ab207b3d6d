"""`feedsvc serve` and `feedsvc watch` started as a newcomer starts them: a real process, nothing
configured, run from a folder holding the sample content, stopped with the signal a terminal sends."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import feedparser
import pytest

from feedsvc.model import StorageError
from feedsvc.storage import Storage

from .conftest import SAMPLES
from .smtp_server import free_port

NEW_LISTING = """Press Releases

Newcomer Release About a Mobile Clinic in Hatay

Hatay – A mobile clinic began visits to villages in the province this week, IOM staff said.
"""


def wait_until(what: str, proc: subprocess.Popen[str], check: Callable[[], bool], timeout: float = 60) -> None:
    """Poll `check` until it holds; fail at once, with the process's output, if the process died."""
    deadline = time.monotonic() + timeout
    while not check():
        if proc.poll() is not None:
            pytest.fail(f"the process exited ({proc.returncode}) before {what}:\n{proc.stdout.read() if proc.stdout else ''}")
        assert time.monotonic() < deadline, f"no {what} within {timeout} s"
        time.sleep(0.1)


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return resp.status, resp.read()
    except OSError:
        return 0, b""


@pytest.fixture
def office(tmp_path: Path) -> Path:
    """A checkout's layout as a newcomer has it: the sample listings under data/releases."""
    shutil.copytree(SAMPLES, tmp_path / "data" / "releases")
    return tmp_path


@contextlib.contextmanager
def start(office: Path, *args: str) -> Iterator[subprocess.Popen[str]]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("FEEDSVC_", "DATABASE_URL", "SMTP_URL", "SECRET_KEY", "MAIL_FROM", "PORT"))}
    proc = subprocess.Popen([sys.executable, "-m", "feedsvc.cli", *args], cwd=office, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def stop(proc: subprocess.Popen[str]) -> str:
    proc.send_signal(signal.SIGINT)  # Ctrl-C
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, out
    return out


def test_serve_with_nothing_configured_serves_the_samples_and_links_to_its_own_port(office: Path) -> None:
    port = free_port()
    with start(office, "serve", "--port", str(port)) as proc:
        base = f"http://localhost:{port}"
        wait_until("an answer from /healthz", proc, lambda: get(base + "/healthz")[0] == 200)
        status, home = get(base + "/")
        assert status == 200 and b"<html" in home.lower()
        feed = feedparser.parse(get(base + "/feeds/all.atom")[1])
        assert not feed.bozo and len(feed.entries) == 23
        assert all(e.link.startswith(f"{base}/releases/") for e in feed.entries)
        # A new listing dropped in the folder is on the site within seconds, through the watcher.
        (office / "data" / "releases" / "new.txt").write_text(NEW_LISTING, encoding="utf-8")
        wait_until("the new release in the feed", proc,
                   lambda: b"Mobile Clinic in Hatay" in get(base + "/feeds/all.atom")[1])
        out = stop(proc)
    assert f"links from http://localhost:{port}/" in out
    assert (office / "instance" / "feedsvc.sqlite3").is_file()  # state where the README says


def test_watch_ingests_the_folder_then_each_new_file(office: Path) -> None:
    with start(office, "watch") as proc:
        storage_path = office / "instance" / "feedsvc.sqlite3"
        storage: Storage | None = None

        def stored() -> int:
            nonlocal storage
            if storage is None:
                if not storage_path.exists():
                    return -1
                storage = Storage(f"sqlite:///{storage_path}")
            try:
                return storage.count_releases()
            except StorageError:  # the schema is still being created by the watcher's process
                return -1

        try:
            wait_until("the first scan", proc, lambda: stored() == 23)
            (office / "data" / "releases" / "new.txt").write_text(NEW_LISTING, encoding="utf-8")
            wait_until("the new file's release", proc, lambda: stored() == 24)
            stop(proc)
        finally:
            if storage is not None:
                storage.close()
