"""/healthz for the PaaS router and uptime checks: 200 only when every page can be served."""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue

from ..services import Services
from . import services

bp = Blueprint("health", __name__)

# Each check names a part and says what is wrong with it, or None. A check is one line here.
CHECKS: tuple[tuple[str, Callable[[Services], str | None]], ...] = (
    ("database", lambda s: s.storage.problem()),
    # Pages still answer with the last good taxonomy; the 503 makes the broken file seen (issue 15).
    ("taxonomy", lambda s: s.keeper.error),
)


@bp.get("/healthz")
def healthz() -> ResponseReturnValue:
    s = services()
    problems = {name: problem for name, check in CHECKS if (problem := check(s)) is not None}
    body = {"status": "ok"} if not problems else {"status": "unavailable", "problems": problems}
    resp = jsonify(body)
    resp.headers["Cache-Control"] = "no-store"
    return resp, 200 if not problems else 503
