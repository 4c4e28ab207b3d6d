"""A planned delivery rendered as its email: plan_digest and render_digest, with what a run shares cached."""

from __future__ import annotations

from collections.abc import Callable
from email.message import EmailMessage

from ..bounces.verp import return_paths_for, stamp
from ..clock import Clock
from ..config import Settings
from ..deliveries import Delivery
from ..digest import (
    DigestLinks,
    DigestSection,
    MailSettings,
    plan_digest,
    render_digest,
)
from ..links import Links
from ..model import StoredRelease
from ..storage import Storage
from ..subscribers import Subscriber
from ..topics import Taxonomy

# Per releases window: the releases, and each topic choice's planned sections and release ids.
_Window = tuple[list[StoredRelease],
                dict[tuple[tuple[str, ...], tuple[str, ...]], tuple[list[DigestSection], list[str]]]]


def mail_settings(settings: Settings) -> MailSettings:
    """The headers every email of this organisation carries (digests and confirmations alike)."""
    return MailSettings(
        mail_from=settings.mail_from, reply_to=settings.mail_from,
        list_id=f"{settings.organisation} press releases <releases.{settings.tag_authority}>",
        organisation=settings.organisation, locale=settings.default_locale)


class DigestRenderer:
    """Renders the deliveries of one batch (or one preview), in the one thread that sends it.

    Made per batch: its caches hold the releases read for this batch, not older ones.
    """

    def __init__(self, storage: Storage, settings: Settings, links: Links, clock: Clock,
                 taxonomy: Taxonomy, release_url: Callable[[StoredRelease], str]) -> None:
        self.storage, self.settings, self.links, self.clock = storage, settings, links, clock
        self.taxonomy = taxonomy
        self.mail_settings = mail_settings(settings)
        self._release_url = release_url
        self._media_url = self.links.media  # one bound method for the batch: the section cache's key
        self._windows: dict[tuple[int, int], _Window] = {}
        self.return_paths = return_paths_for(settings)  # VERP, when FEEDSVC_BOUNCE_DOMAIN is set

    def render(self, d: Delivery) -> tuple[EmailMessage | None, list[str]]:
        """The delivery's message and the ids of the releases it carries; None when nothing is new."""
        window = (d.since_seq, d.until_seq)
        if window not in self._windows:
            if len(self._windows) > 8:
                self._windows.clear()
            self._windows[window] = (self.storage.releases_between(*window), {})
        releases, plans = self._windows[window]
        subscriber = Subscriber(id=d.subscriber_id, email=d.email, topics=d.topics,
                                frequency=d.frequency, state="confirmed", created_at=self.clock(),
                                languages=d.languages, locale=d.locale)
        # A run's subscribers share a few hundred topic choices at most: plan each choice once
        # per window, not once per subscriber (it was a third of the rendering time).
        choice = (d.topics, d.languages)
        if choice not in plans:
            if len(plans) > 4096:
                plans.clear()
            sections = plan_digest(subscriber, releases, self.taxonomy.titles)
            plans[choice] = (sections, [item.release.id for s in sections for item in s.items])
        sections, ids = plans[choice]
        if not sections:
            return None, []
        links = DigestLinks(unsubscribe_url=self.links.unsubscribe(d.subscriber_id, d.email, d.locale),
                            preferences_url=self.links.preferences(d.subscriber_id, d.email, d.locale),
                            archive_url=self.links.digest_archive(d.id, d.locale),
                            release_url=self._release_url, base_url=self.links.base_url,
                            media_url=self._media_url)
        msg = render_digest(subscriber, sections, period_label=d.period_label, links=links,
                            settings=self.mail_settings, now=self.clock(), run_id=f"{d.run_id}.{d.id}",
                            message_id=d.message_id, templates_dir=self.settings.templates_dir)
        stamp(msg, self.return_paths, d.subscriber_id, "digest", d.id)
        return msg, ids
