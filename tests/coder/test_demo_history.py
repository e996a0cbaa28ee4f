"""The demo database's year of audit history (coder.sample.history): a monthly trend that improves
because 王芳's rule changes answer the coders' corrections, with rows as the services write them."""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET
from collections import Counter

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from coder.audit.feedback import CITATION
from coder.cli import cli
from coder.db.connect import make_engine
from coder.db.models import audit_action, coding_run, diagnosis, homepage, rule_history
from coder.sample import history
from coder.services import users as accounts
from coder.services.audit import report
from coder.services.demo import DEMO_AUTHOR, DEMO_USERS, run_demo
from coder.services.rules import show_rule
from coder.web import create_app
from rulebase.states import PERSON_STATUSES

YEAR = str(history.YEAR)
SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    path = tmp_path_factory.mktemp("demo") / "demo.db"
    result = run_demo(path)
    eng = make_engine(f"sqlite:///{path}")
    yield result, eng, path
    eng.dispose()


def _share(rows, num, den) -> float:
    return sum(sum(r[k] for k in num) for r in rows) / sum(sum(r[k] for k in den) for r in rows)


def test_a_year_of_months_whose_precision_and_coverage_improve(demo):
    _, eng, _ = demo
    months = report(eng, by=("month",))["by_month"]
    year = [m for m in months if m["month"].startswith(YEAR)]
    assert len(year) >= 10 and all(m["total"] >= 60 for m in year)
    assert [m["month"] for m in year] == [f"{YEAR}-{n:02d}" for n in range(1, 13)]
    first, last = year[:3], year[-3:]
    precision = [_share(q, ("tp",), ("tp", "fp")) for q in (first, last)]
    coverage = [_share(q, ("tp", "fp"), ("tp", "fp", "fn", "tn")) for q in (first, last)]
    recall = [_share(q, ("tp",), ("tp", "fn")) for q in (first, last)]
    assert precision[0] < precision[1] and coverage[0] < coverage[1] and recall[0] < recall[1]
    assert coverage[0] < 0.93 < 0.95 < coverage[1]  # a visible trend, not noise
    kinds = Counter()
    for m in year:
        kinds.update({k: m[k] for k in ("tp", "fp", "fn", "tn")})
    assert all(kinds[k] > 0 for k in ("tp", "fp", "fn", "tn"))


def test_every_review_is_a_service_row_dated_to_its_simulated_day(demo):
    d, eng, _ = demo
    with eng.connect() as conn:
        lines = conn.execute(
            select(diagnosis, homepage.c.discharged_at)
            .join(homepage, homepage.c.record_id == diagnosis.c.record_id)
            .where(diagnosis.c.updated_at < dt.datetime(history.YEAR + 1, 1, 1))
        ).all()
        audits = conn.execute(select(audit_action).order_by(audit_action.c.id)).all()
    assert len(lines) == d.history.lines and len(audits) == sum(d.history.actions.values())
    last = {a.diagnosis_id: a for a in audits}
    assert set(last) == {r.id for r in lines}  # every line of the year reviewed once
    status_of = {"confirm": "confirmed", "correct": "corrected", "code": "manual"}
    for r in lines:
        a = last[r.id]
        assert r.status in PERSON_STATUSES and r.status == status_of[a.action]
        assert (r.code, r.coded_by, r.updated_at) == (a.new_code, a.person, a.acted_at)
        assert r.discharged_at < r.attempted_at < a.acted_at and a.acted_at.month == r.discharged_at.month
        assert a.old_status == ("failed" if a.action == "code" else "coded")
        if a.action == "code":
            assert a.fail_reason in ("no_match", "ambiguous") and a.old_code is None
        else:
            assert a.rule_id is not None and a.old_code is not None
    assert {a.person for a in audits} == {"李娜", "张伟", "王芳"}
    assert Counter(a.action for a in audits) == d.history.actions
    assert {"confirm", "correct", "code"} <= set(d.history.actions)


def test_rule_changes_answer_the_reviews_they_cite(demo):
    d, eng, _ = demo
    with eng.connect() as conn:
        changes = conn.execute(select(rule_history).where(rule_history.c.author == history.AUTHOR)).all()
        acted = dict(conn.execute(select(audit_action.c.id, audit_action.c.acted_at)).all())
        setup = conn.execute(
            select(func.min(rule_history.c.changed_at), func.max(rule_history.c.changed_at)).where(
                rule_history.c.author == DEMO_AUTHOR
            )
        ).one()
    assert len(changes) == d.history.rule_changes >= 15
    assert {c.action for c in changes} == {"insert", "update"}
    assert tuple(setup) == (history.GO_LIVE, history.GO_LIVE)
    cited = set()
    for c in changes:
        ids = [int(m.group(1)) for m in CITATION.finditer(c.reason)]
        assert len(ids) >= history.AT_LEAST and c.reason.startswith("答复审核 #"), c.reason
        assert all(acted[i] < c.changed_at for i in ids)  # answers reviews made before it
        assert c.changed_at.year == history.YEAR and c.changed_at.day == history.ANSWER_DAY
        assert not cited & set(ids)  # each review answered once
        cited |= set(ids)
        shown = show_rule(eng, c.rule_id)
        entry = next(h for h in shown.history if h["version"] == c.version)
        answers = entry["answers"]
        assert [a["audit_id"] for a in answers] == ids and {a["action"] for a in answers} <= {"correct", "code"}


def test_today_run_codes_with_the_rules_the_year_left(demo):
    d, eng, _ = demo
    assert d.run.run_id == d.history.runs + 1
    with eng.connect() as conn:
        runs = conn.execute(select(coding_run).order_by(coding_run.c.id)).all()
        after = conn.execute(
            select(diagnosis.c.code)
            .where(diagnosis.c.description.in_(["脑梗塞后遗症", "脑梗死后遗症"]), diagnosis.c.status == "coded")
            .distinct()
        ).all()
    assert [(r.started_at.year, r.started_at.month, r.started_at.day) for r in runs[:-1]] == [
        (history.YEAR, m, history.CODED_DAY) for m in range(1, 13)
    ]
    assert runs[-1].started_at.year > history.YEAR  # today's
    assert after == [("I69.300",)]  # no longer I63.900: the first change of the year answered it


def test_demo_users_log_in_with_their_printed_passwords(demo):
    d, eng, _ = demo
    assert d.users == DEMO_USERS
    assert [(u.name, u.role) for u in accounts.list_users(eng)] == [
        ("李娜", "coder"),
        ("王芳", "author"),
        ("管理员", "admin"),
    ]
    for name, role, password in DEMO_USERS:
        assert accounts.authenticate(eng, name, password).role == role


def test_the_reports_page_and_workbook_show_the_year(demo, tmp_path):
    _, eng, path = demo
    c = create_app(eng).test_client()
    token = re.search(r'name="csrf_token" value="([^"]+)"', c.get("/login").get_data(as_text=True)).group(1)
    name, _, password = DEMO_USERS[0]
    assert c.post("/login", data={"name": name, "password": password, "csrf_token": token}).status_code == 302
    html = c.get(f"/reports?from={YEAR}-01-01&to={YEAR}-12-31").get_data(as_text=True)
    svg = ET.fromstring(re.search(r'<svg [^>]*id="chart-measures".*?</svg>', html, re.S).group(0))
    series = svg.findall(f"{SVG}g[@class='series']")
    assert len(series) == 5 and all(len(g.findall(f"{SVG}polyline")) == 1 for g in series)
    assert all(len(g.findall(f"{SVG}circle")) == 12 for g in series)
    assert "第 1/" in html and 'rel="next"' in html  # more than 50 codes: paged
    page_two = c.get(f"/reports?from={YEAR}-01-01&to={YEAR}-12-31&page=2").get_data(as_text=True)
    assert '<td class="num">51</td>' in page_two
    out = tmp_path / "report.xlsx"
    r = CliRunner().invoke(
        cli, ["report", "--by", "month", "--from", f"{YEAR}-01-01", "--xlsx", str(out), "--db", f"sqlite:///{path}"]
    )
    assert r.exit_code == 0, r.output
    from openpyxl import load_workbook

    ws = load_workbook(out)["month"]
    assert [row[0] for row in ws.iter_rows(min_row=2, max_col=1, values_only=True)][:12] == [
        f"{YEAR}-{n:02d}" for n in range(1, 13)
    ]
    assert len(ws._charts) == 1
