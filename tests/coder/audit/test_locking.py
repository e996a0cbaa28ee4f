"""Audit actions lock the line they act on, so the status and code they record as replaced are the
ones replaced, with a run coding the same lines at the same time (issue #16, item 4)."""

from sqlalchemy import select

from coder.db.models import audit_action, code_log, diagnosis
from coder.errors import ActionRefused
from coder.services.audit import act
from coder.services.rules import add_rule
from rulebase.states import ReviewAction
from tests.conftest import insert_pending, start_run, wait_until_logged


def test_audit_during_a_run_records_the_status_it_replaced(seeded, db_url):
    add_rule(seeded, "I25.103", "冠心病", "王芳")
    insert_pending(seeded, ["冠心病"] * 3000, prefix="L")
    with seeded.connect() as conn:
        ids = conn.execute(select(diagnosis.c.id).order_by(diagnosis.c.id)).scalars().all()
    proc = start_run(db_url, "--batch-size", "20")
    wait_until_logged(seeded, 1)  # act once the run is under way, on lines it is about to code
    acted = refused = 0
    for d_id in ids[200:2800:5]:
        try:
            act(seeded, d_id, ReviewAction.CODE, "李娜", "I20.000")
            acted += 1
        except ActionRefused:  # the run coded it first: a coded line is corrected, not coded
            refused += 1
    assert proc.wait(timeout=120) == 0, proc.stderr.read()
    with seeded.connect() as conn:
        audits = conn.execute(select(audit_action)).all()
        auto = set(conn.execute(select(code_log.c.diagnosis_id)).scalars())
    assert acted == len(audits) and acted + refused == 520
    for a in audits:
        # A line coded by hand was pending when the coder acted; the run then left it alone.
        assert a.old_status == "pending" and a.diagnosis_id not in auto, a
