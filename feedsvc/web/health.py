"""/healthz for the PaaS router and uptime checks."""

from __future__ import annotations

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue

from . import services

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> ResponseReturnValue:
    ok = services().storage.ping()
    resp = jsonify(status="ok" if ok else "database unreachable")
    resp.headers["Cache-Control"] = "no-store"
    return resp, 200 if ok else 503
