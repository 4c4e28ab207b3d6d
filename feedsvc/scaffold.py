"""`feedsvc init DIR`: lay out a new office's folder, never overwriting what is there."""

from __future__ import annotations

import shutil
from pathlib import Path

from .config_variables import VARIABLES
from .model import ConfigError
from .resources import DEFAULT_TOPICS

# Settings an office sets for its own folder; the rest of VARIABLES go in commented out.
_FILLED = ("FEEDSVC_CONTENT_DIR", "FEEDSVC_TOPICS", "FEEDSVC_INSTANCE_DIR")


def env_example(folder: Path) -> str:
    """A commented .env for `folder`: every variable feedsvc reads, with its default and meaning."""
    own = {
        "FEEDSVC_CONTENT_DIR": folder / "releases",
        "FEEDSVC_TOPICS": folder / "topics.toml",
        "FEEDSVC_INSTANCE_DIR": folder / "instance",
    }
    lines = [
        "# feedsvc settings for this folder. Copy to .env (honcho and `heroku local` read it)",
        "# or export them; every variable feedsvc reads is listed, unset ones commented out.",
        "",
    ]
    for name, default, meaning in VARIABLES:
        lines.append(f"# {meaning} (default: {default})")
        lines.append(f"{name}={own[name]}" if name in own else f"# {name}=")
        lines.append("")
    return "\n".join(lines)


def lay_out(folder: Path) -> list[Path]:
    """Create `folder` with an empty releases/, the default topics.toml and .env.example.

    Refuses, naming the file, if any of them already exists: an office's edited taxonomy is
    never replaced by the default.
    """
    folder = folder.resolve()
    releases, topics, env = folder / "releases", folder / "topics.toml", folder / ".env.example"
    existing = [p for p in (releases, topics, env) if p.exists() or p.is_symlink()]
    if existing:
        raise ConfigError(f"{existing[0]} already exists; feedsvc init lays out a new folder only")
    releases.mkdir(parents=True)
    shutil.copyfile(DEFAULT_TOPICS, topics)
    env.write_text(env_example(folder), encoding="utf-8")
    return [releases, topics, env]
