"""feedsvc.sitemap: sitemaps.org documents (checked with lxml against the protocol's schemas) and robots.txt."""

from __future__ import annotations

import datetime as dt

import pytest
from lxml import etree

from feedsvc.sitemap import (
    MAX_URLS,
    SitemapUrl,
    build_index,
    build_robots,
    build_urlset,
    newest,
    split,
)
from tests.conftest import ROOT

SM = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
PLUS3 = dt.timezone(dt.timedelta(hours=3))
URLS = [SitemapUrl("https://example.org/", dt.datetime(2026, 3, 1, 15, 0, 0, 123456, tzinfo=PLUS3)),
        SitemapUrl("https://example.org/topics/health"),
        SitemapUrl("https://example.org/releases/a?x=1&y=<2>", dt.datetime(2026, 1, 2, tzinfo=dt.UTC))]


def valid(data: bytes, xsd: str) -> etree._Element:
    doc = etree.fromstring(data)
    schema = etree.XMLSchema(etree.parse(str(ROOT / "tests" / xsd)))
    assert schema.validate(doc), schema.error_log
    return doc


def test_urlset_is_valid_with_utc_lastmods_and_escaped_addresses() -> None:
    data = build_urlset(URLS)
    doc = valid(data, "sitemap.xsd")
    assert [(u.findtext(f"{SM}loc"), u.findtext(f"{SM}lastmod")) for u in doc.iter(f"{SM}url")] == [
        ("https://example.org/", "2026-03-01T12:00:00+00:00"), ("https://example.org/topics/health", None),
        ("https://example.org/releases/a?x=1&y=<2>", "2026-01-02T00:00:00+00:00")]
    assert b"a?x=1&amp;y=&lt;2&gt;" in data
    assert data == build_urlset(list(URLS))


def test_index_is_valid() -> None:
    doc = valid(build_index([SitemapUrl("https://example.org/sitemaps/1.xml", newest(URLS))]), "siteindex.xsd")
    assert doc.findtext(f"{SM}sitemap/{SM}lastmod") == "2026-03-01T12:00:00+00:00"


def test_the_limits_are_kept() -> None:
    assert [len(p) for p in split(URLS * 5, 4)] == [4, 4, 4, 3]
    assert split([]) == [[]] and split(URLS) == [URLS]
    assert len(split([URLS[1]] * (MAX_URLS + 1))) == 2
    with pytest.raises(ValueError, match="50000"):
        build_urlset([URLS[1]] * (MAX_URLS + 1))
    with pytest.raises(ValueError, match="naive"):
        build_urlset([SitemapUrl("https://example.org/", dt.datetime(2026, 1, 1))])
    with pytest.raises(ValueError):
        split(URLS, 0)


def test_robots_txt() -> None:
    assert build_robots("https://example.org/sitemap.xml", ["/admin", "/confirm/"]).decode() == (
        "User-agent: *\nAllow: /\nDisallow: /admin\nDisallow: /confirm/\n\n"
        "Sitemap: https://example.org/sitemap.xml\n")
