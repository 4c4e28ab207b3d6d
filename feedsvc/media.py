"""Which files a release may carry, decided purely (issue 17 item 3): data in, decisions out.

A Markdown release names files beside it (`MediaRef`s, found by the parser). Here, with no I/O:
- `locate`: the path in the content folder a reference names, or why it is refused before anything
  is opened (an absolute path, a way out of the folder, a type that is not attached);
- `judge`: given the bytes that were read, the `Attachment` (type from the bytes, which must be the
  type the name says; an image's width and height from its header), or why not (too large, not what
  its name says, unreadable);
- `refusal_warning`: the ingest warning that names the release and the file.
Opening files is media_files.py's (through folder.py's safe opening); storing them is storage's.
"""

from __future__ import annotations

import dataclasses
import hashlib
import posixpath
import re
import struct
from collections.abc import Mapping

from lxml import etree

from .model import Attachment, MediaRef, ParseWarning, shown

__all__ = ["CONTENT_TYPES", "TYPE_NAMES", "FileMedia", "Refused", "human_size", "is_media_name", "judge", "locate",
           "refusal_warning", "sniff"]

# The types attached, by the suffixes that name them. SVG is an image that can carry script: it is
# served under a sandbox CSP (web/media.py), so nothing in it runs in the site's origin.
CONTENT_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif",
                 ".webp": "image/webp", ".svg": "image/svg+xml", ".pdf": "application/pdf"}
TYPE_NAMES = {"image/png": "PNG", "image/jpeg": "JPEG", "image/gif": "GIF", "image/webp": "WebP",
              "image/svg+xml": "SVG", "application/pdf": "PDF"}
ALLOWED = "png, jpg/jpeg, gif, webp, svg or pdf"
_WINDOWS_ABSOLUTE = re.compile(r"[A-Za-z]:[\\/]")


@dataclasses.dataclass(frozen=True, slots=True)
class FileMedia:
    """What ingest read for one Markdown file's references, for storage to keep with its releases."""

    blobs: Mapping[str, bytes]  # sha256 → the bytes of each file attached
    # Each file named (content-folder path) and its (size, mtime_ns) when read; (-1, -1): absent.
    # A scan compares them with the folder to know when the Markdown must be read again.
    references: tuple[tuple[str, int, int], ...] = ()


@dataclasses.dataclass(frozen=True, slots=True)
class Refused:
    """Why a reference is not attached, in the office's words."""

    reason: str


def is_media_name(name: str) -> bool:
    """A file the folder may hold for releases to name, not a listing to parse."""
    return posixpath.splitext(name)[1].lower() in CONTENT_TYPES


def locate(md_path: str, ref: MediaRef) -> str | Refused:
    """The content-folder path ('/'-separated) `ref` names from the Markdown file at `md_path`."""
    target = ref.target
    if not target.strip():
        return Refused("an empty path")
    if target.startswith(("/", "\\")) or _WINDOWS_ABSOLUTE.match(target):
        return Refused("an absolute path: name a file beside the release, such as 'photo.png'")
    if "\\" in target or "\x00" in target:
        return Refused("a backslash or NUL in the path: separate folders with '/'")
    path = posixpath.normpath(posixpath.join(posixpath.dirname(md_path), target))
    if path in (".", "..") or path.startswith("../"):
        return Refused("outside the content folder")
    if not is_media_name(path):
        return Refused(f"not a type that is attached (only {ALLOWED})")
    return path


def judge(path: str, data: bytes, limit: int, alt: str = "") -> Attachment | Refused:
    """The attachment `data` (read from `path`) makes, or why it makes none. `data` may be limit+1 long."""
    if len(data) > limit:
        return Refused(f"too large (over {limit} bytes; see FEEDSVC_MAX_MEDIA_BYTES)")
    if not data:
        return Refused("an empty file")
    expected = CONTENT_TYPES[posixpath.splitext(path)[1].lower()]
    found = sniff(data)
    if found is None:
        return Refused(f"its bytes are not a readable {TYPE_NAMES[expected]}")
    content_type, width, height = found
    if content_type != expected:
        return Refused(f"its bytes are a {TYPE_NAMES[content_type]}, not the {TYPE_NAMES[expected]} "
                       "its name says: rename it")
    return Attachment(name=posixpath.basename(path), sha256=hashlib.sha256(data).hexdigest(),
                      content_type=content_type, size=len(data), width=width, height=height,
                      alt=alt)


def refusal_warning(md_path: str, title: str, ref: MediaRef, reason: str) -> ParseWarning:
    """The ingest warning for a reference not attached: the release, the file, why, and what happens."""
    return ParseWarning(md_path, ref.line, f"{title[:60]!r}: {shown(ref.target)!r} is not attached: "
                                           f"{reason}; the release is published without it")


def human_size(size: int) -> str:
    """A file's size as pages and emails write it: "812 bytes", "46 KB", "1.2 MB" (decimal units)."""
    if size < 1000:
        return f"{size} byte{'s' * (size != 1)}"
    if size < 999_500:  # beyond, it would round to "1000 KB"
        return f"{round(size / 1000)} KB"
    return f"{size / 1_000_000:.1f} MB"


# -- what the bytes are -----------------------------------------------------------------------

Sniffed = tuple[str, int | None, int | None]  # content type, width, height


def sniff(data: bytes) -> Sniffed | None:
    """The type of `data` among CONTENT_TYPES and, for images, the size its header states; None: none."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        if data[12:16] != b"IHDR" or len(data) < 24:
            return None
        width, height = struct.unpack(">II", data[16:24])
        return "image/png", width, height
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        width, height = struct.unpack("<HH", data[6:10])
        return "image/gif", width, height
    if data.startswith(b"\xff\xd8\xff"):
        size = _jpeg_size(data)
        return None if size is None else ("image/jpeg", *size)
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        size = _webp_size(data)
        return None if size is None else ("image/webp", *size)
    if b"%PDF-" in data[:1024]:  # ISO 32000: the header may follow up to 1 KB of other bytes
        return "application/pdf", None, None
    svg = _svg_size(data)
    return None if svg is None else ("image/svg+xml", *svg)


# SOFn markers (JPEG, ITU T.81 table B.1): not DHT (C4), JPG (C8) or DAC (CC).
_SOF = frozenset({0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF})


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    i = 2
    while i + 4 <= len(data):
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker == 0xD8 or 0xD0 <= marker <= 0xD7 or marker == 0x01:  # no length field
            i += 2
            continue
        (length,) = struct.unpack(">H", data[i + 2:i + 4])
        if marker in _SOF:
            if i + 9 > len(data):
                return None
            height, width = struct.unpack(">HH", data[i + 5:i + 9])
            return width, height
        if length < 2:
            return None
        i += 2 + length
    return None


def _webp_size(data: bytes) -> tuple[int, int] | None:
    chunk = data[12:16]
    if chunk == b"VP8 " and len(data) >= 30 and data[23:26] == b"\x9d\x01\x2a":
        width, height = struct.unpack("<HH", data[26:30])
        return width & 0x3FFF, height & 0x3FFF
    if chunk == b"VP8L" and len(data) >= 25 and data[20] == 0x2F:
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8X" and len(data) >= 30:
        return int.from_bytes(data[24:27], "little") + 1, int.from_bytes(data[27:30], "little") + 1
    return None


_LENGTH = re.compile(r"\s*([0-9]+(?:\.[0-9]+)?)\s*(px)?\s*")
_SVG_NS = "http://www.w3.org/2000/svg"


def _svg_size(data: bytes) -> tuple[int | None, int | None] | None:
    """(width, height) of an SVG document ((None, None) when it states none); None when it is not SVG."""
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    if not head.startswith(b"<") or b"<svg" not in data[:65536]:
        return None
    # No DTD, no entities, no network: an SVG is read for its root's attributes only, and a
    # "billion laughs" document stays a few bytes of unexpanded references.
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError:
        return None
    if root.tag not in (f"{{{_SVG_NS}}}svg", "svg"):
        return None
    width, height = _svg_length(root.get("width")), _svg_length(root.get("height"))
    box = (root.get("viewBox") or "").replace(",", " ").split()
    if (width is None or height is None) and len(box) == 4:
        try:
            bw, bh = float(box[2]), float(box[3])
        except ValueError:
            return width, height
        if bw > 0 and bh > 0:
            if width is None and height is None:
                return round(bw), round(bh)
            if width is None and height is not None:
                return round(height * bw / bh), height
            if width is not None:
                return width, round(width * bh / bw)
    return width, height


def _svg_length(value: str | None) -> int | None:
    # Only user units and px are pixels; 100%, 10cm, 2em are left to the viewBox.
    m = _LENGTH.fullmatch(value or "")
    return round(float(m.group(1))) if m and float(m.group(1)) > 0 else None
