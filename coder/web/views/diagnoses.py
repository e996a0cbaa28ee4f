"""/diagnoses (being built)."""

from __future__ import annotations

from flask import Blueprint, render_template

bp = Blueprint("diagnoses", __name__)


@bp.get("/diagnoses/<int:line_id>")
def page(line_id=None):
    return render_template("refused.html", message="not built yet"), 501
