"""The Flask application: sessions, login, CSRF, roles, and the pages' blueprints."""

from __future__ import annotations

import datetime as dt
import logging
import secrets
import time
from functools import wraps
from typing import Any

from flask import Flask, abort, g, redirect, render_template, request, session, url_for
from sqlalchemy import Engine

from coder.db.migrate import require_current
from coder.errors import IcdCoderError
from coder.services import users as accounts
from coder.store.users import Role, allows

log = logging.getLogger("icdcoder.web")

SESSION_HOURS = 10  # a coder's working day; then log in again
CSRF_FIELD = "csrf_token"
PUBLIC = {"auth.login", "static"}  # endpoints that answer without a login


def create_app(engine: Engine, secure_cookies: bool = False) -> Flask:
    """The workbench on `engine`. `secure_cookies`: send the session cookie over HTTPS only (set it
    when a TLS proxy is in front; the default serves plain HTTP on the hospital's network)."""
    require_current(engine)  # a server on an older schema would fail page by page: refuse at the start
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=accounts.web_secret(engine),  # one per database: every server process shares it
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=secure_cookies,
        SESSION_COOKIE_NAME="icdcoder_session",
        PERMANENT_SESSION_LIFETIME=dt.timedelta(hours=SESSION_HOURS),
        MAX_CONTENT_LENGTH=2 * 1024 * 1024,
        TEMPLATES_AUTO_RELOAD=False,
    )
    app.extensions["icdcoder_engine"] = engine
    app.jinja_env.globals.update(csrf_token=csrf_token, CSRF_FIELD=CSRF_FIELD, may=may)
    app.jinja_env.autoescape = True

    from .views import auth, combinations, diagnoses, guards, normalization, reports, rules, runs, worklist

    for module in (auth, worklist, diagnoses, rules, normalization, guards, combinations, reports, runs):
        app.register_blueprint(module.bp)

    app.before_request(_before)
    app.after_request(_after)
    app.register_error_handler(IcdCoderError, _refused)

    @app.get("/")
    def index():
        return redirect(url_for("worklist.page"))

    return app


def engine() -> Engine:
    from flask import current_app

    return current_app.extensions["icdcoder_engine"]


def csrf_token() -> str:
    """The session's CSRF token: a hidden field of every form, checked on every POST."""
    token = session.get(CSRF_FIELD)
    if token is None:
        token = session[CSRF_FIELD] = secrets.token_urlsafe(32)
    return token


def may(needed: str) -> bool:
    """Whether the logged-in person's role allows what needs `needed` (templates hide what it does not)."""
    user = g.get("user")
    return user is not None and allows(user.role, needed)


def requires(needed: Role):
    """A view only a person of `needed` (or a higher role) may use: 403 for the others."""

    def wrap(view):
        @wraps(view)
        def checked(*args, **kwargs):
            if not may(needed):
                abort(403)
            return view(*args, **kwargs)

        return checked

    return wrap


def person() -> str:
    """Who acts: the logged-in account's name, the person of every audit and history row."""
    return g.user.name


def _before():
    g.started = time.perf_counter()
    if request.method == "POST":
        sent = request.form.get(CSRF_FIELD, "")
        expected = session.get(CSRF_FIELD)
        if not expected or not secrets.compare_digest(sent, expected):
            abort(400, "the form is out of date (CSRF token missing or wrong): reload the page and try again")
    if request.endpoint in PUBLIC:
        return None
    name = session.get("user")
    user = None
    if name:
        try:
            user = accounts.get_user(engine(), name)
        except IcdCoderError:
            user = None
    if user is None or not user.enabled:
        session.pop("user", None)
        if request.method == "GET":
            return redirect(url_for("auth.login", next=request.full_path if request.query_string else request.path))
        abort(401)
    g.user = user
    return None


def _after(response):
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("Cache-Control", "no-store")  # pages hold patient text: never cached
    # Our own script and style only: no CDN, nothing inline.
    response.headers.setdefault(
        "Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'"
    )
    # The access line names the path only: never a query string or a form (they may hold patient text).
    ms = (time.perf_counter() - g.get("started", time.perf_counter())) * 1000
    log.info("%s %s %s %.0f ms", request.method, request.path, response.status_code, ms)
    return response


def _refused(exc: IcdCoderError):
    """A refusal from a service (a bad code, a stale form, a rule change that breaks codes): the
    page says it in words, with the status a script can read."""
    return render_template("refused.html", message=str(exc)), 409


def page_args(default_size: int = 50) -> dict[str, Any]:
    """?page=N (from 1) as offset and limit."""
    try:
        page = max(1, int(request.args.get("page", "1")))
    except ValueError:
        page = 1
    return {"page": page, "offset": (page - 1) * default_size, "limit": default_size}
