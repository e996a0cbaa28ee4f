"""/worklist, /worklist/group, /diagnoses/<id> (and its confirm, correct, code) and /api/codes over
HTTP (Flask's test client) on a real SQLite file and PostgreSQL, seeded like the demo."""

from __future__ import annotations

import datetime as dt
import html
import logging
import re

import pytest
from sqlalchemy import func, select

from coder.db.models import audit_action, code_log, diagnosis, fail_log, homepage
from coder.errors import ActionRefused
from coder.services import workbench
from coder.services.run import run_coding
from tests.conftest import insert_pending

EXPECTED = re.compile(r'name="expected" value="([^"]*)"')
LINE_LINK = re.compile(r'href="/diagnoses/(\d+)[?"]')


def _ids(engine, *where):
    with engine.connect() as conn:
        return list(conn.execute(select(diagnosis.c.id).where(*where).order_by(diagnosis.c.id)).scalars())


def _row(engine, line_id):
    with engine.connect() as conn:
        return conn.execute(select(diagnosis).where(diagnosis.c.id == line_id)).one()


def _audits(engine, line_id=None):
    q = select(audit_action).order_by(audit_action.c.id)
    if line_id is not None:
        q = q.where(audit_action.c.diagnosis_id == line_id)
    with engine.connect() as conn:
        return conn.execute(q).all()


def _text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def _worklist_ids(page_html: str) -> list[int]:
    table = page_html[page_html.index("<tbody>") : page_html.index("</tbody>")]
    return [int(i) for i in LINE_LINK.findall(table)]


def test_every_page_needs_a_login(web_app):
    c = web_app.test_client()
    for path in ("/worklist", "/worklist?view=groups", "/diagnoses/1", "/api/codes?q=I25"):
        r = c.get(path)
        assert r.status_code == 302 and "/login" in r.headers["Location"], path
    # A POST without a session has no CSRF token either: refused before any view runs.
    assert c.post("/diagnoses/1/confirm", data={"expected": "coded|I25.103"}).status_code == 400
    assert c.post("/worklist/group", data={"normalized": "x", "code": "I25.103"}).status_code == 400


def test_counts_are_the_database_s_and_link_to_their_filter(web_engine, client_for):
    with web_engine.connect() as conn:
        db = dict(
            ((s, r), n)
            for s, r, n in conn.execute(
                select(diagnosis.c.status, diagnosis.c.fail_reason, func.count()).group_by(
                    diagnosis.c.status, diagnosis.c.fail_reason
                )
            )
        )
    page = workbench.worklist(web_engine)
    assert page.counts["coded"] == db[("coded", None)] > 0
    assert page.counts["no_match"] == db[("failed", "no_match")] > 0
    assert page.counts["ambiguous"] == db[("failed", "ambiguous")] > 0
    assert page.counts["failed"] == sum(n for (s, _), n in db.items() if s == "failed")
    assert page.total == page.counts["coded"] + page.counts["failed"]

    c = client_for("coder")
    r = c.get("/worklist")
    body = _text(r)
    assert r.status_code == 200
    assert f"待确认 {page.counts['coded']}" in body and f"无匹配 {page.counts['no_match']}" in body
    assert f"多编码 {page.counts['ambiguous']}" in body and 'href="/worklist?reason=ambiguous"' in body
    assert len(_worklist_ids(body)) == 50  # a page


def test_filters_select_what_they_say(web_engine, client_for):
    c = client_for("coder")
    ambiguous = _worklist_ids(_text(c.get("/worklist?reason=ambiguous")))
    assert ambiguous and set(ambiguous) == set(_ids(web_engine, diagnosis.c.fail_reason == "ambiguous"))

    procedures = workbench.worklist(web_engine, system="icd9cm3", limit=500)
    assert procedures.items and {i.kind for i in procedures.items} == {"procedure"}
    assert procedures.total == len(
        _ids(web_engine, diagnosis.c.kind == "procedure", diagnosis.c.status.in_(["coded", "failed"]))
    )

    dept = workbench.worklist(web_engine, department="骨科", limit=500)
    with web_engine.connect() as conn:
        records = set(conn.execute(select(homepage.c.record_id).where(homepage.c.department == "骨科")).scalars())
    assert (
        dept.items and {i.record_id for i in dept.items} <= records and {i.department for i in dept.items} == {"骨科"}
    )
    assert dept.total == len(
        _ids(web_engine, diagnosis.c.record_id.in_(records), diagnosis.c.status.in_(["coded", "failed"]))
    )

    i25 = workbench.worklist(web_engine, code="i25")  # Latin letters in either case
    assert i25.items and all(i.code.startswith("I25") for i in i25.items)
    assert i25.counts["failed"] == 0  # failures have no code

    today = dt.datetime.now(dt.UTC).date()
    assert workbench.worklist(web_engine, date_from=today, date_to=today).total == workbench.worklist(web_engine).total
    assert workbench.worklist(web_engine, date_to=today - dt.timedelta(days=1)).total == 0

    # A second run: its filter shows its own lines only (the first run's stay under run 1).
    insert_pending(web_engine, ["冠心病", "某种未见过的病"], prefix="R2-")
    second = run_coding(web_engine).run_id
    run2 = workbench.worklist(web_engine, run=second)
    assert {i.record_id for i in run2.items} == {"R2-0", "R2-1"} and run2.counts == {
        **dict.fromkeys(run2.counts, 0),
        "coded": 1,
        "failed": 1,
        "no_match": 1,
    }
    assert workbench.worklist(web_engine, run=1).total == workbench.worklist(web_engine).total - 2

    body = _text(c.get("/worklist?status=coded&run=abc&date_from=2026-13-01&code=I25"))
    assert "已忽略：运行、开始日期" in body and _worklist_ids(body)


def test_paging_walks_the_whole_queue_once_in_order(web_engine, client_for):
    first = workbench.worklist(web_engine, limit=50)
    seen, offset = [], 0
    while True:
        page = workbench.worklist(web_engine, offset=offset, limit=137)
        if not page.items:
            break
        seen.extend(page.items)
        offset += 137
    assert len(seen) == len({i.id for i in seen}) == first.total
    # auto-codes first, then the failures by reason, each oldest attempt first
    groups = [("coded", None)] + [("failed", r) for r in ("no_match", "ambiguous", "invalid_input")]
    keys = [(groups.index((i.status, i.reason)), i.attempted_at, i.id) for i in seen]
    assert keys == sorted(keys)

    c = client_for("coder")
    one, two = _text(c.get("/worklist")), _text(c.get("/worklist?page=2"))
    assert _worklist_ids(one) == [i.id for i in seen[:50]] and _worklist_ids(two) == [i.id for i in seen[50:100]]
    assert 'href="/worklist?page=2"' in one and 'href="/worklist?page=1"' in two
    assert _worklist_ids(_text(c.get("/worklist?page=9999"))) == []
    assert c.get("/diagnoses/987654321").status_code == 404


def test_confirm_correct_and_code_are_the_logged_in_person_s(web_engine, client_for):
    coded = _ids(web_engine, diagnosis.c.status == "coded", diagnosis.c.kind != "procedure")
    failed = _ids(web_engine, diagnosis.c.fail_reason == "no_match", diagnosis.c.kind != "procedure")
    c = client_for("coder")

    page = c.get(f"/diagnoses/{coded[0]}?status=coded")
    expected = EXPECTED.search(page.get_data(as_text=True)).group(1)
    assert expected == f"coded|{_row(web_engine, coded[0]).code}"
    r = c.form(f"/diagnoses/{coded[0]}/confirm?status=coded", expected=expected)
    assert r.status_code == 302 and r.headers["Location"] == f"/diagnoses/{coded[0]}?status=coded"
    assert "已确认" in _text(c.get(r.headers["Location"]))  # the flash, after the redirect

    line = _row(web_engine, coded[1])
    r = c.form(f"/diagnoses/{coded[1]}/correct", expected=f"coded|{line.code}", code="I10.x00", remark="分级写错")
    assert r.status_code == 302
    r = c.form(f"/diagnoses/{failed[0]}/code", expected="failed|", code="K80.200")
    assert r.status_code == 302

    rows = _audits(web_engine)
    assert [(a.diagnosis_id, a.action, a.person, a.new_code) for a in rows] == [
        (coded[0], "confirm", "李娜", _row(web_engine, coded[0]).code),
        (coded[1], "correct", "李娜", "I10.x00"),
        (failed[0], "code", "李娜", "K80.200"),
    ]
    assert rows[1].remark == "分级写错" and rows[1].rule_id is not None and rows[2].fail_reason == "no_match"
    assert (_row(web_engine, coded[1]).status, _row(web_engine, coded[1]).coded_by) == ("corrected", "李娜")
    history = _text(c.get(f"/diagnoses/{coded[1]}"))
    assert "审核历史" in history and "李娜" in history and "I10.x00" in history and "分级写错" in history

    # A procedure line takes ICD-9-CM-3 codes only: refused in words, nothing written.
    proc = _ids(web_engine, diagnosis.c.status == "coded", diagnosis.c.kind == "procedure")[0]
    page = _text(c.get(f"/diagnoses/{proc}"))
    assert 'data-system="icd9cm3"' in page
    r = c.form(f"/diagnoses/{proc}/correct", expected=f"coded|{_row(web_engine, proc).code}", code="I25.103")
    assert r.status_code == 409 and "ICD-9-CM-3" in _text(r)
    assert len(_audits(web_engine)) == 3


def test_a_post_without_the_csrf_token_is_refused(web_engine, client_for):
    line = _ids(web_engine, diagnosis.c.status == "coded")[0]
    c = client_for("coder")
    r = c.form(f"/diagnoses/{line}/confirm", csrf=False, expected=f"coded|{_row(web_engine, line).code}")
    assert r.status_code == 400
    r = c.post(f"/diagnoses/{line}/confirm", data={"csrf_token": "forged", "expected": "coded|x"})
    assert r.status_code == 400
    assert _audits(web_engine) == [] and _row(web_engine, line).status == "coded"
    # and a form without the state it was decided on is refused too
    assert c.form(f"/diagnoses/{line}/confirm").status_code == 400


def test_two_coders_on_one_line_the_second_is_told_and_nothing_is_overwritten(web_engine, client_for):
    line = _ids(web_engine, diagnosis.c.status == "coded", diagnosis.c.kind != "procedure")[0]
    auto = _row(web_engine, line).code
    li, zhang = client_for("coder"), client_for("coder2")
    seen_by_li = EXPECTED.search(li.get(f"/diagnoses/{line}").get_data(as_text=True)).group(1)
    seen_by_zhang = EXPECTED.search(zhang.get(f"/diagnoses/{line}").get_data(as_text=True)).group(1)
    assert seen_by_li == seen_by_zhang == f"coded|{auto}"

    assert li.form(f"/diagnoses/{line}/correct", expected=seen_by_li, code="I10.x00").status_code == 302
    r = zhang.form(f"/diagnoses/{line}/confirm", expected=seen_by_zhang)
    body = _text(r)
    assert r.status_code == 409
    assert "李娜" in body and "人工更正 I10.x00" in body and f"自动编码 {auto}" in body and "未执行" in body
    acted = _audits(web_engine, line)[0].acted_at
    assert acted.strftime("%Y-%m-%d %H:%M:%S") in body
    assert [(a.person, a.action) for a in _audits(web_engine, line)] == [("李娜", "correct")]
    assert (_row(web_engine, line).status, _row(web_engine, line).code) == ("corrected", "I10.x00")

    # After a reload 张伟 sees 李娜's code and may confirm it.
    fresh = EXPECTED.search(zhang.get(f"/diagnoses/{line}").get_data(as_text=True)).group(1)
    assert fresh == "corrected|I10.x00"
    assert zhang.form(f"/diagnoses/{line}/confirm", expected=fresh).status_code == 302
    assert [a.person for a in _audits(web_engine, line)] == ["李娜", "张伟"]


def test_a_run_coding_the_line_meanwhile_is_named_too(web_engine):
    insert_pending(web_engine, ["冠心病"], prefix="P-")
    line = _ids(web_engine, diagnosis.c.record_id == "P-0")[0]
    run_coding(web_engine)
    with pytest.raises(ActionRefused, match="编码运行"):
        workbench.act(web_engine, line, "code", "李娜", "I20.000", expected="pending|")
    assert _audits(web_engine, line) == []


def test_one_decision_codes_every_failure_with_the_same_text(web_engine, client_for):
    insert_pending(web_engine, ["罕见的家族性病变甲"] * 3 + ["罕见的家族性病变乙"], prefix="G-")
    run_coding(web_engine)
    group_ids = _ids(web_engine, diagnosis.c.record_id.in_(["G-0", "G-1", "G-2"]))
    assert {_row(web_engine, i).status for i in group_ids} == {"failed"}

    c = client_for("coder")
    body = _text(c.get("/worklist?view=groups&reason=no_match"))
    assert "相同文字的未编码行" in body and "罕见的家族性病变甲" in body
    group = next(g for g in workbench.failure_groups(web_engine) if g.normalized == "罕见的家族性病变甲")
    assert (group.count, group.complete, group.system, group.reasons) == (3, True, "icd10", ("no_match",))

    r = c.form(
        "/worklist/group?reason=no_match",
        normalized="罕见的家族性病变甲",
        system="icd10",
        expected="3",
        code="K80.200",
    )
    assert r.status_code == 302 and r.headers["Location"].startswith("/worklist?view=groups")
    assert "已将 3 条相同文字的未编码行编码为 K80.200" in _text(c.get(r.headers["Location"]))
    assert [(a.diagnosis_id, a.person, a.new_code) for a in _audits(web_engine)] == [
        (i, "李娜", "K80.200") for i in group_ids
    ]
    assert {(_row(web_engine, i).status, _row(web_engine, i).code) for i in group_ids} == {("manual", "K80.200")}
    other = _ids(web_engine, diagnosis.c.record_id == "G-3")[0]
    assert _row(web_engine, other).status == "failed"  # another text: untouched

    # The same decision again: nothing is left to code.
    r = c.form("/worklist/group", normalized="罕见的家族性病变甲", system="icd10", expected="3", code="K80.200")
    assert "没有剩余" in _text(c.get(r.headers["Location"]))
    assert len(_audits(web_engine)) == 3


def test_a_group_decision_is_all_or_nothing(web_engine, monkeypatch):
    insert_pending(web_engine, ["又一种少见病"] * 3, prefix="H-")
    run_coding(web_engine)
    calls = []
    real = workbench.apply_action

    def third_refused(conn, line_id, *args, **kwargs):
        calls.append(line_id)
        if len(calls) == 3:
            raise ActionRefused("诊断已被他人修改")
        return real(conn, line_id, *args, **kwargs)

    monkeypatch.setattr(workbench, "apply_action", third_refused)
    with pytest.raises(ActionRefused):
        workbench.decide_group(web_engine, "又一种少见病", "code", "K80.200", "李娜")
    assert len(calls) == 3 and _audits(web_engine) == []
    assert {_row(web_engine, i).status for i in calls} == {"failed"}
    monkeypatch.undo()
    assert workbench.decide_group(web_engine, "又一种少见病", "code", "K80.200", "李娜") == 3


def test_api_codes_prefix_name_alias_and_fuzzy(client_for):
    c = client_for("coder")
    found = c.get("/api/codes?q=i25&system=icd10").get_json()
    assert found[0] == {"code": "I25.103", "name": "冠状动脉粥样硬化性心脏病"}
    assert any(x["code"] == "I25.103" for x in c.get("/api/codes?q=冠心病").get_json())  # an alias
    fuzzy = [x["code"] for x in c.get("/api/codes?q=糖尿病肾病&system=icd10").get_json()]
    assert fuzzy[0] == "E11.201"  # 2型糖尿病性肾病: not a substring, found by its characters in order
    procedures = c.get("/api/codes?q=3&system=icd9cm3").get_json()
    assert procedures and all(re.fullmatch(r"[0-9]{2}\..*", x["code"]) for x in procedures)
    assert len(c.get("/api/codes?q=病").get_json()) == workbench.API_LIMIT
    assert c.get("/api/codes?q=").get_json() == []
    assert c.get("/api/codes?q=I25&system=icd11").status_code == 400


def test_a_coded_line_s_page_marks_the_span_and_shows_its_record(web_engine, client_for):
    with web_engine.connect() as conn:
        ok = conn.execute(
            select(code_log, diagnosis.c.record_id, diagnosis.c.kind)
            .join(diagnosis, diagnosis.c.id == code_log.c.diagnosis_id)
            .join(homepage, homepage.c.record_id == diagnosis.c.record_id)
            .where(code_log.c.match_start > 0, diagnosis.c.status == "coded", diagnosis.c.other_codes.is_(None))
            .order_by(code_log.c.id)
            .limit(1)
        ).one()
        page_row = conn.execute(select(homepage).where(homepage.c.record_id == ok.record_id)).one()
        siblings = conn.execute(select(diagnosis).where(diagnosis.c.record_id == ok.record_id)).all()
    c = client_for("coder")
    r = c.get(f"/diagnoses/{ok.diagnosis_id}")
    body = r.get_data(as_text=True)
    assert r.status_code == 200
    text = ok.normalized
    marked = (
        html.escape(text[: ok.match_start], quote=False)
        + "<mark>"
        + html.escape(text[ok.match_start : ok.match_end], quote=False)
        + "</mark>"
    )
    assert marked in body
    shown = html.unescape(body)
    assert f"#{ok.rule_id}" in shown and f"v{ok.rule_version}" in shown
    assert "病案首页" in shown and page_row.department in shown and {"M": "男", "F": "女"}[page_row.sex] in shown
    if page_row.discharge_text:
        assert page_row.discharge_text in shown
    for s in siblings:  # every line of the record, diagnoses and procedures alike
        assert (s.description or "（无文字）") in shown
    assert 'data-key="c"' in body
    system = "icd9cm3" if ok.kind == "procedure" else "icd10"
    assert f'data-code-search data-system="{system}"' in body


def test_an_ambiguous_line_shows_its_candidates_and_codes_with_one(web_engine, client_for):
    # 冠心病态窦房结综合征: 冠心病 and 病态窦房结综合征 share the 病 (tests/coder/web/conftest.py)
    line = _ids(web_engine, diagnosis.c.record_id == "AMB-0")[0]
    assert _row(web_engine, line).fail_reason == "ambiguous"
    with web_engine.connect() as conn:
        log = conn.execute(select(fail_log).where(fail_log.c.diagnosis_id == line)).one()
    c = client_for("coder")
    body = _text(c.get(f"/diagnoses/{line}"))
    assert "多编码" in body and "I49.500" in body and "I25.103" in body and "冠状动脉粥样硬化性心脏病" in body
    assert log.normalized in body
    assert c.form(f"/diagnoses/{line}/code", expected="failed|", code="I49.500").status_code == 302
    assert (_row(web_engine, line).status, _row(web_engine, line).code) == ("manual", "I49.500")
    # the code search box works without JavaScript too
    found = _text(c.get(f"/diagnoses/{line}?q=心绞痛"))
    assert "查找编码" in found and "I20.000" in found


def test_next_goes_through_the_worklist_in_its_order(web_engine, client_for):
    first = workbench.worklist(web_engine, reason="no_match", limit=3).items
    c = client_for("coder")
    body = c.get(f"/diagnoses/{first[0].id}?reason=no_match").get_data(as_text=True)
    nxt = re.search(r'href="/diagnoses/(\d+)\?reason=no_match" data-key="n"', body)
    assert nxt and int(nxt.group(1)) == first[1].id
    # decided, the line's "next" still goes on from it
    c.form(f"/diagnoses/{first[0].id}/code?reason=no_match", expected="failed|", code="K80.200")
    assert workbench.next_line(web_engine, first[0].id, workbench.Filters(reason="no_match")) == first[1].id
    last = workbench.worklist(web_engine, reason="no_match", limit=500).items[-1]
    assert workbench.next_line(web_engine, last.id, workbench.Filters(reason="no_match")) is None
    # over all groups, the last auto-code's next is the first failure
    total = workbench.worklist(web_engine, status="coded", limit=1).total
    last_coded = workbench.worklist(web_engine, status="coded", offset=total - 1, limit=1).items[0]
    first_failure = workbench.worklist(web_engine, status="failed", limit=1).items[0]
    assert workbench.next_line(web_engine, last_coded.id) == first_failure.id


def test_the_server_log_names_the_path_only(web_engine, client_for, caplog):
    c = client_for("coder")
    line = _ids(web_engine, diagnosis.c.status == "failed")[0]
    caplog.set_level(logging.INFO, logger="icdcoder.web")
    caplog.clear()
    assert c.get("/worklist?code=I25&department=心血管内科&status=coded").status_code == 200
    assert c.get(f"/diagnoses/{line}?q=冠心病").status_code == 200
    c.form(f"/diagnoses/{line}/code", expected="failed|", code="K80.200", remark="胆囊结石伴胆囊炎")
    lines = [r.getMessage() for r in caplog.records if r.name == "icdcoder.web"]
    assert any("/worklist 200" in m for m in lines) and any(f"/diagnoses/{line} 200" in m for m in lines)
    logged = "\n".join(lines)
    for secret in ("I25", "心血管内科", "冠心病", "胆囊", "K80.200", _row(web_engine, line).description):
        assert secret not in logged


def test_a_group_of_another_system_is_not_coded_with_this_one(web_engine):
    """The same text on a diagnosis line and a procedure line: a code codes its own system's lines."""
    with web_engine.begin() as conn:
        conn.execute(
            diagnosis.insert(),
            [
                {"record_id": "S-1", "seq_no": 1, "kind": "discharge", "status": "pending", "description": "奇特操作"},
                {"record_id": "S-1", "seq_no": 1, "kind": "procedure", "status": "pending", "description": "奇特操作"},
            ],
        )
    run_coding(web_engine)
    groups = [g for g in workbench.failure_groups(web_engine) if g.normalized == "奇特操作"]
    assert sorted(g.system for g in groups) == ["icd10", "icd9cm3"]
    assert workbench.decide_group(web_engine, "奇特操作", "code", "K80.200", "李娜") == 1  # the ICD-10 one
    with web_engine.connect() as conn:
        left = conn.execute(
            select(diagnosis.c.kind).where(diagnosis.c.record_id == "S-1", diagnosis.c.status == "failed")
        ).scalars()
        assert list(left) == ["procedure"]


def test_decisions_on_the_worklist_leave_it(web_engine):
    before = workbench.worklist(web_engine)
    coded = before.items[0]
    workbench.act(web_engine, coded.id, "confirm", "李娜", expected=f"coded|{coded.code}")
    after = workbench.worklist(web_engine)
    assert after.counts["coded"] == before.counts["coded"] - 1 and coded.id not in {i.id for i in after.items}
    assert after.total == before.total - 1


def test_an_author_goes_from_a_failure_to_a_new_rule_in_two_clicks(web_engine, client_for):
    from sqlalchemy import select as sel

    from coder.db.models import diagnosis as d

    with web_engine.connect() as conn:
        failed = (
            conn.execute(sel(d.c.id).where(d.c.status == "failed", d.c.fail_reason == "no_match")).scalars().first()
        )
    author, coder = client_for("author"), client_for("coder")
    page = author.get(f"/diagnoses/{failed}").get_data(as_text=True)
    assert 'id="new-rule"' in page
    href = page.split('id="new-rule"')[0].rsplit('href="', 1)[1].split('"')[0].replace("&amp;", "&")
    form = author.get(href)
    assert form.status_code == 200 and 'id="pattern"' in form.get_data(as_text=True)
    assert 'id="new-rule"' not in coder.get(f"/diagnoses/{failed}").get_data(as_text=True)
