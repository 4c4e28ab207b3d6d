"""After a scan (issue 17 item 2): languages identified for releases stored before migration 0019,
and translation groups decided again from what the files state (languages.translation_groups)."""

from __future__ import annotations

import logging

from .languages import identify, release_text, translation_groups
from .model import ParseWarning
from .storage import Storage

log = logging.getLogger(__name__)


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
