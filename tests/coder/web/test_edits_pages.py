"""The worklist's code edits group (代码校验) and a line's edit reasons, over HTTP."""

import re

from sqlalchemy import select, update

from coder.db.models import diagnosis, icd_code
from coder.services import edits as edit_service


def test_the_worklist_counts_and_lists_marked_lines_with_their_reasons(web_engine, client_for):
    with web_engine.begin() as conn:
        line = conn.execute(select(diagnosis).where(diagnosis.c.status == "coded").order_by(diagnosis.c.id)).first()
        # the dictionary retires the code after the run: the next check marks every line coded with it
        conn.execute(update(icd_code).where(icd_code.c.code == line.code).values(active=False))
    before = edit_service.mark_counts(web_engine)["lines"]
    edit_service.check_all(web_engine)
    after = edit_service.mark_counts(web_engine)["lines"]
    assert after > before
    client = client_for("coder")
    page = client.get("/worklist").get_data(as_text=True)
    assert f"代码校验 {after}" in page
    marked = client.get("/worklist?edits=1&page=1").get_data(as_text=True)
    reason = f"编码不在字典中或已停用：{line.code} 在编码字典中已停用"
    assert reason in marked and f"/diagnoses/{line.id}" in marked
    # the group's own button is the one shown as chosen, not 全部 beside it
    assert re.search(r'class="active"[^>]*>全部', page) and not re.search(r'class="active"[^>]*>全部', marked)
    assert re.search(r'class="active"[^>]*>代码校验', marked)
    shown = client.get(f"/diagnoses/{line.id}").get_data(as_text=True)
    assert "代码校验" in shown and reason in shown
    with web_engine.connect() as conn:  # marked, never changed
        assert conn.execute(select(diagnosis.c.code).where(diagnosis.c.id == line.id)).scalar_one() == line.code
