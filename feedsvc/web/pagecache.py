"""Pages rendered once per version of what they show, then served like the feeds: ETag, 304, gzip.

Home, topic, release and history pages (and the sitemap, made of the same rows) are a function of
what is stored (and of the taxonomy in force, the scheme, and what `variant` names). Storage raises
one number, the pages' version, in the same transaction as every change to them (storage/pages.py):
an ingest, a withdrawal, an embargo lift, a re-classification. Each page request asks for that
number and answers from the bytes rendered for it, without the framework; only a miss goes to Flask.

Why ask on every request rather than every N ms: a withdrawn release (a legal takedown) must not be
served by any process once its withdrawal reached it, and an embargo must never lag its lift.
Asking is cheap: on SQLite a constant SELECT, on PostgreSQL a look at a LISTENing connection's
socket, with a read only after a notification (storage/pages.py says what that costs in staleness).
Nothing can be shown early: a page is rendered from committed rows only, and a held release is not
public in them until the lift commits; a page rendered while a change committed is kept under the
version read before rendering, so the next request (which reads the new version) renders again.

Pages carrying per-user state are never kept: a render that touched the session (a `Set-Cookie`,
`Vary: Cookie`), any status but 200, a HEAD, and every endpoint not in `CACHED` go to Flask each time.
The pages' forms carry no per-user token for that reason (web/subscribe.py: the short form).
"""

from __future__ import annotations

import collections
import dataclasses
import gzip
import hashlib
import logging
import threading
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask, Response, request

from ..model import StorageError
from .feedserver import StartResponse, WSGIApp, accepts_gzip, etag_matches

log = logging.getLogger(__name__)

# The endpoints whose pages are kept, and the paths they answer (checked before any work).
CACHED = frozenset(["pages.home", "pages.topic", "pages.release", "pages.release_history",
                    # A sitemap of 100,000 releases is seconds of reading and XML: never per request.
                    "formats.sitemap_xml", "formats.sitemap_part"])
PATHS = ("/topics/", "/releases/", "/sitemap.xml", "/sitemaps/")
_CACHEABLE = "feedsvc.page_cacheable"  # set in the environ by the endpoint's answer
MAX_ENTRIES = 4096  # besides the bytes: each key is small, but one per address asked for


def variant(environ: dict[str, Any]) -> str:
    """What a page differs by besides its address and what is stored: the one place to extend.

    Today the scheme (HTTPS answers carry HSTS). A page that comes to differ by the visitor's
    language, say, adds it here, normalised to the few values pages are made in (never a raw
    header: every distinct value is a copy of the page kept) and says so with `Vary`.
    """
    return str(environ.get("wsgi.url_scheme", "http"))


@dataclasses.dataclass(frozen=True, slots=True)
class Page:
    etag: str
    gz_etag: str
    body: bytes
    gz_body: bytes
    headers: list[tuple[str, str]]  # shared by 200 and 304
    gz_headers: list[tuple[str, str]]

    @property
    def size(self) -> int:
        return len(self.body) + len(self.gz_body)


def prepare(body: bytes, headers: list[tuple[str, str]]) -> Page:
    """A rendered page with its validators: a strong ETag of its bytes (the same in every process),
    and the same again gzipped."""
    etag = f'"{hashlib.sha256(body).hexdigest()[:32]}"'
    gz_etag = etag[:-1] + '-gzip"'
    kept = [(k, v) for k, v in headers if k.lower() not in ("content-length", "etag", "vary")]
    vary = ", ".join(dict.fromkeys([*(v.strip() for k, value in headers if k.lower() == "vary"
                                      for v in value.split(",")), "Accept-Encoding"]))
    common = [*kept, ("Vary", vary)]
    return Page(etag, gz_etag, body, gzip.compress(body, compresslevel=6, mtime=0),
                [("ETag", etag), *common], [("ETag", gz_etag), ("Content-Encoding", "gzip"), *common])


def _per_user(headers: list[tuple[str, str]]) -> bool:
    # `Vary: Cookie` is on every page now, for the language cookie (web/i18n.py), which the
    # `variant` the app passes keys on; the kept pages read no session (their forms carry no token).
    return any(k.lower() == "set-cookie" for k, _v in headers)


class PageCache:
    """WSGI middleware answering GET/HEAD of the `CACHED` pages from bytes kept per version."""

    def __init__(self, app: WSGIApp, version: Callable[[], int], taxonomy: Callable[[], str], *,
                 max_bytes: int, max_entries: int = MAX_ENTRIES,
                 variant: Callable[[dict[str, Any]], str] = variant) -> None:
        self.app = app
        self.variant = variant
        self.version = version
        self.taxonomy = taxonomy  # the digest of the taxonomy in force (topic titles and lists)
        self.max_bytes = max_bytes
        self.max_entries = max_entries
        self.pages: collections.OrderedDict[tuple[str, ...], Page] = collections.OrderedDict()
        self.size = 0
        self.newest = -1  # the version the kept pages are of
        self.renders = 0  # pages rendered to be kept: what tests and operators can watch
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD")
        path: str = environ.get("PATH_INFO", "")
        if self.max_bytes <= 0 or method not in ("GET", "HEAD") or not (path == "/" or path.startswith(PATHS)):
            return self.app(environ, start_response)
        try:
            version = self.version()
        except StorageError as exc:
            # Flask answers as without the cache (its 503 while the database is away): a page kept
            # from before might show what was withdrawn since.
            log.warning("pages: cannot read their version: %s", exc)
            return self.app(environ, start_response)
        key = (str(version), self.taxonomy(), self.variant(environ), path, environ.get("QUERY_STRING", ""))
        with self._lock:
            # Any other number, not only a higher one: a database restored from a backup counts
            # again from an older number, and pages kept under it before are not its pages.
            if version != self.newest:
                self.pages.clear()
                self.size, self.newest = 0, version
            page = self.pages.get(key)
            if page is not None:
                self.pages.move_to_end(key)
        if page is None:
            if method != "GET":  # Flask answers a HEAD without its body: nothing to keep
                return self.app(environ, start_response)
            rendered = self._render(environ, start_response, version, key)
            if not isinstance(rendered, Page):
                return rendered
            page = rendered
        return self._serve(page, environ, start_response)

    def _render(self, environ: dict[str, Any], start_response: StartResponse, version: int,
                key: tuple[str, ...]) -> Page | list[bytes]:
        """Flask's answer, kept when it may be: the page, or else the body of the answer passed on as it was."""
        answer: dict[str, Any] = {}
        chunks: list[bytes] = []

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], Any]:
            answer.update(status=status, headers=headers, exc_info=exc_info)
            return chunks.append

        result = self.app(environ, capture)
        try:
            chunks.extend(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        status, headers = answer["status"], answer["headers"]
        body = b"".join(chunks)
        if not (environ.get(_CACHEABLE) and status.startswith("200 ") and not _per_user(headers)):
            start_response(status, headers, answer["exc_info"])
            return [body]
        page = prepare(body, headers)
        log.debug("pages: rendered %s?%s for version %d", key[-2], key[-1], version)
        with self._lock:
            self.renders += 1
            if version == self.newest and page.size <= self.max_bytes // 4:
                old = self.pages.pop(key, None)
                self.size += page.size - (old.size if old else 0)
                self.pages[key] = page
                while self.size > self.max_bytes or len(self.pages) > self.max_entries:
                    self.size -= self.pages.popitem(last=False)[1].size
        return page

    def _serve(self, page: Page, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        gz = accepts_gzip(environ.get("HTTP_ACCEPT_ENCODING", ""))
        headers = page.gz_headers if gz else page.headers
        inm = environ.get("HTTP_IF_NONE_MATCH")
        if inm is not None and etag_matches(inm, page.etag, page.gz_etag):
            start_response("304 Not Modified", headers)
            return []
        body = page.gz_body if gz else page.body
        start_response("200 OK", [*headers, ("Content-Length", str(len(body)))])
        return [] if environ.get("REQUEST_METHOD") == "HEAD" else [body]


def install(app: Flask) -> None:
    """Mark the answers of `CACHED` endpoints as pages the cache may keep."""
    @app.after_request
    def cacheable(resp: Response) -> Response:
        if request.endpoint in CACHED and resp.status_code == 200:
            request.environ[_CACHEABLE] = True
        return resp
