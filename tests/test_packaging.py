"""The project installs like a library: a built wheel, not the checkout, serves pages, feeds and email.

The wheel is built as `pip install .` builds it, unpacked (a wheel unpacked is an installed
package; its compiled parser's shared library lands at the top, as pip puts it in site-packages)
and imported ahead of the editable install, from an empty folder, so a template or taxonomy that
only the checkout has makes these tests fail.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

from feedsvc.parsing import compiled
from feedsvc.scaffold import lay_out

from .conftest import ROOT, SAMPLES
from .parser_probe import PROBE


def test_every_package_on_disk_is_in_the_wheel_list() -> None:
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    on_disk = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "feedsvc").rglob("__init__.py")}
    assert on_disk - listed == set(), "add these packages to [tool.setuptools] packages in pyproject.toml"


def _built_and_unpacked(out: Path, env: dict[str, str] | None = None) -> Path:
    """The wheel `pip install .` would install, unpacked into a folder of its own."""
    # Build from a copy holding only tracked files, so instance/ or build/ leftovers cannot leak in.
    src = out / "src"
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    for rel in filter(None, tracked.decode().split("\0")):
        if (ROOT / rel).is_file():
            (src / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / rel, src / rel)
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out), str(src)],
                          check=False, capture_output=True, text=True, env={**os.environ, **(env or {})})
    assert done.returncode == 0, done.stderr
    wheel, = out.glob("feedsvc-*.whl")
    site = out / "site"
    with zipfile.ZipFile(wheel) as zf:
        zf.extractall(site)
    return site


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _built_and_unpacked(tmp_path_factory.mktemp("wheel"))


def _run(site: Path, cwd: Path, *args: str, env: dict[str, str] | None = None) -> str:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("FEEDSVC_", "DATABASE_URL", "SMTP_URL"))}
    full_env.update(env or {}, PYTHONPATH=str(site))
    done = subprocess.run([sys.executable, *args], cwd=cwd, env=full_env, check=False,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"{args}: {done.stdout}\n{done.stderr}"
    return done.stdout


def test_the_wheel_holds_templates_taxonomy_and_migrations(installed: Path) -> None:
    pkg = installed / "feedsvc"
    for rel in ("templates/base.html", "templates/email/digest.html", "templates/email/email.css",
                "data/topics.toml", "migrations/env.py", "migrations/script.py.mako", "migrations/versions/0001_releases_files_scans_feed_documents.py",
                "translations/messages.pot",
                *(f"translations/{loc}/LC_MESSAGES/messages.{ext}" for loc in ("fr", "tr", "ar") for ext in ("po", "mo"))):
        assert (pkg / rel).is_file(), rel


def test_an_installed_wheel_serves_pages_feeds_and_email_from_an_empty_folder(installed: Path, tmp_path: Path) -> None:
    empty = tmp_path / "elsewhere"
    empty.mkdir()
    office = tmp_path / "office"
    _run(installed, empty, "-m", "feedsvc.cli", "init", str(office))
    shutil.copy(SAMPLES / "000_f6e31e41b8e258ab.txt", office / "releases")
    env = {"FEEDSVC_CONTENT_DIR": str(office / "releases"), "FEEDSVC_TOPICS": str(office / "topics.toml"),
           "FEEDSVC_INSTANCE_DIR": str(empty / "instance"), "FEEDSVC_BASE_URL": "http://localhost:8000",
           "SECRET_KEY": "k" * 40}
    _run(installed, empty, "-m", "feedsvc.cli", "subscribers", "add", "reader@example.org", env=env)
    _run(installed, empty, "-m", "feedsvc.cli", "ingest", env=env)
    preview = _run(installed, empty, "-m", "feedsvc.cli", "digest", "--preview", "reader@example.org", env=env)
    assert "unsubscribe" in preview.lower()

    probe = """
import json, feedsvc
import feedsvc.parsing.lines
from feedsvc import create_app
app = create_app()
client = app.test_client()
home, feed, sub = client.get("/"), client.get("/feeds/all.atom"), client.get("/subscribe")
arabic = client.get("/", headers={"Accept-Language": "ar"}).get_data(as_text=True)
print(json.dumps({"file": feedsvc.__file__, "parser": feedsvc.parsing.lines.__file__, "home": [home.status_code, home.get_data(as_text=True)], "arabic": arabic,
                  "feed": [feed.status_code, feed.get_data(as_text=True)], "subscribe": sub.status_code}))
"""
    seen = json.loads(_run(installed, empty, "-c", probe, env=env))
    assert Path(seen["file"]).is_relative_to(installed), "the checkout was imported, not the wheel"
    # The wheel is built as the checkout was installed: with the parser compiled wherever mypyc could (setup.py).
    assert Path(seen["parser"]).suffix == (".so" if compiled.is_compiled("lines") else ".py")
    assert seen["home"][0] == 200 and "<html" in seen["home"][1].lower()
    assert seen["feed"][0] == 200 and "<entry" in seen["feed"][1]
    assert seen["subscribe"] == 200
    # The catalogues came with it (issue 17 item 2): an Arabic browser gets the Arabic interface.
    assert '<html lang="ar" dir="rtl">' in seen["arabic"] and "البيانات الصحفية" in seen["arabic"]


def test_a_machine_without_a_c_compiler_installs_the_pure_python_parser(tmp_path: Path) -> None:
    """setup.py's fallback: a failed compile is a warning, and the sources read every listing the same."""
    site = _built_and_unpacked(tmp_path, {"CC": "/bin/false"})  # the compiler every extension is built with
    assert not [p.name for p in site.rglob("*.so")]
    seen = json.loads(_run(site, tmp_path, "-c", PROBE, str(SAMPLES)))
    here = json.loads(subprocess.run([sys.executable, "-c", PROBE, str(SAMPLES)], capture_output=True, text=True,
                                     check=True, cwd=ROOT).stdout)
    assert seen["lines"] == str(site / "feedsvc" / "parsing" / "lines.py")
    assert seen["digest"] == here["digest"] and seen["releases"] == here["releases"] > 0


def test_init_refuses_to_overwrite_an_offices_taxonomy(tmp_path: Path) -> None:
    made = lay_out(tmp_path / "office")
    assert [p.name for p in made] == ["releases", "topics.toml", ".env.example"]
    assert list((tmp_path / "office" / "releases").iterdir()) == []
    env_text = (tmp_path / "office" / ".env.example").read_text()
    assert f"FEEDSVC_CONTENT_DIR={tmp_path / 'office' / 'releases'}" in env_text
    assert "# SMTP_URL=" in env_text  # every other setting listed, commented out
    (tmp_path / "office" / "topics.toml").write_text("# edited by the office\n")
    with pytest.raises(Exception, match="already exists"):
        lay_out(tmp_path / "office")
    assert (tmp_path / "office" / "topics.toml").read_text() == "# edited by the office\n"
