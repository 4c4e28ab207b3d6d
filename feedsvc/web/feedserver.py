"""Serving built feeds in front of Flask: cached bytes, validators, gzip, 304s, almost nothing per request.

Feeds are requested far more often than anything else (every reader polls every feed every 15–60
minutes), so this path bypasses the framework. The bytes come from the database, built once by
the publisher, so every web process serves the same bytes under the same ETag.

A browser opening an Atom or RSS feed gets the same bytes as `application/xml`: Chromium and
Firefox show `application/atom+xml` and `rss+xml` as text (or download them) without running the
feed's `<?xml-stylesheet?>`, and with `application/xml` they render its readable page (issue 17).
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
from typing import Any

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
    # Atom and RSS only: the same, as application/xml, for a browser's page load.
    page_headers: list[tuple[str, str]] | None = None
    gz_page_headers: list[tuple[str, str]] | None = None


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
                 max_age: int = 300, extra_headers: list[tuple[str, str]] | None = None) -> None:
        self.app = app
        self.storage = storage
        self.recheck = recheck_seconds
        self.max_age = max_age
        self.extra = list(extra_headers or [])
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

    def _prepare(self, etag: str, last_modified: float, body: bytes, content_type: str) -> _Doc:
        gz = gzip.compress(body, compresslevel=9, mtime=0)  # mtime=0: the same bytes in every process
        gz_etag = etag[:-1] + '-gzip"'
        lm = format_datetime(dt.datetime.fromtimestamp(int(last_modified), dt.UTC), usegmt=True)
        xml_feed = content_type.startswith(_FEED_TYPES)
        vary = "Accept-Encoding, Accept" if xml_feed else "Accept-Encoding"
        rest = [("Last-Modified", lm), ("Cache-Control", f"public, max-age={self.max_age}"), ("Vary", vary),
                *self.extra]
        common = [("Content-Type", content_type), *rest]
        doc = _Doc(etag, gz_etag, last_modified, body, gz,
                   [("ETag", etag), *common], [("ETag", gz_etag), ("Content-Encoding", "gzip"), *common])
        if not xml_feed:
            return doc
        page = [("Content-Type", "application/xml; charset=utf-8"), *rest]
        return dataclasses.replace(doc, page_headers=[("ETag", etag), *page],
                                   gz_page_headers=[("ETag", gz_etag), ("Content-Encoding", "gzip"), *page])

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
        gz = accepts_gzip(environ.get("HTTP_ACCEPT_ENCODING", ""))
        headers = doc.gz_headers if gz else doc.headers
        if doc.page_headers is not None and _wants_page(environ.get("HTTP_ACCEPT", "")):
            headers = (doc.gz_page_headers if gz else doc.page_headers) or headers
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
