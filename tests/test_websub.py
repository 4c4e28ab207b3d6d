"""WebSub: a hub link in every feed, a ping per changed feed, and a slow hub never holds up ingest."""

from __future__ import annotations

import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from lxml import etree

from feedsvc.clock import SYSTEM_CLOCK
from feedsvc.config import load_settings
from feedsvc.services import Services, build_services
from feedsvc.storage import Storage


class Hub:
    """A real HTTP server on loopback playing the hub; `hold` keeps every ping unanswered until `release`."""

    def __init__(self, hold: bool = False) -> None:
        self.pings: list[dict[str, str]] = []
        self.waiting = threading.Event()  # a ping arrived and is being held
        self.release = threading.Event()
        if not hold:
            self.release.set()
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
                hub.waiting.set()
                hub.release.wait(30)
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


def services_for(env: dict[str, str], storage: Storage) -> Services:
    return build_services(load_settings(env), SYSTEM_CLOCK, storage=storage)


def test_feeds_name_the_hub_and_changed_feeds_are_pinged(env, storage: Storage, content_dir: Path,
                                                          make_app) -> None:  # type: ignore[no-untyped-def]
    hub = Hub()
    env = env | {"FEEDSVC_WEBSUB_HUB": hub.url}
    services = services_for(env, storage)
    try:
        services.ingester().scan()
        assert services.publisher.flush()  # every ping answered: what the hub got is all it gets
        assert any(p["hub.url"].endswith("/feeds/all.atom") for p in hub.pings)
        assert all(p["hub.mode"] == "publish" for p in hub.pings)
        body = make_app(env).test_client().get("/feeds/all.atom").data
        links = etree.fromstring(body).findall("{http://www.w3.org/2005/Atom}link")
        assert [link.get("href") for link in links if link.get("rel") == "hub"] == [hub.url]

        # An edit pings the feeds that changed and no others.
        hub.pings.clear()
        path = content_dir / "000_f6e31e41b8e258ab.txt"
        path.write_text(path.read_text(encoding="utf-8").replace("along with", "alongside"), encoding="utf-8")
        services.ingester().scan()
        assert services.publisher.flush()
        pinged = {p["hub.url"].rsplit("/", 1)[1] for p in hub.pings}
        assert "all.atom" in pinged and len(pinged) < 2 * 12  # not every feed
    finally:
        services.publisher.close()
        hub.close()


def test_a_slow_hub_does_not_hold_up_ingest(env, storage: Storage) -> None:  # type: ignore[no-untyped-def]
    hub = Hub(hold=True)
    services = services_for(env | {"FEEDSVC_WEBSUB_HUB": hub.url}, storage)
    try:
        services.ingester().scan()  # returns while the hub still holds every ping
        assert storage.count_releases() == 23
        assert hub.pings == []
        assert hub.waiting.wait(10), "the pings never reached the hub"
    finally:
        hub.release.set()
        services.publisher.close()
        hub.close()
    assert hub.pings  # held, not lost: answered once the hub let go
