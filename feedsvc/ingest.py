"""Scanning the content folder into storage: incremental, one file at a time, never stopped by one bad file."""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import os
import stat
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from . import parsing
from .clock import SYSTEM_CLOCK, Clock
from .model import ConfigError, ParseError, ParseWarning, Release
from .storage import Storage
from .storage.releases import FileOutcome, ScanSummary, Stamps
from .topics import Taxonomy, classify, load_taxonomy

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]
FeedsChanged = Callable[[set[str]], object]  # what it returns (the feeds rebuilt) is not used

# Editors and copy tools leave these beside the real file while they write it.
_TEMP_SUFFIXES = (".tmp", ".part", ".swp", ".swx", ".crdownload", "~")


def is_candidate(name: str) -> bool:
    """A name the office could mean as content (not hidden, not an editor's temporary file)."""
    return not name.startswith((".", "#", "~$")) and not name.endswith(_TEMP_SUFFIXES)


def is_saved_page_assets(folder: str, siblings: list[str]) -> bool:
    """`Name_files/` beside `Name.html`: a browser's "save page, complete" images and scripts, not content."""
    for suffix in ("_files", "-Dateien", "_fichiers", "_archivos"):
        if folder.endswith(suffix):
            stem = folder[: -len(suffix)]
            return any(sibling in (stem + ".html", stem + ".htm", stem + ".xhtml") for sibling in siblings)
    return False


def db_path(rel: str) -> str:
    # File names that are not valid UTF-8 still need a storable, stable text form.
    return rel.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


@dataclasses.dataclass
class ScanResult:
    summary: ScanSummary
    topics_changed: set[str]
    errors: list[tuple[str, str]]
    # What reading the changed files repaired (they were ingested); source_file is the folder path.
    warnings: list[ParseWarning] = dataclasses.field(default_factory=list)

    def lines(self) -> list[str]:
        s = self.summary
        warned = f", {s.warnings} warning{'' if s.warnings == 1 else 's'}" if s.warnings else ""
        return [
            f"files: {s.files_scanned} scanned, {s.files_changed} changed, {s.files_failed} failed{warned}",
            f"releases: {s.releases_new} new, {s.releases_updated} updated, "
            f"{s.releases_unchanged} unchanged, {s.releases_withdrawn} withdrawn",
            *(f"warning: {w}" for w in self.warnings),
            *(f"error: {path}: {reason}" for path, reason in self.errors),
        ]


class Ingester:
    """Turns the content folder's files into stored releases. Thread-safe: one scan at a time."""

    def __init__(self, storage: Storage, content_dir: Path, topics_file: Path, *,
                 tag_authority: str, max_file_bytes: int = 20_000_000, clock: Clock = SYSTEM_CLOCK,
                 on_feeds_changed: FeedsChanged | None = None) -> None:
        self.storage = storage
        self.content_dir = Path(content_dir)
        self.topics_file = Path(topics_file)
        self.tag_authority = tag_authority
        self.max_file_bytes = max_file_bytes
        self.clock = clock
        self.on_feeds_changed = on_feeds_changed
        self._lock = threading.Lock()

    # -- walking ------------------------------------------------------------------------

    def _walk(self) -> Iterator[tuple[str, str]]:
        """(relative path, absolute path) of every candidate entry, symlinks included, sorted."""
        root = str(self.content_dir)
        found: list[tuple[str, str]] = []
        for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
            dirnames[:] = sorted(d for d in dirnames if is_candidate(d) and not is_saved_page_assets(d, filenames))
            for name in filenames:
                if is_candidate(name):
                    full = os.path.join(dirpath, name)
                    found.append((os.path.relpath(full, root).replace(os.sep, "/"), full))
        found.sort()
        return iter(found)

    def _inside(self, full: str) -> bool:
        root = os.path.realpath(self.content_dir)
        return os.path.commonpath([root, os.path.realpath(full)]) == root

    # -- scanning -----------------------------------------------------------------------

    def taxonomy(self) -> Taxonomy:
        return load_taxonomy(self.topics_file)

    def scan(self, only: Iterable[str] | None = None, *, progress: Progress | None = None) -> ScanResult:
        """Bring storage in line with the folder (or with just the files named in `only`)."""
        with self._lock:
            return self._scan(None if only is None else set(only), progress)

    def _scan(self, only: set[str] | None, progress: Progress | None) -> ScanResult:
        started = self.clock()
        if not self.content_dir.is_dir():
            raise ConfigError(f"FEEDSVC_CONTENT_DIR={self.content_dir} is not a folder")
        taxonomy = self.taxonomy()

        def classify_release(r: Release) -> tuple[str, ...]:
            return classify(r, taxonomy)

        topics_changed = self.storage.reclassify(taxonomy.digest, classify_release) or set()
        known = self.storage.file_states()
        entries = list(self._walk())
        if only is not None:
            wanted = {os.path.relpath(os.path.abspath(p), self.content_dir).replace(os.sep, "/")
                      if os.path.isabs(p) else p for p in only}
            entries = [e for e in entries if e[0] in wanted]
            gone = [db_path(p) for p in wanted if db_path(p) in known
                    and not os.path.lexists(self.content_dir / p)]
        else:
            present = {db_path(rel) for rel, _ in entries}
            gone = [p for p in known if p not in present]

        stamps = Stamps(started)
        counts = dict(changed=0, failed=0, new=0, updated=0, unchanged=0)
        errors: list[tuple[str, str]] = []
        warnings: list[ParseWarning] = []
        for done, (rel, full) in enumerate(entries, 1):
            name = db_path(rel)
            try:
                outcome = self._file(name, full, known.get(name), classify_release, stamps, warnings)
            except ParseError as exc:
                errors.append((name, exc.reason))
                counts["failed"] += 1
            else:
                if outcome is not None:
                    counts["changed"] += 1
                    counts["new"] += outcome.new
                    counts["updated"] += outcome.updated
                    counts["unchanged"] += outcome.unchanged
                    topics_changed |= outcome.topics
            if progress:
                progress(done, len(entries))

        if gone:
            self.storage.forget_files(gone)
            log.info("files gone from the folder: %s", ", ".join(gone[:20]))
        withdrawn, touched = self.storage.withdraw_orphans(self.clock())
        topics_changed |= touched

        for warning in warnings:
            log.warning("ingest warning: %s", warning)
        for name, reason in errors:
            log.warning("ingest error: %s: %s", name, reason)
        summary = ScanSummary(
            started_at=started, finished_at=self.clock(), files_scanned=len(entries),
            files_changed=counts["changed"] + len(gone), files_failed=counts["failed"],
            releases_new=counts["new"], releases_updated=counts["updated"],
            releases_unchanged=counts["unchanged"], releases_withdrawn=withdrawn,
            warnings=len(warnings))
        if counts["changed"] or counts["failed"] or gone or withdrawn or topics_changed:
            self.storage.record_scan(summary)
        result = ScanResult(summary, topics_changed, errors, warnings)
        if self.on_feeds_changed:
            self.on_feeds_changed(topics_changed)
        return result

    def _file(self, name: str, full: str, known: tuple[int, int, str, str | None] | None,
              classify_release: Callable[[Release], tuple[str, ...]], stamps: Stamps,
              warnings: list[ParseWarning]) -> FileOutcome | None:
        """Ingest one file if it changed; None when it did not. Raises ParseError for a bad file.

        What reading it repaired is added to `warnings`, named by its path in the folder.
        """
        now = self.clock()
        try:
            st = os.lstat(full)
            if stat.S_ISLNK(st.st_mode) and self._inside(full):
                st = os.stat(full)  # a link within the folder is followed, and its target watched
            if known and known[0] == st.st_size and known[1] == st.st_mtime_ns:
                return None  # unchanged since the last scan, good or bad: not read or reported again
            if stat.S_ISLNK(st.st_mode):
                raise self._fail(name, st, "symlink pointing outside the content folder (not followed)")
            if not stat.S_ISREG(st.st_mode):
                raise self._fail(name, st, "not a regular file")
            if st.st_size > self.max_file_bytes:
                raise self._fail(name, st, f"file too large ({st.st_size} bytes, limit "
                                 f"{self.max_file_bytes}; see FEEDSVC_MAX_FILE_BYTES)")
            with open(full, "rb") as fh:
                data = fh.read(self.max_file_bytes + 1)
        except FileNotFoundError:
            raise ParseError(name, "file vanished during the scan") from None
        except PermissionError:
            raise self._fail(name, None, "permission denied") from None
        except IsADirectoryError:
            raise ParseError(name, "not a regular file") from None
        sha = hashlib.sha256(data).hexdigest()
        if known and known[2] == sha and known[3] is None:
            self.storage.touch_file(name, st.st_size, st.st_mtime_ns, now)
            return None
        try:
            parsed = parsing.read_listing(data, os.path.basename(name))
        except ParseError as exc:
            self.storage.record_file_error(name, st.st_size, st.st_mtime_ns, sha, exc.reason, now)
            raise ParseError(name, exc.reason, exc.line) from None
        # The parser names a file by its base name (Release.source_file); the office needs its path.
        found = [dataclasses.replace(w, source_file=name) for w in parsed.warnings]
        outcome = self.storage.apply_file(name, st.st_size, st.st_mtime_ns, sha, parsed.releases,
                                          classify_release, now, self.tag_authority, stamps, found)
        warnings.extend(found)
        log.info("ingested %s: %d new, %d updated, %d unchanged", name, outcome.new,
                 outcome.updated, outcome.unchanged)
        return outcome

    def _fail(self, name: str, st: os.stat_result | None, reason: str) -> ParseError:
        size, mtime = (st.st_size, st.st_mtime_ns) if st else (-1, -1)
        self.storage.record_file_error(name, size, mtime, "", reason, self.clock())
        return ParseError(name, reason)
