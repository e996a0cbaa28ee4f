"""/normalization: the ordered replacement table, an entry with its history, changes and a text traced step by step.

Like the rules pages, an entry's form has 试验 (the text traced through the table as it would be,
and the enabled rules the entry would leave stale; nothing written) and 保存. After a save the page
names the enabled rules whose pattern holds text the entry now rewrites: they need rewriting.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from coder.errors import IcdCoderError, NotFound
from coder.services import normalization as service
from coder.services.rules import StaleForm
from coder.store.users import Role
from rulebase.normalize import LITERAL, PATTERN

from ..app import engine, person, requires
from .forms import form_position, shown_version, stale_message

bp = Blueprint("normalization", __name__)

KINDS = ((LITERAL.value, "文字"), (PATTERN.value, "模式"))
STALE_SHOWN = 100  # rule links listed after a save; the rest are a search away


def _text() -> str:
    return (request.values.get("text") or "").strip()[:1000]


def _trace(text: str):
    if not text:
        return None
    try:
        return service.trace(engine(), text)
    except IcdCoderError:
        return None


@bp.get("/normalization")
def page():
    return _list_page(_blank_form())


def _blank_form() -> dict[str, Any]:
    return {"position": "", "kind": LITERAL.value, "find": "", "replace": "", "note": "", "reason": ""}


def _list_page(form, preview=None, error=None, status=200, tested=False):
    text = _text()
    entries = service.list_entries(engine(), include_disabled=True)
    return (
        render_template(
            "norm_list.html",
            entries=entries,
            form=form,
            kinds=KINDS,
            text=text,
            steps=preview.steps if preview is not None and preview.steps is not None else _trace(text),
            preview=preview,
            error=error,
            tested=tested,
        ),
        status,
    )


def _form_of_request(defaults: dict[str, Any]) -> dict[str, Any]:
    out = dict(defaults)
    for k in ("position", "kind", "find", "replace", "note", "reason"):
        if k in request.form:
            out[k] = request.form.get(k, "")
    return out


def _values(form: dict[str, Any]) -> dict[str, Any]:
    return {
        "position": form_position(form),
        "kind": form.get("kind") or LITERAL.value,
        "find": form.get("find", ""),
        "replace": form.get("replace", ""),
        "note": (form.get("note") or "").strip() or None,
    }


@bp.post("/normalization/new")
@requires(Role.AUTHOR)
def create():
    form = _form_of_request(_blank_form())
    action = request.form.get("action", "test")
    try:
        values = _values(form)
        if action != "save":
            preview = service.preview_entry(engine(), _text(), **values)
            return _list_page(form, preview=preview, tested=True)
        done = service.add_entry(engine(), author=person(), reason=form.get("reason") or None, **values)
    except IcdCoderError as exc:
        return _list_page(form, error=str(exc), status=422)
    return _show(done.new.id, saved=done, message=f"规范化条目 {done.new.id} 已添加（第 1 版）。")


def _form_of_entry(entry) -> dict[str, Any]:
    return {
        "position": str(entry.position),
        "kind": str(entry.kind),
        "find": entry.find,
        "replace": entry.replace,
        "note": entry.note or "",
        "reason": "",
        "version": entry.version,
    }


def _show(entry_id: int, form=None, preview=None, error=None, saved=None, message=None, status=200, tested=False):
    try:
        shown = service.show_entry(engine(), entry_id)
    except NotFound:
        abort(404)
    entry = shown.item
    if form is None:
        form = _form_of_entry(entry)
    text = _text()
    stale = saved.stale_rules if saved is not None else (preview.stale_rules if preview is not None else [])
    return (
        render_template(
            "norm_show.html",
            entry=entry,
            history=shown.history,
            form=form,
            kinds=KINDS,
            text=text,
            steps=preview.steps if preview is not None and preview.steps is not None else _trace(text),
            preview=preview,
            error=error,
            message=message,
            saved=saved,
            stale=stale[:STALE_SHOWN],
            stale_total=len(stale),
            stale_find=(saved.new if saved is not None else preview.entry if preview is not None else entry).find,
            tested=tested,
        ),
        status,
    )


@bp.get("/normalization/<int:entry_id>")
def show(entry_id: int):
    return _show(entry_id)


@bp.post("/normalization/<int:entry_id>")
@requires(Role.AUTHOR)
def edit(entry_id: int):
    seen = shown_version()
    form = {**_form_of_request(_blank_form()), "version": seen}
    action = request.form.get("action", "test")
    try:
        values = _values(form)
        if action != "save":
            preview = service.preview_entry(engine(), _text(), entry_id, **values)
            return _show(entry_id, form, preview=preview, tested=True)
        done = service.change_entry_at(engine(), entry_id, seen, person(), form.get("reason") or None, **values)
    except NotFound:
        abort(404)
    except StaleForm as exc:
        form["version"] = exc.current
        return _show(entry_id, form, error=stale_message(exc, "规范化条目", "条目"), status=409)
    except IcdCoderError as exc:
        return _show(entry_id, form, error=str(exc), status=422)
    if not done.changed:
        flash(f"规范化条目 {entry_id} 没有变化（与当前版本相同），未保存。", "warning")
        return redirect(url_for("normalization.show", entry_id=entry_id))
    return _show(entry_id, saved=done, message=f"规范化条目 {entry_id} 已保存为第 {done.new.version} 版。")


@bp.post("/normalization/<int:entry_id>/enabled")
@requires(Role.AUTHOR)
def toggle(entry_id: int):
    enabled = request.form.get("enabled") in ("1", "on", "true")
    reason = request.form.get("reason", "").strip() or None
    try:
        done = service.change_entry_at(engine(), entry_id, shown_version(), person(), reason, enabled=enabled)
    except NotFound:
        abort(404)
    except StaleForm as exc:
        return _show(entry_id, error=stale_message(exc, "规范化条目", "条目"), status=409)
    except IcdCoderError as exc:
        return _show(entry_id, error=str(exc), status=422)
    state = "启用" if enabled else "停用"
    if not done.changed:
        flash(f"规范化条目 {entry_id} 本来就已{state}。", "warning")
        return redirect(url_for("normalization.show", entry_id=entry_id))
    return _show(entry_id, saved=done, message=f"规范化条目 {entry_id} 已{state}（第 {done.new.version} 版）。")
