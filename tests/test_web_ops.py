"""What the operator relies on: health, security headers, proxies, admin, refusing to start unsafely."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from feedsvc import create_app
from feedsvc.model import ConfigError
from tests.conftest import process_env
from tests.html_tables import table_rows


@pytest.fixture
def env(env: dict[str, str]) -> dict[str, str]:
    return env | {"FEEDSVC_ADMIN_TOKEN": "correct horse battery staple"}


@pytest.mark.parametrize(("setting", "message"), [("SECRET_KEY", "SECRET_KEY"),
                                                  ("FEEDSVC_BASE_URL", "FEEDSVC_BASE_URL is not set")])
def test_production_refuses_to_start_without(setting: str, message: str, env: dict[str, str],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    bare = {k: v for k, v in env.items() if k != setting}
    monkeypatch.delenv(setting, raising=False)  # create_app reads the process's too
    with pytest.raises(ConfigError, match=message):
        create_app(bare)
    app = create_app(bare | {"FEEDSVC_DEBUG": "1"})  # debug on a laptop is allowed
    app.extensions["feedsvc"].storage.close()


def test_gunicorn_style_start_prints_one_clear_line(tmp_path: Path) -> None:
    env = process_env({"FEEDSVC_INSTANCE_DIR": str(tmp_path)})
    out = subprocess.run([sys.executable, "-c", "import feedsvc; feedsvc.create_app()"], env=env,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 4
    assert out.stderr.strip().splitlines() == [
        "feedsvc: configuration: SECRET_KEY is not set: production refuses to start without it "
        "(`feedsvc serve` keeps a generated one in instance/ for a laptop)"]


def test_healthz_and_security_headers(env: dict[str, str], make_app, storage) -> None:  # type: ignore[no-untyped-def]
    client = make_app(env).test_client()
    resp = client.get("/healthz")
    assert resp.status_code == 200 and resp.json == {"status": "ok"}
    page = client.get("/")
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]
    assert page.headers["Referrer-Policy"]
    assert "Strict-Transport-Security" not in page.headers  # plain http
    https = client.get("/", headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"})
    assert https.headers["Strict-Transport-Security"].startswith("max-age=")


def test_healthz_is_503_when_the_database_is_unreachable(env: dict[str, str], make_app, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    app = make_app(env | {"DATABASE_URL": "postgresql://nobody@127.0.0.1:9/none"})
    resp = app.test_client().get("/healthz")
    assert resp.status_code == 503 and resp.json == {"status": "unavailable", "problems": {
        "database": "while reading the schema revision: cannot reach the database at 127.0.0.1:9: Connection refused"}}


def test_admin_needs_the_token(env: dict[str, str], make_app, storage) -> None:  # type: ignore[no-untyped-def]
    app = make_app(env)
    client = app.test_client()
    assert client.get("/admin").status_code == 302
    assert client.get("/admin", headers={"Authorization": "Bearer wrong"}).status_code == 401
    ok = client.get("/admin", headers={"Authorization": "Bearer correct horse battery staple"})
    assert ok.status_code == 200 and b"Ingest errors" in ok.data and b"Subscribers" in ok.data

    # The login form is CSRF-protected and checks the token.
    assert client.post("/admin/login", data={"token": "correct horse battery staple"}).status_code == 400
    page = client.get("/admin/login").get_data(as_text=True)
    csrf = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    assert client.post("/admin/login", data={"token": "nope", "csrf_token": csrf}).status_code == 403
    assert client.post("/admin/login", data={"token": "correct horse battery staple",
                                             "csrf_token": csrf}).status_code == 302
    assert client.get("/admin").status_code == 200


def test_admin_shows_the_warnings_of_repaired_files(env: dict[str, str], make_app, storage,  # type: ignore[no-untyped-def]
                                                    content_dir: Path) -> None:
    from feedsvc.cli import make_ingester
    from feedsvc.config import load_settings

    data = "Border Update\n\nAnkara – Migrants <crossed> the border.\n".encode().replace(b"<", b"\xff")
    (content_dir / "stray.txt").write_bytes(data)
    make_ingester(load_settings(env), storage).scan()
    page = make_app(env).test_client().get(
        "/admin", headers={"Authorization": "Bearer correct horse battery staple"}).get_data(as_text=True)
    (warning,) = table_rows(page, "ingest-warnings")
    assert (warning["File"], warning["Line"]) == ("stray.txt", "3")
    assert "invalid UTF-8 byte 0xFF replaced with U+FFFD" in warning["Warning"]
    assert table_rows(page, "scans-table")[0]["Warnings"] == "1"


def test_admin_does_not_exist_without_a_token(env: dict[str, str], make_app, storage) -> None:  # type: ignore[no-untyped-def]
    app = make_app({k: v for k, v in env.items() if k != "FEEDSVC_ADMIN_TOKEN"} | {"FEEDSVC_ADMIN_TOKEN": ""})
    client = app.test_client()
    assert client.get("/admin").status_code == 404
    assert client.get("/admin", headers={"Authorization": "Bearer "}).status_code == 404
