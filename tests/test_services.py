"""feedsvc.services: one wiring for the web app, every command and the scheduler (issue 12 item 3)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from feedsvc.config import load_settings
from feedsvc.services import build_services


def test_build_services_wires_one_storage_and_one_clock(storage, tmp_path: Path, clock) -> None:  # type: ignore[no-untyped-def]
    settings = load_settings({"DATABASE_URL": "sqlite://", "SECRET_KEY": "s3cret-padded-to-32-characters-or-more",
                              "FEEDSVC_BASE_URL": "https://example.org/press/"}, cwd=tmp_path)
    services = build_services(settings, clock, storage=storage)
    assert services.publisher.storage is storage and services.publisher.clock is clock
    assert services.publisher.links is services.links
    ingester = services.ingester()
    assert ingester.storage is storage and ingester.clock is clock
    postman = services.postman()
    assert postman is services.postman()  # one per process
    assert postman.storage is storage and postman.clock is clock and postman.links is services.links
    assert services.links.home() == "https://example.org/press/"


def test_digests_need_a_secret_key(storage, tmp_path: Path, clock) -> None:  # type: ignore[no-untyped-def]
    from feedsvc.model import ConfigError

    services = build_services(load_settings({"DATABASE_URL": "sqlite://"}, cwd=tmp_path), clock, storage=storage)
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        services.postman()


def test_serve_runs_web_watcher_and_scheduler_on_one_storage(tmp_path: Path, content_dir: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    import werkzeug.serving
    from click.testing import CliRunner

    from feedsvc import cli
    from feedsvc.storage import Storage

    for name in list(os.environ):
        if name.startswith("FEEDSVC_") or name in ("DATABASE_URL", "SECRET_KEY", "SMTP_URL", "PORT"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("FEEDSVC_CONTENT_DIR", str(content_dir))
    monkeypatch.setenv("FEEDSVC_INSTANCE_DIR", str(tmp_path / "instance"))
    monkeypatch.setattr(cli.common, "setup_logging", lambda level: None)  # no handler on CliRunner's stdout

    opened: list[Storage] = []
    real_init = Storage.__init__

    def counting_init(self: Storage, url: str) -> None:
        real_init(self, url)
        opened.append(self)

    served: list[Any] = []
    real_make_server = werkzeug.serving.make_server

    def make_server(host: str, port: int, app: Any, **kw: Any) -> Any:
        served.append(app)
        return real_make_server(host, 0, app, **kw)  # any free port

    monkeypatch.setattr(Storage, "__init__", counting_init)
    monkeypatch.setattr(werkzeug.serving, "make_server", make_server)
    monkeypatch.setattr(cli, "wait_for_signal", lambda: None)  # stop as soon as everything started
    try:
        result = CliRunner().invoke(cli.main, ["serve"])
        assert result.exit_code == 0, result.output
        assert len(opened) == 1, "serve opened more than one Storage"
        assert served[0].extensions["feedsvc"].storage is opened[0]
        assert opened[0].count_releases() > 0  # the first scan went into the same database
    finally:
        for storage in opened:
            storage.close()
