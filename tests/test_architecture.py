"""The import graph points one way (issue 12): the core imports no I/O, storage imports no web.

Read from the source with `ast`, so nothing is imported to check it; every import counts, also
one inside a function or under `TYPE_CHECKING`, and a relative one is resolved to its module.
"""

from __future__ import annotations

import ast
import importlib
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT

PACKAGE = ROOT / "feedsvc"
# The pure core (ARCHITECTURE.md): data in, data out.
CORE = ("feedsvc.parsing", "feedsvc.topics", "feedsvc.feeds", "feedsvc.digest", "feedsvc.history",
        "feedsvc.identity", "feedsvc.jsonfeed", "feedsvc.structured", "feedsvc.sitemap", "feedsvc.searchterms",
        "feedsvc.links", "feedsvc.model", "feedsvc.instants", "feedsvc.embargoes", "feedsvc.deliveries",
        "feedsvc.relay", "feedsvc.addresses", "feedsvc.zones", "feedsvc.media", "feedsvc.entry_extras",
        "feedsvc.subscribers", "feedsvc.brand", "feedsvc.languages", "feedsvc.feed_extensions",
        "feedsvc.listed_translations", "feedsvc.states")
# Modules outside the core that are pure too, and which the core may use: building a MIME message
# (transport/__init__ imports nothing, so no SMTP comes with it), where the templates are, signing tokens,
# the interface's languages and their catalogues.
PURE = ("feedsvc.transport", "feedsvc.transport.mime", "feedsvc.resources", "feedsvc.tokens", "feedsvc.locales")
# What does I/O: web frameworks, databases, mail, processes and the network.
IO_LIBRARIES = ("flask", "flask_wtf", "werkzeug", "gunicorn", "sqlalchemy", "alembic", "psycopg", "psycopg2",
                "smtplib", "aiosmtpd", "socket", "subprocess", "http", "urllib.request", "apscheduler", "watchdog",
                "dns", "requests")
WEB = ("feedsvc.web", "feedsvc.app", "feedsvc.cli", "flask", "flask_wtf", "werkzeug", "gunicorn")


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(source: str, module: str, is_package: bool) -> Iterator[tuple[int, str]]:
    """(line, module) for every import in `source`; `from X import y` gives X and X.y (y may be a module)."""
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            yield node.lineno, target
            for alias in node.names:
                yield node.lineno, f"{target}.{alias.name}"


def under(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def violations(module: str, found: Iterator[tuple[int, str]]) -> list[str]:
    """What `module` may not import, by the rules above."""
    bad = []
    for line, name in found:
        ours = name.startswith("feedsvc.")
        if under(module, CORE) and ((ours and not under(name, CORE + PURE)) or under(name, IO_LIBRARIES)):
            bad.append(f"{module}:{line} core imports {name}")
        if under(module, ("feedsvc.storage",)) and under(name, WEB):
            bad.append(f"{module}:{line} storage imports {name}")
    return bad


def _exists(name: str) -> bool:
    path = ROOT.joinpath(*name.split("."))
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


def sources() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "migrations" not in p.parts)


def test_the_core_imports_no_io_and_storage_no_web() -> None:
    bad = []
    for path in sources():
        module = module_name(path)
        bad += violations(module, imports(path.read_text(encoding="utf-8"), module, path.name == "__init__.py"))
    assert bad == []


def test_every_core_module_exists() -> None:
    """A renamed core module must be renamed here too, or the rules above would watch nothing."""
    assert [m for m in CORE + PURE if not _exists(m)] == []


@pytest.mark.parametrize(("module", "source", "expected"), [
    ("feedsvc.feeds", "import flask", ["feedsvc.feeds:1 core imports flask"]),
    ("feedsvc.parsing.html", "from ..storage import Storage",
     ["feedsvc.parsing.html:1 core imports feedsvc.storage",
      "feedsvc.parsing.html:1 core imports feedsvc.storage.Storage"]),
    ("feedsvc.digest", "def f():\n    from sqlalchemy.orm import Session",
     ["feedsvc.digest:2 core imports sqlalchemy.orm", "feedsvc.digest:2 core imports sqlalchemy.orm.Session"]),
    ("feedsvc.links", "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .web import pages",
     ["feedsvc.links:3 core imports feedsvc.web", "feedsvc.links:3 core imports feedsvc.web.pages"]),
    ("feedsvc.model", "from feedsvc import publish", ["feedsvc.model:1 core imports feedsvc.publish"]),
    ("feedsvc.storage.releases", "from ..web.pages import release",
     ["feedsvc.storage.releases:1 storage imports feedsvc.web.pages",
      "feedsvc.storage.releases:1 storage imports feedsvc.web.pages.release"]),
    ("feedsvc.digest", "from .transport.mime import build\nfrom .model import Release\nimport jinja2", []),
    ("feedsvc.publish", "import sqlalchemy\nfrom .web import pages", []),  # not core: I/O is its work
])
def test_the_check_catches_what_it_should(module: str, source: str, expected: list[str]) -> None:
    """The rules above applied to planted imports: a violation of each kind is caught, and only those."""
    is_package = (PACKAGE.joinpath(*module.split(".")[1:]) / "__init__.py").exists()
    assert violations(module, imports(source, module, is_package)) == expected


# -- ARCHITECTURE.md names only what exists ------------------------------------------------

_PATH = re.compile(r"[\w/]+(\.py|/)")  # `runs/postman.py`, `parsing/`
_DOTTED = re.compile(r"\w+(\.\w+)+")  # `identity.plan_file`, `storage.reading.PUBLIC`


def _module_and_rest(dotted: str) -> tuple[str, list[str]] | None:
    """The longest feedsvc module `dotted` starts with, and the attribute names after it."""
    parts = dotted.split(".")
    for i in range(len(parts), 0, -1):
        if _exists("feedsvc." + ".".join(parts[:i])):
            return "feedsvc." + ".".join(parts[:i]), parts[i:]
    return None


def missing_names(text: str) -> list[str]:
    """Every backticked path (`module.py`, `package/`) and `module.name` in `text` that does not exist.

    Paths are looked up in feedsvc/, then at the repository's root; a dotted name's first parts
    must be a module of feedsvc and the rest its attributes (a class, then a method, say).
    """
    missing = []
    for name in re.findall(r"`([^`\s]+)`", text):
        if _PATH.fullmatch(name):
            if not ((PACKAGE / name).exists() or (ROOT / name).exists()):
                missing.append(name)
        elif _DOTTED.fullmatch(name):
            found = _module_and_rest(name)
            if found is None:
                missing.append(name)
                continue
            obj: object = importlib.import_module(found[0])
            for attr in found[1]:
                if not hasattr(obj, attr):
                    missing.append(name)
                    break
                obj = getattr(obj, attr)
    return missing


def test_architecture_md_names_only_what_exists() -> None:
    assert missing_names((ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8")) == []


@pytest.mark.parametrize(("text", "expected"), [
    ("`identity.py`, `runs/`, `storage/releases.py`, `tests/test_architecture.py`", []),
    ("`identity.plan_file`, `runs.batch.Batch.held_refusal`, `storage.reading.PUBLIC`", []),
    ("`nowhere.py` and `gone/`", ["nowhere.py", "gone/"]),
    ("`identity.no_such_function`, `runs.batch.Batch.nothing`", ["identity.no_such_function",
                                                                    "runs.batch.Batch.nothing"]),
    ("`nomodule.thing`; words and `/feeds/…` and `seq` are not names", ["nomodule.thing"]),
])
def test_the_names_check_catches_what_it_should(text: str, expected: list[str]) -> None:
    assert missing_names(text) == expected
