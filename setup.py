"""The parser's hot modules, compiled with mypyc at install time (issue 11's speed), else pure Python.

Everything else about the package is declared in pyproject.toml; extension modules can only be
declared here. Which modules, and how a compiled build is kept honest against edited sources,
is in feedsvc/parsing/compiled.py. The compiler is never required: without a C compiler, or with
FEEDSVC_PURE_PYTHON=1 at install time (to step through or measure coverage of the parser), the
same package installs as pure Python and parses exactly the same, only slower.
"""

from __future__ import annotations

import os
import runpy
import sys
from pathlib import Path

from setuptools import Extension, setup

PARSING = Path("feedsvc", "parsing")  # relative: pip runs the build in the source tree, and mypyc names modules by path
# Only the commands that build code need the compiler; metadata queries (egg_info, dist_info) run
# this file too, and type-checking the parser for each of them would double an install's time.
BUILDS = {"build", "build_ext", "bdist_wheel", "editable_wheel", "develop", "install"}


def say(message: str) -> None:
    print(f"feedsvc setup: {message}", file=sys.stderr)


def ext_modules() -> list[Extension]:
    if not BUILDS & set(sys.argv[1:]):
        return []
    if os.environ.get("FEEDSVC_PURE_PYTHON", "") not in ("", "0"):
        say("FEEDSVC_PURE_PYTHON is set: the parser installs as pure Python")
        return []
    guard = runpy.run_path(str(PARSING / "compiled.py"))
    names: tuple[str, ...] = guard["COMPILED"]
    stamp: str = guard["STAMP"]
    digests = {name: guard["source_digest"](PARSING / f"{name}.py") for name in names}
    (PARSING / f"{stamp}.py").write_text(
        '"""Written by setup.py when it compiles the parser: the digest of each source it compiled."""\n\n'
        f"SOURCES: dict[str, str] = {digests!r}\n", encoding="utf-8")
    try:
        from mypyc.build import mypycify

        # Imports outside the compiled modules are read for their types only: their own strictness
        # is `mypy`'s job in CI, and a missing stub (lxml's, say) must not stop an install.
        extensions: list[Extension] = mypycify(
            ["--follow-imports=silent", "--ignore-missing-imports",
             *(str(PARSING / f"{name}.py") for name in (*names, stamp))], opt_level="3")
    except (Exception, SystemExit) as error:  # noqa: BLE001 - any failure leaves the pure-Python parser, which is complete
        say(f"mypyc could not compile the parser ({error!r}); it installs as pure Python (slower)")
        return []
    for extension in extensions:
        extension.optional = True  # no C compiler: a warning, and the sources are used (compiled.py)
    return extensions


setup(ext_modules=ext_modules())
