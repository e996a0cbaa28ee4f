"""/guards: the uncertainty and negation cues, a guard with its history, and changes.

As on the rules pages, a guard's form has 试验 (what a text gets with the changed table, and the
change judged against the audited history; nothing written) and 保存, which is refused when the
change leaves correctly coded audited lines uncoded unless the author ticks force. Coders see
the table; authors change it.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from coder.errors import ChangeRefused, IcdCoderError, NotFound, RuleInvalid
from coder.services import guards as service
from coder.services.rules import StaleForm
from coder.store.users import Role
from rulebase.states import GuardKind, GuardScope

from ..app import engine, person, requires
from .forms import shown_version, stale_message

bp = Blueprint("guards", __name__)

KINDS = ((GuardKind.UNCERTAIN.value, "不确定（疑似、待查）"), (GuardKind.NEGATED.value, "否定（排除、否认）"))
SCOPES = (
    (GuardScope.BEFORE.value, "在疾病词之前"),
    (GuardScope.AFTER.value, "在疾病词之后"),
    (GuardScope.ANY.value, "前后均可"),
)
FIELDS = ("position", "cue", "kind", "scope", "not_within", "note", "reason")


def _text() -> str:
    return (request.values.get("text") or "").strip()[:1000]


def _blank_form() -> dict[str, Any]:
    return {
        "position": "",
        "cue": "",
        "kind": GuardKind.UNCERTAIN.value,
        "scope": GuardScope.ANY.value,
        "not_within": "",
        "note": "",
        "reason": "",
        "force": False,
    }


def _form_of_request(defaults: dict[str, Any]) -> dict[str, Any]:
    out = dict(defaults)
    for k in FIELDS:
        if k in request.form:
            out[k] = request.form.get(k, "")
    out["force"] = request.form.get("force") in ("1", "on")
    return out


def _form_of_guard(g) -> dict[str, Any]:
    return {
        "position": str(g.position),
        "cue": g.cue,
        "kind": str(g.kind),
        "scope": str(g.scope),
        "not_within": g.not_within or "",
        "note": g.note or "",
        "reason": "",
        "force": False,
        "version": g.version,
    }


def _values(form: dict[str, Any]) -> dict[str, Any]:
    text = str(form.get("position", "")).strip() or "0"
    try:
        position = int(text)
    except ValueError:
        raise RuleInvalid(f"顺序必须是整数，不是 {text!r}") from None
    return {
        "position": position,
        "cue": form.get("cue", ""),
        "kind": form.get("kind") or GuardKind.UNCERTAIN.value,
        "scope": form.get("scope") or GuardScope.ANY.value,
        "not_within": (form.get("not_within") or "").strip() or None,
        "note": (form.get("note") or "").strip() or None,
    }


def _refusal(exc: ChangeRefused) -> str:
    broken = exc.impact.broken if exc.impact is not None else 0
    return (
        f"未保存：这一修改会使 {broken} 条原本编码正确的已审核诊断不再自动编码。"
        "请收窄提示词（范围、不适用的较长词语），或勾选“仍然保存”。"
    )


@bp.get("/guards")
def page():
    return _list_page(_blank_form())


def _list_page(form, preview=None, error=None, status=200, impact=None, refused=False):
    guards = service.list_guards(engine())
    return (
        render_template(
            "guards_list.html",
            guards=guards,
            form=form,
            kinds=KINDS,
            scopes=SCOPES,
            text=_text(),
            preview=preview,
            impact=impact if impact is not None else (preview.impact if preview is not None else None),
            refused=refused,
            error=error,
        ),
        status,
    )


@bp.post("/guards/new")
@requires(Role.AUTHOR)
def create():
    form = _form_of_request(_blank_form())
    try:
        values = _values(form)
        if request.form.get("action", "test") != "save":
            return _list_page(form, preview=service.preview_guard(engine(), _text(), **values))
        done = service.add_guard(
            engine(), author=person(), reason=form.get("reason") or None, force=form["force"], **values
        )
    except ChangeRefused as exc:
        return _list_page(form, error=_refusal(exc), impact=exc.impact, refused=True, status=409)
    except IcdCoderError as exc:
        return _list_page(form, error=str(exc), status=422)
    flash(f"提示词 {done.new.id} 已添加（第 1 版）。")
    return redirect(url_for("guards.show", guard_id=done.new.id))


def _show(guard_id: int, form=None, preview=None, error=None, status=200, impact=None, refused=False):
    try:
        shown = service.show_guard(engine(), guard_id)
    except NotFound:
        abort(404)
    return (
        render_template(
            "guards_show.html",
            guard=shown.item,
            history=shown.history,
            form=form if form is not None else _form_of_guard(shown.item),
            kinds=KINDS,
            scopes=SCOPES,
            text=_text(),
            preview=preview,
            impact=impact if impact is not None else (preview.impact if preview is not None else None),
            refused=refused,
            error=error,
        ),
        status,
    )


@bp.get("/guards/<int:guard_id>")
def show(guard_id: int):
    return _show(guard_id)


@bp.post("/guards/<int:guard_id>")
@requires(Role.AUTHOR)
def edit(guard_id: int):
    seen = shown_version()
    form = {**_form_of_request(_blank_form()), "version": seen}
    try:
        values = _values(form)
        if request.form.get("action", "test") != "save":
            return _show(guard_id, form, preview=service.preview_guard(engine(), _text(), guard_id, **values))
        done = service.change_guard_at(
            engine(), guard_id, seen, person(), form.get("reason") or None, form["force"], **values
        )
    except NotFound:
        abort(404)
    except StaleForm as exc:
        form["version"] = exc.current
        return _show(guard_id, form, error=stale_message(exc, "提示词", "提示词"), status=409)
    except ChangeRefused as exc:
        return _show(guard_id, form, error=_refusal(exc), impact=exc.impact, refused=True, status=409)
    except IcdCoderError as exc:
        return _show(guard_id, form, error=str(exc), status=422)
    if not done.changed:
        flash(f"提示词 {guard_id} 没有变化（与当前版本相同），未保存。", "warning")
    else:
        flash(f"提示词 {guard_id} 已保存为第 {done.new.version} 版。")
    return redirect(url_for("guards.show", guard_id=guard_id))


@bp.post("/guards/<int:guard_id>/enabled")
@requires(Role.AUTHOR)
def toggle(guard_id: int):
    enabled = request.form.get("enabled") in ("1", "on", "true")
    reason = request.form.get("reason", "").strip() or None
    force = request.form.get("force") in ("1", "on")
    try:
        done = service.change_guard_at(engine(), guard_id, shown_version(), person(), reason, force, enabled=enabled)
    except NotFound:
        abort(404)
    except StaleForm as exc:
        return _show(guard_id, error=stale_message(exc, "提示词", "提示词"), status=409)
    except ChangeRefused as exc:
        return _show(guard_id, error=_refusal(exc), impact=exc.impact, refused=True, status=409)
    except IcdCoderError as exc:
        return _show(guard_id, error=str(exc), status=422)
    state = "启用" if enabled else "停用"
    flash(
        f"提示词 {guard_id} 已{state}（第 {done.new.version} 版）。"
        if done.changed
        else f"提示词 {guard_id} 本来就已{state}。"
    )
    return redirect(url_for("guards.show", guard_id=guard_id))
