"""The content folder as the disk has it: listed without following links, read only as regular files.

A content folder is hostile input (issue 14 item 1): a symlink loop, a FIFO, a socket, a file swapped
for one of these or for a link out of the folder after the listing, a folder that cannot be read. So:

- folders are listed with `os.scandir` and never entered through a symlink;
- a file is opened with `O_NOFOLLOW | O_NONBLOCK` (a FIFO cannot block the open, a symlink cannot
  be followed) and what was *opened* is checked with `fstat`, never what was listed: a swap between
  listing and reading is caught by the check itself, not by luck in timing;
- a symlink listed as such is followed only to a regular file that stays inside the folder, checked on
  the opened descriptor (`/proc/self/fd` names what was opened); anything else is refused with a reason;
- a folder that cannot be listed is reported (`Listing.unreadable`): it is an error, not an absence,
  so the files stored from under it are not taken for gone.
"""

from __future__ import annotations

import dataclasses
import errno
import os
import stat

__all__ = ["Entry", "Listing", "NotReadable", "is_candidate", "is_saved_page_assets", "list_folder",
           "open_entry", "read_all", "under"]

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


@dataclasses.dataclass(frozen=True, slots=True)
class Entry:
    """One non-folder entry: its path in the folder ('/'-separated) and what lstat said at listing time."""

    rel: str
    full: str
    listed: os.stat_result


@dataclasses.dataclass
class Listing:
    entries: list[Entry]
    unreadable: dict[str, str]  # folder path in the content folder ('' for the folder itself) → reason


class NotReadable(Exception):
    """An entry that is not read: why, and the stat of what was found (None when nothing was)."""

    def __init__(self, reason: str, st: os.stat_result | None, *, record: bool = True) -> None:
        super().__init__(reason)
        self.reason = reason
        self.st = st
        self.record = record  # False: nothing to remember about it (it vanished)


def under(path: str, folders: dict[str, str]) -> bool:
    """Whether `path` is one of `folders` or lies beneath one ('' is the whole content folder)."""
    return any(folder == "" or path == folder or path.startswith(folder + "/") for folder in folders)


def _why(exc: OSError) -> str:
    if isinstance(exc, PermissionError):
        return "permission denied"
    return exc.strerror or exc.__class__.__name__


def list_folder(root: str) -> Listing:
    """Every candidate entry under `root`, sorted; folders entered only when they are real folders."""
    entries: list[Entry] = []
    unreadable: dict[str, str] = {}
    # A stack, not recursion: a folder nested thousands deep must not overflow Python's stack.
    stack = [""]
    while stack:
        rel_dir = stack.pop()
        try:
            with os.scandir(os.path.join(root, rel_dir) if rel_dir else root) as it:
                items = list(it)
        except FileNotFoundError:
            continue  # removed since its parent was listed: absent, as its files are
        except OSError as exc:
            unreadable[rel_dir] = f"cannot read the folder: {_why(exc)}"
            continue
        names = [item.name for item in items]
        for item in items:
            if not is_candidate(item.name):
                continue
            rel = f"{rel_dir}/{item.name}" if rel_dir else item.name
            try:
                if item.is_dir(follow_symlinks=False):
                    if not is_saved_page_assets(item.name, names):
                        stack.append(rel)
                    continue
                st = item.stat(follow_symlinks=False)
            except FileNotFoundError:
                continue
            except OSError as exc:
                unreadable[rel] = f"cannot read: {_why(exc)}"
                continue
            entries.append(Entry(rel, item.path, st))
    entries.sort(key=lambda e: e.rel)
    return Listing(entries, unreadable)


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"), (stat.S_ISDIR, "a folder"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISLNK, "a symlink")):
        if test(mode):
            return name
    return "not a regular file"


def _opened_path(fd: int, full: str, st: os.stat_result) -> str | None:
    """Where the file open on `fd` lives: the kernel's answer where it gives one (Linux)."""
    try:
        return os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        pass
    # Elsewhere: the resolved path, trusted only if it is the very file that was opened.
    real = os.path.realpath(full)
    try:
        return real if os.path.samestat(os.stat(real), st) else None
    except OSError:
        return None


def open_entry(entry: Entry, root_real: str, *, confine: bool = False) -> tuple[int, os.stat_result]:
    """A descriptor on the entry's regular file and its fstat; raises NotReadable saying why not.

    `root_real` is the content folder's realpath, which a followed symlink must stay within.
    `confine`: every file must, not only links: for a path not taken from a listing (a file a
    release names), a folder on the way may have become a symlink since the folder was listed.
    """
    link = stat.S_ISLNK(entry.listed.st_mode)
    if not link and not stat.S_ISREG(entry.listed.st_mode):
        raise NotReadable(f"not a regular file ({_kind(entry.listed.st_mode)})", entry.listed)
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0) | (0 if link else os.O_NOFOLLOW)
    try:
        fd = os.open(entry.full, flags)
    except FileNotFoundError:
        raise NotReadable("file vanished during the scan", None, record=False) from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise NotReadable("symlink loop (not followed)" if link else
                              "replaced by a symlink after the folder was listed (not followed)",
                              entry.listed) from None
        if exc.errno == errno.ENXIO:  # what open() says of a socket
            try:
                found = os.lstat(entry.full)
            except OSError:
                found = None
            if found is not None and not stat.S_ISREG(found.st_mode):
                raise NotReadable(_swapped(entry, found), found) from None
        raise NotReadable(f"cannot open: {_why(exc)}", entry.listed) from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise NotReadable(f"symlink to {_kind(st.st_mode)} (not followed)" if link else _swapped(entry, st), st)
        if link or confine:
            where = _opened_path(fd, entry.full, st)
            if where is None or os.path.commonpath([root_real, where]) != root_real:
                raise NotReadable("symlink pointing outside the content folder (not followed)" if link
                                  else "outside the content folder (reached through a symlink)", st)
    except BaseException:
        os.close(fd)
        raise
    return fd, st


def _swapped(entry: Entry, found: os.stat_result) -> str:
    reason = f"not a regular file ({_kind(found.st_mode)})"
    if stat.S_ISREG(entry.listed.st_mode):
        reason += "; it replaced a file after the folder was listed"
    return reason


def read_all(fd: int, limit: int) -> bytes:
    """Up to `limit` + 1 bytes from `fd` (one more than allowed tells a file that grew past it)."""
    chunks: list[bytes] = []
    left = limit + 1
    while left > 0:
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            break
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)
