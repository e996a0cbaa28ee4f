"""/worklist: what awaits review (auto-codes to confirm, failures by reason) with counts, filters and
paging; failures with the same normalized text, each group coded in one decision."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from flask import Blueprint, flash, redirect, render_template, request, url_for

from coder.services import workbench
from coder.services.diagnoses import list_runs
from coder.store.users import Role
from rulebase.codes import SYSTEMS, code_list
from rulebase.states import FAILURE_REASONS, ReviewAction, Status

from ..app import engine, page_args, person, requires

bp = Blueprint("worklist", __name__)

PAGE_SIZE = 50
STATUSES = (Status.CODED, Status.FAILED)
# What each filter is called when a value given for it is not one it takes (the page says so).
FILTER_NAMES = {
    "status": "状态",
    "reason": "原因",
    "run": "运行",
    "date_from": "开始日期",
    "date_to": "结束日期",
    "system": "编码体系",
}


def filters_from(args: Mapping[str, str]) -> tuple[workbench.Filters, list[str]]:
    """The worklist's filters from a query string, and the names of those whose value was not one
    they take (left out, and named on the page, rather than refusing the page)."""
    ignored: list[str] = []

    def choice(key: str, choices) -> str | None:
        value = (args.get(key) or "").strip()
        if not value:
            return None
        if value not in choices:
            ignored.append(FILTER_NAMES[key])
            return None
        return value

    def number(key: str) -> int | None:
        value = (args.get(key) or "").strip()
        if not value:
            return None
        if not value.isdigit() or len(value) > 9:
            ignored.append(FILTER_NAMES[key])
            return None
        return int(value)

    def day(key: str) -> dt.date | None:
        value = (args.get(key) or "").strip()
        if not value:
            return None
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            ignored.append(FILTER_NAMES[key])
            return None

    status = choice("status", STATUSES)
    reason = choice("reason", FAILURE_REASONS)
    if reason is not None and status == Status.CODED:
        status = None  # a reason is a failure's: it wins
    filters = workbench.Filters(
        status=status,
        reason=reason,
        run=number("run"),
        department=(args.get("department") or "").strip()[:100] or None,
        date_from=day("date_from"),
        date_to=day("date_to"),
        code=(args.get("code") or "").strip()[:32] or None,
        system=choice("system", SYSTEMS),
    ).checked()
    return filters, ignored


@bp.get("/worklist")
def page():
    filters, ignored = filters_from(request.args)
    groups_view = request.args.get("view") == "groups"
    context = {
        "filters": filters,
        "args": filters.args(),
        # the other filters, for the count links (each sets its own status or reason)
        "plain": {k: v for k, v in filters.args().items() if k not in ("status", "reason")},
        "ignored": ignored,
        "runs": list_runs(engine(), limit=50),
        "departments": workbench.departments(engine()),
        "groups_view": groups_view,
    }
    if groups_view:
        f = filters
        groups = workbench.failure_groups(engine(), f.reason, f.run, f.department, f.date_from, f.date_to, f.system)
        return render_template("worklist.html", groups=groups, scan=workbench.GROUP_SCAN, **context)
    paging = page_args(PAGE_SIZE)
    f = filters
    result = workbench.worklist(
        engine(),
        f.status,
        f.reason,
        f.run,
        f.department,
        f.date_from,
        f.date_to,
        f.code,
        f.system,
        offset=paging["offset"],
        limit=paging["limit"],
        edits=request.args.get("edits") == "1",
    )
    pages = max(1, -(-result.total // PAGE_SIZE))
    return render_template("worklist.html", result=result, page=paging["page"], pages=pages, **context)


@bp.post("/worklist/group")
@requires(Role.CODER)
def group():
    """One code (or one list of codes) for every failed line whose latest failure's normalized text
    is the group's."""
    filters, _ = filters_from(request.args)
    code = (request.form.get("code") or "").strip()
    shown = request.form.get("expected", "")
    n = workbench.decide_group(
        engine(),
        request.form.get("normalized", ""),
        ReviewAction.CODE,
        code,
        person(),
        system=request.form.get("system") or None,
        reason=filters.reason,
        remark=(request.form.get("remark") or "").strip() or None,
    )
    if n == 0:
        flash("没有剩余的相同文字的未编码行：它们可能已被其他编码员编码。", "warning")
    else:
        message = f"已将 {n} 条相同文字的未编码行编码为 {', '.join(code_list(code))}。"
        if shown.isdigit() and int(shown) != n:
            message += f"（页面显示的是 {shown} 条。）"
        flash(message)
    return redirect(url_for("worklist.page", view="groups", **filters.args()))
