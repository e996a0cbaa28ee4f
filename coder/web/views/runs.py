"""/runs: the coding runs and their counts."""

from __future__ import annotations

from flask import Blueprint, render_template

from coder.services.diagnoses import list_runs

from ..app import engine

bp = Blueprint("runs", __name__)


@bp.get("/runs")
def page():
    return render_template("runs.html", runs=list_runs(engine(), limit=200))
