"""/login and /logout."""

from __future__ import annotations

import logging

from flask import Blueprint, redirect, render_template, request, session, url_for

from coder.errors import LoginRefused
from coder.services import users as accounts

from ..app import engine

bp = Blueprint("auth", __name__)
log = logging.getLogger("icdcoder.web")


def _safe_next(target: str | None) -> str:
    """Where to go after the login: a path of this site only (never another host)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("worklist.page")


@bp.route("/login", methods=["GET", "POST"])
def login():
    error = None
    if request.method == "POST":
        name = request.form.get("name", "").strip()
        try:
            user = accounts.authenticate(engine(), name, request.form.get("password", ""))
        except LoginRefused as exc:
            # The server's log says why (for the administrator); the page never does.
            log.warning("login refused for %r: %s", name[:64], getattr(exc, "reason", "?"))
            error = str(exc)
        else:
            session.clear()
            session.permanent = True
            session["user"] = user.name
            return redirect(_safe_next(request.form.get("next")))
    return render_template("login.html", error=error, next=request.values.get("next", "")), (401 if error else 200)


@bp.route("/logout", methods=["GET", "POST"])
def logout():
    session.clear()
    return redirect(url_for("auth.login"))
