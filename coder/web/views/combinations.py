"""/combinations: the combination codes, a combination with its history, and changes.

As on the guards pages, a form has 试验 (the change judged against the audited records; nothing
written) and 保存, refused when the change turns correctly coded audited lines wrong unless the
author ticks force. Coders see the table and the lines waiting for review; authors change it.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from coder.errors import ChangeRefused, IcdCoderError, NotFound
from coder.services import combinations as service
from coder.services.rules import StaleForm
from coder.store.users import Role

from ..app import engine, person, requires
from .forms import shown_version, stale_message

bp = Blueprint("combinations", __name__)
FIELDS = ("codes", "code", "note", "reason")


def _blank_form() -> dict[str, Any]:
    return {"codes": "", "code": "", "note": "", "reason": "", "force": False}


def _form_of_request(defaults: dict[str, Any]) -> dict[str, Any]:
    out = dict(defaults)
    for k in FIELDS:
        if k in request.form:
            out[k] = request.form.get(k, "")
    out["force"] = request.form.get("force") in ("1", "on")
    return out


def _form_of(c) -> dict[str, Any]:
    return {"codes": c.codes, "code": c.code, "note": c.note or "", "reason": "", "force": False, "version": c.version}


def _values(form: dict[str, Any]) -> dict[str, Any]:
    return {
        "codes": (form.get("codes") or "").strip(),
        "code": (form.get("code") or "").strip(),
        "note": (form.get("note") or "").strip() or None,
    }


def _refusal(exc: ChangeRefused) -> str:
    broken = exc.impact.broken if exc.impact is not None else 0
    return f"未保存：这一修改会使 {broken} 条原本编码正确的已审核诊断变为错误编码。请检查编码，或勾选“仍然保存”。"


@bp.get("/combinations")
def page():
    return _list_page(_blank_form())


def _list_page(form, error=None, status=200, impact=None, refused=False):
    return (
        render_template(
            "combos_list.html",
            combos=service.list_combinations(engine()),
            review=service.review_lines(engine(), limit=200),
            form=form,
            impact=impact,
            refused=refused,
            error=error,
        ),
        status,
    )


@bp.post("/combinations/new")
@requires(Role.AUTHOR)
def create():
    form = _form_of_request(_blank_form())
    try:
        values = _values(form)
        if request.form.get("action", "test") != "save":
            return _list_page(form, impact=service.preview_combination(engine(), **values).impact)
        done = service.add_combination(
            engine(), author=person(), reason=form.get("reason") or None, force=form["force"], **values
        )
    except ChangeRefused as exc:
        return _list_page(form, error=_refusal(exc), impact=exc.impact, refused=True, status=409)
    except IcdCoderError as exc:
        return _list_page(form, error=str(exc), status=422)
    flash(f"组合编码 {done.new.id} 已添加（第 1 版）。")
    return redirect(url_for("combinations.show", combination_id=done.new.id))


def _show(combination_id: int, form=None, error=None, status=200, impact=None, refused=False):
    try:
        shown = service.show_combination(engine(), combination_id)
    except NotFound:
        abort(404)
    return (
        render_template(
            "combos_show.html",
            combo=shown.item,
            history=shown.history,
            form=form if form is not None else _form_of(shown.item),
            impact=impact,
            refused=refused,
            error=error,
        ),
        status,
    )


@bp.get("/combinations/<int:combination_id>")
def show(combination_id: int):
    return _show(combination_id)


@bp.post("/combinations/<int:combination_id>")
@requires(Role.AUTHOR)
def edit(combination_id: int):
    seen = shown_version()
    form = {**_form_of_request(_blank_form()), "version": seen}
    try:
        values = _values(form)
        if request.form.get("action", "test") != "save":
            impact = service.preview_combination(engine(), combination_id, **values).impact
            return _show(combination_id, form, impact=impact)
        done = service.change_combination_at(
            engine(), combination_id, seen, person(), form.get("reason") or None, form["force"], **values
        )
    except NotFound:
        abort(404)
    except StaleForm as exc:
        form["version"] = exc.current
        return _show(combination_id, form, error=stale_message(exc, "组合编码", "组合编码"), status=409)
    except ChangeRefused as exc:
        return _show(combination_id, form, error=_refusal(exc), impact=exc.impact, refused=True, status=409)
    except IcdCoderError as exc:
        return _show(combination_id, form, error=str(exc), status=422)
    if not done.changed:
        flash(f"组合编码 {combination_id} 没有变化（与当前版本相同），未保存。", "warning")
    else:
        flash(f"组合编码 {combination_id} 已保存为第 {done.new.version} 版。")
    return redirect(url_for("combinations.show", combination_id=combination_id))


@bp.post("/combinations/<int:combination_id>/enabled")
@requires(Role.AUTHOR)
def toggle(combination_id: int):
    enabled = request.form.get("enabled") in ("1", "on", "true")
    reason = request.form.get("reason", "").strip() or None
    force = request.form.get("force") in ("1", "on")
    try:
        done = service.change_combination_at(
            engine(), combination_id, shown_version(), person(), reason, force, enabled=enabled
        )
    except NotFound:
        abort(404)
    except StaleForm as exc:
        return _show(combination_id, error=stale_message(exc, "组合编码", "组合编码"), status=409)
    except ChangeRefused as exc:
        return _show(combination_id, error=_refusal(exc), impact=exc.impact, refused=True, status=409)
    except IcdCoderError as exc:
        return _show(combination_id, error=str(exc), status=422)
    state = "启用" if enabled else "停用"
    flash(
        f"组合编码 {combination_id} 已{state}（第 {done.new.version} 版）。"
        if done.changed
        else f"组合编码 {combination_id} 本来就已{state}。"
    )
    return redirect(url_for("combinations.show", combination_id=combination_id))
