"""/combinations: the combination codes, a combination with its history, and changes.

As on the guards pages, a form has 试验 (the change judged against the audited records; nothing
written) and 保存, refused when the change turns correctly coded audited lines wrong unless the
author ticks force. Coders see the table and the lines waiting for review; authors change it.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from coder.errors import ChangeRefused
from coder.services import combinations as service
from coder.store.users import Role

from ..app import engine, requires
from .versioned import JudgedTable

bp = Blueprint("combinations", __name__)
FIELDS = ("codes", "code", "note", "reason")


def _blank_form() -> dict[str, Any]:
    return {"codes": "", "code": "", "note": "", "reason": "", "force": False}


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


TABLE = JudgedTable(
    noun="组合编码",
    endpoint="combinations.show",
    id_arg="combination_id",
    fields=FIELDS,
    blank_form=_blank_form,
    form_of=_form_of,
    values=_values,
    refusal=_refusal,
    preview=lambda combination_id, values: service.preview_combination(engine(), combination_id, **values),
    add=service.add_combination,
    change_at=service.change_combination_at,
    fetch=service.show_combination,
    show_template="combos_show.html",
    item_name="combo",
    list_template="combos_list.html",
    list_context=lambda: {
        "combos": service.list_combinations(engine()),
        "review": service.review_lines(engine(), limit=200),
    },
    context=dict,
)


@bp.get("/combinations")
def page():
    return TABLE.list_page(_blank_form())


@bp.post("/combinations/new")
@requires(Role.AUTHOR)
def create():
    return TABLE.create()


@bp.get("/combinations/<int:combination_id>")
def show(combination_id: int):
    return TABLE.show_page(combination_id)


@bp.post("/combinations/<int:combination_id>")
@requires(Role.AUTHOR)
def edit(combination_id: int):
    return TABLE.edit(combination_id)


@bp.post("/combinations/<int:combination_id>/enabled")
@requires(Role.AUTHOR)
def toggle(combination_id: int):
    return TABLE.toggle(combination_id)
