"""One-line logs to stdout, as a PaaS log router wants them."""

from __future__ import annotations

import logging
import sys


class _OneLine(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        # A traceback or a title with newlines must not split one event across log lines.
        return text.replace("\r", "\\r").replace("\n", "\\n")


def setup_logging(level: str = "INFO") -> None:
    root = logging.getLogger()
    if any(getattr(h, "_feedsvc", False) for h in root.handlers):
        root.setLevel(level)
        return
    handler = logging.StreamHandler(sys.stdout)
    handler._feedsvc = True  # type: ignore[attr-defined]
    handler.setFormatter(_OneLine("%(asctime)s level=%(levelname)s logger=%(name)s %(message)s",
                                  "%Y-%m-%dT%H:%M:%S%z"))
    root.addHandler(handler)
    root.setLevel(level)
    for noisy in ("watchdog", "apscheduler", "werkzeug", "alembic"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))
