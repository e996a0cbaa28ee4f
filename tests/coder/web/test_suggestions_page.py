"""/diagnoses/<id> of a failed line: its 建议编码 (suggested codes with their evidence), each a plain
POST form with the CSRF field that codes the line only when the coder clicks it."""

from __future__ import annotations

import html
import re

from sqlalchemy import insert, select

from coder.db.models import audit_action, diagnosis

FORM = re.compile(r'<form method="post" action="([^"]+/code[^"]*)">(.*?)</form>', re.S)


def _failed_with_history(engine) -> int:
    """A failed discharge line, and a person's code for a text like it (the sample's records)."""
    with engine.begin() as conn:
        line = conn.execute(
            select(diagnosis.c.id, diagnosis.c.description)
            .where(diagnosis.c.status == "failed", diagnosis.c.kind == "discharge", diagnosis.c.description != "")
            .order_by(diagnosis.c.id)
        ).first()
        conn.execute(
            insert(diagnosis).values(
                record_id="SUGGEST-1", seq_no=1, kind="discharge", description=line.description + "待复查",
                code="E11.900", coded_by="张伟", status="manual",
            )
        )  # fmt: skip
    return line.id, line.description


def test_a_failed_line_shows_suggestions_that_code_it_on_click(web_engine, client_for):
    line_id, text = _failed_with_history(web_engine)
    c = client_for("coder")
    page = c.get(f"/diagnoses/{line_id}").get_data(as_text=True)
    assert "建议编码" in page
    section = page[page.index('class="line-suggestions"') :]
    section = section[: section.index("</section>")]
    assert "E11.900" in section and html.escape(text + "待复查") in section and "× 1" in section
    forms = [(action, body) for action, body in FORM.findall(section)]
    assert forms, "every suggestion is a form"
    action, body = next((a, b) for a, b in forms if 'value="E11.900"' in b)
    assert 'name="csrf_token"' in body and 'name="expected" value="failed|"' in body
    with web_engine.connect() as conn:  # showing suggestions coded nothing
        assert conn.execute(select(diagnosis.c.status).where(diagnosis.c.id == line_id)).scalar_one() == "failed"
    r = c.form(html.unescape(action), expected="failed|", code="E11.900", remark="采用建议编码")
    assert r.status_code == 302
    with web_engine.connect() as conn:
        row = conn.execute(select(diagnosis.c.status, diagnosis.c.code).where(diagnosis.c.id == line_id)).one()
        person = conn.execute(select(audit_action.c.person).where(audit_action.c.diagnosis_id == line_id)).scalar_one()
    assert tuple(row) == ("manual", "E11.900") and person == "李娜"
    # coded now: no suggestions on the page any more
    assert "line-suggestions" not in c.get(f"/diagnoses/{line_id}").get_data(as_text=True)


def test_a_suggestion_form_without_the_csrf_token_is_refused(web_engine, client_for):
    line_id, _ = _failed_with_history(web_engine)
    c = client_for("coder")
    r = c.form(f"/diagnoses/{line_id}/code", csrf=False, expected="failed|", code="E11.900")
    assert r.status_code in (400, 403)
    with web_engine.connect() as conn:
        assert conn.execute(select(diagnosis.c.status).where(diagnosis.c.id == line_id)).scalar_one() == "failed"
