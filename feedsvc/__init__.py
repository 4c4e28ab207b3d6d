"""feedsvc: a folder of press releases in, Atom feeds per topic and an email digest out."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from flask import Flask


def create_app(test_config: Any = None) -> Flask:
    """The WSGI application (what gunicorn loads as `feedsvc:create_app()`)."""
    from .app import create_app as _create_app
    from .model import ConfigError

    try:
        return _create_app(test_config)
    except ConfigError as exc:
        if test_config is not None:
            raise
        # One clear line for the operator, not a traceback from inside gunicorn.
        import sys

        print(f"feedsvc: configuration: {exc}", file=sys.stderr, flush=True)
        raise SystemExit(4) from None
