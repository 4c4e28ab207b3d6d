"""Pages for people: home, topic, release; feed archives and the OPML list."""

from __future__ import annotations

import hashlib
import logging
import re

from flask import Blueprint, Flask, Response, abort, make_response, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import HTTPException

from .. import history, structured
from ..entry_extras import listed_attachments
from ..feeds import entry_summary
from ..languages import direction, native_name, others
from ..links import ALL
from ..model import DatabaseUnavailable, FeedDocument, StoredRelease
from ..publish import ATOM, OPML
from . import services

bp = Blueprint("pages", __name__)
log = logging.getLogger("feedsvc.web")
LIST_SIZE = 30
RETRY_AFTER = 30  # seconds: what a 503 asks clients to wait while the database is away
# Pages showing releases change when an embargo ends, at an instant a cache cannot know: a shared
# cache may keep them but must ask again before each use, so none holds a release back (issue 17
# item 1). A release address that is a 404 now (held, or never there) is answered alike.
REVALIDATED = frozenset(["pages.home", "pages.topic", "pages.release", "pages.release_history", "search.search"])


ERROR_NAMES = {400: _l("Bad Request"), 401: _l("Unauthorized"), 404: _l("Not Found"),
               405: _l("Method Not Allowed"), 410: _l("Gone"), 413: _l("Request Entity Too Large"),
               429: _l("Too Many Requests"), 500: _l("Internal Server Error")}
ERROR_DESCRIPTIONS = {404: _l("There is nothing at this address."),
                      405: _l("This address does not answer that method."),
                      500: _l("Something went wrong on our side. Please try again later.")}
# Flask-WTF's CSRF refusals (flask_wtf/csrf.py) are English sentences of its own, in no library's
# catalogue (WTForms' has only its own CSRF words): ours say them, and what to do, by that sentence.
CSRF_REASONS = {
    "The CSRF token is missing.":
        _l("The form's security token is missing: reload the page and send the form again."),
    "The CSRF session token is missing.":
        _l("Your session has no security token (are cookies allowed?): reload the page and send the form again."),
    "The CSRF token has expired.":
        _l("The form's security token has expired: reload the page and send the form again."),
    "The CSRF token is invalid.":
        _l("The form's security token is invalid: reload the page and send the form again."),
    "The CSRF tokens do not match.":
        _l("The form's security token does not match your session: reload the page and send the form again."),
}


def page_number(pages: int) -> int:
    """?page=N for N in 1..pages; anything else (0, -1, abc, 10**30) is a page that does not exist."""
    raw = request.args.get("page", "")
    if raw == "":
        return 1
    # At most 9 digits before int(): no huge number reaches the database (issue 14.3).
    if not re.fullmatch(r"[1-9][0-9]{0,8}", raw) or int(raw) > pages:
        abort(404, description=_("There is no page %(page)s of this list: it has %(pages)d.",
                                 page=repr(raw[:20]), pages=pages))
    return int(raw)


def _feed_links(*slugs: str, languages: bool = False) -> list[dict[str, str]]:
    """Autodiscovery: the page's own feed first, then the feed of everything; with `languages`,
    then the page's own feed in each language releases are in (issue 17 item 2)."""
    s = services()
    taxonomy = s.taxonomy()
    links = []
    for slug in dict.fromkeys([*slugs, ALL]):
        topic = taxonomy.by_slug(slug)
        title = _("All press releases") if slug == ALL else (topic.title if topic else slug)
        links.append({"slug": slug, "title": title, "href": f"/feeds/{slug}.atom",
                      "json_href": f"/feeds/{slug}.json", "lang": ""})
    if languages and links:
        own = links[0]
        links += [{"slug": own["slug"], "title": f"{own['title']} ({native_name(tag)})", "lang": tag,
                   "href": f"/feeds/{tag}/{own['slug']}.atom", "json_href": f"/feeds/{tag}/{own['slug']}.json"}
                  for tag in s.storage.release_languages()]
    return links


def _paged(total: int) -> tuple[int, int, int]:
    """(page, pages, offset) of a list of `total` releases, LIST_SIZE a page; a 404 past its end."""
    pages = max(1, -(-total // LIST_SIZE))
    page = page_number(pages)
    return page, pages, (page - 1) * LIST_SIZE


@bp.get("/")
def home() -> str:
    s = services()
    taxonomy = s.taxonomy()
    page, pages, offset = _paged(s.storage.count_releases())
    return render_template("home.html", topics=taxonomy.topics, counts=s.storage.topic_counts(),
                           releases=s.storage.list_releases(limit=LIST_SIZE, offset=offset),
                           page=page, pages=pages, titles=taxonomy.titles, feeds=_feed_links(ALL, languages=True),
                           og_url=s.links.paged(s.links.home(), page))


@bp.get("/topics/<slug>")
def topic(slug: str) -> str:
    s = services()
    taxonomy = s.taxonomy()
    t = taxonomy.by_slug(slug)
    if t is None:
        abort(404, description=_("There is no topic “%(topic)s”.", topic=slug))
    total = s.storage.count_releases(slug)
    page, pages, offset = _paged(total)
    releases = s.storage.list_releases(slug, limit=LIST_SIZE, offset=offset)
    return render_template("topic.html", topic=t, releases=releases, page=page, total=total,
                           pages=pages, titles=taxonomy.titles, feeds=_feed_links(slug, languages=True),
                           description=t.description or None, og_url=s.links.paged(s.links.topic(slug), page))


def _live_release(release_id: str) -> StoredRelease:
    """The release a page shows; a 404 when it never was, its withdrawn notice (a 410) when it went.

    410, not 404: the address was real and readers may drop it (RFC 9110 §15.5.11). The notice
    names the release but not its text, and so covers every page made of its text (the release,
    its history); if the text returns, so do they.
    """
    r = services().storage.get_release(release_id)
    if r is None:
        abort(404, description=_("There is no such press release."))
    if r.withdrawn:
        abort(make_response(render_template("withdrawn.html", release=r, feeds=_feed_links()), 410))
    return r


@bp.get("/releases/<release_id>")
def release(release_id: str) -> str:
    r = _live_release(release_id)
    s = services()
    taxonomy = s.taxonomy()
    article = structured.news_article(r, links=s.links, organisation=s.settings.organisation,
                                      language=s.settings.language, topic_titles=taxonomy.titles)
    # Issue 17 item 3: each attachment with its address (links.media) and, for files, "PDF, 1.2 MB".
    attachments = listed_attachments(r.attachments, s.links)
    newer, older = s.storage.release_neighbours(r.id)
    picture = next((url for a, url, _ in attachments if a.is_image), None)
    # Issue 17 item 2: the article in its own language and direction (the page around it is the
    # site's), and its translations, public ones only, one per other language.
    group = s.storage.translations([r.translation_group]).get(r.translation_group, []) if r.translation_group else []
    return render_template("release.html", release=r, titles=taxonomy.titles, article=article,
                           feeds=_feed_links(*r.topics), attachments=attachments, newer=newer, older=older,
                           description=entry_summary(r), og_url=s.links.release(r.id), og_image=picture,
                           lang=r.language, dir=direction(r.language),
                           translations=[(t, s.links.release(t.release_id), direction(t.language))
                                         for t in others(r.id, r.language, group)])


@bp.get("/releases/<release_id>/history")
def release_history(release_id: str) -> str:
    """Every stored version, newest first, each with what changed (issue 13 item 5)."""
    r = _live_release(release_id)
    return render_template("history.html", release=r,
                           versions=history.history(services().storage.release_versions(release_id)),
                           feeds=_feed_links(*r.topics))


def conditional(body: bytes, mimetype: str) -> Response:
    """`body` with a strong ETag and public max-age (the feeds'), or a 304 when the client has it."""
    resp = Response(body, mimetype=mimetype)
    resp.set_etag(hashlib.sha256(body).hexdigest()[:32])
    resp.cache_control.public = True
    resp.cache_control.max_age = int(services().settings.feed_max_age)
    resp.make_conditional(request)  # in place (it returns the same object, typed as werkzeug's)
    return resp


def feed_document(doc: FeedDocument) -> Response:
    """A built feed with the ETag and Last-Modified it was built with, or a 304 when the client has it."""
    resp = Response(doc.body, content_type=doc.content_type)
    resp.headers["ETag"] = doc.etag
    resp.last_modified = doc.last_modified
    resp.make_conditional(request)  # in place (it returns the same object, typed as werkzeug's)
    return resp


@bp.get("/feeds/archive/<slug>/<int:page>.atom")
def archive(slug: str, page: int) -> Response:
    s = services()
    publisher = s.publisher
    taxonomy = s.taxonomy()
    info = publisher.feed_info(slug, taxonomy)
    body = publisher.archive_atom(info, page, taxonomy) if info else None
    if body is None:
        abort(404, description=_("There is no such feed archive page."))
    return conditional(body, ATOM.split(";")[0])


@bp.get("/feeds/<slug>.<any(atom, rss, json):ext>")
def feed(slug: str, ext: str) -> Response:
    """Reached only when the feed server has no built document: unknown topic, or not built yet."""
    s = services()
    if s.publisher.feed_info(slug, s.taxonomy()) is None:
        abort(404, description=_("There is no feed “%(feed)s”.", feed=slug))
    doc = s.storage.get_feed_document(f"{slug}.{ext}")
    if doc is None:
        # A topic added since the last scan: answered from bytes built for this request only.
        # Storing them and pinging the hub is the publish path's work (the next scan, which
        # sees the taxonomy changed, rebuilds every feed), never a GET's.
        doc = next((d for d in s.publisher.build(slug, s.taxonomy()) if d.name == f"{slug}.{ext}"), None)
    if doc is None:
        abort(404)
    return feed_document(doc)


@bp.get("/feeds/<language>/<slug>.<any(atom, json):ext>")
def language_feed(language: str, slug: str, ext: str) -> Response:
    """Reached only when the feed server has no such built document: a 404 unless it was built since."""
    doc = services().storage.get_feed_document(f"{language}/{slug}.{ext}")
    if doc is None:
        abort(404, description=_("There is no feed “%(feed)s”.", feed=f"{language}/{slug}"))
    return feed_document(doc)


@bp.get("/feeds.opml")
def opml() -> Response:
    s = services()
    return conditional(s.publisher.opml(s.taxonomy()), OPML.split(";")[0])


def register_errors(app: Flask) -> None:
    @app.after_request
    def revalidate_pages(resp: Response) -> Response:
        if request.endpoint in REVALIDATED and "Cache-Control" not in resp.headers:
            resp.headers["Cache-Control"] = "no-cache"
        return resp

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> tuple[str, int]:
        code = exc.code or 500
        # Werkzeug's names and default descriptions are English; ours (given to abort) are translated.
        name = ERROR_NAMES.get(code, exc.name)
        description = exc.description
        if description == type(exc).description and code in ERROR_DESCRIPTIONS:
            description = ERROR_DESCRIPTIONS[code]
        if description in CSRF_REASONS:
            description = str(CSRF_REASONS[description])
        # og:url is the site's, not the address asked for: a held release's 404 is byte for byte
        # the 404 of an address that never existed (issue 17 item 1).
        return render_template("error.html", code=code, name=name, description=description, feeds=[],
                               og_url=services().links.home()), code

    @app.errorhandler(DatabaseUnavailable)
    def database_unavailable(exc: DatabaseUnavailable) -> tuple[str, int, dict[str, str]]:
        # A 503, not a 500: the next request reconnects on its own (pool pre-ping, a fresh
        # SQLite open), so clients and the router are told to come back, and nothing restarts.
        log.warning("answering 503: %s", exc)
        body = render_template(
            "error.html", code=503, name=_("Briefly unavailable"), feeds=[], og_url=services().links.home(),
            description=_("The press releases cannot be read at the moment. Please try again in a minute."))
        return body, 503, {"Retry-After": str(RETRY_AFTER), "Cache-Control": "no-store"}

