"""Watching the content folder: watchdog events, debounced, plus a periodic full rescan as a safety net."""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path

from watchdog.events import (
    DirCreatedEvent,
    DirDeletedEvent,
    DirMovedEvent,
    FileClosedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers import Observer

from .folder import is_candidate
from .ingest import Ingester

log = logging.getLogger(__name__)

# A writer that closes its file tells us it is complete (inotify's IN_CLOSE_WRITE); where the
# platform gives no close events, a file is taken as complete after this long without a change.
SETTLE_WITHOUT_CLOSE = 3.0
SETTLE_AFTER_CLOSE = 0.05
# A file moved in from elsewhere on the disk shows up as "created" with no writes and no close:
# when no modification follows its creation this soon, it is complete already.
SETTLE_CREATED = 0.3
TICK = 0.05


class _Handler(FileSystemEventHandler):
    def __init__(self, watcher: Watcher) -> None:
        self.watcher = watcher

    def on_any_event(self, event: FileSystemEvent) -> None:
        try:
            self._dispatch(event)
        except Exception:  # an exception here would end watchdog's thread: watching would stop unseen
            log.exception("watch event %s could not be handled", event)

    def _dispatch(self, event: FileSystemEvent) -> None:
        w = self.watcher
        if isinstance(event, (DirCreatedEvent, DirDeletedEvent, DirMovedEvent)):
            w.request_full_scan()
        elif isinstance(event, FileClosedEvent):
            w.touch(str(event.src_path), SETTLE_AFTER_CLOSE)
        elif isinstance(event, FileMovedEvent):
            w.touch(str(event.src_path), SETTLE_AFTER_CLOSE)
            w.touch(str(event.dest_path), SETTLE_AFTER_CLOSE)
        elif isinstance(event, FileDeletedEvent):
            w.touch(str(event.src_path), SETTLE_AFTER_CLOSE)
        elif isinstance(event, FileCreatedEvent):
            w.touch(str(event.src_path), SETTLE_CREATED)
        elif isinstance(event, FileModifiedEvent):
            w.touch(str(event.src_path), SETTLE_WITHOUT_CLOSE)


class Watcher:
    """Runs in the background of `serve`, `watch` and the clock process."""

    def __init__(self, ingester: Ingester, *, rescan_seconds: float = 300.0) -> None:
        self.ingester = ingester
        self.root = Path(ingester.content_dir).resolve()
        self.rescan_seconds = rescan_seconds
        self._pending: dict[str, float] = {}
        self._waited: set[str] = set()
        self._full_scan_due = time.monotonic()  # one full scan at start
        self.scans_done = 0  # finished scans, good or failed: what wait_for_scans waits on
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._observer = Observer()
        self._thread = threading.Thread(target=self._run, name="feedsvc-watcher", daemon=True)

    def touch(self, path: str, settle: float) -> None:
        # The event's own path, never resolved: resolving follows the symlink being reported (a loop
        # raises), and a link's events must name the link, which is what the folder lists.
        rel = os.path.relpath(path, self.root).replace(os.sep, "/")
        if rel.startswith("../") or not is_candidate(os.path.basename(rel)):
            return
        with self._cond:
            due = time.monotonic() + settle
            # A close after modifications shortens the wait; a later modification lengthens it again.
            self._pending[rel] = due
            self._cond.notify()

    def request_full_scan(self) -> None:
        with self._cond:
            self._full_scan_due = time.monotonic()
            self._cond.notify()

    def _still_empty(self, rel: str) -> bool:
        """An empty new file is most likely still being written: give its writer more time, once."""
        try:
            empty = os.path.getsize(self.root / rel) == 0
        except OSError:
            return False
        if empty and rel not in self._waited:
            self._waited.add(rel)
            self._pending[rel] = time.monotonic() + SETTLE_WITHOUT_CLOSE
            return True
        self._waited.discard(rel)
        return False

    def wait_for_scans(self, count: int, timeout: float) -> bool:
        """Wait until `count` scans have finished since start; False if `timeout` seconds pass first."""
        with self._cond:
            return self._cond.wait_for(lambda: self.scans_done >= count, timeout)

    def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self._observer.schedule(_Handler(self), str(self.root), recursive=True)
        self._observer.start()
        self._thread.start()
        log.info("watching %s (full rescan every %ss)", self.root, self.rescan_seconds)

    def stop(self) -> None:
        self._stop.set()
        with self._cond:
            self._cond.notify()
        self._observer.stop()
        self._observer.join(timeout=5)
        self._thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stop.is_set():
            with self._cond:
                now = time.monotonic()
                due = [p for p, t in self._pending.items() if t <= now]
                for p in due:
                    del self._pending[p]
                due = [p for p in due if not self._still_empty(p)]
                full = self._full_scan_due <= now
                if full:
                    self._full_scan_due = now + self.rescan_seconds
                if not due and not full:
                    wake = min([*self._pending.values(), self._full_scan_due]) - now
                    self._cond.wait(timeout=max(TICK, min(wake, 1.0)))
                    continue
            try:
                result = self.ingester.scan(None if full else due)
                s = result.summary
                if s.files_changed or s.files_failed or s.releases_withdrawn:
                    log.info("scan: %s", "; ".join(result.lines()))
            except Exception:  # the watcher must outlive any one bad scan
                log.exception("scan of %s failed", "the folder" if full else ", ".join(due))
            finally:
                with self._cond:
                    self.scans_done += 1
                    self._cond.notify_all()
