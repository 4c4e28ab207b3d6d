"""The parser as installed: compiled by mypyc where the install could (setup.py), and never stale.

Under `pip install -e .` the compiled modules sit beside their sources. These tests copy the
installed package, as it is on disk, into a folder of their own and run it in a child process,
once as built and once with a source edited, so the guard in feedsvc/parsing/compiled.py is tried
on real extension modules, and the compiled parser and its sources are compared on every golden
listing we hold.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from feedsvc.parsing import compiled

from .conftest import ROOT, process_env, skip_or_fail
from .parser_probe import PROBE

LISTINGS = (ROOT / "data" / "releases", ROOT / "tests" / "data")


def _need_compiled() -> None:
    if not compiled.is_compiled("lines"):
        skip_or_fail("the parser is installed as pure Python (no C compiler at install time, or FEEDSVC_PURE_PYTHON=1)")


def _copy_installed(into: Path) -> Path:
    """The package as installed in this checkout, compiled modules and mypyc's shared library included."""
    shutil.copytree(ROOT / "feedsvc", into / "feedsvc", ignore=shutil.ignore_patterns("__pycache__"))
    for shared in ROOT.glob("*__mypyc*"):
        shutil.copy2(shared, into)
    return into


def _probe(site: Path) -> tuple[dict[str, object], str]:
    done = subprocess.run([sys.executable, "-c", PROBE, *map(str, LISTINGS)], cwd=site, env=process_env({"PYTHONPATH": str(site)}),
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout), done.stderr


def test_the_installed_parser_is_compiled_and_matches_its_sources() -> None:
    _need_compiled()
    assert compiled.stale_sources() == [], "the compiled parser differs from its sources: run `pip install -e .`"
    import feedsvc.parsing.lines as lines
    import feedsvc.parsing.sequence as sequence

    assert Path(lines.__file__).suffix == ".so" and Path(sequence.__file__).suffix == ".so"


def test_an_edited_source_is_run_instead_of_its_stale_compiled_module(tmp_path: Path) -> None:
    _need_compiled()
    built = _copy_installed(tmp_path / "built")
    edited = _copy_installed(tmp_path / "edited")
    dates = edited / "feedsvc" / "parsing" / "dates.py"
    dates.write_text(dates.read_text(encoding="utf-8") + "\n# an edit since the last install\n", encoding="utf-8")

    as_built, quiet = _probe(built)
    as_edited, said = _probe(edited)

    assert Path(str(as_built["lines"])).suffix == ".so" and "changed since they were compiled" not in quiet
    # Every compiled module comes from its source, not only the edited one: they call each other directly.
    assert as_edited["lines"] == str(edited / "feedsvc" / "parsing" / "lines.py")
    assert "dates changed since they were compiled" in said and "pip install -e ." in said
    # The sources and the compiled build read every listing we hold the same, to the last field.
    assert int(str(as_built["releases"])) > 500
    assert as_edited["digest"] == as_built["digest"] and as_edited["releases"] == as_built["releases"]


def test_a_build_without_its_stamp_is_not_trusted(tmp_path: Path) -> None:
    """A half-finished build (the shared library or the stamp missing) runs the sources too."""
    _need_compiled()
    site = _copy_installed(tmp_path / "site")
    for stamp in (site / "feedsvc" / "parsing").glob(f"{compiled.STAMP}*"):
        stamp.unlink()
    seen, said = _probe(site)
    assert seen["lines"] == str(site / "feedsvc" / "parsing" / "lines.py")
    assert "changed since they were compiled" in said


@pytest.mark.parametrize("name", compiled.COMPILED)
def test_every_compiled_module_exists_as_a_source(name: str) -> None:
    assert (ROOT / "feedsvc" / "parsing" / f"{name}.py").is_file()
