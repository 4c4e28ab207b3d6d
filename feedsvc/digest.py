"""Choosing what each subscriber gets and rendering it as an email. Pure: data in, data out.

Nothing here reads the clock or does I/O beyond loading templates once; `now` is passed in.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import re
from collections.abc import Callable, Mapping, Sequence
from email.message import EmailMessage
from email.utils import parseaddr
from pathlib import Path
from typing import Any

import css_inline
import jinja2
from markupsafe import Markup

from feedsvc.entry_extras import file_label
from feedsvc.languages import Direction, matches
from feedsvc.languages import direction as text_direction
from feedsvc.locales import DEFAULT_LOCALE, direction, localized_day, localized_period, translations
from feedsvc.model import Attachment, StoredRelease
from feedsvc.resources import TEMPLATES_DIR
from feedsvc.subscribers import Subscriber
from feedsvc.transport.mime import (
    absolute_url,
    header,
    new_message,
    one_line,
    set_alternatives,
    verbatim,
)

DEFAULT_TEMPLATES_DIR = TEMPLATES_DIR
OTHER_TITLE = "Other releases"
SUMMARY_CHARS = 280
# Pictures in the digest (issue 17 item 3). No scaled copy is made (Pillow is not a dependency): the
# mail client fetches the original and draws it at most this wide (the container's 600px less its
# padding), by width/height attributes. So only types every client shows, of a known size and at
# most EMAIL_IMAGE_BYTES, are shown; any other picture is a link with its size, as files are.
EMAIL_IMAGE_WIDTH = 560
EMAIL_IMAGE_BYTES = 1_000_000
EMAIL_IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif"})


# ---------------------------------------------------------------- planning


@dataclasses.dataclass(frozen=True, slots=True)
class DigestItem:
    """One release as a digest lists it."""

    release: StoredRelease
    title: str  # one line, control characters removed
    dateline: str  # "Ankara, 16 November 2026", or "" when neither is known
    summary: str  # the first paragraph, shortened at a word boundary
    lang: str | None = None  # its BCP 47 tag, for the email's lang attribute (None: not known)
    dir: Direction = "ltr"  # how its script runs, for the email's dir attribute


@dataclasses.dataclass(frozen=True, slots=True)
class DigestSection:
    """The releases of one topic (topic None: releases with no topic)."""

    topic: str | None
    title: str
    items: tuple[DigestItem, ...]


def plan_digest(subscriber: Subscriber, releases: Sequence[StoredRelease],
                topic_titles: Mapping[str, str]) -> list[DigestSection]:
    """Group the releases a subscriber wants by topic, each release once; [] means send nothing.

    A subscriber who chose languages gets releases in those only (issue 17 item 2).
    """
    everything = not subscriber.topics
    # Taxonomy order first; slugs the taxonomy no longer knows (renamed or removed topics) go
    # after it, so a stale subscription still gets its mail instead of silently nothing.
    order = {slug: i for i, slug in enumerate(topic_titles)}
    stale = sorted(s for s in subscriber.topics if s not in order)
    order.update({slug: len(topic_titles) + i for i, slug in enumerate(stale)})
    wanted = set(order) if everything else set(subscriber.topics)
    buckets: dict[str | None, list[StoredRelease]] = {}
    seen: set[str] = set()
    for release in releases:
        if release.withdrawn or release.id in seen or not matches(release.language, subscriber.languages):
            continue
        mine = [t for t in release.topics if t in wanted]
        if mine:
            home: str | None = min(mine, key=lambda t: order.get(t, len(order)))
        elif everything:
            # "Other releases" is only for subscribers of everything: a topic subscriber
            # asked for their topics, not for whatever the classifier could not place.
            home = None
        else:
            continue
        seen.add(release.id)
        buckets.setdefault(home, []).append(release)
    sections = [DigestSection(slug, topic_titles.get(slug, slug), _items(buckets[slug]))
                for slug in sorted((k for k in buckets if k is not None), key=order.__getitem__)]
    if None in buckets:
        sections.append(DigestSection(None, OTHER_TITLE, _items(buckets[None])))
    return sections


def _items(releases: list[StoredRelease]) -> tuple[DigestItem, ...]:
    newest_first = sorted(releases, key=lambda r: r.order_key, reverse=True)  # as every list
    return tuple(DigestItem(r, one_line(r.title), _dateline(r), _summary(r.paragraphs),
                            r.language, text_direction(r.language)) for r in newest_first)


def _dateline(release: StoredRelease, locale: str = DEFAULT_LOCALE) -> str:
    day = localized_day(release.date, locale) if release.date else ""
    return ", ".join(p for p in (one_line(release.location or ""), day) if p)


def _summary(paragraphs: tuple[str, ...]) -> str:
    text = one_line(paragraphs[0]) if paragraphs else ""
    if len(text) <= SUMMARY_CHARS:
        return text
    cut = text.rfind(" ", 0, SUMMARY_CHARS)
    return text[:cut if cut > SUMMARY_CHARS // 2 else SUMMARY_CHARS].rstrip(" ,;:") + "…"


# ---------------------------------------------------------------- settings and links


@dataclasses.dataclass(frozen=True, slots=True)
class MailSettings:
    """Who the mail is from and which list it belongs to."""

    mail_from: str  # "IOM Turkey <news@example.org>"
    list_id: str  # "Press releases <releases.example.org>" (RFC 2919)
    organisation: str
    reply_to: str | None = None
    postal_address: str | None = None  # shown in the footer; CAN-SPAM wants one for bulk mail
    locale: str = DEFAULT_LOCALE  # the emails' language for a subscriber who chose none (FEEDSVC_DEFAULT_LOCALE)

    def __post_init__(self) -> None:
        if "@" not in parseaddr(one_line(self.mail_from))[1]:
            raise ValueError(f"mail_from has no address: {self.mail_from!r}")

    @property
    def list_name(self) -> str:
        """The list's display name, e.g. "Press releases"."""
        name = one_line(self.list_id).split("<", 1)[0].strip().strip('"')
        return name or one_line(self.organisation)


@dataclasses.dataclass(frozen=True, slots=True)
class DigestLinks:
    """Absolute URLs for one subscriber's digest, computed by the caller (it owns routes and tokens)."""

    unsubscribe_url: str  # the RFC 8058 one-click URL: POST unsubscribes, GET only shows a form
    preferences_url: str
    archive_url: str  # /digests/<id>: "view in browser"
    release_url: str | Callable[[StoredRelease], str]  # "https://…/releases/{id}" or a function
    base_url: str
    # links.Links.media: the address of an attachment (sha256, name); None: attachments not listed.
    media_url: Callable[[str, str], str] | None = None

    def url_for(self, release: StoredRelease) -> str:
        return _release_url(self.release_url, release)


def _release_url(pattern: str | Callable[[StoredRelease], str], release: StoredRelease) -> str:
    return absolute_url(pattern(release) if callable(pattern) else pattern.format(id=release.id), "release URL")


# ---------------------------------------------------------------- templates


_JINJA_TAG = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.DOTALL)


def inline_css(source: str, css: str) -> str:
    """Inline `css` into an HTML template's source, keeping its Jinja tags intact.

    Tags are swapped for placeholders first, because the HTML parser would escape the `>` in
    `{% if a > b %}` and move text found between table rows. So: no Jinja tags between <tr>s.
    """
    tags: list[str] = []

    def hide(m: re.Match[str]) -> str:
        tags.append(m.group(0))
        return f"__jinja{len(tags) - 1}__"

    # Comments go first: a placeholder before <!DOCTYPE> would push <head> into <body>.
    hidden = _JINJA_TAG.sub(hide, re.sub(r"\{#.*?#\}", "", source, flags=re.DOTALL))
    options: dict[str, Any] = {"load_remote_stylesheets": False, "keep_style_tags": False}
    if re.search(r"<html[\s>]", hidden, re.IGNORECASE):
        inlined = css_inline.CSSInliner(extra_css=css, **options).inline(hidden)
    else:
        inlined = css_inline.inline_fragment(hidden, css, **options)
    return re.sub(r"__jinja(\d+)__", lambda m: tags[int(m.group(1))], inlined)


class _InliningLoader(jinja2.FileSystemLoader):
    """Loads templates; email HTML gets email/email.css inlined once, at load, not per message."""

    def get_source(self, environment: jinja2.Environment,
                   template: str) -> tuple[str, str, Callable[[], bool]]:
        source, filename, uptodate = super().get_source(environment, template)
        if template.startswith("email/") and template.endswith(".html"):
            css, _, _ = super().get_source(environment, "email/email.css")
            source = inline_css(source, css)
        return source, filename, uptodate


@functools.lru_cache(maxsize=32)
def _environment(templates_dir: str, locale: str) -> jinja2.Environment:
    # One environment per language: its gettext is the catalogue's, so an email's words are its
    # subscriber's (issue 17 item 2), and the shared sections are cached per language too.
    env = jinja2.Environment(
        loader=_InliningLoader(templates_dir),
        extensions=["jinja2.ext.i18n"],
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=False,  # no stat() per message; templates change with a deploy
    )
    env.install_gettext_translations(translations(locale), newstyle=True)  # type: ignore[attr-defined]
    # What a digest shows of a release and of its run, in the email's language (the plan is shared).
    env.globals.update(lang=locale, dir=direction(locale), dateline=functools.partial(_dateline, locale=locale))
    return env


@functools.lru_cache(maxsize=32)
def render_environment(templates_dir: Path | str | None = None, locale: str = DEFAULT_LOCALE) -> jinja2.Environment:
    """The Jinja2 environment for email templates, created once per directory and language."""
    # Cached on the argument too: resolve() costs three lstat() calls, once per digest otherwise.
    return _environment(str(Path(templates_dir or DEFAULT_TEMPLATES_DIR).resolve()), locale)


def _render(env: jinja2.Environment, name: str, context: dict[str, Any]) -> tuple[str, str]:
    return (env.get_template(f"email/{name}.txt").render(context),
            env.get_template(f"email/{name}.html").render(context))


def email_image_size(a: Attachment) -> tuple[int, int] | None:
    """The width and height a picture is drawn at in the digest; None: it is linked, not shown."""
    if a.content_type not in EMAIL_IMAGE_TYPES or a.size > EMAIL_IMAGE_BYTES or not a.width or not a.height:
        return None
    width = min(a.width, EMAIL_IMAGE_WIDTH)
    return width, max(1, round(a.height * width / a.width))


def _media(release: StoredRelease, media_url: Callable[[str, str], str] | None) -> list[tuple[Any, ...]]:
    """(attachment, address, size drawn or None, "PDF, 1.2 MB") of each thing a release carries."""
    if media_url is None:
        return []
    return [(a, absolute_url(media_url(a.sha256, a.name), "media URL"), email_image_size(a), file_label(a))
            for a in release.attachments]


@functools.lru_cache(maxsize=64)
def _render_sections(env: jinja2.Environment, sections: tuple[DigestSection, ...],
                     release_url: str | Callable[[StoredRelease], str],
                     media_url: Callable[[str, str], str] | None = None) -> tuple[str, Markup]:
    # Subscribers of the same topics get equal sections: rendering them once per run rather than
    # per subscriber halves the cost of a digest. Pass the same release_url for the whole run.
    context = {"sections": [(s, [(i, _release_url(release_url, i.release), _email_body(env, i.release.body_html),
                                  _media(i.release, media_url))
                                 for i in s.items]) for s in sections]}
    text, html = _render(env, "_digest_sections", context)
    return text, Markup(html)


@functools.lru_cache(maxsize=1024)
def _email_body(env: jinja2.Environment, body_html: str | None) -> Markup | None:
    """A Markdown release's body for the HTML part, email.css inlined into it; None for other releases.

    body_html was sanitised when the Markdown was parsed (nh3, an allow-list), so it is Markup. Its
    styles are inlined here, not at template load like the rest, since it is data; the wrapper is part
    of the fragment, so `.release-body p` matches. Cached: a release is in many subscribers' digests.
    """
    if not body_html:
        return None
    css = _email_css(env)
    fragment = f'<div class="release-body" dir="auto">{body_html}</div>'
    return Markup(css_inline.inline_fragment(fragment, css, load_remote_stylesheets=False, keep_style_tags=False))


@functools.lru_cache(maxsize=8)
def _email_css(env: jinja2.Environment) -> str:
    if env.loader is None:
        raise ValueError("the email environment has no template loader")
    return env.loader.get_source(env, "email/email.css")[0]


# ---------------------------------------------------------------- the two emails


def _common(settings: MailSettings, email: str) -> dict[str, str]:
    return {"list_name": settings.list_name, "organisation": one_line(settings.organisation),
            "postal_address": one_line(settings.postal_address or ""), "email": one_line(email)}


def digest_subject(list_name: str, period_label: str, count: int, locale: str = DEFAULT_LOCALE) -> str:
    """E.g. "Press releases — week of 16 November 2026 (5 new)"."""
    new = translations(locale).ngettext("(%(num)d new)", "(%(num)d new)", count) % {"num": count}
    return one_line(f"{list_name} — {period_label} {new}")


def render_digest(subscriber: Subscriber, sections: Sequence[DigestSection], *, period_label: str,
                  links: DigestLinks, settings: MailSettings, now: dt.datetime, run_id: int | str,
                  message_id: str | None = None, templates_dir: Path | str | None = None) -> EmailMessage:
    """The digest email (text and HTML alternatives) for one subscriber.

    `message_id`: the one an earlier attempt carried (a resend keeps it); else a new one.
    """
    if not sections:
        raise ValueError("an empty digest is not sent: check plan_digest's result first")
    unsubscribe_url = absolute_url(links.unsubscribe_url, "unsubscribe_url")
    count = sum(len(s.items) for s in sections)
    locale = subscriber.locale or settings.locale
    env = render_environment(templates_dir, locale)
    sections_text, sections_html = _render_sections(env, tuple(sections), links.release_url, links.media_url)
    context = {
        "sections_text": sections_text,
        "sections_html": sections_html,
        "count": count,
        "period_label": one_line(localized_period(period_label, locale)),
        **_common(settings, subscriber.email),
        "frequency": subscriber.frequency,
        "unsubscribe_url": unsubscribe_url,
        "preferences_url": absolute_url(links.preferences_url, "preferences_url"),
        "archive_url": absolute_url(links.archive_url, "archive_url"),
        "base_url": absolute_url(links.base_url, "base_url"),
        "preheader": "; ".join(item.title for s in sections for item in s.items[:3])[:150],
    }
    text, html = _render(env, "digest", context)
    msg = new_message(mail_from=settings.mail_from, reply_to=settings.reply_to, to=subscriber.email, now=now,
                      subject=digest_subject(settings.list_name, localized_period(period_label, locale), count, locale),
                      idstring=f"digest.{run_id}.{subscriber.id}", message_id=message_id)
    msg["List-Id"] = header("List-Id", one_line(settings.list_id))
    # RFC 8058: an https URL in List-Unsubscribe plus this exact -Post value lets Gmail and Yahoo
    # offer one-click unsubscribe (required of bulk senders since 2024).
    msg["List-Unsubscribe"] = verbatim("List-Unsubscribe", f"<{unsubscribe_url}>")
    msg["List-Unsubscribe-Post"] = verbatim("List-Unsubscribe-Post", "List-Unsubscribe=One-Click")
    set_alternatives(msg, text, html, (sections_text, str(sections_html)))
    return msg


def _duration(delta: dt.timedelta, locale: str = DEFAULT_LOCALE) -> str:
    hours = int(delta.total_seconds() // 3600)
    t = translations(locale)
    if hours >= 48 and hours % 24 == 0:
        return t.ngettext("%(num)d day", "%(num)d days", hours // 24) % {"num": hours // 24}
    return t.ngettext("%(num)d hour", "%(num)d hours", hours) % {"num": hours}


def render_confirmation(email: str, *, confirm_url: str, settings: MailSettings, now: dt.datetime,
                        expires_in: dt.timedelta = dt.timedelta(days=2),
                        templates_dir: Path | str | None = None, locale: str | None = None) -> EmailMessage:
    """The double opt-in email carrying the signed confirmation link, in `locale` (the subscriber's)."""
    locale = locale or settings.locale
    subject = translations(locale).gettext("Confirm your subscription to %(list)s") % {"list": settings.list_name}
    context = {
        "confirm_url": absolute_url(confirm_url, "confirm_url"),
        "expires_in": _duration(expires_in, locale),
        **_common(settings, email),
        "preheader": subject,
    }
    text, html = _render(render_environment(templates_dir, locale), "confirm", context)
    msg = new_message(mail_from=settings.mail_from, reply_to=settings.reply_to, to=email, now=now,
                      subject=subject, idstring="confirm")
    # RFC 3834: marks it machine-sent so auto-responders stay quiet.
    msg["Auto-Submitted"] = "auto-generated"
    set_alternatives(msg, text, html)
    return msg
