"""Every public page through axe-core in Debian's chromium (issue 17 item 6): at a laptop's and a
phone's width, in the light and the dark colour scheme, no serious or critical violation, and no
page wider than a phone.

axe-playwright-python carries axe.min.js in its wheel: nothing is fetched while the test runs.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest

from feedsvc.cli import make_ingester
from feedsvc.clock import SYSTEM_CLOCK
from feedsvc.config import load_settings
from feedsvc.services import build_services
from feedsvc.storage import Storage

# chromium and served are test_browser's fixtures, imported so pytest finds them here too (hence F811 below).
from tests.conftest import skip_or_fail
from tests.test_browser import ADMIN_TOKEN, HEALTH, LATER, LISTING, chromium, mail_to, send_digests, served, text_of  # noqa: F401

pytestmark = pytest.mark.browser

WIDTHS = {"1280": {"width": 1280, "height": 800}, "390": {"width": 390, "height": 844}}
SCHEMES = ("light", "dark")
BLOCKING = ("serious", "critical")
READER = "axe-reader@example.org"
PENDING = "axe-pending@example.org"
GONE = """Press Releases

Statement Withdrawn After Review

Ankara – This statement was published in error and is withdrawn.
"""


# The office's face as one would configure it: the screenshots show the header with its logo.
LOGO = (b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 48 48"><circle cx="24" cy="24" r="23" fill="#0a4a7a"/>'
        b'<g fill="none" stroke="#ffffff" stroke-width="2.5"><circle cx="24" cy="24" r="14"/>'
        b'<ellipse cx="24" cy="24" rx="6" ry="14"/><path d="M10 24h28M13 17h22M13 31h22"/></g></svg>')


@pytest.fixture
def env(env: dict[str, str], content_dir: Path) -> dict[str, str]:
    (content_dir / "logo.svg").write_bytes(LOGO)
    return env | {"FEEDSVC_SITE_NAME": "IOM Türkiye", "FEEDSVC_LOGO": "logo.svg", "FEEDSVC_ACCENT": "#0a4a7a"}


@pytest.fixture
def db_kind() -> str:
    return "sqlite"  # one database is enough for a browser test


@pytest.fixture
def axe() -> Any:
    try:
        from axe_playwright_python.sync_playwright import Axe
    except ImportError:
        skip_or_fail("axe-playwright-python is not installed (pip install -e '.[test]')")
    return Axe()


def public_pages(env: dict[str, str], storage: Storage, content_dir: Path, smtp_server: Any) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """name → path of every kind of public page, each with real content behind it."""
    settings = load_settings(env)
    (content_dir / "browser.txt").write_text(LISTING, encoding="utf-8")
    (content_dir / "gone.txt").write_text(GONE, encoding="utf-8")
    make_ingester(settings, storage).scan()
    (gone,) = [r for r in storage.list_releases(limit=500) if r.title.startswith("Statement Withdrawn")]
    (content_dir / "gone.txt").unlink()
    (content_dir / "browser.txt").write_text(LISTING.replace("began vaccination visits",
                                                             "began door-to-door vaccination visits"))
    make_ingester(settings, storage).scan()
    (health,) = [r for r in storage.list_releases(limit=500) if r.title == HEALTH]

    services = build_services(settings, SYSTEM_CLOCK, storage=storage)
    storage.subscribe(PENDING, ("health",), "weekly", dt.datetime.now(dt.UTC))
    assert services.confirmations().send_queued().sent == 1
    (confirm_url,) = set(re.findall(r"https?://\S+/confirm/[\w.-]+", text_of(mail_to(smtp_server, PENDING)[0])))
    storage.add_confirmed(READER, ("health",), "weekly", dt.datetime.now(dt.UTC) - dt.timedelta(days=1))
    sub = storage.get_subscriber_by_email(READER)
    assert sub is not None
    (content_dir / "later.txt").write_text(LATER, encoding="utf-8")
    send_digests(env, storage)
    (digest,) = mail_to(smtp_server, READER)
    (archive_url,) = set(re.findall(r"https?://\S+/digests/[\w.-]+", text_of(digest)))
    base = env["FEEDSVC_BASE_URL"]
    return {
        "home": "/", "home page 2": "/?page=2" if storage.count_releases() > 30 else "/",
        "topic": "/topics/health", "release": f"/releases/{health.id}",
        "release history": f"/releases/{health.id}/history", "withdrawn (410)": f"/releases/{gone.id}",
        "search with results": "/search?q=health", "search without": "/search?q=zzzzqqq",
        "subscribe": "/subscribe", "confirm": confirm_url.removeprefix(base),
        "preferences": services.links.preferences(sub.id, sub.email).removeprefix(base),
        "unsubscribe": services.links.unsubscribe(sub.id, sub.email).removeprefix(base),
        "digest in the browser": archive_url.removeprefix(base), "not found (404)": "/releases/no-such-release",
        "admin login": "/admin/login",
    }


def blocking(results: Any) -> list[str]:
    return [f"{v['id']} ({v['impact']}): {v['help']} — " + "; ".join(n["target"][0] for n in v["nodes"][:3])
            for v in results.response["violations"] if v["impact"] in BLOCKING]


def test_every_public_page_passes_axe_at_both_widths_in_both_schemes(  # type: ignore[no-untyped-def]
        chromium, served, storage, content_dir, smtp_server, axe, tmp_path) -> None:  # noqa: F811
    _, browser = chromium
    base = served["FEEDSVC_BASE_URL"]
    pages = public_pages(served, storage, content_dir, smtp_server)
    found: dict[str, list[str]] = {}
    minor: set[str] = set()
    for width, viewport in WIDTHS.items():
        for scheme in SCHEMES:
            context = browser.new_context(viewport=viewport, color_scheme=scheme)
            page = context.new_page()
            visits = list(pages.items())
            for name, path in visits:
                response = page.goto(base + path)
                assert response is not None
                expected = {"withdrawn (410)": 410, "not found (404)": 404}.get(name, 200)
                assert response.status == expected, (name, response.status)
                results = axe.run(page)
                found[f"{name} at {width}px, {scheme}"] = blocking(results)
                minor |= {f"{v['id']} ({v['impact']})" for v in results.response["violations"]}
                if width == "390":
                    scroll = page.evaluate("document.scrollingElement.scrollWidth")
                    assert scroll <= 390, f"{name} scrolls sideways at 390px, {scheme}: {scroll}px wide"
                if name in ("home", "release"):
                    page.screenshot(path=str(tmp_path / f"{name}-{width}-{scheme}.png"))  # what opening it shows
                    page.screenshot(path=str(tmp_path / f"{name}-{width}-{scheme}-full.png"), full_page=True)
            # The admin, signed in (its session is this context's).
            page.goto(base + "/admin/login")
            page.get_by_label("Admin token").fill(ADMIN_TOKEN)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url(base + "/admin")
            found[f"admin at {width}px, {scheme}"] = blocking(axe.run(page))
            context.close()
    print(f"\nscreenshots in {tmp_path}; axe's lesser findings: {sorted(minor) or 'none'}")
    failures = {k: v for k, v in found.items() if v}
    assert failures == {}, "\n".join(f"{k}: {v}" for k, v in failures.items())
    assert len(found) == len(WIDTHS) * len(SCHEMES) * (len(pages) + 1)
