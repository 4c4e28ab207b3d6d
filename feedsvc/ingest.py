"""Scanning the content folder into storage: incremental, one file at a time, never stopped by one bad file."""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import os
import stat
import threading
from collections.abc import Callable, Iterable
from pathlib import Path

from . import media_files, parsing
from .clock import SYSTEM_CLOCK, Clock
from .embargoes import holding
from .folder import (
    Entry,
    NotReadable,
    is_candidate,
    list_folder,
    open_entry,
    read_all,
    under,
)
from .ingest_languages import file_languages, languages_after_scan
from .instants import Stamps
from .media import is_media_name
from .model import (
    ConfigError,
    FileOutcome,
    ParseError,
    ParseWarning,
    Release,
    ScanSummary,
    StorageError,
    shown,
)
from .storage import Storage
from .taxonomy_keeper import TaxonomyKeeper
from .topics import Taxonomy, classify

log = logging.getLogger(__name__)

__all__ = ["Ingester", "ScanResult", "db_path", "is_candidate"]

Progress = Callable[[int, int], None]
FeedsChanged = Callable[[set[str]], object]  # what it returns (the feeds rebuilt) is not used


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
    held: int = 0  # releases of the changed files an embargo keeps from the public
    lifted: int = 0  # held releases made public by this scan (their embargo passed or was removed)

    def lines(self) -> list[str]:
        s = self.summary
        warned = f", {s.warnings} warning{'' if s.warnings == 1 else 's'}" if s.warnings else ""
        return [
            f"files: {s.files_scanned} scanned, {s.files_changed} changed, {s.files_failed} failed{warned}",
            (f"releases: {s.releases_new} new, {s.releases_updated} updated, "
             f"{s.releases_unchanged} unchanged, {s.releases_withdrawn} withdrawn"
             + (f"; {self.held} held by an embargo" if self.held else "")
             + (f"; {self.lifted} made public as their embargo ended" if self.lifted else "")),
            *(f"warning: {w}" for w in self.warnings),
            *(f"error: {shown(path)}: {reason}" for path, reason in self.errors),
        ]


class Ingester:
    """Turns the content folder's files into stored releases. Thread-safe: one scan at a time."""

    def __init__(self, storage: Storage, content_dir: Path, topics_file: Path, *,
                 tag_authority: str, max_file_bytes: int = 20_000_000, clock: Clock = SYSTEM_CLOCK,
                 on_feeds_changed: FeedsChanged | None = None, keeper: TaxonomyKeeper | None = None,
                 timezone: str = "UTC", max_media_bytes: int = 20_000_000,
                 default_language: str = "en") -> None:
        self.storage = storage
        # FEEDSVC_DEFAULT_LANGUAGE: a release's language when its file states none and its text
        # cannot be told (languages.identify).
        self.default_language = default_language
        self.timezone = timezone  # FEEDSVC_TIMEZONE: an embargo's time written without a zone is in it
        self.content_dir = Path(content_dir)
        self.topics_file = Path(topics_file)
        self.tag_authority = tag_authority
        self.max_file_bytes = max_file_bytes
        self.max_media_bytes = max_media_bytes  # FEEDSVC_MAX_MEDIA_BYTES: a larger named file is not attached
        self.clock = clock
        self.on_feeds_changed = on_feeds_changed
        self.keeper = keeper or TaxonomyKeeper(self.topics_file, storage)
        # Called with a file's path after the folder was listed and before the file is opened: where
        # a test swaps the file for a FIFO or a symlink, as an attacker would.
        self.before_open: Callable[[str], object] | None = None
        self._lock = threading.Lock()
        self._folders_reported: dict[str, str] = {}  # unreadable folders already reported, and why

    # -- scanning -----------------------------------------------------------------------

    def taxonomy(self) -> Taxonomy:
        """The taxonomy in force: the file's, or while it is invalid the last good one."""
        return self.keeper.current()

    def scan(self, only: Iterable[str] | None = None, *, progress: Progress | None = None) -> ScanResult:
        """Bring storage in line with the folder (or with just the files named in `only`)."""
        with self._lock:
            return self._scan(None if only is None else set(only), progress)

    def _scan(self, only: set[str] | None, progress: Progress | None) -> ScanResult:
        started = self.clock()
        if not self.content_dir.is_dir():
            raise ConfigError(f"FEEDSVC_CONTENT_DIR={self.content_dir} is not a folder")
        taxonomy = self.taxonomy()
        taxonomy_error = self.keeper.error

        def classify_release(r: Release) -> tuple[str, ...]:
            return classify(r, taxonomy)

        # Only a valid file re-files what is stored: a stand-in taxonomy classifies new releases only.
        topics_changed: set[str] = set()
        if taxonomy_error is None:
            topics_changed = self.storage.reclassify(taxonomy.digest, classify_release) or set()
            self.keeper.remember()
        known = self.storage.file_states()
        listing = list_folder(str(self.content_dir))
        # Images and PDFs are not listings: releases name them (media_files.py reads them from here).
        listed = {e.rel: e for e in listing.entries}
        entries = [e for e in listing.entries if not is_media_name(e.rel)]
        # What could not be listed is not absent: nothing stored from under it is taken for gone.
        unreadable = {db_path(folder): reason for folder, reason in listing.unreadable.items()}
        present = {db_path(e.rel) for e in entries}
        # Markdown files one of whose named files changed since their last read: read again.
        stale = {path for path, named in self.storage.media_references().items()
                 if any(media_files.state(listed.get(target)) != (size, mtime) for target, size, mtime in named)}
        if only is not None:
            wanted = {os.path.relpath(os.path.abspath(p), self.content_dir).replace(os.sep, "/")
                      if os.path.isabs(p) else p for p in only}
            entries = [e for e in entries if e.rel in wanted or db_path(e.rel) in stale]
            candidates: Iterable[str] = (db_path(p) for p in wanted)
        else:
            candidates = known
        gone = [p for p in candidates if p in known and p not in present and not under(p, unreadable)]

        stamps = Stamps(started)
        counts = {"changed": 0, "failed": 0, "new": 0, "updated": 0, "unchanged": 0, "held": 0, "lifted": 0}
        errors: list[tuple[str, str]] = []
        if taxonomy_error is not None:
            errors.append(("taxonomy", taxonomy_error))
        warnings: list[ParseWarning] = []
        for folder, reason in self._new_folder_errors(unreadable):
            errors.append((folder, reason))
            counts["failed"] += 1
        root_real = os.path.realpath(self.content_dir)
        for done, entry in enumerate(entries, 1):
            name = db_path(entry.rel)
            try:
                outcome = self._file(entry, name, root_real, known.get(name), classify_release,
                                     stamps, warnings, listed,
                                     # A file in error is read again when it changes, not when what it names does.
                                     force=name in stale and not (name in known and known[name][3]))
            except ParseError as exc:
                errors.append((name, exc.reason))
                counts["failed"] += 1
            except StorageError as exc:
                # This file's releases stay as they were; the next file may store fine (a database
                # that is gone fails the scan below, at the withdrawal, as it should).
                errors.append((name, f"not stored: {str(exc).splitlines()[0][:300]}"))
                counts["failed"] += 1
            else:
                if outcome is not None:
                    counts["changed"] += 1
                    counts["new"] += outcome.new
                    counts["updated"] += outcome.updated
                    counts["unchanged"] += outcome.unchanged
                    counts["held"] += outcome.held
                    counts["lifted"] += len(outcome.lifted)
                    topics_changed |= outcome.topics
            if progress:
                progress(done, len(entries))

        if gone:
            self.storage.forget_files(gone)
            log.info("files gone from the folder: %s", ", ".join(shown(p) for p in gone[:20]))
        withdrawn, touched = self.storage.withdraw_orphans(self.clock())
        topics_changed |= touched
        # Embargoes that ended since the last scan or lift: public now, with the feeds rebuilt below.
        lifted = self.storage.lift_embargoes(self.clock())
        topics_changed |= lifted.topics
        counts["lifted"] += len(lifted.ids)
        # Languages (issue 17 item 2): releases stored before they were identified, then which are
        # translations of which (only when a file changed: that is all they are decided from).
        topics_changed |= languages_after_scan(self.storage, self.default_language, warnings,
                                               regroup=bool(counts["changed"] or gone or withdrawn))

        for warning in warnings:
            log.warning("ingest warning: %s", warning)
        for name, reason in errors:
            log.warning("ingest error: %s: %s", shown(name), reason)
        summary = ScanSummary(
            started_at=started, finished_at=self.clock(), files_scanned=len(entries),
            files_changed=counts["changed"] + len(gone), files_failed=counts["failed"],
            releases_new=counts["new"], releases_updated=counts["updated"],
            releases_unchanged=counts["unchanged"], releases_withdrawn=withdrawn,
            warnings=len(warnings))
        if counts["changed"] or counts["failed"] or gone or withdrawn or topics_changed:
            self.storage.record_scan(summary)
        result = ScanResult(summary, topics_changed, errors, warnings, counts["held"], counts["lifted"])
        if self.on_feeds_changed:
            self.on_feeds_changed(topics_changed)
        return result

    def _new_folder_errors(self, unreadable: dict[str, str]) -> list[tuple[str, str]]:
        """Unreadable folders not yet reported by this ingester, named `sub/` (`./` for the folder itself).

        Reported (summary, log, database) once while they stay unreadable, not at every rescan.
        """
        fresh = [(f"{folder}/" if folder else "./", reason) for folder, reason in sorted(unreadable.items())
                 if self._folders_reported.get(folder) != reason]
        self._folders_reported = dict(unreadable)
        for name, reason in fresh:
            self.storage.record_ingest_error(name, reason, self.clock())
        return fresh

    def _file(self, entry: Entry, name: str, root_real: str, known: tuple[int, int, str, str | None] | None,
              classify_release: Callable[[Release], tuple[str, ...]], stamps: Stamps,
              warnings: list[ParseWarning], listed: dict[str, Entry], *, force: bool = False) -> FileOutcome | None:
        """Ingest one file if it changed; None when it did not. Raises ParseError for a bad file.

        What reading it repaired is added to `warnings`, named by its path in the folder. `force`:
        read it even if unchanged (a file it names changed); `listed` is the scan's listing.
        """
        now = self.clock()
        last = None if force else known  # forced: as if never read, for every "unchanged" shortcut
        st0 = entry.listed
        if last and stat.S_ISREG(st0.st_mode) and last[:2] == (st0.st_size, st0.st_mtime_ns):
            return None  # unchanged since the last scan, good or bad: not read or reported again
        if self.before_open is not None:
            self.before_open(entry.full)
        try:
            fd, st = open_entry(entry, root_real)
        except NotReadable as exc:
            self._refuse(name, exc, known)
            return None
        try:
            if last and last[:2] == (st.st_size, st.st_mtime_ns):
                return None  # a followed symlink whose target did not change
            data = b"" if st.st_size > self.max_file_bytes else read_all(fd, self.max_file_bytes)
        finally:
            os.close(fd)
        if st.st_size > self.max_file_bytes or len(data) > self.max_file_bytes:
            self._refuse(name, NotReadable(
                f"file too large ({max(st.st_size, len(data))} bytes, limit {self.max_file_bytes}; "
                "see FEEDSVC_MAX_FILE_BYTES)", st), known)
            return None
        sha = hashlib.sha256(data).hexdigest()
        if last and last[2] == sha and last[3] is None:
            self.storage.touch_file(name, st.st_size, st.st_mtime_ns, now)
            return None
        try:
            parsed = parsing.read_listing(data, os.path.basename(name))
        except ParseError as exc:
            self.storage.record_file_error(name, st.st_size, st.st_mtime_ns, sha, exc.reason, now)
            raise ParseError(name, exc.reason, exc.line) from None
        # The parser names a file by its base name (Release.source_file); the office needs its path.
        found = [dataclasses.replace(w, source_file=name) for w in parsed.warnings]
        releases, media, refused = media_files.attach(name, parsed.releases, listed, root_real, self.max_media_bytes)
        releases = file_languages(releases, self.default_language)
        found += refused
        outcome = self.storage.apply_file(name, st.st_size, st.st_mtime_ns, sha, releases,
                                          classify_release, now, self.tag_authority, stamps, found,
                                          hold=holding(self.timezone, now), media=media)
        warnings.extend([*found, *outcome.warnings])
        log.info("ingested %s: %d new, %d updated, %d unchanged", shown(name), outcome.new,
                 outcome.updated, outcome.unchanged)
        return outcome

    def _refuse(self, name: str, exc: NotReadable, known: tuple[int, int, str, str | None] | None) -> None:
        """Record why a file is not read and raise ParseError; silent when that was already recorded.

        Its releases stay where they are: an unreadable file is an error, not an absence.
        """
        if not exc.record:
            raise ParseError(name, exc.reason)
        size, mtime = (exc.st.st_size, exc.st.st_mtime_ns) if exc.st else (-1, -1)
        if known and known[:2] == (size, mtime) and known[3] == exc.reason:
            return  # the same refusal of the same thing: reported once
        self.storage.record_file_error(name, size, mtime, "", exc.reason, self.clock())
        raise ParseError(name, exc.reason)
