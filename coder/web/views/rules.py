"""/rules (being built)."""

from __future__ import annotations

from flask import Blueprint, render_template

bp = Blueprint("rules", __name__)


@bp.get("/rules")
def page():
    return render_template("refused.html", message="not built yet"), 501
