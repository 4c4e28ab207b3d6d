"""Waiting for something another thread or process does: the condition ends the wait, not the clock."""

from __future__ import annotations

import time
from collections.abc import Callable


def wait_for(predicate: Callable[[], bool], what: str, timeout: float = 60.0) -> float:
    """Seconds until `predicate()` held; AssertionError naming `what` if it did not within `timeout`
    (a bound only against a hang)."""
    start = time.monotonic()
    while not predicate():
        if time.monotonic() - start > timeout:
            raise AssertionError(f"not seen within {timeout}s: {what}")
        time.sleep(0.02)
    return time.monotonic() - start
