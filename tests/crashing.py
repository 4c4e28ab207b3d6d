"""A `feedsvc` process SIGKILLed at a chosen point of its SMTP conversation (the crash tests).

The SMTP test server calls `handler.on_event(kind, n)` in its own thread before it answers the
n-th connection, MAIL command or accepted DATA (tests/smtp_server.py). `killed_at` kills the
process there and waits for it to be gone before the server answers, so the process never hears
that reply: where each kill lands is decided by the test's seed, never by timing.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from tests.smtp_server import SmtpTestServer


def launch(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """`python -m feedsvc.cli *args`, its stdout and stderr written to `log`."""
    with log.open("wb") as out:  # the child has its own copy of the file once started
        return subprocess.Popen([sys.executable, "-m", "feedsvc.cli", *args], env=env,
                                stdout=out, stderr=subprocess.STDOUT)


def tail(log: Path) -> str:
    return log.read_text(errors="replace")[-3000:]


def killed_at(smtp: SmtpTestServer, proc: subprocess.Popen[bytes], log: Path,
              at: Callable[[str, int], bool], timeout: float) -> bool:
    """Wait for `proc`, SIGKILLing it at the first SMTP event `at(kind, n)` picks.

    True when it was killed there; False when it exited before that point, which must be with 0
    (else the assertion shows `log`'s tail). `at` sees every event, before and after the kill.
    """
    killed = threading.Event()

    def on_event(kind: str, n: int) -> None:
        if at(kind, n) and not killed.is_set() and proc.poll() is None:
            killed.set()  # before the kill: the test thread's wait() may return first
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)  # gone before the server answers: it never hears the reply

    smtp.handler.on_event = on_event
    try:
        returncode = proc.wait(timeout=timeout)
    finally:
        smtp.handler.on_event = None
        if proc.poll() is None:
            proc.kill()
    if not killed.is_set():
        assert returncode == 0, tail(log)
        return False
    return True
