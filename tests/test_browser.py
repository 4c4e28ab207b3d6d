"""The reader's whole path in Debian's chromium: sign up, confirm, choose, receive, unsubscribe.

The real app is served by a real WSGI server (werkzeug) in a thread; mail goes to the aiosmtpd
fixture, and the links a reader would click are taken from the messages it received.
"""

from __future__ import annotations

import email
import email.policy
import re
import threading
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from feedsvc.cli import make_ingester
from feedsvc.clock import SYSTEM_CLOCK
from feedsvc.config import load_settings
from feedsvc.runs.postman import Postman
from feedsvc.services import build_services
from feedsvc.storage import Storage
from tests.conftest import skip_or_fail

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
PHONE = {"width": 375, "height": 812}
READER = "reader@example.org"
# A long address with no place to break: the digest's footer quotes it.
OTHER = "office-added.press-desk.regional-coordination-unit@example.org"
ADMIN_TOKEN = "browser-admin-token"

HEALTH = "Mobile Health Teams Start a Vaccination Drive"
BORDERS = "Coast Guard Rescue Off the Aegean Coast"
LISTING = f"""Press Releases

{HEALTH}

Ankara – Mobile health teams began vaccination visits in the district this week: https://www.example.org/health/mobile-teams/vaccination-campaign-2026-district-visits-programme.

{BORDERS}

Çeşme – IOM teams met the people rescued by the coast guard at dawn.
"""
LATER = """Press Releases

Health Screening Reaches Remote Villages

Ankara – Health workers screened two thousand people for tuberculosis in remote villages.
"""


def expect(locator: Any) -> Any:
    """Playwright's retrying assertions: after a click that navigates, the new page may not be there yet."""
    from playwright.sync_api import expect as playwright_expect  # imported late: a machine without it skips
    return playwright_expect(locator)


@pytest.fixture
def db_kind() -> str:
    return "sqlite"  # one database is enough for a browser test


@pytest.fixture
def chromium() -> Iterator[Any]:
    if not CHROMIUM.exists():
        skip_or_fail(f"{CHROMIUM} is not installed (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        skip_or_fail("the playwright package is not installed in this environment")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield p, browser
        finally:
            browser.close()


@pytest.fixture
def served(make_app, env: dict[str, str], mail_env: dict[str, str]) -> Iterator[dict[str, str]]:  # type: ignore[no-untyped-def]
    """The app on 127.0.0.1 and a free port; yields its environment (FEEDSVC_BASE_URL is the server)."""
    from werkzeug.serving import make_server

    holder: dict[str, Any] = {}
    server = make_server("127.0.0.1", 0, lambda environ, start: holder["app"](environ, start), threaded=True)
    env = env | mail_env | {"FEEDSVC_BASE_URL": f"http://127.0.0.1:{server.server_port}",
                            "FEEDSVC_ADMIN_TOKEN": ADMIN_TOKEN}
    holder["app"] = make_app(env)
    thread = threading.Thread(target=server.serve_forever, name="browser-test-web", daemon=True)
    thread.start()
    try:
        yield env
    finally:
        server.shutdown()
        thread.join(timeout=10)


def mail_to(smtp_server, address: str) -> list[EmailMessage]:  # type: ignore[no-untyped-def]
    return [email.message_from_bytes(m.data, policy=email.policy.default)  # type: ignore[misc]
            for m in smtp_server.messages if address in m.rcpt_tos]


def text_of(msg: EmailMessage) -> str:
    return msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]


def html_of(msg: EmailMessage) -> str:
    return msg.get_body(("html",)).get_content()  # type: ignore[union-attr]


def assert_fits(page: Any, what: str) -> None:
    """No sideways scrolling at the context's width (375px: a small phone)."""
    width, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert width <= inner, f"{what} scrolls sideways at {inner}px: {width}px wide"


def send_digests(env: dict[str, str], storage: Storage) -> None:
    make_ingester(load_settings(env), storage).scan()
    postman = Postman(storage, load_settings(env))
    postman.manual_runs()
    postman.send_pending()


def test_sign_up_confirm_choose_receive_unsubscribe(chromium, served, storage, content_dir, smtp_server,
                                                     tmp_path) -> None:  # type: ignore[no-untyped-def]
    p, browser = chromium
    env, base = served, served["FEEDSVC_BASE_URL"]
    make_ingester(load_settings(env), storage).scan()  # the samples: not sent to anyone
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()

    # Home page → "more options" → the full form, at phone width.
    page.goto(base + "/")
    expect(page.get_by_role("heading", name="Press releases")).to_be_visible()
    assert_fits(page, "the home page")
    page.get_by_role("link", name="more options").click()
    page.wait_for_url(base + "/subscribe")
    page.screenshot(path=str(tmp_path / "subscribe-375.png"), full_page=True)
    assert_fits(page, "the subscribe page")
    page.get_by_label("Email address").fill(READER)
    page.get_by_label("Borders and emergencies").check()
    page.get_by_label("Health and COVID-19").check()
    page.get_by_label("Weekly").check()
    page.get_by_role("button", name="Subscribe").click()
    expect(page.get_by_role("heading", name="Check your inbox")).to_be_visible()
    assert_fits(page, "the answer to a sign-up")
    assert storage.get_subscriber_by_email(READER).state == "pending"

    # The sign-up queued its confirmation email; the sender a deploy runs sends it; its link confirms.
    assert mail_to(smtp_server, READER) == []
    assert build_services(load_settings(env), SYSTEM_CLOCK, storage=storage).confirmations().send_queued().sent == 1
    (confirmation,) = mail_to(smtp_server, READER)
    assert "Confirm" in str(confirmation["Subject"])
    page.set_content(html_of(confirmation))
    assert_fits(page, "the confirmation email")
    (confirm_url,) = set(re.findall(r"https?://\S+/confirm/[\w.-]+", text_of(confirmation)))
    assert confirm_url.startswith(base)
    page.goto(confirm_url)  # opening the link (as a mail scanner does) only shows a button
    assert storage.get_subscriber_by_email(READER).state == "pending"
    page.get_by_role("button", name="Confirm subscription").click()
    expect(page.get_by_role("heading", name="Subscription confirmed")).to_be_visible()
    assert_fits(page, "the confirmed page")
    sub = storage.get_subscriber_by_email(READER)
    assert (sub.state, sub.topics, sub.frequency) == ("confirmed", ("borders-and-emergencies", "health"), "weekly")

    # Preferences: borders out, livelihoods in, daily.
    page.get_by_role("link", name="Manage your subscription").click()
    expect(page.get_by_role("heading", name="Your subscription")).to_be_visible()
    assert_fits(page, "the preferences page")
    expect(page.get_by_label("Borders and emergencies")).to_be_checked()
    page.get_by_label("Borders and emergencies").uncheck()
    page.get_by_label("Livelihoods and jobs").check()
    page.get_by_label("Daily").check()
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_be_visible()
    sub = storage.get_subscriber_by_email(READER)
    assert (sub.topics, sub.frequency) == (("health", "livelihoods"), "daily")

    # A health release and a borders one: the digest carries only the health one.
    storage.add_confirmed(OTHER, (), "weekly", sub.confirmed_at)  # a second reader, for the visible link
    (content_dir / "new.txt").write_text(LISTING, encoding="utf-8")
    send_digests(env, storage)
    (digest,) = mail_to(smtp_server, READER)[1:]
    assert HEALTH in text_of(digest) and BORDERS not in text_of(digest)
    assert HEALTH in html_of(digest) and BORDERS not in html_of(digest)
    assert "(1 new)" in str(digest["Subject"])
    (other_digest,) = mail_to(smtp_server, OTHER)
    assert HEALTH in text_of(other_digest) and BORDERS in text_of(other_digest)
    page.set_content(html_of(other_digest))
    assert_fits(page, "a digest quoting a long address")

    # The digest's HTML at phone width: no sideways scrolling.
    page.set_content(html_of(digest))
    page.screenshot(path=str(tmp_path / "digest-375.png"), full_page=True)
    assert_fits(page, "the digest email")
    print(f"\nscreenshots: {tmp_path / 'subscribe-375.png'} {tmp_path / 'digest-375.png'}")

    # The visible link opens a page; opening it (as a link scanner would) changes nothing.
    unsubscribe_url = str(digest["List-Unsubscribe"]).strip("<>")
    assert unsubscribe_url.startswith(base + "/unsubscribe/")
    assert digest["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    page.get_by_role("link", name="Unsubscribe").click()
    page.wait_for_url(unsubscribe_url)
    expect(page.get_by_role("button", name="Unsubscribe")).to_be_visible()
    assert_fits(page, "the unsubscribe page")
    assert storage.get_subscriber_by_email(READER).state == "confirmed"

    # RFC 8058 one-click, as Gmail does it: a POST with no cookies and no CSRF token.
    gmail = p.request.new_context()
    try:
        answer = gmail.post(unsubscribe_url, data="List-Unsubscribe=One-Click",
                            headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert answer.status == 200, answer.text()
    finally:
        gmail.dispose()
    assert storage.get_subscriber_by_email(READER).state == "unsubscribed"
    page.reload()
    expect(page.get_by_text("is not subscribed")).to_be_visible()

    # The other reader clicks the visible link in their digest, then the page's button.
    page.set_content(html_of(other_digest))
    page.get_by_role("link", name="Unsubscribe").click()
    page.wait_for_url(re.compile(re.escape(base) + r"/unsubscribe/"))
    assert storage.get_subscriber_by_email(OTHER).state == "confirmed"
    page.get_by_role("button", name="Unsubscribe").click()
    expect(page.get_by_role("heading", name="Unsubscribed")).to_be_visible()
    assert storage.get_subscriber_by_email(OTHER).state == "unsubscribed"

    # A new release and another run: nothing more for either.
    received = len(smtp_server.messages)
    (content_dir / "later.txt").write_text(LATER, encoding="utf-8")
    send_digests(env, storage)
    assert len(smtp_server.messages) == received
    assert len(mail_to(smtp_server, READER)) == 2 and len(mail_to(smtp_server, OTHER)) == 1
    context.close()


def test_a_corrected_release_shows_its_history_on_a_phone(chromium, served, storage, content_dir,  # type: ignore[no-untyped-def]
                                                          tmp_path) -> None:
    listing = content_dir / "browser.txt"
    listing.write_text(LISTING, encoding="utf-8")
    make_ingester(load_settings(served), storage).scan()
    listing.write_text(LISTING.replace("began vaccination visits", "began door-to-door vaccination visits")
                       .replace("https://www.example.org/health/mobile-teams/vaccination-campaign-2026-district-visits-programme",
                                "https://www.example.org/health/mobile-teams/vaccination-campaign-2026-district-visits-programme-corrected"),
                       encoding="utf-8")
    make_ingester(load_settings(served), storage).scan()
    (release,) = [r for r in storage.list_releases() if r.title == HEALTH]
    _, browser = chromium
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    page.goto(f"{served['FEEDSVC_BASE_URL']}/releases/{release.id}")
    assert page.locator("p.updated").inner_text().startswith("Updated on ")
    page.click("text=See what changed")
    page.wait_for_url(f"**/releases/{release.id}/history")
    assert page.locator("ol.versions > li h2").all_inner_texts()[0].startswith("Version 2, seen on ")
    assert page.locator("ol.versions > li").first.locator("ins").all_inner_texts()[0] == "door-to-door"
    expect(page.locator("del").first).to_be_visible()
    assert_fits(page, "the history page")
    page.screenshot(path=str(tmp_path / "history.png"), full_page=True)
    context.close()


HOSTILE_TITLE = "Border Update <script>alert(1)</script> & Friends"


def test_a_feed_opened_in_the_browser_is_a_readable_page_that_says_how_to_subscribe(  # type: ignore[no-untyped-def]
        chromium, served, storage, content_dir, tmp_path) -> None:
    (content_dir / "browser.txt").write_text(LISTING, encoding="utf-8")
    (content_dir / "hostile.txt").write_text(
        f"{HOSTILE_TITLE}\n\nAnkara – Migrants & refugees crossed the border; <b>bold</b> text.\n", encoding="utf-8")
    make_ingester(load_settings(served), storage).scan()
    base = served["FEEDSVC_BASE_URL"]
    _, browser = chromium
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    for path in ("/feeds/all.atom", "/feeds/all.rss"):
        response = page.goto(base + path)
        assert response is not None and response.status == 200
        # A page load gets the page the feed's XSL makes, made by the server (web/feedserver.py):
        # its title, how to subscribe, and its entries as links; no XSLT left to the browser.
        assert response.headers["content-type"] == "text/html; charset=utf-8"
        expect(page.get_by_role("heading", name="IOM Turkey: all press releases")).to_be_visible()
        expect(page.get_by_role("heading", name="This is a news feed: follow it in a feed reader")).to_be_visible()
        assert page.locator("code").inner_text() == base + path  # the address to copy into a reader
        expect(page.get_by_text("Prefer email?")).to_be_visible()
        for title in (HEALTH, BORDERS, HOSTILE_TITLE):
            link = page.get_by_role("link", name=title, exact=True)
            assert link.is_visible(), (path, title)
        assert page.locator("ul.entries > li").count() == storage.count_releases()
        assert page.locator("script").count() == 0 and dialogs == []  # the release's markup stayed text
        assert_fits(page, f"the page of {path}")
        page.screenshot(path=str(tmp_path / f"feed-{path.rsplit('.', 1)[1]}.png"))  # what opening it shows
        # Its link to the site leads where email subscriptions are made.
        page.get_by_role("link", name="the website’s page for these press releases").click()
        page.wait_for_url(base + "/")
        expect(page.get_by_role("button", name="Get the weekly email")).to_be_visible()
    print(f"\nscreenshots: {tmp_path / 'feed-atom.png'} {tmp_path / 'feed-rss.png'}")
    context.close()


def test_the_sign_up_form_sends_the_browsers_time_zone(chromium, served, storage) -> None:  # type: ignore[no-untyped-def]
    """Issue 16 item 5: the reader's digests come at 08:00 where their browser says they are."""
    _, browser = chromium
    base = served["FEEDSVC_BASE_URL"]
    for zone, address, start in (("Asia/Tokyo", "tokyo@example.org", "/subscribe"),
                                 ("Europe/Istanbul", "istanbul@example.org", "/")):
        context = browser.new_context(viewport=PHONE, timezone_id=zone)
        page = context.new_page()
        page.goto(base + start)
        # Filled by /time-zone.js (deferred): wait for that exact event, not for a while; deferred
        # scripts (/subscribe-form.js too) have all run once the document is complete.
        page.wait_for_function("document.readyState === 'complete'"
                               " && document.querySelector('input[name=time_zone]').value !== ''")
        if start == "/subscribe":
            page.get_by_label("Email address").fill(address)
            page.get_by_label("Daily").check()
            page.get_by_role("button", name="Subscribe").click()
        else:  # the short form on the home page: a kept page, its token fetched on submit
            page.get_by_role("textbox", name="Email address").fill(address)
            page.get_by_role("button", name="Get the weekly email").click()
        page.get_by_role("heading", name="Check your inbox").wait_for()
        sub = storage.get_subscriber_by_email(address)
        assert sub is not None and sub.time_zone == zone
        context.close()
