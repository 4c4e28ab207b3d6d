"""sitemap.xml and robots.txt for crawlers (https://www.sitemaps.org/protocol.html). Pure: data in, bytes out.

A sitemap file holds at most 50,000 URLs (and 50 MB; ours stay far below, at about 150 bytes a URL):
beyond that, /sitemap.xml becomes a sitemap index of parts, each a full sitemap.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence

from lxml import etree

from .feeds import clean_text

__all__ = ["MAX_URLS", "SITEMAP_NS", "SitemapUrl", "build_index", "build_robots", "build_urlset", "newest", "split"]

SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
MAX_URLS = 50_000  # per sitemap file, and sitemaps per index (sitemaps.org)


@dataclasses.dataclass(frozen=True, slots=True)
class SitemapUrl:
    loc: str  # absolute; lxml escapes &, < and > as the protocol requires
    lastmod: dt.datetime | None = None


def _w3c(when: dt.datetime) -> str:
    """W3C Datetime (what `lastmod` takes), in UTC to the second."""
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError(f"lastmod {when} is a naive datetime: sitemaps need aware instants")
    return when.astimezone(dt.UTC).isoformat(timespec="seconds")


def _document(root_name: str, child_name: str, urls: Sequence[SitemapUrl]) -> bytes:
    if len(urls) > MAX_URLS:
        raise ValueError(f"{len(urls)} URLs in one sitemap file: the protocol allows {MAX_URLS}")
    root = etree.Element(f"{{{SITEMAP_NS}}}{root_name}", nsmap={None: SITEMAP_NS})
    for u in urls:
        child = etree.SubElement(root, f"{{{SITEMAP_NS}}}{child_name}")
        etree.SubElement(child, f"{{{SITEMAP_NS}}}loc").text = clean_text(u.loc)
        if u.lastmod is not None:
            etree.SubElement(child, f"{{{SITEMAP_NS}}}lastmod").text = _w3c(u.lastmod)
    return bytes(etree.tostring(root, encoding="UTF-8", xml_declaration=True, pretty_print=True))


def build_urlset(urls: Sequence[SitemapUrl]) -> bytes:
    """A sitemap (`<urlset>`) of at most MAX_URLS addresses, in the order given."""
    return _document("urlset", "url", urls)


def build_index(parts: Sequence[SitemapUrl]) -> bytes:
    """A sitemap index (`<sitemapindex>`): each part's address and its newest lastmod."""
    return _document("sitemapindex", "sitemap", parts)


def split(urls: Sequence[SitemapUrl], size: int = MAX_URLS) -> list[list[SitemapUrl]]:
    """`urls` in files of at most `size`; always at least one (an empty site still has a sitemap)."""
    if size < 1:
        raise ValueError(f"sitemap part size must be at least 1, not {size}")
    return [list(urls[i:i + size]) for i in range(0, len(urls), size)] or [[]]


def newest(urls: Sequence[SitemapUrl]) -> dt.datetime | None:
    stamps = [u.lastmod for u in urls if u.lastmod is not None]
    return max(stamps) if stamps else None


def build_robots(sitemap_url: str, disallowed: Sequence[str]) -> bytes:
    """robots.txt (RFC 9309): everything open but `disallowed` paths, and where the sitemap is."""
    lines = ["User-agent: *", "Allow: /", *(f"Disallow: {p}" for p in disallowed), "",
             f"Sitemap: {sitemap_url}", ""]
    return "\n".join(lines).encode("utf-8")
