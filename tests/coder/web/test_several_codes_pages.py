"""Lines of several codes on the workbench's pages, over HTTP (Flask's test client) on a real SQLite
file and PostgreSQL: the line page shows every code with its rule and words, confirms them all,
corrects and codes lists; the worklist and the record view show the whole list; a stale form is
refused naming the lists."""

from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import select

from coder.db.models import audit_action, diagnosis
from coder.services import workbench
from coder.services.workbench import segments

EXPECTED = re.compile(r'name="expected" value="([^"]*)"')
TWO = "冠状动脉粥样硬化性心脏病 不稳定型心绞痛"  # the sample's line of two diagnoses: I25.103 + I20.000


def _row(engine, line_id):
    with engine.connect() as conn:
        return conn.execute(select(diagnosis).where(diagnosis.c.id == line_id)).one()


def _two_code_line(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(
            select(diagnosis.c.id)
            .where(diagnosis.c.description == TWO, diagnosis.c.status == "coded")
            .order_by(diagnosis.c.id)
            .limit(1)
        ).scalar_one()


def _audits(engine, line_id):
    with engine.connect() as conn:
        q = select(audit_action).where(audit_action.c.diagnosis_id == line_id).order_by(audit_action.c.id)
        return conn.execute(q).all()


def test_segments_cut_the_text_at_every_span():
    assert segments("冠心病 心绞痛", [(0, 3), (4, 7)]) == [
        {"text": "冠心病", "part": 0},
        {"text": " ", "part": None},
        {"text": "心绞痛", "part": 1},
    ]
    # parts are numbered as given, placed in text order; overlap is clipped, never doubled
    assert segments("abcdef", [(3, 5), (1, 4)]) == [
        {"text": "a", "part": None},
        {"text": "bcd", "part": 1},
        {"text": "e", "part": 0},
        {"text": "f", "part": None},
    ]
    assert segments("", [(0, 0)]) == [{"text": "", "part": None}]


def test_the_line_page_shows_every_code_with_its_rule_and_words(web_engine, client_for):
    line = _two_code_line(web_engine)
    assert (_row(web_engine, line).code, _row(web_engine, line).other_codes) == ("I25.103", "I20.000")
    view = workbench.line(web_engine, line)
    assert [(p["code"], p["match"]) for p in view.success["parts"]] == [
        ("I25.103", "冠状动脉粥样硬化性心脏病"),
        ("I20.000", "不稳定型心绞痛"),
    ]
    rules = [p["rule_id"] for p in view.success["parts"]]
    c = client_for("coder")
    body = c.get(f"/diagnoses/{line}").get_data(as_text=True)
    text = html.unescape(body)
    assert view.expected == "coded|I25.103,I20.000" and EXPECTED.search(body).group(1) == view.expected
    # both codes with their names, each one's words marked in the normalized text, each rule linked
    assert '<mark class="part" data-part="0" title="I25.103">冠状动脉粥样硬化性心脏病</mark> ' in body
    assert '<mark class="part" data-part="1" title="I20.000">不稳定型心绞痛</mark>' in body
    for rule_id in rules:
        assert f'href="/rules/{rule_id}">#{rule_id}</a>' in body
    assert "一行 2 个编码" in text and "不稳定型心绞痛" in text and "冠状动脉粥样硬化性心脏病" in text
    facts = text[text.index('id="line-codes"') : text.index("</dd>", text.index('id="line-codes"'))]
    assert "I25.103, I20.000" in facts
    # confirm agrees with them all; correct starts from the list; the hint says a list is taken
    assert "全部 2 个编码都正确" in text
    assert 'value="I25.103,I20.000" data-code-search data-system="icd10" data-code-list' in body
    assert "用逗号分隔" in text
    # the record's other lines show their lists too
    record = _row(web_engine, line).record_id
    with web_engine.connect() as conn:
        sibling = conn.execute(
            select(diagnosis.c.id).where(diagnosis.c.record_id == record, diagnosis.c.id != line).limit(1)
        ).scalar()
    if sibling is not None:
        other = html.unescape(c.get(f"/diagnoses/{sibling}").get_data(as_text=True))
        table = other[other.index("本病案的全部诊断") :]
        assert "I25.103, I20.000" in table


def test_confirm_keeps_every_code_and_correct_sets_the_list(web_engine, client_for):
    line = _two_code_line(web_engine)
    c = client_for("coder")
    r = c.form(f"/diagnoses/{line}/confirm", expected="coded|I25.103,I20.000")
    assert r.status_code == 302
    assert f"诊断 {line} 的编码 I25.103, I20.000 已确认" in html.unescape(
        c.get(r.headers["Location"]).get_data(as_text=True)
    )
    row = _row(web_engine, line)
    assert (row.status, row.code, row.other_codes) == ("confirmed", "I25.103", "I20.000")
    # a correction of the second code, written with a Chinese comma as coders type it
    r = c.form(f"/diagnoses/{line}/correct", expected="confirmed|I25.103,I20.000", code="I25.103，I21.900")
    assert r.status_code == 302
    row = _row(web_engine, line)
    assert (row.status, row.code, row.other_codes, row.coded_by) == ("corrected", "I25.103", "I21.900", "李娜")
    audits = _audits(web_engine, line)
    assert [(a.action, a.old_code, a.old_other_codes, a.new_code, a.new_other_codes) for a in audits] == [
        ("confirm", "I25.103", "I20.000", "I25.103", "I20.000"),
        ("correct", "I25.103", "I20.000", "I25.103", "I21.900"),
    ]
    page = html.unescape(c.get(f"/diagnoses/{line}").get_data(as_text=True))
    assert EXPECTED.search(page).group(1) == "corrected|I25.103,I21.900"
    history = page[page.index("审核历史") :]
    assert "I25.103, I20.000" in history and "I25.103, I21.900" in history
    # the search result adds a code to the list, or replaces the list with it
    found = c.get(f"/diagnoses/{line}?q=I48").get_data(as_text=True)
    assert 'name="code" value="I25.103,I21.900,I48.x00"' in found and "加上 I48.x00" in found
    assert "更正为 I48.x00（替换全部）" in html.unescape(found)
    r = c.form(f"/diagnoses/{line}/correct", expected="corrected|I25.103,I21.900", code="I25.103,I21.900,I48.x00")
    assert r.status_code == 302 and _row(web_engine, line).other_codes == "I21.900,I48.x00"


def test_a_form_of_the_old_list_is_refused_and_names_the_lists(web_engine, client_for):
    line = _two_code_line(web_engine)
    li, zhang = client_for("coder"), client_for("coder2")
    shown = EXPECTED.search(zhang.get(f"/diagnoses/{line}").get_data(as_text=True)).group(1)
    assert li.form(f"/diagnoses/{line}/correct", expected=shown, code="I25.103,I21.900").status_code == 302
    r = zhang.form(f"/diagnoses/{line}/confirm", expected=shown)
    body = html.unescape(r.get_data(as_text=True))
    assert r.status_code == 409 and "李娜" in body and "未执行" in body
    assert "I25.103,I20.000" in body and "I25.103,I21.900" in body
    # a page that showed the first code only is stale too: the list is compared whole
    r = zhang.form(f"/diagnoses/{line}/correct", expected="corrected|I25.103", code="I10.x00")
    assert r.status_code == 409
    assert [a.person for a in _audits(web_engine, line)] == ["李娜"]
    assert _row(web_engine, line).other_codes == "I21.900"
    # a list with a code the dictionary lacks is refused whole, naming that code
    r = li.form(f"/diagnoses/{line}/correct", expected="corrected|I25.103,I21.900", code="I25.103,X99.999")
    assert r.status_code == 409 and "X99.999" in r.get_data(as_text=True)
    assert len(_audits(web_engine, line)) == 1


def test_a_failed_line_is_coded_with_a_list(web_engine, client_for):
    with web_engine.connect() as conn:
        line = conn.execute(select(diagnosis.c.id).where(diagnosis.c.record_id == "AMB-0")).scalar_one()
    c = client_for("coder")
    body = c.get(f"/diagnoses/{line}").get_data(as_text=True)
    # an ambiguous line's candidates, all at once (the line may name both diagnoses)
    assert 'name="code" value="I25.103,I49.500"' in body and "编码为全部候选 I25.103, I49.500" in body
    assert 'data-code-search data-system="icd10" data-code-list' in body
    r = c.form(f"/diagnoses/{line}/code", expected="failed|", code="I49.500 I25.103")
    assert r.status_code == 302
    row = _row(web_engine, line)
    assert (row.status, row.code, row.other_codes) == ("manual", "I49.500", "I25.103")
    assert "已编码为 I49.500, I25.103" in html.unescape(c.get(r.headers["Location"]).get_data(as_text=True))


def test_the_worklist_shows_the_whole_list(web_engine, client_for):
    line = _two_code_line(web_engine)
    page = workbench.worklist(web_engine, status="coded", limit=500)
    item = next(i for i in page.items if i.id == line)
    assert item.codes == ("I25.103", "I20.000") and item.code == "I25.103"
    assert item.code_names == ("冠状动脉粥样硬化性心脏病", "不稳定型心绞痛")
    single = next(i for i in page.items if len(i.codes) == 1)
    assert single.codes == (single.code,)
    offset = [i.id for i in page.items].index(line)
    body = html.unescape(
        client_for("coder").get(f"/worklist?status=coded&page={offset // 50 + 1}").get_data(as_text=True)
    )
    row = body[body.index(f'href="/diagnoses/{line}') - 1500 : body.index(f'href="/diagnoses/{line}')]
    assert (
        '<span class="code codes">I25.103, I20.000</span>' in row and "冠状动脉粥样硬化性心脏病；不稳定型心绞痛" in row
    )


def test_a_group_of_failures_is_coded_with_a_list(web_engine, client_for):
    from coder.services.run import run_coding
    from tests.conftest import insert_pending

    insert_pending(web_engine, ["某种罕见的心脏病变"] * 2, prefix="GL-")
    run_coding(web_engine)
    c = client_for("coder")
    r = c.form(
        "/worklist/group", normalized="某种罕见的心脏病变", system="icd10", expected="2", code="I25.103，I48.x00"
    )
    assert r.status_code == 302
    assert "编码为 I25.103, I48.x00" in html.unescape(c.get(r.headers["Location"]).get_data(as_text=True))
    with web_engine.connect() as conn:
        rows = conn.execute(
            select(diagnosis.c.status, diagnosis.c.code, diagnosis.c.other_codes).where(
                diagnosis.c.record_id.in_(["GL-0", "GL-1"])
            )
        ).all()
    assert [tuple(r) for r in rows] == [("manual", "I25.103", "I48.x00")] * 2


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # a page's rendering: one database is enough
def test_the_guards_trial_shows_every_code_of_a_text(web_engine, client_for):
    author = client_for("author")
    fields = {"cue": "疑诊", "kind": "uncertain", "scope": "before", "text": "冠心病 心房颤动", "action": "test"}
    body = html.unescape(author.form("/guards/new", **fields).get_data(as_text=True))
    shown = body[body.index("的结果</h2>") :]
    assert re.search(r"→ I25\.103（规则 \d+）、I48\.x00（规则 \d+）", re.sub(r"<[^>]+>", "", shown))


def test_a_guarded_line_shows_its_cue_and_offers_the_codes_it_would_have_had(web_engine, client_for):
    from coder.run.loop import run_coding
    from coder.services import guards as guard_service
    from tests.conftest import insert_pending

    insert_pending(web_engine, ["冠状动脉粥样硬化性心脏病 疑似不稳定型心绞痛"], prefix="GQ")
    run_coding(web_engine)
    with web_engine.connect() as conn:
        line = conn.execute(select(diagnosis.c.id).where(diagnosis.c.record_id == "GQ0")).scalar_one()
    assert (_row(web_engine, line).status, _row(web_engine, line).fail_reason) == ("failed", "uncertain")
    guard = next(g for g in guard_service.list_guards(web_engine) if g.cue == "疑似")
    body = html.unescape(client_for("coder").get(f"/diagnoses/{line}").get_data(as_text=True))
    assert '冠状动脉粥样硬化性心脏病 <mark class="cue">疑似</mark>不稳定型心绞痛' in body
    assert f'href="/guards/{guard.id}" class="cue-guard">提示词 #{guard.id}</a> v{guard.version}' in body
    assert "提示词“疑似”（第 14–15 字）使人不能确定这一行的诊断" in body
    # coding it with every candidate gives what the run would have given, nothing more
    assert '<input type="hidden" name="code" value="I25.103,I20.000">' in body
    # the code search box stays the coder's own (empty, or what they searched for)
    assert '<input name="q" value="" size="30">' in body
    searched = html.unescape(client_for("coder").get(f"/diagnoses/{line}?q=心绞痛").get_data(as_text=True))
    assert '<input name="q" value="心绞痛" size="30">' in searched
