"""Guards in the database: the fresh database's starter set, runs in both engines, history, the
rule-base version, judging against the audited history, the CLI and the workbook."""

import json

import pytest
from sqlalchemy import select

from coder.db.models import coding_run, diagnosis, fail_log, guard_history
from coder.errors import ChangeRefused, ImportRejected
from coder.run.loop import run_coding
from coder.services import guards as service
from coder.services.audit import act
from coder.services.rules import add_rule
from coder.store.history import rulebase_version
from rulebase.guards import STARTER
from tests.conftest import insert_pending, write_csv

LINES = ["疑似肺炎", "肺炎", "排除肺炎", "肺炎？", "不排除肺炎", "可能为急性胰腺炎", "急性心肌梗死待排", "冠心病"]
EXPECTED = {
    "疑似肺炎": ("failed", None, "uncertain"),
    "肺炎": ("coded", "J18.900", None),
    "排除肺炎": ("failed", None, "negated"),
    "肺炎？": ("failed", None, "uncertain"),
    "不排除肺炎": ("failed", None, "uncertain"),
    "可能为急性胰腺炎": ("failed", None, "uncertain"),
    "急性心肌梗死待排": ("failed", None, "uncertain"),
    "冠心病": ("coded", "I25.103", None),
}


def _rules(engine):
    for code, pattern in [
        ("J18.900", "肺炎"),
        ("K85.900", "急性胰腺炎"),
        ("I21.900", "(急性)?心肌梗死"),
        ("I25.103", "冠心病"),
    ]:
        add_rule(engine, code, pattern, author="t")


def _state(engine):
    with engine.connect() as conn:
        lines = {r.description: (r.status, r.code, r.fail_reason) for r in conn.execute(select(diagnosis))}
        fails = {
            r.normalized: (r.reason, [c["code"] for c in json.loads(r.candidates)])
            for r in conn.execute(select(fail_log).order_by(fail_log.c.id))
        }
    return lines, fails


@pytest.mark.parametrize("engine_name", ["python", "sql"])
def test_a_fresh_database_never_auto_codes_guarded_lines(seeded, engine_name):
    _rules(seeded)
    insert_pending(seeded, LINES)
    result = run_coding(seeded, engine_name=engine_name)
    lines, fails = _state(seeded)
    assert lines == EXPECTED
    assert fails["疑似肺炎"] == ("uncertain", ["J18.900"])  # the candidate is shown to the coder
    assert fails["排除肺炎"] == ("negated", ["J18.900"])
    assert fails["肺炎?"] == ("uncertain", ["J18.900"])
    assert (result.coded, result.uncertain, result.negated) == (2, 5, 1)
    with seeded.connect() as conn:
        run = conn.execute(select(coding_run)).one()
    assert (run.coded, run.uncertain, run.negated) == (2, 5, 1)


def test_the_migration_writes_the_starter_set_with_history(engine):
    guards = service.list_guards(engine)
    assert [(g.cue, g.kind, g.scope, g.not_within, g.position) for g in guards] == [
        (g.cue, g.kind, g.scope, g.not_within, g.position) for g in STARTER
    ]
    with engine.connect() as conn:
        rows = conn.execute(select(guard_history)).all()
    assert len(rows) == len(STARTER) and {r.action for r in rows} == {"insert"}


def test_a_guard_change_is_versioned_and_retries_failures(seeded):
    _rules(seeded)
    insert_pending(seeded, ["疑似肺炎"])
    run_coding(seeded)
    with seeded.connect() as conn:
        before = rulebase_version(conn)
    suspected = next(g for g in service.list_guards(seeded) if g.cue == "疑似")
    done = service.set_guard_enabled(seeded, suspected.id, False, author="王芳", reason="test")
    assert done.changed and done.new.version == 2 and not done.new.enabled
    with seeded.connect() as conn:
        assert rulebase_version(conn) == before + 1
    history = service.show_guard(seeded, suspected.id).history
    assert [h["action"] for h in history] == ["insert", "disable"] and history[1]["author"] == "王芳"
    second = run_coding(seeded)  # the failure is tried again under the new rule-base version
    assert second.coded == 1
    assert _state(seeded)[0]["疑似肺炎"] == ("coded", "J18.900", None)


def test_a_guard_that_would_uncode_audited_lines_is_refused_unless_forced(seeded):
    _rules(seeded)
    insert_pending(seeded, ["疑似肺炎"])
    suspected = next(g for g in service.list_guards(seeded) if g.cue == "疑似")
    service.set_guard_enabled(seeded, suspected.id, False, author="t")
    run_coding(seeded)
    with seeded.connect() as conn:
        d_id = conn.execute(select(diagnosis.c.id)).scalar_one()
    act(seeded, d_id, "confirm", "李娜")  # a coder says 疑似肺炎 is J18.900 here
    with pytest.raises(ChangeRefused, match="1 correctly coded audited diagnoses uncoded") as exc:
        service.set_guard_enabled(seeded, suspected.id, True, author="t")
    assert exc.value.impact.broken == 1
    assert not service.show_guard(seeded, suspected.id).item.enabled  # nothing written
    done = service.set_guard_enabled(seeded, suspected.id, True, author="t", force=True)
    assert done.new.enabled and done.impact.broken == 1


def test_cli_round_trip_and_the_rules_workbook(seeded, tmp_path, cli_invoke):
    out = cli_invoke("guards", "add", "--cue", "疑诊", "--kind", "uncertain", "--scope", "before", "--author", "t")
    assert out.exit_code == 0, out.output
    listed = json.loads(cli_invoke("guards", "list", "--json").output)
    assert listed[-1]["cue"] == "疑诊" and listed[-1]["position"] == 10 * (len(STARTER) + 1)
    assert cli_invoke("guards", "add", "--cue", "？", "--kind", "uncertain", "--author", "t").exit_code != 0
    path = tmp_path / "g.csv"
    assert cli_invoke("guards", "export", str(path)).exit_code == 0
    text = path.read_text(encoding="utf-8-sig").replace("疑诊,uncertain,before", "疑诊,uncertain,any")
    path.write_text(text, encoding="utf-8")
    out = cli_invoke("guards", "import", str(path), "--author", "t", "--json")
    assert json.loads(out.output)["changed"] == 1, out.output
    shown = json.loads(cli_invoke("guards", "show", str(listed[-1]["id"]), "--json").output)
    assert shown["scope"] == "any" and [h["action"] for h in shown["history"]] == ["insert", "update"]
    assert cli_invoke("guards", "disable", str(listed[-1]["id"]), "--author", "t").exit_code == 0
    # The rules workbook carries the guards sheet, and imports it in the same transaction.
    book = tmp_path / "rules.xlsx"
    assert cli_invoke("rules", "export", str(book)).exit_code == 0
    from openpyxl import load_workbook

    wb = load_workbook(book)
    ws = wb["guards"]
    header = [c.value for c in ws[1]]
    assert header == ["id", "position", "cue", "kind", "scope", "not_within", "enabled", "note", "version"]
    ws.append([None, None, "疑为", "uncertain", "before", None, 1, None, None])
    wb.save(book)
    out = cli_invoke("rules", "import", str(book), "--author", "t", "--json")
    assert json.loads(out.output)["guards"] == {"added": 1, "changed": 0, "unchanged": len(STARTER) + 1}
    assert "疑为" in {g.cue for g in service.list_guards(seeded)}


def test_a_bad_guards_row_is_refused_with_its_place_and_nothing_written(seeded, tmp_path):
    bad = write_csv(
        tmp_path / "g.csv",
        ["cue", "kind", "scope", "not_within"],
        [["疑为", "uncertain", "before", ""], ["排除", "negated", "before", "排尿"], ["待定", "doubt", "any", ""]],
    )
    with pytest.raises(ImportRejected) as exc:
        service.import_guards(seeded, bad, author="t", reason=None)
    text = str(exc.value)
    assert f"{bad}, row 3, column not_within: not_within word '排尿' does not contain the cue" in text
    assert f"{bad}, row 4, column kind: kind must be" in text
    assert "疑为" not in {g.cue for g in service.list_guards(seeded)}


@pytest.mark.parametrize("engine_name", ["python", "sql"])
def test_the_failure_names_the_cue_that_stopped_the_line(seeded, engine_name, cli_invoke):
    """failures list, audit queue and the failure row say which guard's cue stopped a line, and where."""
    _rules(seeded)
    insert_pending(seeded, ["疑似肺炎", "排除肺炎", "不排除肺炎", "急性心肌梗死待排", "系统性红斑狼疮"])
    run_coding(seeded, engine_name=engine_name)
    by_cue = {g.cue: g for g in service.list_guards(seeded)}
    listed = json.loads(cli_invoke("failures", "list", "--no-suggest", "--json").output)
    cues = {r["normalized"]: r["cue"] for r in listed}

    def cue(text, start, end):
        g = by_cue[text]
        return {"text": text, "start": start, "end": end, "guard_id": g.id, "guard_version": g.version}

    assert cues == {
        "疑似肺炎": cue("疑似", 0, 2),
        "排除肺炎": cue("排除", 0, 2),
        "不排除肺炎": cue("不排除", 0, 3),  # 排除 inside 不排除 is not the negation: the doubt is
        "急性心肌梗死待排": cue("待排", 6, 8),
        "系统性红斑狼疮": None,  # no match: no cue
    }
    text = cli_invoke("failures", "list", "--no-suggest").output
    assert f"疑似 at 0-2 (guard {by_cue['疑似'].id})" in text
    queued = json.loads(cli_invoke("audit", "queue", "--reason", "negated", "--no-suggest", "--json").output)
    assert [(i["description"], i["cue"]) for i in queued] == [("排除肺炎", cue("排除", 0, 2))]
    table = cli_invoke("audit", "queue", "--reason", "negated", "--no-suggest").output
    assert f"negated: 排除 at 0-2 (guard {by_cue['排除'].id})" in table
