"""What machines read besides feeds: sitemap.xml (or its index and parts), robots.txt, the feeds' XSL."""

from __future__ import annotations

from flask import Blueprint, Response, abort
from flask_babel import gettext as _

from .. import sitemap
from ..links import ALL
from ..sitemap import SitemapUrl
from . import services
from .pages import conditional

bp = Blueprint("formats", __name__)
XML = "application/xml"
# Read per request so tests can shrink it; the protocol's own limit otherwise.
URLS_PER_SITEMAP = sitemap.MAX_URLS


def _parts() -> list[list[SitemapUrl]]:
    """Every public page, home and topics first, then releases oldest first (so parts stay put as releases come)."""
    s = services()
    stamps = s.storage.release_stamps()
    topics = s.storage.topic_stamps()
    urls = [SitemapUrl(s.links.home(), max((u for _slug, u in stamps), default=None))]
    urls += [SitemapUrl(s.links.topic(t.slug), topics.get(t.slug)) for t in s.taxonomy().topics if t.slug != ALL]
    urls += [SitemapUrl(s.links.release(rid), updated) for rid, updated in stamps]
    return sitemap.split(urls, URLS_PER_SITEMAP)


@bp.get("/sitemap.xml")
def sitemap_xml() -> Response:
    parts = _parts()
    if len(parts) == 1:
        return conditional(sitemap.build_urlset(parts[0]), XML)
    links = services().links
    return conditional(sitemap.build_index(
        [SitemapUrl(links.sitemap_page(n), sitemap.newest(part)) for n, part in enumerate(parts, 1)]), XML)


@bp.get("/sitemaps/<int:page>.xml")
def sitemap_part(page: int) -> Response:
    parts = _parts()
    if not 1 <= page <= len(parts):
        abort(404, description=_("There is no such sitemap part."))
    return conditional(sitemap.build_urlset(parts[page - 1]), XML)


@bp.get("/robots.txt")
def robots() -> Response:
    links = services().links
    return conditional(sitemap.build_robots(links.sitemap(), links.private_paths()), "text/plain")


@bp.get("/feeds/feed.xsl")
def feed_stylesheet() -> Response:
    """The XSL every Atom and RSS document names: a browser opening a feed shows a readable page."""
    path = services().settings.templates_dir / "feed.xsl"
    return conditional(path.read_bytes(), "text/xsl")
