"""WebSub: a hub link in every feed, a ping per changed feed, and a slow hub never holds up ingest."""

from __future__ import annotations

import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from lxml import etree

from feedsvc.cli import make_ingester
from feedsvc.config import load_settings
from feedsvc.storage import Storage


class Hub:
    """A real HTTP server on loopback playing the hub; `delay` makes it slow."""

    def __init__(self, delay: float = 0.0) -> None:
        self.pings: list[dict[str, str]] = []
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
                body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
                time.sleep(delay)
                hub.pings.append(dict(urllib.parse.parse_qsl(body)))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hub"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def env(db_url: str, content_dir: Path, topics_file: Path, tmp_path: Path) -> dict[str, str]:
    return {"DATABASE_URL": db_url, "SECRET_KEY": "s", "FEEDSVC_CONTENT_DIR": str(content_dir),
            "FEEDSVC_TOPICS": str(topics_file), "FEEDSVC_INSTANCE_DIR": str(tmp_path / "i"),
            "FEEDSVC_BASE_URL": "https://press.example.org"}


def wait_for(predicate, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_feeds_name_the_hub_and_changed_feeds_are_pinged(env, storage: Storage, content_dir: Path,
                                                          make_app) -> None:  # type: ignore[no-untyped-def]
    hub = Hub()
    try:
        env = env | {"FEEDSVC_WEBSUB_HUB": hub.url}
        make_ingester(load_settings(env), storage).scan()
        wait_for(lambda: any(p["hub.url"].endswith("/feeds/all.atom") for p in hub.pings))
        assert all(p["hub.mode"] == "publish" for p in hub.pings)
        body = make_app(env).test_client().get("/feeds/all.atom").data
        links = etree.fromstring(body).findall("{http://www.w3.org/2005/Atom}link")
        assert [l.get("href") for l in links if l.get("rel") == "hub"] == [hub.url]

        # An edit pings the feeds that changed and no others.
        hub.pings.clear()
        path = content_dir / "000_f6e31e41b8e258ab.txt"
        path.write_text(path.read_text(encoding="utf-8").replace("along with", "alongside"), encoding="utf-8")
        make_ingester(load_settings(env), storage).scan()
        wait_for(lambda: any(p["hub.url"].endswith("/feeds/all.atom") for p in hub.pings))
        time.sleep(0.3)
        pinged = {p["hub.url"].rsplit("/", 1)[1] for p in hub.pings}
        assert "all.atom" in pinged and len(pinged) < 2 * 12  # not every feed
    finally:
        hub.close()


def test_a_slow_hub_does_not_hold_up_ingest(env, storage: Storage) -> None:  # type: ignore[no-untyped-def]
    hub = Hub(delay=3.0)
    try:
        start = time.monotonic()
        make_ingester(load_settings(env | {"FEEDSVC_WEBSUB_HUB": hub.url}), storage).scan()
        took = time.monotonic() - start
        assert storage.count_releases() == 23
        assert hub.pings == []  # still waiting on the hub while ingest has long finished
        assert took < 3.0, f"ingest waited for the hub ({took:.1f}s)"
    finally:
        hub.close()
