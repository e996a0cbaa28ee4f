"""/guards: the uncertainty and negation cues, a guard with its history, and changes.

As on the rules pages, a guard's form has 试验 (what a text gets with the changed table, and the
change judged against the audited history; nothing written) and 保存, which is refused when the
change leaves correctly coded audited lines uncoded unless the author ticks force. Coders see
the table; authors change it.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request

from coder.errors import ChangeRefused
from coder.services import guards as service
from coder.store.users import Role
from rulebase.states import GuardKind, GuardScope

from ..app import engine, requires
from .forms import form_position
from .versioned import JudgedTable

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
    return {
        "position": form_position(form),
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


TABLE = JudgedTable(
    noun="提示词",
    endpoint="guards.show",
    id_arg="guard_id",
    fields=FIELDS,
    blank_form=_blank_form,
    form_of=_form_of_guard,
    values=_values,
    refusal=_refusal,
    preview=lambda guard_id, values: service.preview_guard(engine(), _text(), guard_id, **values),
    add=service.add_guard,
    change_at=service.change_guard_at,
    fetch=service.show_guard,
    show_template="guards_show.html",
    item_name="guard",
    list_template="guards_list.html",
    list_context=lambda: {"guards": service.list_guards(engine())},
    context=lambda: {"kinds": KINDS, "scopes": SCOPES, "text": _text()},
)


@bp.get("/guards")
def page():
    return TABLE.list_page(_blank_form())


@bp.post("/guards/new")
@requires(Role.AUTHOR)
def create():
    return TABLE.create()


@bp.get("/guards/<int:guard_id>")
def show(guard_id: int):
    return TABLE.show_page(guard_id)


@bp.post("/guards/<int:guard_id>")
@requires(Role.AUTHOR)
def edit(guard_id: int):
    return TABLE.edit(guard_id)


@bp.post("/guards/<int:guard_id>/enabled")
@requires(Role.AUTHOR)
def toggle(guard_id: int):
    return TABLE.toggle(guard_id)
