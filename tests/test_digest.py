"""feedsvc.digest: what each subscriber gets, and the email it becomes."""

from __future__ import annotations

import binascii
import datetime as dt
import email
import email.policy
import re
import shutil
from email.message import EmailMessage
from email.utils import format_datetime
from html import unescape
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from feedsvc import digest
from feedsvc.digest import (
    DigestLinks,
    DigestSection,
    MailSettings,
    plan_digest,
    render_confirmation,
    render_digest,
    render_environment,
)
from feedsvc.model import StoredRelease
from feedsvc.subscribers import Subscriber
from feedsvc.transport import mime

NOW = dt.datetime(2026, 11, 23, 8, 0, tzinfo=dt.UTC)
TOPICS = {"migration": "Migration", "health": "Health", "climate": "Climate"}
UNSUBSCRIBE = "https://news.example.org/unsubscribe/" + "tok3n_" * 30  # longer than a header line
SETTINGS = MailSettings(mail_from="IOM Turkey <news@example.org>", list_id="Press releases <releases.example.org>",
                        organisation="IOM Turkey", reply_to="press@example.org", postal_address="Ankara, Türkiye")
LINKS = DigestLinks(unsubscribe_url=UNSUBSCRIBE, preferences_url="https://news.example.org/preferences/abc",
                    archive_url="https://news.example.org/digests/42",
                    release_url="https://news.example.org/releases/{id}", base_url="https://news.example.org/")
EXPECTED_HEADERS = {"Subject", "From", "To", "Reply-To", "Date", "Message-ID", "List-Id", "List-Unsubscribe",
                    "List-Unsubscribe-Post", "MIME-Version", "Content-Type"}


def release(n: int, *topics: str, title: str | None = None, hours_ago: int | None = None,
            paragraphs: tuple[str, ...] = ("First paragraph.", "Second."), withdrawn: bool = False) -> StoredRelease:
    at = NOW - dt.timedelta(hours=n if hours_ago is None else hours_ago)
    return StoredRelease(id=f"r{n}", atom_id=f"tag:press.example.org,2026:r{n}", title=title or f"Release {n}",
                         title_inferred=False, location="Ankara", date=dt.date(2026, 11, 16), author=None,
                         section=None, paragraphs=paragraphs, topics=tuple(sorted(topics)), published=at,
                         updated=at, first_seen=at, withdrawn=withdrawn)


def subscriber(*topics: str, email_address: str = "ayse@example.com") -> Subscriber:
    return Subscriber(id=7, email=email_address, topics=topics, frequency="weekly", state="confirmed",
                      created_at=NOW - dt.timedelta(days=30))


def render(sections: list[DigestSection], sub: Subscriber | None = None, **kw: Any) -> EmailMessage:
    args: dict[str, Any] = {"period_label": "week of 16 November 2026", "links": LINKS, "settings": SETTINGS,
                            "now": NOW, "run_id": 42}
    args.update(kw)
    return render_digest(sub or subscriber(), sections, **args)


def reparsed(msg: EmailMessage) -> EmailMessage:
    """The message as a receiving client sees it."""
    return email.message_from_bytes(msg.as_bytes(), policy=email.policy.default)  # type: ignore[return-value]


def bodies(msg: EmailMessage) -> tuple[str, str]:
    got = reparsed(msg)
    text, html = got.get_body(("plain",)), got.get_body(("html",))
    assert text is not None and html is not None
    # Text travels in canonical form, CRLF line ends (RFC 2046 §4.1.1); compare with \n.
    return text.get_content().replace("\r\n", "\n"), html.get_content().replace("\r\n", "\n")


def ids(sections: list[DigestSection]) -> list[tuple[str | None, list[str]]]:
    return [(s.topic, [i.release.id for i in s.items]) for s in sections]


# ---------------------------------------------------------------- planning


def test_topic_subscriber_gets_their_topics_in_taxonomy_order() -> None:
    releases = [release(1, "health"), release(2, "migration"), release(3, "climate"), release(4)]
    sections = plan_digest(subscriber("health", "migration"), releases, TOPICS)
    assert ids(sections) == [("migration", ["r2"]), ("health", ["r1"])]
    assert [s.title for s in sections] == ["Migration", "Health"]


def test_release_in_several_topics_is_listed_once_under_the_first() -> None:
    releases = [release(1, "health", "migration"), release(2, "health")]
    assert ids(plan_digest(subscriber("health", "migration"), releases, TOPICS)) == [
        ("migration", ["r1"]), ("health", ["r2"])]
    # Subscribed only to its second topic: it comes under that one.
    assert ids(plan_digest(subscriber("health"), releases, TOPICS)) == [("health", ["r1", "r2"])]


def test_everything_subscriber_gets_every_topic_then_other_releases() -> None:
    releases = [release(1), release(2, "climate"), release(3, "migration", "climate"), release(4, "retired-topic")]
    sections = plan_digest(subscriber(), releases, TOPICS)
    assert ids(sections) == [("migration", ["r3"]), ("climate", ["r2"]), (None, ["r1", "r4"])]
    assert sections[-1].title == "Other releases"


def test_topic_subscriber_never_gets_unclassified_releases() -> None:
    assert plan_digest(subscriber("health"), [release(1), release(2, "climate")], TOPICS) == []


def test_nothing_new_means_nothing_to_send() -> None:
    assert plan_digest(subscriber(), [], TOPICS) == []
    with pytest.raises(ValueError):
        render([])


def test_withdrawn_and_repeated_releases_are_skipped() -> None:
    releases = [release(1, "health"), release(1, "health"), release(2, "health", withdrawn=True)]
    assert ids(plan_digest(subscriber(), releases, TOPICS)) == [("health", ["r1"])]


def test_subscription_to_a_topic_the_taxonomy_dropped_still_delivers() -> None:
    releases = [release(1, "old-topic"), release(2, "health")]
    sections = plan_digest(subscriber("old-topic", "health"), releases, TOPICS)
    assert ids(sections) == [("health", ["r2"]), ("old-topic", ["r1"])]
    assert sections[1].title == "old-topic"


def test_items_are_newest_first_with_dateline_and_short_summary() -> None:
    long = " ".join(["word"] * 200)
    releases = [release(1, "health", hours_ago=30), release(2, "health", hours_ago=2, paragraphs=(long,))]
    (section,) = plan_digest(subscriber(), releases, TOPICS)
    assert [i.release.id for i in section.items] == ["r2", "r1"]
    item = section.items[0]
    assert item.dateline == "Ankara, 16 November 2026"
    assert item.summary.endswith("word…") and len(item.summary) <= digest.SUMMARY_CHARS + 1


# ---------------------------------------------------------------- headers


def test_headers() -> None:
    sections = plan_digest(subscriber(), [release(n, "health") for n in range(5)], TOPICS)
    msg = render(sections)
    raw = msg.as_bytes()
    got = reparsed(msg)
    assert got["Subject"] == "Press releases — week of 16 November 2026 (5 new)"
    assert got["From"] == "IOM Turkey <news@example.org>"
    assert got["Reply-To"] == "press@example.org"
    assert got["To"] == "ayse@example.com"
    assert got["Date"] == format_datetime(NOW) == "Mon, 23 Nov 2026 08:00:00 +0000"
    assert got["List-Id"] == "Press releases <releases.example.org>"
    # RFC 8058 exact values, and the URL written whole (CPython would RFC 2047-encode a long one).
    assert got["List-Unsubscribe"] == f"<{UNSUBSCRIBE}>"
    assert f"\r\nList-Unsubscribe: <{UNSUBSCRIBE}>\r\n".encode() in raw
    assert b"\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n" in raw
    assert re.fullmatch(r"<[^<>@\s]+\.digest\.42\.7@example\.org>", got["Message-ID"])
    assert render(sections)["Message-ID"] != msg["Message-ID"]


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone"):
        render(plan_digest(subscriber(), [release(1)], TOPICS), now=NOW.replace(tzinfo=None))


def _header_names(raw: bytes) -> list[str]:
    head = raw.split(b"\r\n\r\n", 1)[0].decode("ascii")
    names = []
    for line in head.split("\r\n"):
        if not line[:1].isspace():  # continuation lines start with whitespace
            names.append(line.split(":", 1)[0])
    return names


def test_newlines_and_controls_cannot_inject_headers() -> None:
    evil = "Evil\r\nBcc: victim@example.net\r\n\r\n<b>body</b>\x00\x1b\u2028X"
    settings = MailSettings(mail_from="IOM\r\nBcc: a@evil.example <news@example.org>",
                            list_id="Press\nreleases\r\nX-Evil: 1 <releases.example.org>",
                            organisation="IOM\r\nX-Evil: 1", reply_to="press@example.org\r\nX-Evil: 1")
    sections = plan_digest(subscriber(), [release(1, "health", title=evil)], TOPICS)
    msg = render(sections, settings=settings, period_label="week\r\nBcc: victim@example.net")
    raw = msg.as_bytes()
    assert sorted(_header_names(raw)) == sorted(EXPECTED_HEADERS)
    assert b"\r\nBcc:" not in raw and b"\r\nX-Evil" not in raw
    text, _ = bodies(msg)
    assert "Evil Bcc: victim@example.net <b>body</b> X" in text  # the title, on one line


@pytest.mark.parametrize("address", ["a@example.com\r\nBcc: b@example.net", "a@example.com, b@example.net",
                                     "a@example.com b@example.net", "not an address"])
def test_a_recipient_address_cannot_become_two(address: str) -> None:
    with pytest.raises(ValueError):
        render(plan_digest(subscriber(), [release(1)], TOPICS), sub=subscriber(email_address=address))


@hsettings(max_examples=60, deadline=None)
@given(title=st.text(), label=st.text(), organisation=st.text())
def test_no_text_anywhere_adds_a_header(title: str, label: str, organisation: str) -> None:
    settings = MailSettings(mail_from="News <news@example.org>", list_id="Press releases <releases.example.org>",
                            organisation=organisation, reply_to="press@example.org")
    sections = plan_digest(subscriber(), [release(1, "health", title=title or "x")], TOPICS)
    msg = render(sections, settings=settings, period_label=label)
    assert sorted(_header_names(msg.as_bytes())) == sorted(EXPECTED_HEADERS)


# ---------------------------------------------------------------- bodies


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag == "a":
            self.hrefs.append(dict(attrs).get("href") or "")


def parse_html(html: str) -> _Links:
    parser = _Links()
    parser.feed(html)
    return parser


def test_both_bodies_carry_unsubscribe_preferences_and_archive_links() -> None:
    text, html = bodies(render(plan_digest(subscriber(), [release(1, "health")], TOPICS)))
    for url in (UNSUBSCRIBE, LINKS.preferences_url, LINKS.archive_url, LINKS.base_url,
                "https://news.example.org/releases/r1"):
        assert url in text
        assert url in parse_html(html).hrefs
    assert "Unsubscribe" in text and ">Unsubscribe</a>" in html
    assert "View in your browser" in text and "View in your browser" in html


def test_every_link_is_absolute() -> None:
    releases = [release(n, "health") for n in range(3)]
    links = DigestLinks(UNSUBSCRIBE, LINKS.preferences_url, LINKS.archive_url,
                        lambda r: f"https://news.example.org/r/{r.id}", LINKS.base_url)
    _, html = bodies(render(plan_digest(subscriber(), releases, TOPICS), links=links))
    hrefs = parse_html(html).hrefs
    assert len(hrefs) >= 7 and all(h.startswith("https://news.example.org/") for h in hrefs)
    assert "https://news.example.org/r/r2" in hrefs


@pytest.mark.parametrize("bad", ["/unsubscribe/x", "javascript:alert(1)", "https://x.example/a b",
                                 "https://x.example/a\r\nBcc: x"])
def test_relative_or_unsafe_links_are_refused(bad: str) -> None:
    links = DigestLinks(bad, LINKS.preferences_url, LINKS.archive_url, LINKS.release_url, LINKS.base_url)
    with pytest.raises(ValueError):
        render(plan_digest(subscriber(), [release(1)], TOPICS), links=links)


def test_html_escapes_titles() -> None:
    title = '<script>alert("x")</script> & <img src=x onerror=y>'
    text, html = bodies(render(plan_digest(subscriber(), [release(1, "health", title=title)], TOPICS)))
    assert "<script" not in html and "<img" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &lt;img" in html
    assert title in text  # plain text needs no escaping


def test_css_is_inlined_and_layout_is_one_fluid_column() -> None:
    _, html = bodies(render(plan_digest(subscriber(), [release(1, "health")], TOPICS)))
    assert "<style" not in html
    tags = parse_html(html).tags
    styled = [attrs for _, attrs in tags if attrs.get("class")]
    assert styled and all("style" in attrs for attrs in styled)
    container = next(a for _, a in tags if a.get("class") == "container")
    assert "max-width: 600px" in (container["style"] or "") and "width: 100%" in (container["style"] or "")
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html


def test_multipart_alternative_structure() -> None:
    got = reparsed(render(plan_digest(subscriber(), [release(1, "health")], TOPICS)))
    assert got.get_content_type() == "multipart/alternative"
    parts = list(got.iter_parts())
    assert [p.get_content_type() for p in parts] == ["text/plain", "text/html"]
    assert all(p.get_content_charset() == "utf-8" for p in parts)
    assert all(p["Content-Transfer-Encoding"] == "quoted-printable" for p in parts)


def test_serialised_with_crlf_and_short_lines() -> None:
    raw = render(plan_digest(subscriber(), [release(n, "health", title="Ş" * 120) for n in range(3)],
                             TOPICS)).as_bytes()
    assert raw.count(b"\n") == raw.count(b"\r\n") > 50
    assert raw.count(b"\r") == raw.count(b"\r\n")
    head, body = raw.split(b"\r\n\r\n", 1)
    assert max(len(line) for line in body.split(b"\r\n")) <= 76  # quoted-printable's limit
    assert max(len(line) for line in head.split(b"\r\n")) < 998
    assert raw.isascii()  # 7-bit clean: no 8BITMIME needed


def test_turkish_and_rtl_text_survive() -> None:
    title = "Türkiye'de göç: İstanbul, Şanlıurfa ve Iğdır — مرحبا بالعالم"
    summary = "Gaziantep'te düzenlenen toplantıda ğüşiöç ĞÜŞİÖÇ; שלום עולם"
    sections = plan_digest(subscriber(), [release(1, "health", title=title, paragraphs=(summary,))], TOPICS)
    text, html = bodies(render(sections))
    for body in (text, unescape(html)):
        assert title in body and summary in body
    assert 'dir="auto"' in html and 'lang="en"' in html


def test_text_body_reads_well() -> None:
    sections = plan_digest(subscriber(), [release(1, "health"), release(2)], TOPICS)
    text, _ = bodies(render(sections))
    assert text.startswith("Press releases — week of 16 November 2026\n2 new releases.")
    assert "\nHealth\n======\n\n* Release 1\n  Ankara, 16 November 2026\n  First paragraph.\n" in text
    assert "\nOther releases\n==============\n" in text
    assert "\n-- \n" in text  # signature separator: clients fold the footer away


# ---------------------------------------------------------------- confirmation


def test_confirmation_email() -> None:
    url = "https://news.example.org/confirm/signed.token-123"
    msg = render_confirmation("new@example.com", confirm_url=url, settings=SETTINGS, now=NOW,
                              expires_in=dt.timedelta(hours=48))
    got = reparsed(msg)
    assert got["Subject"] == "Confirm your subscription to Press releases"
    assert got["To"] == "new@example.com" and got["Auto-Submitted"] == "auto-generated"
    assert "List-Unsubscribe" not in got  # nobody is subscribed yet
    text, html = bodies(msg)
    for body in (text, html):
        assert url in body and "expires in 2 days" in body and "ignore this email" in body
    assert url in parse_html(html).hrefs
    assert "<style" not in html and 'class="button"' in html and "style=" in html


# ---------------------------------------------------------------- templates and speed


def test_environment_is_created_once_and_css_inlined_once_per_template(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copytree(digest.DEFAULT_TEMPLATES_DIR, tmp_path / "templates")
    calls: list[str] = []
    real = digest.inline_css
    monkeypatch.setattr(digest, "inline_css", lambda source, css: calls.append(source) or real(source, css))
    env = render_environment(tmp_path / "templates")
    assert render_environment(str(tmp_path / "templates")) is env
    for n in range(5):
        render(plan_digest(subscriber(), [release(n, "health")], TOPICS), templates_dir=tmp_path / "templates")
    assert len(calls) == 3  # _base.html, digest.html, _digest_sections.html: once each


def test_inline_css_keeps_jinja_tags() -> None:
    source = '{# note #}<div class="a">{% if n > 1 %}<a href="{{ url }}">{{ t }}</a>{% endif %}</div>'
    out = digest.inline_css(source, ".a { color: red; }")
    assert out == '<div class="a" style="color: red;">{% if n > 1 %}<a href="{{ url }}">{{ t }}</a>{% endif %}</div>'


@hsettings(max_examples=200, deadline=None)
@given(st.lists(st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\r")),
                min_size=3, max_size=12), st.integers(0, 11), st.integers(0, 11))
def test_quoted_printable_in_pieces_equals_whole(lines: list[str], a: int, b: int) -> None:
    text = "\n".join(lines) + "\n"
    start, end = sorted((a % len(lines), b % len(lines)))
    shared = "".join(line + "\n" for line in lines[start:end + 1])
    whole = binascii.b2a_qp(text.encode()).decode()
    assert mime.qp_encode(text, shared) == whole
    assert binascii.a2b_qp(whole).decode() == text
