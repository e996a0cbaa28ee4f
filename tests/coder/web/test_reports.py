"""/reports and /reports.xlsx over HTTP (Flask's test client) on a real SQLite file and PostgreSQL: the
totals in Chinese, the monthly chart as inline SVG (well-formed, one polyline per measure, text
escaped), the tables by chapter and code, the workbook download, the form's checks, the login."""

from __future__ import annotations

import datetime as dt
import io
import re
import xml.etree.ElementTree as ET

import pytest
from sqlalchemy import update

from coder.db.models import diagnosis
from coder.services.audit import act, queue
from coder.services.diagnoses import import_diagnoses
from coder.services.run import run_coding
from coder.web.chart import MEASURES, Series, line_chart, measures_chart
from tests.conftest import write_csv

SVG = "{http://www.w3.org/2000/svg}"

# (record, description, kind, what the coder does, the code, the month of the review)
LINES = [
    ("A1", "冠心病", "discharge", "confirm", None, "2025-01"),  # TP
    ("A2", "脑梗死后遗症", "discharge", "correct", "I69.300", "2025-01"),  # FP: the rule codes I63.900
    ("A3", "帕金森病", "discharge", "code", "G20.x00", "2025-01"),  # TN: no_match, and no rule for G20.x00
    ("A4", "冠状动脉造影", "procedure", "confirm", None, "2025-01"),  # TP, ICD-9-CM-3
    ("B1", "冠心病", "discharge", "confirm", None, "2025-02"),  # TP
    ("B2", "高血压", "discharge", "confirm", None, "2025-02"),  # TP
    ("B3", "冠心病 不稳定型心绞痛", "discharge", "code", "I20.000", "2025-02"),  # FN: ambiguous, I20.000 has rules
    ("B4", "心房颤动", "discharge", "confirm", None, "2025-02"),  # TP
]


PERIOD = "from=2025-01-01&to=2025-12-31"  # the LINES' months; the seeded sample's own persons' codes are today's


@pytest.fixture
def audited(web_engine, tmp_path):
    """The workbench's seeded database (tests/coder/web/conftest.py: the sample's dictionaries, rules
    and lines, one run) with the LINES added, coded by a run and reviewed through the audit service,
    each line's review then dated to its month in 2025 (the report groups by that date). The
    paper's strict semantics, so B3's two diagnoses are an ambiguity a person codes (an FN); the
    reports of lines of several codes are tested with the report service."""
    from coder.services.settings import change_setting

    change_setting(web_engine, "matching", "strict")
    rows = [[r, 1, text, kind] for r, text, kind, *_ in LINES]
    import_diagnoses(web_engine, write_csv(tmp_path / "lines.csv", ["record_id", "seq", "description", "kind"], rows))
    run_coding(web_engine)
    waiting = {q["record_id"]: q for q in queue(web_engine) if q["record_id"] in {r[0] for r in LINES}}
    for record, _, _, action, code, month in LINES:
        d_id = waiting[record]["diagnosis_id"]
        act(web_engine, d_id, action, "李娜", code)
        with web_engine.begin() as conn:
            stamp = dt.datetime.fromisoformat(f"{month}-15 10:00")
            conn.execute(update(diagnosis).where(diagnosis.c.id == d_id).values(updated_at=stamp))
    return web_engine


def _svg(html: str, chart_id: str) -> ET.Element:
    """The inline <svg> of `chart_id`, parsed as XML (so it is well-formed)."""
    m = re.search(rf'<svg [^>]*id="{chart_id}".*?</svg>', html, re.S)
    assert m, chart_id
    return ET.fromstring(m.group(0))


def _by_id(html: str, element_id: str) -> str:
    return re.search(rf'id="{element_id}">([^<]*)<', html).group(1)


def test_the_page_shows_the_totals_and_the_monthly_chart(audited, client_for):
    r = client_for("coder").get(f"/reports?{PERIOD}")
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    totals = {k: _by_id(html, k) for k in ("tp", "fp", "fn", "tn", "total")}
    assert totals == {"tp": "5", "fp": "1", "fn": "1", "tn": "1", "total": "8"}
    shown = {k: _by_id(html, k) for k in ("precision", "recall", "f_measure", "accuracy", "coverage", "time_saved")}
    assert shown == {
        "precision": "83.3%",
        "recall": "83.3%",
        "f_measure": "83.3%",
        "accuracy": "75.0%",
        "coverage": "75.0%",
        "time_saved": "5 条",
    }
    for label in ("精确率", "召回率", "F 值", "准确率", "覆盖率", "节省的编码工作", "按章", "按编码"):
        assert label in html, label
    svg = _svg(html, "chart-measures")
    assert svg.get("role") == "img" and "每月编码质量" in svg.find(f"{SVG}title").text
    series = svg.findall(f"{SVG}g[@class='series']")
    assert [g.get("data-measure") for g in series] == [key for key, *_ in MEASURES]
    assert all(len(g.findall(f"{SVG}polyline")) == 1 for g in series)
    assert all(len(g.findall(f"{SVG}circle")) == 2 for g in series)  # two months
    months = [t.text for t in svg.iter(f"{SVG}text") if t.text and t.text.startswith("2025-")]
    assert months == ["2025-01", "2025-02"]
    precision = series[0].find(f"{SVG}circle/{SVG}title").text
    assert precision == "2025-01 精确率 P：66.7%"  # TP 2, FP 1 in January
    volume = _svg(html, "chart-volume")
    assert len(volume.findall(f".//{SVG}polyline")) == 2  # auto-coded, confirmed correct (Figure 6)


def test_tables_by_month_chapter_and_code(audited, client_for):
    html = client_for("coder").get(f"/reports?{PERIOD}").get_data(as_text=True)
    chapters = re.search(r'id="by-chapter">(.*?)</table>', html, re.S).group(1)
    # ICD-10 chapters in their order, then the ICD-9-CM-3 range, each with its Chinese title
    assert re.findall(r"<tr><td>([^<]+)</td><td>([^<]*)</td>", chapters) == [
        ("VI", "神经系统疾病"),
        ("IX", "循环系统疾病"),
        ("87-99", "各种诊断性和治疗性操作"),
    ]
    codes = re.search(r'id="by-code">(.*?)</table>', html, re.S).group(1)
    first = re.findall(r'<td class="code">([^<]+)</td><td>([^<]*)</td>', codes)
    assert first[0] == ("I25.103", "冠状动脉粥样硬化性心脏病")  # the most audited code first
    assert {c for c, _ in first} == {"I25.103", "I69.300", "G20.x00", "88.5500", "I10.x00", "I20.000", "I48.x00"}
    months = re.search(r'id="by-month">(.*?)</table>', html, re.S).group(1)
    assert re.findall(r"<tr><td>(2025-\d\d)</td>", months) == ["2025-01", "2025-02"]


def test_the_form_filters_by_period_and_system(audited, client_for):
    c = client_for("coder")
    html = c.get("/reports?from=2025-02-01&to=2025-02-28").get_data(as_text=True)
    assert (_by_id(html, "tp"), _by_id(html, "fn"), _by_id(html, "total")) == ("3", "1", "4")
    assert 'value="2025-02-01"' in html and "2025-02-01 至 2025-02-28" in html
    html = c.get(f"/reports?{PERIOD}&system=icd9cm3").get_data(as_text=True)
    assert (_by_id(html, "tp"), _by_id(html, "total")) == ("1", "1")
    assert '<option value="icd9cm3" selected>' in html
    html = c.get(f"/reports?{PERIOD}&system=icd10").get_data(as_text=True)
    assert (_by_id(html, "tp"), _by_id(html, "total")) == ("4", "7")
    empty = c.get("/reports?from=2030-01-01")
    assert empty.status_code == 200 and "所选期间没有已审核的诊断" in empty.get_data(as_text=True)
    assert "<svg" not in empty.get_data(as_text=True)


@pytest.mark.parametrize(
    ("query", "said"),
    [
        ("from=2025-13-01", "开始日期“2025-13-01”不是日期"),
        ("to=yesterday", "结束日期“yesterday”不是日期"),
        ("from=2025-03-01&to=2025-01-01", "开始日期晚于结束日期"),
        ("system=icd11", "编码体系“icd11”未知"),
    ],
)
def test_a_wrong_form_is_said_in_chinese(web_app, client_for, query, said):
    c = client_for("coder")
    for path in ("/reports", "/reports.xlsx"):
        r = c.get(f"{path}?{query}")
        assert r.status_code == 400 and said in r.get_data(as_text=True), path


def test_the_workbook_downloads_with_the_monthly_chart(audited, client_for):
    from openpyxl import load_workbook

    r = client_for("coder").get("/reports.xlsx?from=2025-01-01&to=2025-12-31&system=icd10")
    assert r.status_code == 200
    assert r.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert r.headers["Content-Disposition"] == "attachment; filename=icdcoder-report-2025-01-01-2025-12-31-icd10.xlsx"
    assert r.headers["Cache-Control"] == "no-store"
    wb = load_workbook(io.BytesIO(r.data))
    assert wb.sheetnames == ["summary", "month", "chapter", "code"]
    summary = [c.value for c in wb["summary"][2]]
    assert summary[:5] == ["2025-01-01 – 2025-12-31", 4, 1, 1, 1]
    assert [row[0] for row in wb["month"].iter_rows(min_row=2, max_col=1, values_only=True)] == ["2025-01", "2025-02"]
    assert len(wb["month"]._charts) == 1  # auto-coded vs confirmed correct, by month (Figure 6)
    html = client_for("coder").get(f"/reports?{PERIOD}&system=icd10").get_data(as_text=True)
    assert 'href="/reports.xlsx?from=2025-01-01&amp;to=2025-12-31&amp;system=icd10"' in html
    everything = client_for("coder").get("/reports").get_data(as_text=True)
    assert 'href="/reports.xlsx"' in everything


def test_every_role_may_read_reports_and_nobody_without_a_login(web_app, client_for):
    for role in ("coder", "author", "admin"):
        assert client_for(role).get("/reports").status_code == 200, role
    anonymous = web_app.test_client()
    for path in ("/reports", "/reports.xlsx", "/reports?from=2025-01-01"):
        r = anonymous.get(path)
        assert r.status_code == 302 and "/login" in r.headers["Location"], path
        assert b"PK" not in r.data[:2]  # no workbook


def test_the_chart_escapes_its_text_and_leaves_gaps():
    svg = line_chart(
        ["2025-01", '<script>alert("x")</script>', "2025-03"],
        [Series("m&m", 'P"<b>', "#123456", [0.5, None, 0.9]), Series("r", "R", "red", [0.6, 0.7, 0.8])],
        title="T <i>&",
        x_label="月份",
        y_label="百分比",
        percent=True,
        chart_id="c1",
    )
    assert "<script" not in svg and "<b>" not in svg and "<i>" not in svg
    root = ET.fromstring(str(svg))  # well-formed, the text escaped
    assert root.find(f"{SVG}title").text == "T <i>&"
    first, second = root.findall(f"{SVG}g[@class='series']")
    assert first.get("data-measure") == "m&m"
    assert len(first.findall(f"{SVG}polyline")) == 0 and len(first.findall(f"{SVG}circle")) == 2  # a gap
    assert len(second.findall(f"{SVG}polyline")) == 1 and len(second.findall(f"{SVG}circle")) == 3
    assert [t.text for t in root.iter(f"{SVG}text") if t.text and "alert" in t.text] == ['<script>alert("x")</script>']


def test_one_month_is_a_point_per_measure_and_the_axis_starts_low_enough():
    month = {"month": "2025-07", "tp": 9, "fp": 1, "fn": 0, "tn": 0, "total": 10}
    month |= {"precision": 0.9, "recall": 1.0, "f_measure": 0.9474, "accuracy": 0.9, "coverage": 1.0}
    root = ET.fromstring(str(measures_chart([month])))
    assert not root.findall(f".//{SVG}polyline") and len(root.findall(f".//{SVG}circle")) == 5
    ticks = [t.text for t in root.findall(f"{SVG}g[@class='y-axis']/{SVG}text")]
    assert ticks[0] == "80%" and ticks[-1] == "100%"  # zoomed to the values, and said so
    assert any(t.text == "纵轴从 80.0% 起" for t in root.iter(f"{SVG}text"))
