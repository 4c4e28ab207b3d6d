"""Which parser modules setup.py compiles with mypyc, and a guard for a checkout edited since.

Compiled, the parser reads listings about 1.4 times as fast (issue 11's speed target); the
sources stay the truth, and an install without a C compiler runs them as they are. Under
`pip install -e .` the compiled modules sit beside their sources, and Python imports a compiled
module ahead of its source: an edit would be silently ignored until the next install. So the
build records each source's digest (the generated `_build_stamp`, compiled with them), and when a
source no longer matches, every compiled module is imported from its source instead, with a
log line. All of them, not only the edited one: compiled modules call each other directly.

Their module-level constants are annotated `Final`: compiled, a Final is read from a C variable (an
int is inlined), where any other global is looked up by name in the module's dict at every use.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

PACKAGE = "feedsvc.parsing"
# The hot path of parse+normalise; html.py and markdown*.py mostly call lxml and markdown-it.
COMPILED: tuple[str, ...] = (
    "attached", "bylines", "datelines", "dates", "drafts", "embargo", "labels", "lines", "listing",
    "normalise", "sequence", "weights")
STAMP = "_build_stamp"  # written by setup.py: SOURCES, each compiled module's source digest
HERE = Path(__file__).parent

log = logging.getLogger(__name__)


def source_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def is_compiled(name: str, folder: Path = HERE) -> bool:
    return any((folder / f"{name}{suffix}").is_file() for suffix in importlib.machinery.EXTENSION_SUFFIXES)


def stale_sources(folder: Path = HERE) -> list[str]:
    """The compiled modules whose source differs from what was compiled (none when nothing is)."""
    if not any(is_compiled(name, folder) for name in COMPILED):
        return []
    try:
        stamp: ModuleType | None = importlib.import_module(f"{PACKAGE}.{STAMP}")
    except ImportError:
        stamp = None
    built: dict[str, str] = getattr(stamp, "SOURCES", {})
    return [name for name in COMPILED
            if (folder / f"{name}.py").is_file() and built.get(name) != source_digest(folder / f"{name}.py")]


class _Sources(importlib.abc.MetaPathFinder):
    """Finds the compiled modules' sources, ahead of the extension modules beside them."""

    def find_spec(self, fullname: str, path: Sequence[str] | None,
                  target: ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        package, _, name = fullname.rpartition(".")
        if package != PACKAGE or name not in COMPILED:
            return None
        return importlib.util.spec_from_file_location(fullname, HERE / f"{name}.py")


def run_sources_if_stale() -> None:
    """Called first thing by feedsvc.parsing, before any compiled module is imported."""
    stale = stale_sources()
    if not stale or any(isinstance(finder, _Sources) for finder in sys.meta_path):
        return
    # A log line, not a warning: the test suite turns warnings into errors, and running the edited
    # sources is exactly what a developer who edits them wants.
    log.warning("%s changed since they were compiled (or the compiled build is incomplete): the parser runs "
                "from its sources (slower) until `pip install -e .` compiles it again", ", ".join(stale))
    sys.meta_path.insert(0, _Sources())
