"""/rules: search the rule base, a rule with its whole history, and changes tested before they are saved.

Every change goes through the form's two buttons: 试验 judges it against the audited history (the
`rules test` summary, as a save would judge it) and writes nothing; 保存 saves it, refused when it
would turn correctly coded audited diagnoses wrong unless the author ticks force. A form carries the
version it was shown at: a save from an older version is refused, naming who changed the rule since.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from coder.audit.ruletest import Impact
from coder.errors import IcdCoderError, NotFound, RuleInvalid
from coder.services import rules as service
from coder.services.rules import RuleChangeRefused, StaleForm
from coder.store.users import Role
from rulebase.codes import NAMES, SYSTEMS

from ..app import engine, page_args, person, requires
from .forms import shown_version, stale_message, when

bp = Blueprint("rules", __name__)

PAGE_SIZE = 50
FIELDS = ("code", "pattern", "exclude", "priority", "note")


def _filters() -> dict[str, Any]:
    a = request.args
    system = a.get("system", "")
    return {
        "search": a.get("search", "").strip(),
        "code": a.get("code", "").strip(),
        "system": system if system in SYSTEMS else "",
        "all": a.get("all", "") in ("1", "on", "true"),
    }


@bp.get("/rules")
def page():
    f = _filters()
    paging = page_args(PAGE_SIZE)
    found = service.rules_page(
        engine(),
        code=f["code"] or None,
        search=f["search"] or None,
        include_disabled=f["all"],
        system=f["system"] or None,
        offset=paging["offset"],
        limit=paging["limit"],
    )
    pages = max(1, -(-found.total // PAGE_SIZE))
    query = {k: v for k, v in (("search", f["search"]), ("code", f["code"]), ("system", f["system"])) if v}
    if f["all"]:
        query["all"] = "1"
    return render_template(
        "rules_list.html",
        rows=found.rows,
        total=found.total,
        page=paging["page"],
        pages=pages,
        f=f,
        query=query,
        systems=[(s, NAMES[s]) for s in SYSTEMS],
    )


# --- one rule ---------------------------------------------------------------------------------------------


def _view(rule_id: int) -> service.RuleView:
    try:
        return service.view_rule(engine(), rule_id)
    except NotFound:
        abort(404)


def _form_of_rule(rule) -> dict[str, Any]:
    return {
        "code": rule.code,
        "pattern": rule.pattern,
        "exclude": rule.exclude or "",
        "priority": str(rule.priority),
        "note": rule.note or "",
        "reason": "",
        "force": False,
        "version": rule.version,
    }


def _form_of_request(defaults: dict[str, Any] | None = None) -> dict[str, Any]:
    src = request.form if request.method == "POST" else request.args
    out = dict(defaults or {})
    for k in (*FIELDS, "reason"):
        if k in src:
            out[k] = src.get(k, "")
    out.setdefault("priority", "0")
    out["force"] = src.get("force") in ("1", "on")
    return out


def _values(form: dict[str, Any]) -> dict[str, Any]:
    """The rule's fields from the form: blanks are None, priority a whole number."""
    text = form.get("priority", "").strip() or "0"
    try:
        priority = int(text)
    except ValueError:
        raise RuleInvalid(f"优先级必须是整数（-1000 到 1000），不是 {text!r}") from None
    return {
        "code": form.get("code", "").strip(),
        "pattern": form.get("pattern", ""),
        "exclude": form.get("exclude", "") or None,
        "priority": priority,
        "note": form.get("note", "").strip() or None,
    }


def _moved_on(rule_id: int, shown: int | None, current: int) -> str | None:
    """For a test from a form of an older version: who changed the rule since (the test is of the
    change to the rule as it is now; a save would be refused)."""
    if shown is None or shown == current:
        return None
    later = [h for h in service.show_rule(engine(), rule_id).history if h["version"] > shown]
    last = later[-1] if later else {"author": "?", "changed_at": "?"}
    return (
        f"注意：规则 {rule_id} 在您打开页面之后已被 {last['author']} 于 {when(last['changed_at'])} (UTC) 修改"
        f"（您看到的是第 {shown} 版，现在是第 {current} 版）。下面的试验是相对当前规则的；保存前请重新打开页面。"
    )


def _summary(impact: Impact | None) -> str:
    """One line of the judgement, for the message after a save."""
    if impact is None or not impact.audited:
        return ""
    return (
        f"已审核诊断 {impact.audited} 条：{impact.fixed} 条将变为正确编码，"
        f"{impact.broken} 条原本正确的将变为错误或无编码。"
    )


def _show(
    rule_id: int,
    form: dict[str, Any] | None = None,
    impact: Impact | None = None,
    error: str | None = None,
    refused: bool = False,
    tested: bool = False,
    status: int = 200,
):
    view = _view(rule_id)
    if form is None:
        form = _form_of_rule(view.rule)
        loaded = request.args.get("from_version")
        if loaded:
            for h in view.history:
                if str(h["version"]) == loaded and h["new"]:
                    form.update(_form_of_rule_dict(h["new"]))
                    form["reason"] = f"恢复到第 {loaded} 版"
    return (
        render_template(
            "rules_show.html",
            view=view,
            rule=view.rule,
            form=form,
            impact=impact,
            error=error,
            refused=refused,
            tested=tested,
            system_name=NAMES.get(view.code_system or "", ""),
        ),
        status,
    )


def _form_of_rule_dict(values: dict[str, Any]) -> dict[str, Any]:
    return {
        "code": values.get("code") or "",
        "pattern": values.get("pattern") or "",
        "exclude": values.get("exclude") or "",
        "priority": str(values.get("priority", 0)),
        "note": values.get("note") or "",
    }


@bp.get("/rules/<int:rule_id>")
def show(rule_id: int):
    return _show(rule_id)


@bp.post("/rules/<int:rule_id>")
@requires(Role.AUTHOR)
def edit(rule_id: int):
    form = _form_of_request()
    form["version"] = shown_version()
    action = request.form.get("action", "test")
    try:
        changes = _values(form)
        if action == "save":
            done = service.change_rule_at(
                engine(), rule_id, form["version"], person(), form.get("reason") or None, form["force"], **changes
            )
        else:
            preview = service.preview_change(engine(), rule_id, **changes)
            notice = _moved_on(rule_id, form["version"], preview.old.version)
            if not preview.changed:
                return _show(rule_id, form, error=notice or "表单与当前规则相同：没有要试验的修改。", tested=True)
            return _show(rule_id, form, impact=preview.impact, error=notice, tested=True)
    except NotFound:
        abort(404)
    except StaleForm as exc:
        form["version"] = exc.current
        return _show(rule_id, form, error=stale_message(exc, "规则", "规则"), status=409)
    except RuleChangeRefused as exc:
        return _show(rule_id, form, impact=exc.impact, error=_refusal(exc.impact), refused=True, status=409)
    except IcdCoderError as exc:
        return _show(rule_id, form, error=str(exc), status=422)
    if not done.changed:
        flash(f"规则 {rule_id} 没有变化（与当前版本相同），未保存。", "warning")
    else:
        flash(f"规则 {rule_id} 已保存为第 {done.new.version} 版。" + _summary(done.impact))
    return redirect(url_for("rules.show", rule_id=rule_id))


def _refusal(impact: Impact) -> str:
    return (
        f"未保存：这一修改会使 {impact.broken} 条原本编码正确的已审核诊断变为错误或无编码。"
        "请收窄规则；确有必要时勾选“强制保存”后再保存。"
    )


@bp.post("/rules/<int:rule_id>/enabled")
@requires(Role.AUTHOR)
def toggle(rule_id: int):
    enabled = request.form.get("enabled") in ("1", "on", "true")
    force = request.form.get("force") in ("1", "on")
    reason = request.form.get("reason", "").strip() or None
    try:
        done = service.change_rule_at(engine(), rule_id, shown_version(), person(), reason, force, enabled=enabled)
    except NotFound:
        abort(404)
    except StaleForm as exc:
        return _show(rule_id, error=stale_message(exc, "规则", "规则"), status=409)
    except RuleChangeRefused as exc:
        return _show(rule_id, impact=exc.impact, error=_refusal(exc.impact), refused=True, status=409)
    except IcdCoderError as exc:
        return _show(rule_id, error=str(exc), status=422)
    state = "启用" if enabled else "停用"
    if done.changed:
        flash(f"规则 {rule_id} 已{state}（第 {done.new.version} 版）。" + _summary(done.impact))
    else:
        flash(f"规则 {rule_id} 本来就已{state}。", "warning")
    return redirect(url_for("rules.show", rule_id=rule_id))


# --- a new rule -------------------------------------------------------------------------------------------


def _new_page(form, impact=None, error=None, refused=False, tested=False, status=200):
    return render_template(
        "rules_new.html", form=form, impact=impact, error=error, refused=refused, tested=tested
    ), status


@bp.get("/rules/new")
def new():
    """The form for a new rule, prefilled from the query (?code=&pattern=: a failure's text)."""
    return _new_page(_form_of_request({"code": "", "pattern": "", "exclude": "", "note": "", "reason": ""}))


@bp.post("/rules/new")
@requires(Role.AUTHOR)
def create():
    form = _form_of_request({"code": "", "pattern": "", "exclude": "", "note": "", "reason": ""})
    action = request.form.get("action", "test")
    try:
        v = _values(form)
        if action == "save":
            if not v["code"]:
                raise RuleInvalid("请填写编码：规则要给出哪个编码？")
            added = service.add_rule(
                engine(), author=person(), reason=form.get("reason") or None, force=form["force"], **v
            )
        else:
            return _new_page(form, impact=service.preview_add(engine(), **v), tested=True)
    except RuleChangeRefused as exc:
        return _new_page(form, impact=exc.impact, error=_refusal(exc.impact), refused=True, status=409)
    except IcdCoderError as exc:
        return _new_page(form, error=str(exc), status=422)
    flash(f"规则 {added.rule.id} 已添加（第 1 版）。" + _summary(added.impact))
    return redirect(url_for("rules.show", rule_id=added.rule.id))
