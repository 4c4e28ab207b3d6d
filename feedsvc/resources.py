"""Where the files that ship with the package are: templates, the default taxonomy, the samples.

In the repository they stay at the top level (`templates/`, `data/`); the wheel maps them to
`feedsvc.templates` and `feedsvc.data` (pyproject's package-dir), and an editable install maps
them the same way, so one lookup through importlib.resources finds them in both.
"""

from __future__ import annotations

import importlib.resources
from pathlib import Path


def _package_dir(package: str) -> Path:
    # pip unpacks wheels, so these are real directories; Jinja2's FileSystemLoader needs one.
    return Path(str(importlib.resources.files(package)))


TEMPLATES_DIR: Path = _package_dir("feedsvc.templates")
DATA_DIR: Path = _package_dir("feedsvc.data")
DEFAULT_TOPICS: Path = DATA_DIR / "topics.toml"
SAMPLE_RELEASES: Path = DATA_DIR / "releases"
# The interface's gettext catalogues (feedsvc.locales), package data of feedsvc itself.
TRANSLATIONS_DIR: Path = _package_dir("feedsvc") / "translations"
