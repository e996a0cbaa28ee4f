"""/normalization (being built)."""

from __future__ import annotations

from flask import Blueprint, render_template

bp = Blueprint("normalization", __name__)


@bp.get("/normalization")
def page():
    return render_template("refused.html", message="not built yet"), 501
