"""feedsvc.structured: a release as schema.org NewsArticle data."""

from __future__ import annotations

import dataclasses
import datetime as dt

from feedsvc.links import Links
from feedsvc.structured import news_article
from tests.test_feeds import TITLES, stored

LINKS = Links("https://example.org/news/")


def article(**changes: object) -> dict[str, object]:
    r = dataclasses.replace(stored(1), **changes)  # type: ignore[arg-type]
    return news_article(r, links=LINKS, organisation="IOM Türkiye", language="tr", topic_titles=TITLES)


def test_an_undated_release_has_no_date_published() -> None:
    a = article(date=None, published=None, author=None)
    assert "datePublished" not in a
    assert a["dateModified"] == "2026-03-01T11:00:00+00:00"
    org = {"@type": "Organization", "name": "IOM Türkiye", "url": "https://example.org/news/"}
    assert a["author"] == a["publisher"] == org
    assert (a["url"], a["mainEntityOfPage"]) == ("https://example.org/news/releases/r0001",
                                                 {"@type": "WebPage", "@id": "https://example.org/news/releases/r0001"})
    assert a["inLanguage"] == "tr" and a["dateline"] == "İstanbul"
    assert a["articleSection"] == ["Borders & emergencies", "Health and COVID-19"]


def test_a_stated_date_is_the_day_as_stated_and_a_byline_is_a_person() -> None:
    a = article(date=dt.date(2025, 12, 9), author="Ayşe\x00 Yılmaz", topics=(), location=None)
    assert a["datePublished"] == "2025-12-09"
    assert a["author"] == {"@type": "Person", "name": "Ayşe Yılmaz"}
    assert "articleSection" not in a and "dateline" not in a
    assert a["headline"] == "Release 1: CDATA end ]]> and an ampersand & and <b>bold</b>"
    assert article(title=" ")["headline"] == "Untitled release"
