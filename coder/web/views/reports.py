"""/reports: precision, recall, F, accuracy and coverage of the audited diagnoses, the records' code
sets (按病案), the monthly chart, by chapter and by code; /reports.xlsx: the same period as the
workbook `icdcoder report --xlsx` writes. Both read coder.services.audit.report, over the period
and code system of the form."""

from __future__ import annotations

import datetime as dt
import io
import math
import tempfile
from pathlib import Path
from typing import Any

from flask import Blueprint, render_template, request, send_file, url_for

from coder.services.audit import report, write_report_xlsx
from coder.services.dictionary import code_names
from rulebase.codes import ICD9CM3, ICD10

from ..app import engine
from ..chart import measures_chart, volume_chart

bp = Blueprint("reports", __name__)

CODES_PER_PAGE = 50
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SYSTEMS = {"": "全部（诊断和手术操作）", ICD10: "ICD-10 诊断", ICD9CM3: "ICD-9-CM-3 手术操作"}

# The chapters as the report names them (ICD-10 by Roman numeral, ICD-9-CM-3 by its range), in order.
CHAPTER_TITLES = {
    "I": "某些传染病和寄生虫病",
    "II": "肿瘤",
    "III": "血液及造血器官疾病和某些涉及免疫机制的疾患",
    "IV": "内分泌、营养和代谢疾病",
    "V": "精神和行为障碍",
    "VI": "神经系统疾病",
    "VII": "眼和附器疾病",
    "VIII": "耳和乳突疾病",
    "IX": "循环系统疾病",
    "X": "呼吸系统疾病",
    "XI": "消化系统疾病",
    "XII": "皮肤和皮下组织疾病",
    "XIII": "肌肉骨骼系统和结缔组织疾病",
    "XIV": "泌尿生殖系统疾病",
    "XV": "妊娠、分娩和产褥期",
    "XVI": "起源于围生期的某些情况",
    "XVII": "先天性畸形、变形和染色体异常",
    "XVIII": "症状、体征和临床与实验室异常所见，不可归类在他处者",
    "XIX": "损伤、中毒和外因的某些其他后果",
    "XX": "疾病和死亡的外因",
    "XXI": "影响健康状态和与保健机构接触的因素",
    "XXII": "用于特殊目的的编码",
    "00": "操作和介入，不可归类在他处",
    "01-05": "神经系统手术",
    "06-07": "内分泌系统手术",
    "08-16": "眼的手术",
    "17": "其他各类操作",
    "18-20": "耳部手术",
    "21-29": "鼻、口、咽手术",
    "30-34": "呼吸系统手术",
    "35-39": "心血管系统手术",
    "40-41": "血液和淋巴系统手术",
    "42-54": "消化系统手术",
    "55-59": "泌尿系统手术",
    "60-64": "男性生殖器官手术",
    "65-71": "女性生殖器官手术",
    "72-75": "产科操作",
    "76-84": "肌肉骨骼系统手术",
    "85-86": "体被系统手术",
    "87-99": "各种诊断性和治疗性操作",
}
CHAPTER_ORDER = {name: i for i, name in enumerate(CHAPTER_TITLES)}


def pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f}%"


def _day(text: str, label: str, errors: list[str]) -> str | None:
    text = text.strip()
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text).isoformat()
    except ValueError:
        errors.append(f"{label}“{text}”不是日期，请写成 年-月-日（如 2025-01-31）")
        return None


def _form() -> tuple[dict[str, str], list[str]]:
    """The period and system asked for (as typed, for the form) and what is wrong with them."""
    asked = {k: request.args.get(k, "") for k in ("from", "to", "system")}
    errors: list[str] = []
    start, end = _day(asked["from"], "开始日期", errors), _day(asked["to"], "结束日期", errors)
    if start and end and start > end:
        errors.append("开始日期晚于结束日期")
    if asked["system"] not in SYSTEMS:
        errors.append(f"编码体系“{asked['system']}”未知：请选 ICD-10 或 ICD-9-CM-3")
    return {
        "from": start or "",
        "to": end or "",
        "system": asked["system"],
        **{"raw_" + k: v for k, v in asked.items()},
    }, errors


def _report(form: dict[str, str], records: bool = True) -> dict[str, Any]:
    return report(
        engine(),
        form["from"] or None,
        form["to"] or None,
        by=("month", "chapter", "code"),
        system=form["system"] or None,
        records_by_month=False,  # the page and the workbook show the period's records only
        records=records,
    )


def _query(form: dict[str, str], **more: Any) -> dict[str, Any]:
    """The form's non-empty values, as url_for arguments."""
    return {k: form[k] for k in ("from", "to", "system") if form[k]} | more


@bp.get("/reports")
def page():
    form, errors = _form()
    if errors:
        return render_template("reports_page.html", form=form, errors=errors, data=None, systems=SYSTEMS, pct=pct), 400
    # The records' figures read every audited line of the period (about a second at 100,000): the
    # page computes them when asked (a link), so it stays quick; the workbook always has them.
    data = _report(form, records=request.args.get("records") == "1")
    try:
        page_no = max(1, int(request.args.get("page", "1")))
    except ValueError:
        page_no = 1
    codes = sorted(data["by_code"], key=lambda r: (-r["total"], r["code"]))
    pages = max(1, math.ceil(len(codes) / CODES_PER_PAGE))
    page_no = min(page_no, pages)
    shown = codes[(page_no - 1) * CODES_PER_PAGE : page_no * CODES_PER_PAGE]
    names = code_names(engine(), [r["code"] for r in shown]) if shown else {}
    chapters = sorted(
        data["by_chapter"], key=lambda r: (CHAPTER_ORDER.get(r["chapter"], len(CHAPTER_ORDER)), r["chapter"])
    )
    return render_template(
        "reports_page.html",
        form=form,
        errors=[],
        data=data,
        systems=SYSTEMS,
        pct=pct,
        measures=measures_chart(data["by_month"]) if data["by_month"] else None,
        volume=volume_chart(data["by_month"]) if data["by_month"] else None,
        chapters=[{**r, "title": CHAPTER_TITLES.get(r["chapter"], "")} for r in chapters],
        codes=[{**r, "name": names.get(r["code"], "")} for r in shown],
        code_count=len(codes),
        page=page_no,
        pages=pages,
        first_rank=(page_no - 1) * CODES_PER_PAGE + 1,
        page_url=lambda n: url_for("reports.page", **_query(form, page=n)),
        workbook_url=url_for("reports.workbook", **_query(form)),
        records_url=url_for("reports.page", **_query(form, records=1)),
    )


@bp.get("/reports.xlsx")
def workbook():
    """The period's workbook (summary, month, chapter and code sheets, the monthly chart)."""
    form, errors = _form()
    if errors:
        return render_template("reports_page.html", form=form, errors=errors, data=None, systems=SYSTEMS, pct=pct), 400
    data = _report(form)
    with tempfile.TemporaryDirectory(prefix="icdcoder-report-") as tmp:
        path = Path(tmp) / "report.xlsx"
        write_report_xlsx(data, path)
        body = io.BytesIO(path.read_bytes())
    name = "-".join(["icdcoder-report", *(v for v in (form["from"], form["to"], form["system"]) if v)]) + ".xlsx"
    response = send_file(body, mimetype=XLSX, as_attachment=True, download_name=name, etag=False)
    response.headers["Cache-Control"] = "no-store"  # like every page: nothing of the database is cached
    return response
