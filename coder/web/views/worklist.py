"""/worklist (being built)."""

from __future__ import annotations

from flask import Blueprint, render_template

bp = Blueprint("worklist", __name__)


@bp.get("/worklist")
def page():
    return render_template("refused.html", message="not built yet"), 501
