"""Building feed documents when releases change, and telling a WebSub hub about it.

Feeds are built here, after ingest, and stored; web processes only serve the stored bytes.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import logging
import queue
import threading
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Sequence

from . import __version__
from .clock import SYSTEM_CLOCK, Clock
from .config import Settings
from .feeds import FeedSpec, build_atom, build_opml, build_rss
from .jsonfeed import JSON_FEED_TYPE, build_json_feed
from .languages import Translation, native_name, translations_by_release
from .links import ALL, FEED_FORMATS, LANGUAGE_FEED_FORMATS, Links
from .model import FeedDocument, StoredRelease
from .storage import Storage
from .storage.feeds import make_etag
from .topics import Taxonomy, load_taxonomy

log = logging.getLogger(__name__)

PAGE_SIZE = 50
ATOM = "application/atom+xml; charset=utf-8"
RSS = "application/rss+xml; charset=utf-8"
OPML = "text/x-opml; charset=utf-8"
JSON_FEED = JSON_FEED_TYPE  # JSON is UTF-8 by definition (RFC 8259 §8.1): no charset parameter


@dataclasses.dataclass(frozen=True)
class FeedInfo:
    slug: str
    title: str
    subtitle: str


def archive_count(total: int, page_size: int = PAGE_SIZE) -> int:
    """RFC 5005 archive pages: fixed pages counted from the oldest, covering what the current feed does not."""
    return 0 if total <= page_size else -(-(total - page_size) // page_size)


class Publisher:
    """Builds and stores every feed of the topics a scan touched; pings the hub for those that changed."""

    def __init__(self, storage: Storage, settings: Settings, *, links: Links | None = None,
                 clock: Clock = SYSTEM_CLOCK, taxonomy: Callable[[], Taxonomy] | None = None) -> None:
        self.storage = storage
        # The taxonomy in force (services gives its TaxonomyKeeper's): a broken file never breaks feeds.
        self._taxonomy = taxonomy or (lambda: load_taxonomy(settings.topics_file))
        self.settings = settings
        self.links = links or Links(settings.base_url)
        self.clock = clock
        self._pings: queue.Queue[tuple[str, str] | None] = queue.Queue()  # None: a pinger's stop
        self._pingers: list[threading.Thread] = []

    # -- what the feeds are -------------------------------------------------------------

    def taxonomy(self) -> Taxonomy:
        return self._taxonomy()

    def feed_info(self, slug: str, taxonomy: Taxonomy) -> FeedInfo | None:
        org = self.settings.organisation
        if slug == ALL:
            return FeedInfo(ALL, f"{org}: all press releases", f"Every press release of {org}")
        topic = taxonomy.by_slug(slug)
        if topic is None:
            return None
        return FeedInfo(slug, f"{org}: {topic.title}", topic.description or topic.title)

    def tag_date(self) -> str:
        # The feed ids' tag date is fixed at the first build and never changes after.
        stored = self.storage.get_meta("tag_date")
        if stored:
            return stored
        today = self.clock().date().isoformat()
        self.storage.set_meta("tag_date", today)
        return self.storage.get_meta("tag_date") or today

    def spec(self, info: FeedInfo, self_url: str, language: str | None = None) -> FeedSpec:
        """`language`: a language's feed of the topic (its own id, title and language)."""
        where = f"{language}/{info.slug}" if language else info.slug
        return FeedSpec(
            feed_id=f"tag:{self.settings.tag_authority},{self.tag_date()}:feed/{where}",
            title=f"{info.title} ({native_name(language)})" if language else info.title,
            subtitle=info.subtitle, self_url=self_url, alternate_url=self.links.topic(info.slug),
            base_url=self.links.base_url, author_name=self.settings.organisation,
            language=language or self.settings.language,
            hub_url=self.settings.websub_hub, generator="feedsvc", generator_version=__version__,
            stylesheet_url=self.links.feed_stylesheet())

    def feed_url(self, slug: str, ext: str = "atom") -> str:
        return self.links.feed(slug, ext)

    def archive_url(self, slug: str, page: int) -> str:
        return self.links.feed_archive(slug, page)

    # -- building -----------------------------------------------------------------------

    def current_atom(self, info: FeedInfo, taxonomy: Taxonomy,
                     releases: list[StoredRelease] | None = None) -> tuple[bytes, dt.datetime]:
        topic = None if info.slug == ALL else info.slug
        if releases is None:
            releases = self.storage.list_releases(topic, limit=PAGE_SIZE)
        pages = archive_count(self.storage.count_releases(topic))
        body = build_atom(self.spec(info, self.feed_url(info.slug)), releases,
                          topic_titles=taxonomy.titles, translations=self.translations(releases),
                          prev_archive=self.archive_url(info.slug, pages) if pages else None)
        return body, _newest(releases)

    def translations(self, releases: Sequence[StoredRelease]) -> dict[str, tuple[Translation, ...]]:
        """Each release's translations (issue 17 item 2), read once for a feed's page of releases."""
        groups = self.storage.translations({r.translation_group for r in releases if r.translation_group})
        return translations_by_release(groups, [(r.id, r.language, r.translation_group) for r in releases])

    def archive_atom(self, info: FeedInfo, page: int, taxonomy: Taxonomy) -> bytes | None:
        """Archive page `page` (1 is the oldest), built on request; None past the last page."""
        topic = None if info.slug == ALL else info.slug
        pages = archive_count(self.storage.count_releases(topic))
        if not 1 <= page <= pages:
            return None
        total = self.storage.count_releases(topic)
        start = (page - 1) * PAGE_SIZE  # from the oldest
        size = min(PAGE_SIZE, total - start)
        # Read from whichever end is nearer, so the newest archive pages (where readers go
        # first) cost as little as the oldest.
        if start <= total - start - size:
            releases = self.storage.list_releases(topic, limit=size, offset=start, oldest_first=True)
            releases.reverse()  # newest first within the page, as in the current document
        else:
            releases = self.storage.list_releases(topic, limit=size, offset=total - start - size)
        return build_atom(
            self.spec(info, self.archive_url(info.slug, page)), releases, topic_titles=taxonomy.titles,
            translations=self.translations(releases),
            current=self.feed_url(info.slug),
            prev_archive=self.archive_url(info.slug, page - 1) if page > 1 else None,
            next_archive=self.archive_url(info.slug, page + 1) if page < pages else None,
            is_archive=True)

    def build(self, slug: str, taxonomy: Taxonomy) -> list[FeedDocument]:
        """The topic's current Atom, RSS and JSON documents, built and not stored ([] for an unknown topic)."""
        info = self.feed_info(slug, taxonomy)
        if info is None:
            return []
        # One read of the newest releases serves the Atom, RSS and JSON documents.
        releases = self.storage.list_releases(None if slug == ALL else slug, limit=PAGE_SIZE)
        atom, newest = self.current_atom(info, taxonomy, releases)
        rss = build_rss(self.spec(info, self.feed_url(slug, "rss")), releases, topic_titles=taxonomy.titles)
        json_feed = build_json_feed(self.spec(info, self.feed_url(slug, "json")), releases,
                                    topic_titles=taxonomy.titles)
        return [FeedDocument(f"{slug}.atom", make_etag(atom), newest, ATOM, atom),
                FeedDocument(f"{slug}.rss", make_etag(rss), newest, RSS, rss),
                FeedDocument(f"{slug}.json", make_etag(json_feed), newest, JSON_FEED, json_feed)]

    def build_language(self, slug: str, language: str, taxonomy: Taxonomy) -> list[FeedDocument]:
        """The topic's Atom and JSON documents of releases in `language` only (`fr/health.atom`).

        Current documents only, without RFC 5005 archives: the newest PAGE_SIZE releases.
        """
        info = self.feed_info(slug, taxonomy)
        if info is None:
            return []
        releases = self.storage.list_releases(None if slug == ALL else slug, limit=PAGE_SIZE, language=language)
        links = self.links
        atom = build_atom(self.spec(info, links.language_feed(language, slug), language), releases,
                          topic_titles=taxonomy.titles, translations=self.translations(releases))
        json_feed = build_json_feed(self.spec(info, links.language_feed(language, slug, "json"), language),
                                    releases, topic_titles=taxonomy.titles)
        newest = _newest(releases)
        return [FeedDocument(f"{language}/{slug}.atom", make_etag(atom), newest, ATOM, atom),
                FeedDocument(f"{language}/{slug}.json", make_etag(json_feed), newest, JSON_FEED, json_feed)]

    def languages(self) -> list[str]:
        """The languages with feeds: those of public releases, and those built before (now emptied)."""
        built = {name.split("/", 1)[0] for name in self.storage.feed_etags() if "/" in name}
        return sorted(set(self.storage.release_languages()) | built)

    def rebuild(self, slugs: Iterable[str]) -> list[str]:
        """Rebuild and store the feeds of these topics, ping the hub; return the names whose bytes changed."""
        taxonomy = self.taxonomy()
        now = self.clock()
        changed: list[str] = []
        languages = self.languages()
        for slug in sorted(set(slugs)):
            docs = self.build(slug, taxonomy)
            for language in languages:
                docs += self.build_language(slug, language, taxonomy)
            for doc in docs:
                if self.storage.put_feed_document(doc.name, doc.body, doc.content_type, doc.last_modified, now):
                    changed.append(doc.name)
        if changed:
            log.info("feeds rebuilt: %s", ", ".join(changed))
            self.ping_hub([self.links.feed_document(name) for name in changed])
        return changed

    def opml(self, taxonomy: Taxonomy) -> bytes:
        org = self.settings.organisation
        feeds = [(f"{org}: all press releases", self.feed_url(ALL), self.links.topic(ALL))]
        feeds += [(f"{org}: {t.title}", self.feed_url(t.slug), self.links.topic(t.slug)) for t in taxonomy.topics]
        for language in self.storage.release_languages():  # issue 17 item 2: a language's feeds
            name = native_name(language)
            feeds.append((f"{org}: all press releases ({name})", self.links.language_feed(language, ALL),
                          self.links.topic(ALL)))
            feeds += [(f"{org}: {t.title} ({name})", self.links.language_feed(language, t.slug),
                       self.links.topic(t.slug)) for t in taxonomy.topics]
        return build_opml(f"{org} press releases", feeds)

    def after_scan(self, slugs: set[str]) -> list[str]:
        """What the ingester calls after every scan (which lifts due embargoes too)."""
        stale = self.storage.stale_feeds()
        if self.needs_full_rebuild():
            changed = self.ensure_current()
        else:
            changed = self.rebuild(slugs | set(stale)) if slugs or stale else []
        if stale:
            self.storage.feeds_rebuilt(stale)
        return changed

    def lift_embargoes(self) -> list[str]:
        """The lift job: make public every release whose embargo has ended, rebuild the feeds they
        change and ping the hub about them; return the feed documents that changed.

        Also rebuilds feeds an earlier lift left stale (its process died before rebuilding them).
        """
        lifted = self.storage.lift_embargoes(self.clock())
        if lifted.ids:
            log.info("embargo ended: %d release(s) now public: %s", len(lifted.ids), ", ".join(lifted.ids))
        stale = self.storage.stale_feeds()
        if not stale:
            return []
        changed = self.rebuild(stale)
        self.storage.feeds_rebuilt(stale)
        return changed

    def _fingerprint(self, taxonomy: Taxonomy) -> str:
        s = self.settings
        return hashlib.sha256("\x1f".join([
            __version__, *FEED_FORMATS, "languages", *LANGUAGE_FEED_FORMATS, s.base_url, s.tag_authority,
            s.organisation, s.language, s.websub_hub or "", taxonomy.digest]).encode()).hexdigest()

    def needs_full_rebuild(self) -> bool:
        return self.storage.get_meta("feeds_fingerprint") != self._fingerprint(self.taxonomy())

    def ensure_current(self) -> list[str]:
        """Rebuild everything when what feeds are built from, other than releases, changed."""
        taxonomy = self.taxonomy()
        fingerprint = self._fingerprint(taxonomy)
        if self.storage.get_meta("feeds_fingerprint") == fingerprint:
            return []
        changed = self.rebuild([ALL, *taxonomy.slugs])
        keep = {f"{slug}.{ext}" for slug in (ALL, *taxonomy.slugs) for ext in FEED_FORMATS}
        keep |= {f"{language}/{slug}.{ext}" for language in self.storage.release_languages()
                 for slug in (ALL, *taxonomy.slugs) for ext in LANGUAGE_FEED_FORMATS}
        self.storage.delete_feed_documents(keep)
        self.storage.set_meta("feeds_fingerprint", fingerprint)
        return changed

    # -- WebSub -------------------------------------------------------------------------

    def ping_hub(self, urls: list[str]) -> None:
        """Tell the hub, in the background: a slow or failing hub never holds up ingest."""
        hub = self.settings.websub_hub
        if not hub:
            return
        if not self._pingers:
            # Daemon threads: a dead hub never keeps a process from exiting (flush() waits, bounded).
            self._pingers = [threading.Thread(target=self._pinger, name=f"websub-{i}", daemon=True)
                             for i in range(4)]
            for t in self._pingers:
                t.start()
        for url in urls:
            self._pings.put((hub, url))

    def _pinger(self) -> None:
        while True:
            item = self._pings.get()
            try:
                if item is None:
                    return
                _ping(*item)
            finally:
                self._pings.task_done()

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait up to `timeout` seconds for pending hub pings; True when none is left."""
        done = self._pings.all_tasks_done  # the queue's own condition: woken by the last task_done()
        with done:
            return done.wait_for(lambda: not self._pings.unfinished_tasks, timeout)

    def close(self, timeout: float = 10.0) -> None:
        """Finish pending pings (waiting at most `timeout`) and stop the ping threads."""
        self.flush(timeout)
        pingers, self._pingers = self._pingers, []
        for _ in pingers:
            self._pings.put(None)
        for thread in pingers:
            thread.join(timeout)


def _ping(hub: str, url: str) -> None:
    data = urllib.parse.urlencode({"hub.mode": "publish", "hub.url": url}).encode()
    try:
        with urllib.request.urlopen(urllib.request.Request(hub, data=data), timeout=10) as resp:
            log.info("websub: told %s about %s (%s)", hub, url, resp.status)
    except Exception as exc:  # noqa: BLE001 - any failure of the hub is logged and forgotten
        log.warning("websub: %s did not take %s: %s", hub, url, exc)


def _newest(releases: Sequence[StoredRelease]) -> dt.datetime:
    if not releases:
        return dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    return max(r.updated for r in releases)
