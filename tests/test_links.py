"""feedsvc.links: every public URL, built in one place."""

from __future__ import annotations

import json

import pytest

from feedsvc.links import ALL, Links
from feedsvc.tokens import BadToken, Tokens

TOKENS = Tokens("test-secret")


@pytest.mark.parametrize("base", ["https://press.example.org", "https://press.example.org/",
                                  "https://press.example.org//"])
def test_every_url_kind_at_the_site_root(base: str) -> None:
    links = Links(base, TOKENS)
    assert links.base_url == "https://press.example.org"
    assert links.home() == "https://press.example.org/"
    assert links.release("0123456789abcdef") == "https://press.example.org/releases/0123456789abcdef"
    assert links.topic("health") == "https://press.example.org/topics/health"
    assert links.topic(ALL) == "https://press.example.org/"  # the feed of everything has the home page
    assert links.feed("health") == "https://press.example.org/feeds/health.atom"
    assert links.feed("health", "atom") == "https://press.example.org/feeds/health.atom"
    assert links.feed(ALL, "rss") == "https://press.example.org/feeds/all.rss"
    assert links.feed_document("all.rss") == "https://press.example.org/feeds/all.rss"
    assert links.feed_archive("health", 3) == "https://press.example.org/feeds/archive/health/3.atom"
    assert links.opml() == "https://press.example.org/feeds.opml"


@pytest.mark.parametrize("base", ["https://example.org/press", "https://example.org/press/"])
def test_a_path_prefix_is_kept_in_every_url(base: str) -> None:
    links = Links(base, TOKENS)
    prefix = "https://example.org/press"
    assert links.home() == prefix + "/"
    assert links.release("abc") == prefix + "/releases/abc"
    assert links.topic("health") == prefix + "/topics/health"
    assert links.feed("health", "rss") == prefix + "/feeds/health.rss"
    assert links.feed_archive(ALL, 1) == prefix + "/feeds/archive/all/1.atom"
    assert links.opml() == prefix + "/feeds.opml"
    for url in (links.confirm(7, "a@x.org", 3), links.preferences(7, "a@x.org"), links.unsubscribe(7, "a@x.org"),
                links.digest_archive(9)):
        assert url.startswith(prefix + "/") and "//" not in url[len("https://"):]


def test_signed_links_carry_a_token_for_their_own_purpose() -> None:
    links = Links("https://example.org/press/", TOKENS)
    for url, path, purpose, confirmation in (
            (links.confirm(7, "ayse@example.org", 3), "/confirm/", "confirm", 3),
            (links.preferences(7, "ayse@example.org"), "/preferences/", "manage", None),
            (links.unsubscribe(7, "ayse@example.org"), "/unsubscribe/", "unsubscribe", None)):
        head, token = url.rsplit("/", 1)
        assert head + "/" == "https://example.org/press" + path
        link = TOKENS.read_subscriber(purpose, token)
        assert (link.subscriber_id, link.confirmation_id) == (7, confirmation)
        # Bound to the address as well as the id: the same id with another address is not named.
        assert link.names(TOKENS, "ayse@example.org", created_at=link.signed_at)
        assert not link.names(TOKENS, "someone.else@example.org", created_at=link.signed_at)
        assert "ayse" not in token  # the address is named by a keyed digest, never shown
        with pytest.raises(BadToken):
            TOKENS.read_subscriber("digest" if purpose != "digest" else "confirm", token)
    head, token = links.digest_archive(42).rsplit("/", 1)
    assert head == "https://example.org/press/digests" and TOKENS.read("digest", token) == 42


def test_links_without_tokens_make_every_unsigned_url_and_refuse_signed_ones() -> None:
    links = Links("https://example.org")
    assert links.release("abc") == "https://example.org/releases/abc"
    with pytest.raises(ValueError, match="SECRET_KEY"):
        links.unsubscribe(1, "a@x.org")


def test_an_unknown_feed_format_is_refused() -> None:
    links = Links("https://example.org")
    assert links.feed(ALL, "json") == "https://example.org/feeds/all.json"  # JSON Feed 1.1 (issue 17)
    with pytest.raises(ValueError, match="yaml"):
        links.feed(ALL, "yaml")


def test_feeds_take_every_link_from_links_under_a_path_prefix(storage, content_dir, topics_file, clock) -> None:  # type: ignore[no-untyped-def]
    import feedparser

    from feedsvc.config import load_settings
    from feedsvc.services import build_services

    settings = load_settings({"DATABASE_URL": "sqlite://", "FEEDSVC_CONTENT_DIR": str(content_dir),
                              "FEEDSVC_TOPICS": str(topics_file),
                              "FEEDSVC_BASE_URL": "https://example.org/press/"})
    services = build_services(settings, clock, storage=storage)
    services.ingester().scan()
    parsed = feedparser.parse(storage.get_feed_document("all.atom").body)
    hrefs = {link["rel"]: link["href"] for link in parsed.feed.links}
    assert hrefs["self"] == "https://example.org/press/feeds/all.atom"
    assert hrefs["alternate"] == "https://example.org/press/"
    for entry in parsed.entries:
        assert entry.link == services.links.release(entry.id.rsplit("/", 1)[1])
        assert entry.link.startswith("https://example.org/press/releases/")
    opml = services.publisher.opml(services.taxonomy()).decode()
    assert 'xmlUrl="https://example.org/press/feeds/all.atom"' in opml
    assert 'htmlUrl="https://example.org/press/topics/' in opml
    assert b'href="https://example.org/press/feeds/feed.xsl"?>' in storage.get_feed_document("all.rss").body
    json_feed = json.loads(storage.get_feed_document("all.json").body)
    assert json_feed["feed_url"] == "https://example.org/press/feeds/all.json"
    assert {i["url"] for i in json_feed["items"]} == {e.link for e in parsed.entries}
