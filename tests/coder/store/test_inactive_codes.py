"""A deactivated code is never auto-coded, is reported by lint and cannot be confirmed (issue #16, item 11)."""

import pytest
from sqlalchemy import select, update

from coder.db.models import diagnosis, icd_code
from coder.errors import ActionRefused
from coder.run.loop import run_coding
from coder.services.audit import act
from coder.services.diagnoses import import_diagnoses
from coder.services.rules import add_rule, lint_rules
from rulebase.states import ReviewAction
from tests.conftest import write_csv


def _deactivate(engine, code):
    with engine.begin() as conn:
        conn.execute(update(icd_code).where(icd_code.c.code == code).values(active=False))


def test_a_deactivated_code_is_not_given_reported_by_lint_and_not_confirmed(seeded, tmp_path):
    rule = add_rule(seeded, "J18.900", "肺炎", "王芳").rule
    add_rule(seeded, "I25.103", "冠心病", "王芳")
    import_diagnoses(
        seeded,
        write_csv(
            tmp_path / "d.csv", ["record_id", "seq", "description"], [["R1", "1", "肺炎"], ["R1", "2", "冠心病"]]
        ),
    )
    first = run_coding(seeded)
    assert first.coded == 2
    with seeded.connect() as conn:
        coded_pneumonia = conn.execute(select(diagnosis.c.id).where(diagnosis.c.description == "肺炎")).scalar_one()
    _deactivate(seeded, "J18.900")
    with pytest.raises(ActionRefused, match="code 'J18.900' is inactive in the code dictionary"):
        act(seeded, coded_pneumonia, ReviewAction.CONFIRM, "李娜")
    report = lint_rules(seeded)
    assert [(p.rule_id, p.reason) for p in report.invalid] == [
        (
            rule.id,
            "code 'J18.900' is inactive in the code dictionary: runs skip this rule (activate the code, or "
            "change or disable the rule)",
        )
    ]
    import_diagnoses(seeded, write_csv(tmp_path / "d2.csv", ["record_id", "seq", "description"], [["R2", "1", "肺炎"]]))
    second = run_coding(seeded)
    assert (second.considered, second.coded, second.no_match) == (1, 0, 1)


def test_the_dictionarys_active_codes_come_as_bools_read_whole_or_in_part(seeded):  # SQLite and PostgreSQL
    """A run reads the whole dictionary from the driver's cursor (1/0 on SQLite and Oracle, a bool
    on PostgreSQL): every value is True or False as the column says, as the partial read gives."""
    from coder.store.edits import active_codes

    _deactivate(seeded, "J18.900")
    with seeded.connect() as conn:
        whole = active_codes(conn)
        part = active_codes(conn, ["J18.900", "I25.103", "X99.999"])
        count = conn.execute(select(icd_code.c.code)).all()
    assert len(whole) == len(count) and {type(v) for v in whole.values()} == {bool}
    assert whole["J18.900"] is False and whole["I25.103"] is True
    assert part == {"J18.900": False, "I25.103": True}
