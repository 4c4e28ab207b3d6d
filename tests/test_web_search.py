"""/search and /opensearch.xml through the real app, a real ingest and a real database."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import lxml.etree
import lxml.html
import pytest

from feedsvc.storage import Storage
from tests.test_web_feeds import BASE, WEB, ingest

HOSTILE = "---\ntitle: Border <b>Report</b> & <script>alert(1)</script>\ndate: 2026-11-02\nlocation: Ankara\n---\n" \
          "The quarterly `<script>alert(\"quarterly\")</script>` report on crossings.\n"


def bulletin(n: int) -> str:
    return f"---\ntitle: Bulletin number {n}\ndate: 2024-02-{n:02d}\nlocation: Hatay\ntopics: [health]\n---\nWeekly bulletin.\n"


@pytest.fixture
def env(env: dict[str, str], content_dir: Path) -> dict[str, str]:
    (content_dir / "hostile.md").write_text(HOSTILE, encoding="utf-8")
    for n in range(1, 26):
        (content_dir / f"bulletin-{n}.md").write_text(bulletin(n), encoding="utf-8")
    return env | WEB


@pytest.fixture
def client(env: dict[str, str], storage: Storage, make_app):  # type: ignore[no-untyped-def]
    ingest(env, storage)
    return make_app(env).test_client()


def page(client: Any, url: str, status: int = 200) -> Any:
    resp = client.get(url)
    assert resp.status_code == status, resp.get_data(as_text=True)[:500]
    return lxml.html.fromstring(resp.get_data(as_text=True))


def results(doc: Any) -> list[str]:
    return [a.text_content() for a in doc.xpath("//ul[contains(@class, 'results')]//a[@class='title']")]


def test_every_page_has_the_search_box_and_the_opensearch_link(client: Any, storage: Storage) -> None:
    release_id = storage.list_releases(limit=1)[0].id
    for url, status in [("/", 200), ("/topics/health", 200), (f"/releases/{release_id}", 200),
                        ("/search", 200), ("/no-such-page", 404)]:
        doc = page(client, url, status)
        (form,) = doc.xpath("//header//form[@role='search']")
        assert form.get("action") == "/search" and form.xpath(".//input[@name='q']"), url
        (link,) = doc.xpath("//head/link[@rel='search']")
        assert (link.get("type"), link.get("href")) == ("application/opensearchdescription+xml", "/opensearch.xml")


def test_empty_query_shows_the_form_only(client: Any) -> None:
    doc = page(client, "/search")
    assert doc.xpath("//main/form[@class='search-filters']//input[@name='q']")
    assert not doc.xpath("//ul[contains(@class, 'results')]") and not doc.xpath("//*[@id='result-count']")


def test_results_link_their_release_and_mark_matches_escaped(client: Any) -> None:
    doc = page(client, "/search?q=quarterly+ALERT")
    (item,) = doc.xpath("//ul[contains(@class, 'results')]/li")
    assert item.xpath(".//a[@class='title']")[0].get("href").startswith("/releases/")
    assert not doc.xpath("//main//script") and not doc.xpath("//main//b")  # the release's markup is text
    marks = [m.text for m in item.xpath(".//mark")]
    assert "quarterly" in marks and "alert" in marks
    assert '<script>alert("quarterly")</script>' in item.xpath(".//p[@class='snippet']")[0].text_content()
    assert item.xpath(".//time")[0].text == "2 November 2026"  # the date as every list shows it
    assert item.xpath(".//a[@class='title']")[0].text_content() == "Border <b>Report</b> & <script>alert(1)</script>"


def test_paging_and_bad_pages(client: Any) -> None:
    first = page(client, "/search?q=bulletin")
    assert first.xpath("//*[@id='result-count']")[0].text_content().startswith("25 results")
    assert results(first)[:2] == ["Bulletin number 25", "Bulletin number 24"]
    (older,) = [a for a in first.xpath("//div[@class='pager']/a") if "Older" in a.text_content()]
    second = page(client, "/search" + older.get("href"))
    assert results(second) == [f"Bulletin number {n}" for n in range(5, 0, -1)]
    for bad in ("3", "0", "-1", "abc", "9" * 30):
        page(client, f"/search?q=bulletin&page={bad}", 404)


def test_filters(client: Any) -> None:
    assert len(results(page(client, "/search?q=bulletin&topic=health"))) == 20
    assert results(page(client, "/search?q=bulletin&year=2023")) == []
    assert results(page(client, "/search?q=report&place=ankara")) == ["Border <b>Report</b> & <script>alert(1)</script>"]
    assert results(page(client, "/search?q=report&place=Hatay")) == []
    page(client, "/search?q=bulletin&topic=no-such-topic", 400)
    page(client, "/search?q=bulletin&year=20x4", 400)


@pytest.mark.parametrize("q", ['"', "NEAR(a b)", "*", "((", "a AND OR", "😀", "x" * 2000, "%00", "</title><script>"])
def test_hostile_queries_answer(client: Any, q: str) -> None:
    doc = page(client, "/search?" + urlencode({"q": q}))
    assert not doc.xpath("//script")
    assert doc.xpath("//*[@id='result-count']")


def test_opensearch_description(client: Any) -> None:
    resp = client.get("/opensearch.xml")
    assert resp.status_code == 200 and resp.mimetype == "application/opensearchdescription+xml"
    root = lxml.etree.fromstring(resp.data)
    ns = {"os": "http://a9.com/-/spec/opensearch/1.1/"}
    assert 0 < len(root.findtext("os:ShortName", namespaces=ns)) <= 16
    (html_url,) = root.findall("os:Url[@type='text/html']", ns)
    assert html_url.get("template") == f"{BASE}/search?q={{searchTerms}}"
    assert page(client, "/search?q=bulletin").xpath("//ul[contains(@class, 'results')]/li")  # the template's URL answers
