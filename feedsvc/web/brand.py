"""The office's face on every page (issue 17 item 6): its name, logo and accent, the favicon, and
what each page says about itself to link previews (Open Graph) and search engines."""

from __future__ import annotations

import dataclasses
import functools
import mimetypes
from typing import Any

from flask import Blueprint, Flask, Response, abort, request

from .. import brand
from ..config import Settings
from ..links import Links
from . import services
from .media import IMAGE_CSP
from .pages import conditional

bp = Blueprint("brand", __name__)


@dataclasses.dataclass(frozen=True)
class Face:
    """What base.html draws the office with; the same for every request, so pages stay cacheable."""

    name: str
    accent: str
    accent_dark: str
    light: brand.Theme
    dark: brand.Theme
    logo_src: str | None  # the header's <img src> (a path on this site)
    logo_url: str | None  # the same, absolute (og:image when a page has no picture of its own)


def face(settings: Settings, links: Links) -> Face:
    suffix = settings.logo.suffix.lower() if settings.logo else None
    return Face(name=settings.site_name, accent=settings.accent, accent_dark=settings.accent_dark,
                light=brand.LIGHT, dark=brand.DARK,
                logo_src=f"/logo{suffix}" if suffix else None,
                logo_url=links.logo(suffix) if suffix else None)


def install(app: Flask, settings: Settings, links: Links) -> None:
    """Give every template `site` (the Face) and `page_url` (this page's absolute address).

    `_` and `ngettext` come from Flask-Babel (web/i18n.py), installed before this."""
    site = face(settings, links)

    @app.context_processor
    def the_face() -> dict[str, Any]:
        # The path only, never the query: what a page says it is must not depend on who asked.
        return {"site": site, "page_url": links.page(request.path)}


# Drawn once per accent, not per request.
_ico = functools.lru_cache(maxsize=4)(brand.favicon_ico)
_svg = functools.lru_cache(maxsize=4)(brand.favicon_svg)


@bp.get("/favicon.ico")
def favicon_ico() -> Response:
    return conditional(_ico(services().settings.accent), "image/x-icon")


@bp.get("/favicon.svg")
def favicon_svg() -> Response:
    return conditional(_svg(services().settings.accent), "image/svg+xml")


@bp.get("/logo<any('.svg', '.png', '.jpg', '.jpeg', '.webp'):suffix>")
def logo(suffix: str) -> Response:
    path = services().settings.logo
    if path is None or path.suffix.lower() != suffix:
        abort(404, description="This site has no such logo.")
    try:
        body = path.read_bytes()
    except OSError:
        abort(404, description="The logo cannot be read at the moment.")
    resp = conditional(body, mimetypes.guess_type(f"logo{suffix}")[0] or "application/octet-stream")
    resp.headers["Content-Security-Policy"] = IMAGE_CSP  # an SVG opened by itself runs nothing
    return resp
