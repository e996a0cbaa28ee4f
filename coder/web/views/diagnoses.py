"""/diagnoses/<id>: one line in its record, with the forms to confirm, correct and code it; /api/codes:
the code search behind the search-as-you-type boxes."""

from __future__ import annotations

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for

from coder.errors import IcdCoderError, NotFound
from coder.services import workbench
from coder.store.users import Role
from rulebase.codes import SYSTEMS
from rulebase.states import ReviewAction

from ..app import engine, person, requires
from .worklist import filters_from

bp = Blueprint("diagnoses", __name__)

DONE = {
    ReviewAction.CONFIRM: "诊断 {id} 的编码 {code} 已确认。",
    ReviewAction.CORRECT: "诊断 {id} 已更正为 {code}。",
    ReviewAction.CODE: "诊断 {id} 已编码为 {code}。",
}


@bp.get("/diagnoses/<int:line_id>")
def page(line_id: int):
    filters, _ = filters_from(request.args)
    try:
        view = workbench.line(engine(), line_id)
    except NotFound:
        abort(404)
    q = (request.args.get("q") or "").strip()
    return render_template(
        "line.html",
        view=view,
        line=view.line,
        args=filters.args(),
        next_id=workbench.next_line(engine(), line_id, filters),
        q=q,
        found=workbench.api_codes(engine(), q, view.line["system"]) if q else None,
    )


def _act(line_id: int, action: str):
    filters, _ = filters_from(request.args)
    expected = request.form.get("expected")
    if not expected or "|" not in expected:
        abort(400, "the form is out of date (no expected state): reload the page and try again")
    outcome = workbench.act(
        engine(),
        line_id,
        action,
        person(),
        request.form.get("code") if action != ReviewAction.CONFIRM else None,
        request.form.get("remark"),
        expected,
    )
    flash(DONE[action].format(id=line_id, code=", ".join(outcome.codes or (outcome.code,))))
    return redirect(url_for("diagnoses.page", line_id=line_id, **filters.args()))


@bp.post("/diagnoses/<int:line_id>/confirm")
@requires(Role.CODER)
def confirm(line_id: int):
    return _act(line_id, ReviewAction.CONFIRM)


@bp.post("/diagnoses/<int:line_id>/correct")
@requires(Role.CODER)
def correct(line_id: int):
    return _act(line_id, ReviewAction.CORRECT)


@bp.post("/diagnoses/<int:line_id>/code")
@requires(Role.CODER)
def code(line_id: int):
    return _act(line_id, ReviewAction.CODE)


@bp.get("/api/codes")
def api_codes():
    """[{code, name}] for ?q= (code prefix, name, alias, then fuzzy), of ?system= if given; at most 20."""
    system = request.args.get("system") or None
    if system is not None and system not in SYSTEMS:
        return jsonify({"error": f"unknown code system; choose from {', '.join(SYSTEMS)}"}), 400
    try:
        found = workbench.api_codes(engine(), request.args.get("q", ""), system)
    except IcdCoderError as exc:
        return jsonify({"error": str(exc)}), 400
    return jsonify([{"code": c["code"], "name": c["name"]} for c in found])
