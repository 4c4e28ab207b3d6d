"""Serving built feeds in front of Flask: cached bytes, validators, gzip, 304s, almost nothing per request.

Feeds are requested far more often than anything else (every reader polls every feed every 15–60
minutes), so this path bypasses the framework. The bytes come from the database, built once by
the publisher, so every web process serves the same bytes under the same ETag.

A browser opening an Atom or RSS feed (a page load: text/html first in its Accept) gets the
readable page the feed's `<?xml-stylesheet?>` describes (issue 17), made here with lxml from the
same templates/feed.xsl, once per feed version. Browsers are dropping XSLT (Chromium 156 already
lays a removal notice over such pages), and shown `application/atom+xml` they print text or offer a
download; feed readers, which name feed types in their Accept, get the feed's bytes as before.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import gzip
import logging
import threading
import time
from collections.abc import Callable, Iterable
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path
from typing import Any

from lxml import etree

from ..model import StorageError
from ..storage import Storage

log = logging.getLogger(__name__)

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


@dataclasses.dataclass(frozen=True)
class _Doc:
    etag: str
    gz_etag: str
    last_modified: float  # POSIX seconds
    body: bytes
    gz_body: bytes
    headers: list[tuple[str, str]]  # shared by 200 and 304
    gz_headers: list[tuple[str, str]]
    has_page: bool = False  # Atom and RSS: a browser's page load gets their readable page


# A feed's bytes → its readable HTML page (xsl_pages); None: browsers get the feed itself.
PageMaker = Callable[[bytes], bytes]


def xsl_pages(stylesheet: Path) -> PageMaker:
    """What the browser would make of a feed with its XSL, made with lxml (libxslt, as browsers).

    The stylesheet is the project's own; it may read nothing but the feed (no document(), no files,
    no network), and the feed is parsed without entities or network. One transform at a time: lxml's
    XSLT objects are not for concurrent use, and a page is made once per feed version.
    """
    access = etree.XSLTAccessControl.DENY_ALL
    transform = etree.XSLT(etree.parse(str(stylesheet)), access_control=access)
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    lock = threading.Lock()

    def page(feed: bytes) -> bytes:
        with lock:
            result = transform(etree.fromstring(feed, parser))
        # bytes() serialises as the stylesheet's xsl:output says (HTML, its doctype); lxml-stubs
        # do not know _XSLTResultTree.__bytes__.
        out: bytes = bytes(result)  # type: ignore[call-overload]
        return out

    return page


def etag_matches(header: str, *etags: str) -> bool:
    """Whether an If-None-Match header names one of `etags` (the page cache's too)."""
    if header.strip() == "*":
        return True
    for tag in header.split(","):
        tag = tag.strip()
        if tag.startswith("W/"):  # RFC 9110 §13.1.2: If-None-Match uses the weak comparison
            tag = tag[2:]
        if tag in etags:
            return True
    return False


def _not_modified_since(header: str, doc: _Doc) -> bool:
    try:
        since = parsedate_to_datetime(header).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return False
    return int(doc.last_modified) <= since


_FEED_TYPES = ("application/atom+xml", "application/rss+xml")


def _wants_page(accept: str) -> bool:
    """A browser's page load (text/html first in its Accept), not a feed reader naming feed types."""
    return "text/html" in accept and "atom+xml" not in accept and "rss+xml" not in accept


def accepts_gzip(header: str) -> bool:
    for part in header.split(","):
        coding, *params = (p.strip() for p in part.split(";"))
        if coding.lower() in ("gzip", "x-gzip", "*"):
            q = 1.0
            for param in params:
                if param.lower().startswith("q="):
                    try:
                        q = float(param[2:])
                    except ValueError:
                        q = 0.0
            return q > 0
    return False


class FeedServer:
    """WSGI middleware answering GET/HEAD /feeds/<name> for every built feed; the rest goes to Flask."""

    def __init__(self, app: WSGIApp, storage: Storage, *, recheck_seconds: float = 2.0,
                 max_age: int = 300, extra_headers: list[tuple[str, str]] | None = None,
                 page_of: PageMaker | None = None, page_headers: list[tuple[str, str]] | None = None) -> None:
        self.app = app
        self.storage = storage
        self.recheck = recheck_seconds
        self.max_age = max_age
        self.extra = list(extra_headers or [])
        self.page_of = page_of
        self.page_extra = list(page_headers or [])  # e.g. the site's CSP: the page is HTML
        self.pages: dict[str, tuple[str, _Doc]] = {}  # feed name → (the feed's ETag, its page)
        self._pages_lock = threading.Lock()
        self.docs: dict[str, _Doc] = {}
        self.next_check = 0.0
        self._lock = threading.Lock()

    def refresh(self) -> None:
        """Load the feeds whose ETag changed in the database (one small query when none did)."""
        etags = self.storage.feed_etags()
        docs = dict(self.docs)
        for name in list(docs):
            if name not in etags:
                del docs[name]
        for name, etag in etags.items():
            if name in docs and docs[name].etag == etag:
                continue
            doc = self.storage.get_feed_document(name)
            if doc is None:
                continue
            docs[name] = self._prepare(doc.etag, doc.last_modified.timestamp(), doc.body,
                                       doc.content_type)
        self.docs = docs

    def _prepare(self, etag: str, last_modified: float, body: bytes, content_type: str, *,
                 page: bool = False) -> _Doc:
        gz = gzip.compress(body, compresslevel=9, mtime=0)  # mtime=0: the same bytes in every process
        gz_etag = etag[:-1] + '-gzip"'
        lm = format_datetime(dt.datetime.fromtimestamp(int(last_modified), dt.UTC), usegmt=True)
        # A feed with a page, and the page, differ by Accept: caches between must keep both.
        has_page = self.page_of is not None and content_type.startswith(_FEED_TYPES)
        vary = "Accept-Encoding, Accept" if has_page or page else "Accept-Encoding"
        rest = [("Last-Modified", lm), ("Cache-Control", f"public, max-age={self.max_age}"), ("Vary", vary),
                *self.extra, *(self.page_extra if page else [])]
        common = [("Content-Type", content_type), *rest]
        return _Doc(etag, gz_etag, last_modified, body, gz,
                    [("ETag", etag), *common], [("ETag", gz_etag), ("Content-Encoding", "gzip"), *common],
                    has_page=has_page)

    def _page(self, name: str, doc: _Doc) -> _Doc:
        """The readable page of feed `name` as it is now, made on the first browser's visit."""
        with self._pages_lock:
            kept = self.pages.get(name)
            if kept is not None and kept[0] == doc.etag:
                return kept[1]
            assert self.page_of is not None
            try:
                html = self.page_of(doc.body)
            except etree.Error as exc:  # never a feed reader's problem: browsers get the feed
                log.error("feeds: cannot make the page of %s: %s", name, exc)
                return doc
            page = self._prepare(doc.etag[:-1] + '-page"', doc.last_modified, html,
                                 "text/html; charset=utf-8", page=True)
            self.pages = {n: v for n, v in self.pages.items() if n in self.docs} | {name: (doc.etag, page)}
            return page

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD")
        if not path.startswith("/feeds/") or method not in ("GET", "HEAD"):
            return self.app(environ, start_response)
        now = time.monotonic()
        if now >= self.next_check and self._lock.acquire(blocking=False):
            try:
                self.refresh()
                self.next_check = time.monotonic() + self.recheck
            except Exception as exc:
                # A database hiccup must not stop feeds: keep serving what we have and retry soon;
                # with nothing yet, Flask answers (its 503 page while the database is away).
                log.warning("feeds: could not check for rebuilt feeds: %s", exc, exc_info=not isinstance(
                    exc, StorageError))
                self.next_check = time.monotonic() + min(self.recheck, 1.0)
                if not self.docs:
                    return self.app(environ, start_response)
            finally:
                self._lock.release()
        doc = self.docs.get(path[7:])
        if doc is None:
            return self.app(environ, start_response)  # archives, OPML, and the proper 404 page
        if doc.has_page and _wants_page(environ.get("HTTP_ACCEPT", "")):
            doc = self._page(path[7:], doc)
        gz = accepts_gzip(environ.get("HTTP_ACCEPT_ENCODING", ""))
        headers = doc.gz_headers if gz else doc.headers
        inm = environ.get("HTTP_IF_NONE_MATCH")
        ims: str = environ.get("HTTP_IF_MODIFIED_SINCE") or ""
        # RFC 9110 §13.1.3: If-Modified-Since is ignored when If-None-Match is present.
        if (etag_matches(inm, doc.etag, doc.gz_etag) if inm is not None
                else bool(ims) and _not_modified_since(ims, doc)):
            start_response("304 Not Modified", headers)
            return []
        body = doc.gz_body if gz else doc.body
        start_response("200 OK", [*headers, ("Content-Length", str(len(body)))])
        return [] if method == "HEAD" else [body]
