"""Reading the files releases name (issue 17 item 3): the I/O around media.py's decisions.

A named file is looked up in the scan's own listing of the content folder (folder.list_folder: no
hidden or temporary file, no folder reached through a symlink), then opened with folder.open_entry,
confined to the content folder, so a symlink out of it, a FIFO or a file swapped after the listing is
refused as a listing would be. What cannot be attached is a warning; the release is stored without it.
"""

from __future__ import annotations

import dataclasses
import os
import stat
from collections.abc import Mapping, Sequence

from . import media
from .folder import Entry, NotReadable, open_entry, read_all
from .media import FileMedia, Refused
from .model import Attachment, ParseWarning, Release

__all__ = ["attach", "state"]

ABSENT = (-1, -1)


def state(entry: Entry | None) -> tuple[int, int]:
    """(size, mtime_ns) of a named file as the folder has it now ((-1, -1): nothing to read there).

    A scan compares it with what was recorded at the last read to know whether to read again.
    """
    if entry is None:
        return ABSENT
    st = entry.listed
    if stat.S_ISLNK(st.st_mode):
        try:
            st = os.stat(entry.full)  # what the link leads to is what was read
        except OSError:
            return ABSENT
    return st.st_size, st.st_mtime_ns


def attach(md_path: str, releases: Sequence[Release], listed: Mapping[str, Entry], root_real: str,
           limit: int) -> tuple[list[Release], FileMedia, list[ParseWarning]]:
    """`releases` with the files they name read into `attachments`, what to store, and a warning per refusal.

    `listed` is the scan's listing by content-folder path; `limit` is FEEDSVC_MAX_MEDIA_BYTES.
    """
    blobs: dict[str, bytes] = {}
    seen: dict[str, tuple[int, int]] = {}
    read: dict[str, Attachment | Refused] = {}  # a file named twice in one Markdown file is read once
    warnings: list[ParseWarning] = []
    out: list[Release] = []
    for release in releases:
        attached: dict[tuple[str, str], Attachment] = {}
        for ref in release.media:
            path = media.locate(md_path, ref)
            if isinstance(path, Refused):
                warnings.append(media.refusal_warning(md_path, release.title, ref, path.reason))
                continue
            if path not in read:
                entry = listed.get(path)
                seen[path] = state(entry)
                read[path] = _read(path, entry, listed, root_real, limit, blobs)
            found = read[path]
            if isinstance(found, Refused):
                warnings.append(media.refusal_warning(md_path, release.title, ref, found.reason))
                continue
            key = (found.sha256, found.name)
            if key in attached:  # named twice (front matter and body): once, with the words given
                if not attached[key].alt and ref.text:
                    attached[key] = dataclasses.replace(attached[key], alt=ref.text)
                continue
            attached[key] = dataclasses.replace(found, alt=ref.text)
        out.append(dataclasses.replace(release, attachments=tuple(attached.values()))
                   if attached or release.attachments else release)
    return out, FileMedia(blobs, tuple((path, *st) for path, st in sorted(seen.items()))), warnings


def _read(path: str, entry: Entry | None, listed: Mapping[str, Entry], root_real: str, limit: int,
          blobs: dict[str, bytes]) -> Attachment | Refused:
    if entry is None:
        near = next((p for p in listed if p.casefold() == path.casefold()), None)
        return Refused("not found in the content folder" + (f"; there is {near!r}: names are case-sensitive"
                                                             if near else ""))
    if stat.S_ISREG(entry.listed.st_mode) and entry.listed.st_size > limit:
        return Refused(f"too large ({entry.listed.st_size} bytes, limit {limit}; see FEEDSVC_MAX_MEDIA_BYTES)")
    try:
        fd, st = open_entry(entry, root_real, confine=True)
    except NotReadable as exc:
        return Refused(exc.reason)
    try:
        if st.st_size > limit:
            return Refused(f"too large ({st.st_size} bytes, limit {limit}; see FEEDSVC_MAX_MEDIA_BYTES)")
        data = read_all(fd, limit)
    except OSError as exc:
        return Refused(f"cannot read: {exc.strerror or exc}")
    finally:
        os.close(fd)
    found = media.judge(path, data, limit)  # the alt text is each reference's: attach() puts it on
    if isinstance(found, Attachment):
        blobs[found.sha256] = data
    return found

