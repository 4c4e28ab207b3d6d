"""An SMTP sink that answers each message after a delay, as a remote relay does (issue 16.2).

Run as its own process: `python -m tests.perf.slow_sink PORT DELAY_MS`. It keeps nothing; it
prints "ready" once listening, and the number of messages it took when SIGTERM stops it.
"""

from __future__ import annotations

import asyncio
import signal
import sys
import threading
from typing import Any

from aiosmtpd.controller import Controller


class SlowSink:
    def __init__(self, delay: float) -> None:
        self.delay, self.count = delay, 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        await asyncio.sleep(self.delay)  # the relay's round trip and queueing: no CPU spent
        self.count += 1
        return "250 2.0.0 Queued"


def main() -> None:
    port, delay_ms = int(sys.argv[1]), float(sys.argv[2])
    handler = SlowSink(delay_ms / 1000)
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    print("ready", flush=True)
    stop.wait()
    controller.stop()
    print(handler.count, flush=True)


if __name__ == "__main__":
    main()
