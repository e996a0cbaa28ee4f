"""What the versioned change forms (rules, normalization entries) share: the version a form was
shown at, and the words for a form that another person's change has made stale."""

from __future__ import annotations

from flask import abort, request

from coder.errors import RuleInvalid
from coder.services.rules import StaleForm


def when(iso: str) -> str:
    """An ISO timestamp as the pages show it (UTC, to the second)."""
    return iso[:19].replace("T", " ")


def shown_version() -> int:
    """The version the form was shown at (every change form carries it)."""
    try:
        return int(request.form["version"])
    except (KeyError, ValueError):
        abort(400, "表单缺少版本号（version）：请重新打开页面。")


def stale_message(exc: StaleForm, noun: str, short: str) -> str:
    """`noun`: what the form changes (规则, 规范化条目); `short`: the word for it below (规则, 条目)."""
    return (
        f"{noun} {exc.item_id} 在您打开页面之后已被 {exc.author} 于 {when(exc.changed_at)} (UTC) 修改"
        f"（您看到的是第 {exc.shown} 版，现在是第 {exc.current} 版）。未保存任何内容："
        f"请先查看下方的当前{short}和历史，表单中保留了您填写的内容，确认后再保存。"
    )


def form_position(form) -> int:
    """The `position` field of an ordered table's form (guards, normalization); blank is 0."""
    text = str(form.get("position", "")).strip() or "0"
    try:
        return int(text)
    except ValueError:
        raise RuleInvalid(f"顺序必须是整数，不是 {text!r}") from None
