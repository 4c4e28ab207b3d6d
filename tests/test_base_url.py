"""Links that work (issue 13 item 3): serve links to the port it listens on, production names its
public address, and tag ids keep the authority of their first ingest whatever the base URL becomes."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import feedparser
import pytest
from click.testing import CliRunner

from feedsvc.app import create_app as create_app_with_services
from feedsvc.cli import main, serve_settings
from feedsvc.config import load_settings
from feedsvc.config_modes import is_loopback
from feedsvc.services import build_services
from feedsvc.storage import Storage
from tests.conftest import process_env


@pytest.fixture
def env(env: dict[str, str]) -> dict[str, str]:
    """No FEEDSVC_BASE_URL: these tests are about the address feedsvc works out without one."""
    return {k: v for k, v in env.items() if k != "FEEDSVC_BASE_URL"} | {"FEEDSVC_FEED_RECHECK": "0"}


def _feed(services) -> feedparser.FeedParserDict:  # type: ignore[no-untyped-def]
    client = create_app_with_services(services=services).test_client()
    return feedparser.parse(client.get("/feeds/all.atom").data)


def test_serve_links_to_the_port_it_listens_on(env: dict[str, str], storage: Storage, clock) -> None:  # type: ignore[no-untyped-def]
    settings = load_settings(env | {"PORT": "8765"})
    assert serve_settings(settings, settings.port).base_url == "http://localhost:8765"
    assert serve_settings(settings, 9001).base_url == "http://localhost:9001"  # --port
    given = load_settings(env | {"PORT": "8765", "FEEDSVC_BASE_URL": "https://news.example.org/"})
    assert serve_settings(given, 8765).base_url == "https://news.example.org"
    # Through the real parts: the feeds serve publishes link to that port.
    services = build_services(serve_settings(settings, 8765), clock, storage=storage)
    services.ingester().scan()
    feed = _feed(services)
    assert feed.entries
    hrefs = [link.href for e in feed.entries for link in e.links] + [link.href for link in feed.feed.links]
    assert all(h.startswith("http://localhost:8765/") for h in hrefs), hrefs


def test_gunicorn_style_start_names_the_missing_base_url(tmp_path: Path) -> None:
    env = process_env({"FEEDSVC_INSTANCE_DIR": str(tmp_path), "SECRET_KEY": "s-padded-to-32-characters-or-more"})
    out = subprocess.run([sys.executable, "-c", "import feedsvc; feedsvc.create_app()"], check=False, env=env,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 4
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("feedsvc: configuration: FEEDSVC_BASE_URL is not set"), lines


def test_scheduler_refuses_to_start_without_base_url(env: dict[str, str]) -> None:
    result = CliRunner().invoke(main, ["scheduler"], env={**env, "FEEDSVC_BASE_URL": None})
    assert result.exit_code == 1
    assert "FEEDSVC_BASE_URL is not set" in result.output
    assert len(result.output.strip().splitlines()) == 1


@pytest.mark.parametrize("base, warned", [
    ("http://press.example.org", True),
    ("http://10.0.0.5:8000", True),
    ("https://press.example.org", False),
    ("http://localhost:8000", False),
    ("http://127.0.0.5:8000", False),
    ("http://[::1]:8000", False),
])
def test_plain_http_off_loopback_warns(env: dict[str, str], make_app, storage: Storage, caplog,  # type: ignore[no-untyped-def]
                                       base: str, warned: bool) -> None:
    with caplog.at_level(logging.WARNING, logger="feedsvc"):
        make_app(env | {"FEEDSVC_BASE_URL": base})
    messages = [r.getMessage() for r in caplog.records if "plain http" in r.getMessage()]
    assert bool(messages) == warned, messages


def test_smtp_without_mail_from_warns(env: dict[str, str], make_app, storage: Storage, caplog) -> None:  # type: ignore[no-untyped-def]
    saved = os.environ.pop("MAIL_FROM", None)
    try:
        base = env | {"FEEDSVC_BASE_URL": "https://press.example.org", "SMTP_URL": "smtp://127.0.0.1:2525"}
        with caplog.at_level(logging.WARNING, logger="feedsvc"):
            make_app(base)
        assert any("MAIL_FROM is not set" in r.getMessage() for r in caplog.records)
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="feedsvc"):
            make_app(base | {"MAIL_FROM": "Press <news@example.org>"})
            make_app({k: v for k, v in base.items() if k != "SMTP_URL"})
        assert not any("MAIL_FROM" in r.getMessage() for r in caplog.records)
    finally:
        if saved is not None:
            os.environ["MAIL_FROM"] = saved


def test_loopback_hosts() -> None:
    assert all(map(is_loopback, ["localhost", "127.0.0.1", "127.1.2.3", "::1", "[::1]"]))
    assert not any(map(is_loopback, ["example.org", "10.0.0.1", "128.0.0.1", "::2"]))


def test_tag_ids_keep_their_first_authority_when_the_base_url_changes(  # type: ignore[no-untyped-def]
        env: dict[str, str], storage: Storage, clock) -> None:
    a = build_services(load_settings(env | {"FEEDSVC_BASE_URL": "https://a.example.org"}), clock, storage=storage)
    a.ingester().scan()
    before = {e.title: e.id for e in _feed(a).entries}
    assert before and all(i.startswith("tag:a.example.org,") for i in before.values())

    # Restart under another address: a rescan, and a file touched so it is read again.
    clock.advance(days=1)
    folder = Path(env["FEEDSVC_CONTENT_DIR"])
    first = min(p for p in folder.iterdir() if p.is_file())
    first.write_bytes(first.read_bytes() + b"\n")
    b = build_services(load_settings(env | {"FEEDSVC_BASE_URL": "https://b.example.org"}), clock, storage=storage)
    b.ingester().scan()
    feed = _feed(b)
    assert {e.title: e.id for e in feed.entries} == before
    assert all(e.link.startswith("https://b.example.org/") for e in feed.entries)
    assert b.settings.tag_authority == "b.example.org"  # new releases would get b's; old ones keep a's
