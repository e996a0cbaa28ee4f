"""Per code system: the audit queue, reports, rule tests and rule listings keep diagnoses and
procedures apart."""

from __future__ import annotations

from sqlalchemy import insert, select

from coder.audit.actions import apply_action, queue
from coder.audit.report import chapter, report
from coder.db.models import diagnosis
from coder.services.diagnoses import import_diagnoses
from coder.services.rules import import_rules, list_rules, try_rule
from coder.services.run import run_coding
from tests.coder.imports.test_homepage import HEADERS, RULES, coded_db, homepage_rows  # noqa: F401 - fixture
from tests.conftest import write_csv


def _setup(engine, tmp_path):
    import_rules(engine, write_csv(tmp_path / "r.csv", RULES[0], RULES[1:]), "测试", "test")
    import_diagnoses(engine, write_csv(tmp_path / "e.csv", HEADERS, homepage_rows()), layout="homepage")
    run_coding(engine)


def test_queue_rules_and_report_per_system(coded_db, tmp_path):  # noqa: F811 - the fixture
    _setup(coded_db, tmp_path)
    procs = queue(coded_db, system="icd9cm3")
    assert procs and {i["kind"] for i in procs} == {"procedure"}
    assert {i["kind"] for i in queue(coded_db, system="icd10")} == {"discharge"}
    assert {r["code"] for r in list_rules(coded_db, system="icd9cm3")} == {"88.5500", "36.0700"}
    assert "88.5500" not in {r["code"] for r in list_rules(coded_db, system="icd10")}
    item = procs[0]
    with coded_db.begin() as conn:
        apply_action(conn, item["diagnosis_id"], "confirm", "李娜")
    both, only = report(coded_db, by=("chapter",)), report(coded_db, by=("chapter",), system="icd9cm3")
    # the confirmed procedure only: the imported history was never tried by a run
    assert (both["total"], only["total"]) == (1, 1)
    assert {g["chapter"] for g in only["by_chapter"]} == {"87-99"}
    assert report(coded_db, system="icd10")["total"] == 0
    assert chapter("36.0700") == "35-39" and chapter("00.6600x004") == "00" and chapter("I25.103") == "IX"


def test_a_rule_is_judged_on_the_lines_of_its_own_system(coded_db, tmp_path):  # noqa: F811 - the fixture
    _setup(coded_db, tmp_path)
    with coded_db.connect() as conn:
        audited = conn.execute(select(diagnosis.c.kind).where(diagnosis.c.status == "manual")).scalars().all()
    assert audited.count("procedure") == 3
    # A diagnosis rule whose pattern matches the audited procedure 血液透析 is not judged on it ...
    impact = try_rule(coded_db, "血液透析", code="Z95.501")
    assert impact.audited == 2 and impact.reports[0].matches == 0
    # ... while a procedure rule is, among the procedures only.
    impact = try_rule(coded_db, "血液透析", code="36.0700")
    assert impact.audited == 3 and impact.reports[0].matches == 2 and impact.reports[0].false_positives


def test_failures_list_per_system(coded_db, tmp_path):  # noqa: F811 - the fixture
    from coder.services.diagnoses import list_failures

    with coded_db.begin() as conn:  # a procedure and a diagnosis no rule knows
        conn.execute(
            insert(diagnosis),
            [
                {"record_id": "P9", "seq_no": 1, "kind": kind, "status": "pending", "description": text}
                for kind, text in (("procedure", "射频消融术"), ("discharge", "系统性红斑狼疮"))
            ],
        )
    _setup(coded_db, tmp_path)
    both = list_failures(coded_db)
    procs = list_failures(coded_db, system="icd9cm3")
    assert procs and len(procs) < len(both)
    with coded_db.connect() as conn:
        kinds = {
            conn.execute(select(diagnosis.c.kind).where(diagnosis.c.id == f["diagnosis_id"])).scalar() for f in procs
        }
    assert kinds == {"procedure"}
