"""Every absolute public URL: pages, feeds, archives, OPML, and the signed links in emails.

Feeds, emails and tag/self links take their URLs from here and nowhere else (issue 12 item 4);
templates may still write in-app navigation as relative paths.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING
from urllib.parse import quote, urlencode, urlsplit

if TYPE_CHECKING:  # only typed here: feeds.py imports this module, and must stay free of itsdangerous
    from .tokens import Tokens

ALL = "all"  # the feed of every release; its page is the home page
FEED_FORMATS = ("atom", "rss", "json")  # JSON Feed 1.1 at .json
LANGUAGE_FEED_FORMATS = ("atom", "json")  # a language's feeds (issue 17 item 2)
# Paths whose last segment is a signed token (a subscriber's own links): never for crawlers.
TOKEN_PATHS = ("/confirm/", "/preferences/", "/unsubscribe/", "/digests/")


@dataclasses.dataclass(frozen=True)
class Links:
    """Absolute URLs under `base_url` (a path prefix is kept, trailing slashes are not)."""

    base_url: str
    tokens: Tokens | None = None  # None where no signed link is made (feeds, pages)

    def __post_init__(self) -> None:
        # "https://x.org/news/" and "https://x.org/news" name the same site: one spelling, so
        # feeds built by either never differ byte for byte.
        object.__setattr__(self, "base_url", self.base_url.rstrip("/"))

    # -- pages ---------------------------------------------------------------------------

    def home(self) -> str:
        return f"{self.base_url}/"

    def release(self, release_id: str) -> str:
        return f"{self.base_url}/releases/{release_id}"

    def release_history(self, release_id: str) -> str:
        """Every stored version of a release and what changed (issue 13 item 5)."""
        return f"{self.release(release_id)}/history"

    def search(self, query: str = "") -> str:
        """The search page, for `query` if given."""
        return f"{self.base_url}/search" + (f"?{urlencode({'q': query})}" if query else "")

    def search_template(self) -> str:
        """The search page as an OpenSearch URL template: a browser puts the words in {searchTerms}."""
        return f"{self.base_url}/search?q={{searchTerms}}"

    def opensearch(self) -> str:
        """The OpenSearch description, which lets a browser add this site's search."""
        return f"{self.base_url}/opensearch.xml"

    def topic(self, slug: str) -> str:
        """The HTML page of a topic; the feed of everything has the home page as its page."""
        return self.home() if slug == ALL else f"{self.base_url}/topics/{slug}"

    def page(self, path: str) -> str:
        """An in-app path ("/search") as an absolute address (Open Graph's og:url)."""
        return f"{self.base_url}/{path.lstrip('/')}"

    @staticmethod
    def paged(url: str, page: int) -> str:
        """Page `page` of a paged list at `url` (home, a topic); page 1 is `url` itself."""
        return url if page == 1 else f"{url}?page={page}"

    def logo(self, suffix: str) -> str:
        """The office's logo (FEEDSVC_LOGO), served by the site itself."""
        return self.page(f"/logo{suffix}")

    def media(self, sha256: str, name: str) -> str:
        """A file a release carries (issue 17 item 3): addressed by its bytes' SHA-256, so what an
        address serves never changes (cached as immutable); its name last, for readers and downloads."""
        return f"{self.base_url}/media/{sha256}/{quote(name, safe='')}"

    # -- feeds ---------------------------------------------------------------------------

    def feed(self, slug: str, fmt: str = "atom") -> str:
        if fmt not in FEED_FORMATS:
            raise ValueError(f"feed format {fmt!r} is not one of {', '.join(FEED_FORMATS)}")
        return f"{self.base_url}/feeds/{slug}.{fmt}"

    def language_feed(self, language: str, slug: str, fmt: str = "atom") -> str:
        """A topic's feed of the releases in one language (issue 17 item 2): /feeds/fr/health.atom."""
        if fmt not in LANGUAGE_FEED_FORMATS:
            raise ValueError(f"language feed format {fmt!r} is not one of {', '.join(LANGUAGE_FEED_FORMATS)}")
        return f"{self.base_url}/feeds/{language}/{slug}.{fmt}"

    def feed_document(self, name: str) -> str:
        """A stored feed document by its name ("all.atom"), as the hub is told about it."""
        return f"{self.base_url}/feeds/{name}"

    def feed_archive(self, slug: str, page: int) -> str:
        """RFC 5005 archive page `page` (1 is the oldest) of a topic's Atom feed."""
        return f"{self.base_url}/feeds/archive/{slug}/{page}.atom"

    def opml(self) -> str:
        return f"{self.base_url}/feeds.opml"

    def feed_stylesheet(self) -> str:
        """The XSL stylesheet Atom and RSS documents name, so a browser shows a readable page."""
        return f"{self.base_url}/feeds/feed.xsl"

    # -- for crawlers ------------------------------------------------------------------------

    def sitemap(self) -> str:
        return f"{self.base_url}/sitemap.xml"

    def sitemap_page(self, page: int) -> str:
        """Part `page` (1 is the oldest releases) of a sitemap too big for one file."""
        return f"{self.base_url}/sitemaps/{page}.xml"

    def private_paths(self) -> list[str]:
        """Paths robots.txt keeps crawlers out of: the admin and every signed link (under any prefix)."""
        prefix = urlsplit(self.base_url).path
        return [f"{prefix}/admin", *(prefix + p for p in TOKEN_PATHS)]

    # -- signed links in emails ----------------------------------------------------------

    def _tokens(self) -> Tokens:
        if self.tokens is None:
            raise ValueError("signed links need SECRET_KEY: these Links were made without tokens")
        return self.tokens

    # A subscriber's chosen language rides on the links of their emails (`?hl=`), so the page a
    # link opens speaks it in any browser, not only in the one they signed up from.

    def confirm(self, subscriber_id: int, email: str, confirmation_id: int, locale: str | None = None) -> str:
        """The link of one confirmation email: it confirms that sign-up once (issue 14.2)."""
        token = self._tokens().for_subscriber("confirm", subscriber_id, email, confirmation_id)
        return _in_language(f"{self.base_url}/confirm/{token}", locale)

    def preferences(self, subscriber_id: int, email: str, locale: str | None = None) -> str:
        token = self._tokens().for_subscriber("manage", subscriber_id, email)
        return _in_language(f"{self.base_url}/preferences/{token}", locale)

    def unsubscribe(self, subscriber_id: int, email: str, locale: str | None = None) -> str:
        token = self._tokens().for_subscriber("unsubscribe", subscriber_id, email)
        return _in_language(f"{self.base_url}/unsubscribe/{token}", locale)

    def digest_archive(self, delivery_id: int, locale: str | None = None) -> str:
        """"View in browser": the releases one digest carried."""
        return _in_language(f"{self.base_url}/digests/{self._tokens().make('digest', delivery_id)}", locale)


def _in_language(url: str, locale: str | None) -> str:
    return f"{url}?hl={locale}" if locale else url
