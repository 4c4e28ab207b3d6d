"""Languages at ingest (issue 17 item 2): a file's releases given their language and, where the
listing holds one release in several languages, their group (listed_translations.py); after a
scan, languages identified for releases stored before migration 0019, and translation groups
decided again from what the files state and hold (languages.translation_groups)."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence

from .languages import identify, release_text, translation_groups
from .listed_translations import ListedRelease, listed_translations
from .model import ParseWarning, Release
from .storage import Storage

log = logging.getLogger(__name__)


def file_languages(releases: Sequence[Release], default_language: str) -> list[Release]:
    """One file's releases, in its order, with the language stored and the group they are listed in."""
    found = [(r, None if r.language else identify(release_text(r.title, r.paragraphs), default_language))
             for r in releases]
    # Only a stated or a trusted language tells versions apart: the default stood in for a text too
    # short to tell would make an English update look like the French version of its neighbour.
    slots = listed_translations([
        ListedRelease(r.position, r.language or (i.tag if i and i.trusted else None), r.date, r.location,
                      r.title, r.paragraphs, tuple(href for _, href in r.links), r.translation_of)
        for r, i in found])
    return [dataclasses.replace(r, stored_language=r.language or (i.tag if i else None),
                                listed_with=slots.get(r.position)) for r, i in found]


def languages_after_scan(storage: Storage, default_language: str, warnings: list[ParseWarning], *,
                         regroup: bool) -> set[str]:
    """Store what is missing or changed; return the feeds (topics, "all") whose entries changed.

    A `translation_of:` that names nothing is a warning of its file (logged with the scan's and
    kept with the file's warnings for /admin), and links nothing.
    """
    touched: set[str] = set()
    while batch := storage.unidentified_releases():
        found = {rid: identify(release_text(title, paragraphs), default_language).tag
                 for rid, title, paragraphs in batch}
        touched |= storage.set_languages(found)
        regroup = True  # the first scan after migration 0019: files named alike are paired now
        log.info("languages identified for %d release(s) stored before", len(found))
    if regroup:
        groups, notes = translation_groups(storage.translation_members())
        touched |= storage.set_translation_groups(groups)
        for path, message in notes:
            warnings.append(ParseWarning(path, None, message))
            storage.add_file_warnings(path, [(None, message)])
    return touched
