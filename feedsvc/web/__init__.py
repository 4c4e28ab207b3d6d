"""HTTP: blueprints and the feed-serving middleware."""

from __future__ import annotations

from flask import current_app

from ..services import Services


def services() -> Services:
    """The application's services (create_app put them there), typed for the views."""
    found = current_app.extensions["feedsvc"]
    if not isinstance(found, Services):  # only a wiring mistake gets here
        raise TypeError(f"app.extensions['feedsvc'] is a {type(found).__name__}, not Services")
    return found
