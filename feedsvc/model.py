"""The domain's data: frozen dataclasses and the project's exceptions. Imports only states.py of ours."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import re
import unicodedata
from typing import Any, Final, Literal

from .states import Transition


class FeedsvcError(Exception):
    """Base of every error this project raises on purpose."""


# C0 and C1 controls, DEL, the Unicode line and paragraph separators, and the bidi overrides that
# can make a name read as another (CVE-2021-42574): a file name is stored as it is, shown escaped.
_UNSHOWABLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def shown(name: str) -> str:
    """A file name as logs, the CLI and /admin show it: control characters escaped as repr() does."""
    return _UNSHOWABLE.sub(lambda m: repr(m.group())[1:-1], name)


class ParseError(FeedsvcError):
    """A listing could not be read (undecodable, binary, no release); carries the file and the reason."""

    def __init__(self, source_file: str, reason: str, line: int | None = None) -> None:
        self.source_file = source_file
        self.reason = reason
        self.line = line
        where = f"{shown(source_file)} line {line}" if line else shown(source_file)
        super().__init__(f"{where}: {reason}")


@dataclasses.dataclass(frozen=True, slots=True)
class ParseWarning:
    """Something repaired or guessed while reading a listing that was still used (issue 11, item 4)."""

    source_file: str
    line: int | None  # 1-based line of the file; None when it concerns the whole file
    message: str

    def __str__(self) -> str:
        name = shown(self.source_file)
        where = f"{name} line {self.line}" if self.line else name
        return f"{where}: {self.message}"


class ConfigError(FeedsvcError):
    """A setting is missing or invalid; the message names it."""


class StorageError(FeedsvcError):
    """A database operation failed; the message says what was being done."""


class DatabaseUnavailable(StorageError):
    """The database could not be reached (refused, unreadable, connection lost): worth retrying later."""


_KEY_STRIP = re.compile(r"[^\w]+")


def _key_text(text: str) -> str:
    # Folding case, accents' composition and punctuation means a re-typed quote or a
    # double space does not make a new release.
    if not text.isascii():  # (ASCII is its own NFKC form)
        text = unicodedata.normalize("NFKC", text)
    text = text.casefold()
    return " ".join(_KEY_STRIP.sub(" ", text).split())


def release_key(title: str, location: str | None) -> str:
    """The id a release gets at first sight: derived from its normalised title and place."""
    basis = _key_text(title) + "\x1f" + _key_text(location or "")
    return hashlib.sha256(basis.encode("utf-8")).hexdigest()[:16]


@dataclasses.dataclass(frozen=True, slots=True)
class Embargo:
    """An embargo as a listing line or front matter states it (issue 17 item 1)."""

    text: str  # as written, for /admin and warnings
    line: int  # 1-based line of the file that states it
    # The stated date and time: aware when a zone was written, naive when none was (then it is
    # in FEEDSVC_TIMEZONE); None when it could not be read: the release is held until it is fixed.
    wall: dt.datetime | None
    note: str | None = None  # why it could not be read, or what reading it had to choose

    def until(self, zone: dt.tzinfo) -> dt.datetime | None:
        """The aware UTC instant the embargo ends, a zone-less time read in `zone`; None if unreadable."""
        if self.wall is None:
            return None
        return (self.wall if self.wall.tzinfo else self.wall.replace(tzinfo=zone)).astimezone(dt.UTC)

    def to_json(self) -> dict[str, Any]:
        return {"text": self.text, "line": self.line,
                "until": self.wall.isoformat() if self.wall else None, "note": self.note}


# -- media and contacts (issue 17 item 3) ------------------------------------------------

MediaOrigin = Literal["image", "link", "front matter"]


@dataclasses.dataclass(frozen=True, slots=True)
class MediaRef:
    """A file a Markdown release names beside it, as written: resolved and checked at ingest (media.py)."""

    target: str  # the path as written (percent-decoded), relative to the Markdown file's folder
    text: str  # the image's alt text, the link's text, or the front matter's alt/title
    line: int  # 1-based line of the file that names it
    origin: MediaOrigin

    def to_json(self) -> dict[str, Any]:
        return {"target": self.target, "text": self.text, "line": self.line, "origin": self.origin}


@dataclasses.dataclass(frozen=True, slots=True)
class Attachment:
    """A file stored with a release and served at a content-addressed URL (links.media)."""

    name: str  # its base name in the content folder: the URL's last segment and the download's name
    sha256: str  # hex digest of its bytes: the URL's key, and what stores it once however often named
    content_type: str  # from its bytes, one of media.CONTENT_TYPES
    size: int  # bytes
    width: int | None = None  # pixels, for images whose header says
    height: int | None = None
    alt: str = ""  # what it shows or is, for readers who cannot see it; may be empty

    @property
    def is_image(self) -> bool:
        return self.content_type.startswith("image/")

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "sha256": self.sha256, "type": self.content_type, "size": self.size,
                "width": self.width, "height": self.height, "alt": self.alt}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Attachment:
        return cls(d["name"], d["sha256"], d["type"], int(d["size"]), d.get("width"), d.get("height"),
                   d.get("alt") or "")


@dataclasses.dataclass(frozen=True, slots=True)
class Contact:
    """A press contact from front matter `contacts:`; at least one of name, email, phone is set."""

    name: str | None = None
    role: str | None = None
    email: str | None = None  # checked as an address when parsed
    phone: str | None = None  # as written; `tel` is its link form

    @property
    def tel(self) -> str | None:
        """The phone as a tel: URI's number (RFC 3966): digits, and a leading + kept."""
        if not self.phone:
            return None
        digits = "".join(ch for ch in self.phone if ch.isdigit())
        return ("+" + digits) if self.phone.lstrip().startswith("+") else digits

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "role": self.role, "email": self.email, "phone": self.phone}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Contact:
        return cls(d.get("name"), d.get("role"), d.get("email"), d.get("phone"))


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ReleaseText:
    """What a reader sees of a release, parsed, stored or as one of its versions: the text and
    what its listing states of it."""

    title: str
    location: str | None
    date: dt.date | None
    author: str | None
    section: str | None
    paragraphs: tuple[str, ...]
    # The body as sanitised HTML (Markdown files only; safe to show unescaped). None: show the
    # paragraphs, escaped, as for text listings.
    body_html: str | None = None

    @property
    def body(self) -> str:
        return " ".join(self.paragraphs)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Release(ReleaseText):
    """One press release as parsed from a listing (before storage gives it a lasting identity)."""

    title_inferred: bool  # made from the body: the listing gives the release no title
    source_file: str
    position: int  # 0-based index in its listing; position 0 is the listing's newest
    topics: tuple[str, ...] = ()  # named in front matter; added to the taxonomy's result
    line: int = 0  # 1-based line of the listing where the release starts
    key: str = ""  # release_key(title, location), made unique within its listing by the parser
    # (anchor text, href) of the links in body paragraphs: http(s), mailto or relative hrefs.
    # Only HTML listings have them; not in content_hash, as storage does not keep them yet.
    links: tuple[tuple[str, str], ...] = ()
    # Kept from the public until this ends; not in content_hash: readers never see it, and a
    # file still stating a lifted embargo must not count as a correction.
    embargo: Embargo | None = None
    # Issue 17 item 3 (Markdown only): the files it names, as written (ingest checks and reads them
    # into `attachments`), and its press contacts. `media` is not in content_hash: what readers see
    # is `attachments`, which the parser leaves empty.
    media: tuple[MediaRef, ...] = ()
    attachments: tuple[Attachment, ...] = ()
    contacts: tuple[Contact, ...] = ()
    # What reading this release's front matter had to leave out (a contact without an address…).
    warnings: tuple[ParseWarning, ...] = ()
    # Issue 17 item 2: the language the file states (front matter `lang:`, or a name like x.fr.md),
    # a checked BCP 47 tag; and the release it translates (`translation_of:`, as written). Both in
    # content_hash when set. `stored_language` is what ingest stores: the stated language, else the
    # one identified from the text (feedsvc/languages.py); not in content_hash.
    language: str | None = None
    translation_of: str | None = None
    stored_language: str | None = None
    # Set by ingest when the listing holds this release in several languages, one after the other
    # (listed_translations.py): the position of its group's first release. Not in content_hash:
    # it is decided from the neighbours, and links translations without changing what a reader sees.
    listed_with: int | None = None

    @property
    def content_hash(self) -> str:
        """Changes exactly when something a reader sees changes."""
        fields: list[Any] = [self.title, self.location, self.date.isoformat() if self.date else None,
                             self.author, self.section, list(self.paragraphs), sorted(self.topics)]
        if self.body_html is not None:  # only then, so releases without it keep their stored hashes
            fields.append(self.body_html)
        if self.attachments or self.contacts:  # likewise: a release without either keeps its hash
            fields.append([[a.to_json() for a in self.attachments], [c.to_json() for c in self.contacts]])
        if self.language or self.translation_of:  # likewise: only releases that state either
            fields.append(["lang", self.language, self.translation_of])
        payload = json.dumps(fields, ensure_ascii=False)
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "source_file": self.source_file,
            "position": self.position,
            "id": self.key,
            "title": self.title,
            "title_inferred": self.title_inferred,
            "location": self.location,
            "date": self.date.isoformat() if self.date else None,
            # Issue 13: `date` is only ever what the listing or front matter states; false means
            # storage will show the release as added on the day it is first seen, with no
            # publication date.
            "date_stated": self.date is not None,
            "author": self.author,
            "section": self.section,
            "topics": list(self.topics),
            "line": self.line,
            "paragraphs": list(self.paragraphs),
        }
        if self.links:  # only when there are any, so text listings' JSON is unchanged
            out["links"] = [list(link) for link in self.links]
        if self.body_html is not None:
            out["body_html"] = self.body_html
        if self.embargo is not None:
            out["embargo"] = self.embargo.to_json()
        if self.media:
            out["media"] = [m.to_json() for m in self.media]
        if self.contacts:
            out["contacts"] = [c.to_json() for c in self.contacts]
        if self.language:
            out["language"] = self.language
        if self.translation_of:
            out["translation_of"] = self.translation_of
        return out


@dataclasses.dataclass(frozen=True, slots=True)
class Topic:
    """One entry of the taxonomy (data/topics.toml)."""

    slug: str
    title: str
    description: str = ""
    words: tuple[str, ...] = ()  # words and phrases, matched whole-word and case-insensitively
    places: tuple[str, ...] = ()  # dateline places that put a release in this topic


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class StoredRelease(ReleaseText):
    """A release as storage knows it: a lasting identity and the instants feeds are built from."""

    id: str  # assigned at first ingest, never changed (the first release_key it had)
    atom_id: str  # tag: URI assigned at first ingest, never changed
    title_inferred: bool
    topics: tuple[str, ...]  # topic slugs, sorted
    # Aware UTC midnight of the stated date; None when the listing states none: a date is never
    # invented (issue 13). Such a release is shown as added on the day of `first_seen`.
    published: dt.datetime | None
    updated: dt.datetime  # aware UTC: moves only when the content changes; unique per release
    first_seen: dt.datetime  # aware UTC
    withdrawn: bool = False
    withdrawn_at: dt.datetime | None = None  # aware UTC, when `withdrawn`: the scan that found it gone
    # Aware UTC instant its latest version was stored, once its content changed after first
    # publication (issue 13 item 5: "Updated on D", a history page); None while it has one version.
    revised_at: dt.datetime | None = None
    attachments: tuple[Attachment, ...] = ()  # images first named first; served by links.media
    contacts: tuple[Contact, ...] = ()
    # Issue 17 item 2: its BCP 47 tag (None: stored before languages and not yet identified), and
    # the group of releases that are translations of each other (None: it has none).
    language: str | None = None
    translation_group: str | None = None

    @property
    def state(self) -> ReleaseState:
        return "withdrawn" if self.withdrawn else "live"

    @property
    def order_key(self) -> tuple[dt.date, dt.datetime, str]:
        """Newest first when sorted in reverse; storage's ORDER BY is the same key (`sort_day`)."""
        return sort_day(self.date, self.first_seen), self.first_seen, self.id


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ReleaseVersion(ReleaseText):
    """One stored version of a release's content: what readers saw from `seen_at` on."""

    release_id: str
    number: int  # 1 is the version first published
    seen_at: dt.datetime  # aware UTC


def sort_day(date: dt.date | None, first_seen: dt.datetime) -> dt.date:
    """The day a release is listed under: its stated date, else the (UTC) day it was first seen.

    Issue 13: every list is newest day first, then, within a day, the release first seen last
    first. `first_seen` instants are handed out newest first in listing order (instants.py's
    `Stamps`), so releases of one listing seen at once keep listing order (position 0 first).
    """
    return date if date is not None else first_seen.astimezone(dt.UTC).date()


# -- a release's states (the machinery is states.py) ---------------------------------------

# A release is live while some file holds it; it is withdrawn (never deleted) when none does,
# and revived if a file holds it again (storage/releases.py, which stores the state as withdrawn_at).
ReleaseState = Literal["live", "withdrawn"]
WITHDRAW: Final[Transition[ReleaseState]] = Transition("withdraw", ("live",), "withdrawn")
REVIVE: Final[Transition[ReleaseState]] = Transition("revive", ("withdrawn",), "live")


# -- ingest -------------------------------------------------------------------------------


@dataclasses.dataclass
class FileOutcome:
    """What storing one listing did."""

    new: int = 0
    updated: int = 0
    unchanged: int = 0
    topics: set[str] = dataclasses.field(default_factory=set)  # feeds whose content changed
    new_ids: list[str] = dataclasses.field(default_factory=list)
    held: int = 0  # releases of the file an embargo keeps from the public
    lifted: list[str] = dataclasses.field(default_factory=list)  # held ones made public (embargo gone)
    warnings: list[ParseWarning] = dataclasses.field(default_factory=list)  # from storing it


@dataclasses.dataclass(frozen=True, slots=True)
class ScanSummary:
    started_at: dt.datetime
    finished_at: dt.datetime
    files_scanned: int
    files_changed: int
    files_failed: int
    releases_new: int
    releases_updated: int
    releases_unchanged: int
    releases_withdrawn: int
    warnings: int = 0  # ParseWarnings of the files read (repaired, still ingested)


# -- feeds --------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class FeedDocument:
    """A built feed as every web process serves it."""

    name: str
    etag: str  # strong, quoted
    last_modified: dt.datetime
    content_type: str
    body: bytes
