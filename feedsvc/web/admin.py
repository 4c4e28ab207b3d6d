"""/admin: what an operator needs to see, behind FEEDSVC_ADMIN_TOKEN (login form or bearer header)."""

from __future__ import annotations

import hmac
from typing import Any

from flask import Blueprint, abort, redirect, render_template, request, session
from flask_wtf import FlaskForm
from wtforms import PasswordField
from wtforms.validators import DataRequired

from . import services

bp = Blueprint("admin", __name__, url_prefix="/admin")


class LoginForm(FlaskForm):
    token = PasswordField("Admin token", validators=[DataRequired()])


def _token() -> str | None:
    return services().settings.admin_token


def _matches(given: str) -> bool:
    expected = _token()
    # compare_digest: the time taken does not tell how much of the token was right.
    return bool(expected) and hmac.compare_digest(given.encode(), expected.encode())


def _authorised() -> bool:
    auth = request.headers.get("Authorization", "")
    if auth.startswith("Bearer "):
        return _matches(auth[7:].strip())
    return bool(session.get("admin")) and session.get("admin_token_check") == _fingerprint()


def _fingerprint() -> str:
    # A session stays valid only while the token it logged in with is the configured one.
    import hashlib

    return hashlib.sha256((_token() or "").encode()).hexdigest()[:16]


@bp.before_request
def guard() -> Any:
    if not _token():
        abort(404)  # no token configured: /admin does not exist
    if request.endpoint in ("admin.login",) or _authorised():
        return None
    if request.headers.get("Authorization"):
        abort(401)
    return redirect("/admin/login")


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    form = LoginForm()
    if form.validate_on_submit():
        if _matches(form.token.data or ""):
            session.clear()
            session["admin"] = True
            session["admin_token_check"] = _fingerprint()
            return redirect("/admin")
        form.token.errors = ["That is not the admin token."]
        return render_template("admin_login.html", form=form, feeds=[]), 403
    return render_template("admin_login.html", form=form, feeds=[])


@bp.post("/logout")
def logout() -> Any:
    session.clear()
    return redirect("/")


@bp.get("")
def dashboard() -> Any:
    s = services()
    storage = s.storage
    taxonomy = s.taxonomy()
    counts = storage.topic_counts()
    return render_template(
        "admin.html", feeds=[], scans=storage.recent_scans(20), errors=storage.recent_errors(50),
        warnings=storage.file_warnings(100),
        topics=[(t.slug, t.title, counts.get(t.slug, 0)) for t in taxonomy.topics],
        total=storage.count_releases(), subscribers=storage.subscriber_counts(),
        runs=storage.recent_runs(20), logout_form=LoginForm())
