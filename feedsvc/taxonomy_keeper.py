"""The taxonomy in force: topics.toml while it is valid, else the last good one, and why (issue 14 item 1).

A bad edit of topics.toml must not change what anything classifies or shows: the ingester, the pages,
the feeds and the digest keep the last good taxonomy, and the error shows in the log (once), the
ingest summary, /admin and /healthz until the file is fixed. What "last good" is, in order:

1. the last valid file this process read;
2. the last valid file any process classified with, kept in the database by the ingester (so a web
   process started while the file is broken shows the topics the releases were filed under);
3. the default taxonomy shipped with feedsvc (`config.DEFAULT_TOPICS`);
4. no topics at all, when even that cannot be read: every release is still in the `all` feed.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from .model import ConfigError, FeedsvcError
from .resources import DEFAULT_TOPICS
from .topics import Taxonomy, load_taxonomy, parse_taxonomy

if TYPE_CHECKING:
    from .storage import Storage

log = logging.getLogger(__name__)

__all__ = ["STORED_KEY", "TaxonomyKeeper"]

STORED_KEY = "taxonomy_toml"  # storage meta: the text of the last valid taxonomy classified with
_EMPTY = Taxonomy(topics=(), digest="no-taxonomy")


def _signature(path: Path) -> tuple[int, int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size, st.st_ino


class TaxonomyKeeper:
    """Thread-safe; re-reads the file when it changes (a stat per call)."""

    def __init__(self, path: Path, storage: Storage | None = None, *, default: Path = DEFAULT_TOPICS) -> None:
        self.path = Path(path)
        self.storage = storage
        self.default = Path(default)
        self._lock = threading.Lock()
        self._signature: tuple[int, int, int] | bool | None = False  # False: never read
        self._good: tuple[Taxonomy, str] | None = None  # the file's last valid taxonomy and text
        self._current: Taxonomy = _EMPTY
        self._error: str | None = None
        self._stored_digest: str | None = None

    def current(self) -> Taxonomy:
        """The taxonomy to classify and show with; never raises."""
        self._refresh()
        return self._current

    @property
    def error(self) -> str | None:
        """One line: why topics.toml is not the taxonomy in force (None while it is)."""
        self._refresh()
        return self._error

    def remember(self) -> None:
        """Keep the file's valid taxonomy in the database, for processes that start while it is broken."""
        with self._lock:
            good, stored = self._good, self._stored_digest
        if self.storage is None or good is None or self._error is not None or stored == good[0].digest:
            return
        self.storage.set_meta(STORED_KEY, good[1])
        with self._lock:
            self._stored_digest = good[0].digest

    def _refresh(self) -> None:
        signature = _signature(self.path)
        with self._lock:
            if signature == self._signature:
                return
            self._signature = signature
            try:
                text = self.path.read_text(encoding="utf-8")
                taxonomy = parse_taxonomy(text, str(self.path))
            except (OSError, UnicodeDecodeError) as exc:
                self._fail(f"{self.path}: cannot read the taxonomy: {exc}")
            except ConfigError as exc:
                self._fail(str(exc).splitlines()[0])
            else:
                if self._error is not None:
                    log.info("taxonomy %s is valid again: %d topics", self.path, len(taxonomy.topics))
                self._good, self._current, self._error = (taxonomy, text), taxonomy, None

    def _fail(self, reason: str) -> None:
        """The file is not usable: keep the last good taxonomy and say which one is in force."""
        if self._good is not None:
            self._current, kept = self._good[0], "the last valid one read"
        else:
            self._current, kept = self._fallback()
        message = f"{reason} (topics.toml not applied; in force: {kept})"
        if message != self._error:
            log.error("taxonomy: %s", message)
        self._error = message

    def _fallback(self) -> tuple[Taxonomy, str]:
        if self.storage is not None:
            try:
                text = self.storage.get_meta(STORED_KEY)
                if text is not None:
                    taxonomy = parse_taxonomy(text, "the stored taxonomy")
                    self._stored_digest = taxonomy.digest
                    return taxonomy, "the last valid one, kept in the database"
            except FeedsvcError as exc:
                log.warning("taxonomy: the one kept in the database is not usable: %s", exc)
        if self.default.resolve() != self.path.resolve():
            try:
                return load_taxonomy(self.default), f"the default taxonomy ({self.default})"
            except ConfigError as exc:
                log.warning("taxonomy: the default one is not usable: %s", exc)
        return _EMPTY, "no topics (every release is in the 'all' feed only)"
