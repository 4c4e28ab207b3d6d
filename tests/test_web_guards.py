"""Guards against hostile clients and unsafe starts (issue 14.3, 15.4): admin token throttling shared
by every web process, secret keys, redirects that stay home, SMTP_URL checked at start-up."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from feedsvc import create_app
from feedsvc.app import create_app as create_app_with
from feedsvc.config import load_settings
from feedsvc.model import ConfigError
from feedsvc.services import build_services

TOKEN = "correct horse battery staple"
BASE = "https://press.example.org"


@pytest.fixture
def env(env: dict[str, str]) -> dict[str, str]:
    return env | {"FEEDSVC_ADMIN_TOKEN": TOKEN, "FEEDSVC_BASE_URL": BASE}


@pytest.fixture
def web_processes(env, clock, storage):  # type: ignore[no-untyped-def]
    """Two apps, each with its own Storage (its own pool), as two web processes, on the test's clock."""
    apps = []
    for _ in range(2):
        services = build_services(load_settings(env), clock)
        apps.append(create_app_with(services=services))
    yield apps
    for app in apps:
        app.extensions["feedsvc"].storage.close()


def bearer(token: str, client_ip: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "X-Forwarded-For": client_ip}


def test_wrong_bearer_tokens_are_throttled_per_client_across_processes(web_processes, clock, caplog) -> None:  # type: ignore[no-untyped-def]
    one, two = (app.test_client() for app in web_processes)
    caplog.set_level(logging.WARNING, logger="feedsvc.admin")
    for _ in range(5):
        assert one.get("/admin", headers=bearer("guess", "203.0.113.7")).status_code == 401
    # The other process knows: the sixth attempt is refused before the token is even compared.
    refused = two.get("/admin", headers=bearer(TOKEN, "203.0.113.7"))
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "900"
    assert "Too many wrong admin tokens" in refused.get_data(as_text=True)
    # Another client is not punished for it.
    assert two.get("/admin", headers=bearer(TOKEN, "198.51.100.2")).status_code == 200
    clock.advance(minutes=5)
    assert one.get("/admin", headers=bearer(TOKEN, "203.0.113.7")).headers["Retry-After"] == "600"
    clock.advance(minutes=10)  # the window has closed
    assert one.get("/admin", headers=bearer(TOKEN, "203.0.113.7")).status_code == 200
    assert one.get("/admin", headers=bearer("guess", "203.0.113.7")).status_code == 401  # counting anew

    logged = [r.getMessage() for r in caplog.records]
    assert "admin: wrong token by bearer header from '203.0.113.7' (5 of 5 allowed in 15 minutes)" in logged
    assert any(m.startswith("admin: refused '203.0.113.7' (GET /admin): 5 wrong tokens, throttled for 900")
               for m in logged)
    assert "admin: wrong token by bearer header from '203.0.113.7' (1 of 5 allowed in 15 minutes)" in logged


def test_wrong_login_form_tokens_are_throttled(web_processes) -> None:  # type: ignore[no-untyped-def]
    client = web_processes[0].test_client()
    ip = {"X-Forwarded-For": "192.0.2.50"}
    page = client.get("/admin/login", headers=ip).get_data(as_text=True)
    csrf = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    for _ in range(5):
        assert client.post("/admin/login", data={"token": "guess", "csrf_token": csrf}, headers=ip).status_code == 403
    resp = client.post("/admin/login", data={"token": TOKEN, "csrf_token": csrf}, headers=ip)
    assert resp.status_code == 429 and resp.headers["Retry-After"] == "900"
    assert client.get("/admin", headers=ip).status_code == 302  # not logged in
    # The login page itself still shows (only attempts are refused), and bearer attempts share the count.
    assert client.get("/admin/login", headers=ip).status_code == 200
    assert client.get("/admin", headers=bearer(TOKEN, "192.0.2.50")).status_code == 429


def test_production_refuses_a_short_secret_key(env: dict[str, str]) -> None:
    with pytest.raises(ConfigError) as caught:
        create_app(env | {"SECRET_KEY": "x" * 31})
    assert str(caught.value) == ("SECRET_KEY has 31 characters: production needs at least 32 (make one with: "
                                 "python -c 'import secrets; print(secrets.token_urlsafe(48))')")
    app = create_app(env | {"SECRET_KEY": "x" * 32})
    app.extensions["feedsvc"].storage.close()


def test_debug_without_a_secret_key_gets_a_random_one_each_start(env: dict[str, str],
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    bare = {k: v for k, v in env.items() if k != "SECRET_KEY"} | {"FEEDSVC_DEBUG": "1"}
    monkeypatch.delenv("SECRET_KEY", raising=False)  # create_app reads the process's too
    apps = [create_app(bare) for _ in range(2)]
    keys = [app.config["SECRET_KEY"] for app in apps]
    assert keys[0] != keys[1] and all(len(k) >= 32 for k in keys)
    assert "debug-only-not-secret" not in keys
    # A session signed by one start is worth nothing to the next.
    one, two = (app.test_client() for app in apps)
    with one.session_transaction() as session:
        session["admin"] = True
    cookie = one.get_cookie("session")
    assert cookie is not None
    two.set_cookie("session", cookie.value)
    with two.session_transaction() as session:
        assert "admin" not in session
    for app in apps:
        app.extensions["feedsvc"].storage.close()


@pytest.mark.parametrize("path", ["//feeds.opml", "/topics//borders-and-emergencies", "//admin", "/admin",
                                  "/admin/login//", "//evil.example/%2e%2e"])
def test_redirects_never_leave_the_base_urls_host(env, storage, make_app, path: str) -> None:  # type: ignore[no-untyped-def]
    client = make_app(env).test_client()
    for headers in ({"Host": "evil.example"}, {"X-Forwarded-Host": "evil.example"},
                    {"Host": "evil.example", "X-Forwarded-Host": "evil2.example", "X-Forwarded-Proto": "http"}):
        resp = client.get(path, headers=headers)
        location = resp.headers.get("Location")
        if location is None:
            continue
        parts = urlsplit(location)
        assert (parts.scheme, parts.netloc) in (("", ""), ("https", "press.example.org")), (path, headers, location)
        assert not location.startswith(("//", "/\\")), location


def test_merged_slashes_redirect_to_the_base_url(env, storage, make_app) -> None:  # type: ignore[no-untyped-def]
    client = make_app(env).test_client()
    resp = client.get("/topics//borders-and-emergencies", headers={"X-Forwarded-Host": "evil.example"})
    assert resp.status_code == 308
    assert resp.headers["Location"] == f"{BASE}/topics/borders-and-emergencies"


@pytest.mark.parametrize(("url", "reason"), [
    ("http://typo.example", "unknown scheme 'http'"),
    ("smtp://", "no host"),
    ("smtps://user:hunter2@:465", "no host"),
    ("mailto:ops@example.org", "unknown scheme 'mailto'"),
])
def test_an_smtp_url_that_cannot_send_stops_start_up(env: dict[str, str], url: str, reason: str) -> None:
    with pytest.raises(ConfigError) as caught:
        create_app(env | {"SMTP_URL": url})
    message = str(caught.value)
    assert message.startswith(f"SMTP_URL is invalid: {reason} (expected smtp://")
    assert "\n" not in message and "hunter2" not in message


def test_gunicorn_style_start_with_a_bad_smtp_url_prints_one_line(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FEEDSVC_", "SECRET_KEY", "DATABASE_URL", "SMTP_URL"))}
    env.update(FEEDSVC_INSTANCE_DIR=str(tmp_path), SMTP_URL="http://typo.example")
    out = subprocess.run([sys.executable, "-c", "import feedsvc; feedsvc.create_app()"], env=env,
                         capture_output=True, text=True, timeout=60, check=False)
    assert out.returncode == 4
    assert out.stderr.strip().splitlines() == [
        ("feedsvc: configuration: SMTP_URL is invalid: unknown scheme 'http' (expected "
         "smtp://[user:password@]host[:port][?starttls=1], smtp+starttls://… or smtps://…)")]
    cli = subprocess.run([sys.executable, "-m", "feedsvc", "ingest"], env=env, capture_output=True, text=True,
                         timeout=60, check=False)
    assert cli.returncode == 1
    assert cli.stderr.strip().splitlines() == [
        ("Error: configuration: SMTP_URL is invalid: unknown scheme 'http' (expected "
         "smtp://[user:password@]host[:port][?starttls=1], smtp+starttls://… or smtps://…)")]
