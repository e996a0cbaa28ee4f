"""The command line as a user meets it: exit codes, exact messages, JSON for scripts."""

import json

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from coder.cli import cli
from coder.db.connect import make_engine
from coder.run.lock import acquire_lock
from tests.conftest import SAMPLE, write_csv


@pytest.fixture
def invoke(cli_invoke):
    return cli_invoke


def test_whole_workflow_on_the_sample(invoke):
    assert invoke("db", "upgrade").exit_code == 0
    assert "schema already at" in invoke("db", "upgrade").output
    r = invoke("dict", "import", str(SAMPLE / "codes.csv"), "--json")
    assert r.exit_code == 0 and json.loads(r.output)["added"] == 125
    r = invoke("dict", "import", str(SAMPLE / "procedure_codes.csv"), "--system", "icd9cm3", "--json")
    assert r.exit_code == 0 and json.loads(r.output)["added"] == 63
    r = invoke("rules", "import", str(SAMPLE / "rules.csv"), "--author", "王芳", "--reason", "initial rule base")
    assert r.exit_code == 0 and r.output == "rules: 163 added, 0 changed (0 disabled), 0 unchanged\n"
    r = invoke("diagnoses", "import", str(SAMPLE / "diagnoses.csv"), "--json")
    assert json.loads(r.output)["added"] == 392
    r = invoke("run", "--json")
    assert r.exit_code == 0
    counts = json.loads(r.output)
    assert set(counts) == {
        "run_id",
        "considered",
        "coded",
        "no_match",
        "ambiguous",
        "invalid_input",
        "timeout",
        "too_long",
        "uncertain",
        "negated",
        "seconds",
    }
    assert counts["considered"] == sum(
        counts[k] for k in ("coded", "no_match", "ambiguous", "invalid_input", "uncertain", "negated")
    )
    assert counts["coded"] > 250 and counts["ambiguous"] > 0
    fails = json.loads(invoke("failures", "list", "--reason", "ambiguous", "--json").output)
    assert len(fails) == counts["ambiguous"]
    assert {"diagnosis_id", "run_id", "reason", "candidates"} <= set(fails[0]) and len(fails[0]["candidates"]) >= 2
    diags = json.loads(invoke("diagnoses", "list", "--status", "coded", "--limit", "3", "--json").output)
    assert len(diags) == 3 and set(diags[0]) >= {"id", "record_id", "seq", "description", "status", "code", "coded_by"}
    runs = json.loads(invoke("runs", "list", "--json").output)
    assert runs[0]["id"] == counts["run_id"] and runs[0]["status"] == "finished"
    shown = json.loads(invoke("runs", "show", str(counts["run_id"]), "--json").output)
    assert shown["coded"] == counts["coded"]
    r = invoke("run")
    assert r.exit_code == 0 and r.output.startswith(f"run {counts['run_id'] + 1}: 0 considered, 0 coded")


def test_locked_run_exits_75_naming_the_run(invoke, db_url):
    invoke("db", "upgrade")
    from coder.db.connect import make_engine

    run_id, _ = acquire_lock(make_engine(db_url), 0)
    r = CliRunner().invoke(cli, ["run"])
    assert r.exit_code == 75
    assert f"Error: another coding run is in progress: run {run_id} (started" in r.output


def test_unmigrated_database_is_a_clear_error(invoke, db_url):
    with make_engine(db_url).connect():  # the database exists (an empty SQLite file), without our tables
        pass
    r = invoke("run")
    assert r.exit_code == 1
    assert "has no icdcoder tables; this icdcoder needs" in r.output and "Run: icdcoder db upgrade" in r.output


def test_a_mistyped_sqlite_path_is_an_error_not_a_new_empty_file(tmp_path, monkeypatch):
    missing = tmp_path / "icdcodr.db"
    monkeypatch.setenv("ICDCODER_DB", f"sqlite:///{missing}")
    for args in (["diagnoses", "list"], ["report"], ["run"]):
        r = CliRunner().invoke(cli, args)
        assert r.exit_code == 1 and f"there is no database file {missing}" in r.output, r.output
    assert not missing.exists()


def test_password_on_the_command_line_is_refused(tmp_path, monkeypatch):
    monkeypatch.delenv("ICDCODER_DB", raising=False)
    r = CliRunner().invoke(cli, ["runs", "list", "--db", "postgresql://u:secret@localhost/x"])
    assert r.exit_code == 1
    assert r.output == (
        "Error: --db must not contain a password (it would be visible to other users); "
        "set ICDCODER_DB_PASSWORD or put the URL in ICDCODER_DB or the config file\n"
    )


def test_password_from_environment_is_masked_in_messages(monkeypatch, tmp_path):
    monkeypatch.setenv("ICDCODER_DB_PASSWORD", "s3cret")
    monkeypatch.delenv("ICDCODER_DB", raising=False)
    r = CliRunner().invoke(cli, ["run", "--db", "postgresql://nobody@127.0.0.1:1/none"])
    assert "s3cret" not in r.output


def test_import_errors_are_reported_with_place_and_exit_1(invoke, tmp_path):
    invoke("db", "upgrade")
    f = write_csv(tmp_path / "rules.csv", ["code", "pattern"], [["I10", "高血压\\d"]])
    r = invoke("rules", "import", str(f), "--author", "王芳")
    assert r.exit_code == 1
    assert r.output == (
        "Error: 2 problems found; nothing was imported. Fix the file and import it again.\n"
        f"  {f}, row 2, column code: code 'I10' is not in the code dictionary\n"
        f"  {f}, row 2, column pattern: invalid pattern '高血压\\\\d': \\d is not portable: write [0-9] at position 3\n"
    )


def test_unsupported_file_type(invoke, tmp_path):
    invoke("db", "upgrade")
    (tmp_path / "codes.txt").write_text("x")
    r = invoke("dict", "import", str(tmp_path / "codes.txt"))
    assert (
        r.exit_code == 1
        and r.output == f"Error: {tmp_path / 'codes.txt'}: unsupported file type .txt; use .xlsx or .csv\n"
    )


def test_demo_runs_into_a_fresh_file(tmp_path):
    import re

    path = tmp_path / "demo.db"
    r = CliRunner().invoke(cli, ["demo", "--path", str(path), "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    assert out["diagnoses"] == 392 + 1106 and out["coded"] > 800 and out["no_match"] > 0 and out["ambiguous"] > 0
    # the homepage export: 300 discharges, their procedures in ICD-9-CM-3, coded by procedure rules
    assert (out["records"], out["procedures"], out["procedure_codes"]) == (300, 220, 63)
    eng = make_engine(f"sqlite:///{path}")
    with eng.connect() as conn:
        coded = conn.execute(
            text(
                "SELECT d.kind, c.code_system FROM diagnosis d JOIN icd_code c ON c.code = d.code "
                "WHERE d.status = 'coded'"
            )
        ).all()
    eng.dispose()
    assert {k for k, _ in coded} == {"discharge", "procedure"}
    assert all((k == "procedure") == (s == "icd9cm3") for k, s in coded)
    # a year of audit history before today's run, and the workbench's demo accounts
    assert out["history"]["months"] == 12 and out["run_id"] == out["history"]["runs"] + 1
    assert out["history"]["reviews"]["correct"] > 0 and out["history"]["rule_changes"] > 0
    users = [("李娜", "coder"), ("王芳", "author"), ("管理员", "admin")]
    assert [(u["name"], u["role"]) for u in out["users"]] == users
    assert all(len(u["password"]) >= 8 for u in out["users"])
    assert out["serve"] == f"icdcoder serve --db sqlite:///{path}"
    again = CliRunner().invoke(cli, ["demo", "--path", str(path)])
    assert again.exit_code == 0, again.output
    assert f"run {out['run_id']}: " in again.output  # replaced, not appended to
    assert "demo passwords" in again.output and f"icdcoder serve --db sqlite:///{path}" in again.output
    for u in out["users"]:
        assert re.search(rf"^  {u['name']}\s+{u['role']}\s+{re.escape(u['password'])}$", again.output, re.M)
    assert "icdcoder report --by month" in again.output


def test_rule_authoring_commands_version_history_and_rollback(invoke):
    invoke("db", "upgrade")
    invoke("dict", "import", str(SAMPLE / "codes.csv"))
    r = invoke("rules", "add", "--code", "I25.103", "--pattern", "冠心病", "--author", "王芳", "--reason", "first")
    assert (r.exit_code, r.output) == (0, "rule 1 added (version 1)\n")
    assert (
        invoke("rules", "edit", "1", "--pattern", "冠(状动脉粥样硬化性)?心(脏)?病", "--author", "王芳").output
        == "rule 1 is now version 2\n"
    )
    assert invoke("rules", "disable", "1", "--author", "王芳").output == "rule 1 disabled (version 3)\n"
    assert json.loads(invoke("rules", "list", "--json").output) == []
    listed = json.loads(invoke("rules", "list", "--all", "--json").output)
    assert set(listed[0]) == {
        "id",
        "code",
        "pattern",
        "exclude",
        "priority",
        "enabled",
        "version",
        "note",
        "author",
        "changed_at",
    }
    r = invoke("rules", "rollback", "1", "--to-version", "1", "--author", "李娜")
    assert r.output == "rule 1 restored to version 1's fields as version 4\n"
    shown = json.loads(invoke("rules", "show", "1", "--json").output)
    assert (shown["pattern"], shown["enabled"], shown["version"]) == ("冠心病", True, 4)
    assert [h["action"] for h in shown["history"]] == ["insert", "update", "disable", "rollback"]
    assert invoke("rules", "lint").output == "all 1 rules are valid\n"


def test_rule_add_refuses_invalid_pattern_and_unknown_code(invoke):
    invoke("db", "upgrade")
    invoke("dict", "import", str(SAMPLE / "codes.csv"))
    r = invoke("rules", "add", "--code", "I10.x00", "--pattern", "高血压\\d", "--author", "a")
    assert (r.exit_code, r.output) == (
        1,
        "Error: new rule: pattern '高血压\\\\d' is invalid: \\d is not portable: write [0-9] at position 3\n",
    )
    r = invoke("rules", "add", "--code", "NOPE", "--pattern", "x", "--author", "a")
    assert (
        r.output == "Error: new rule: code 'NOPE' is not in the code dictionary (import it with icdcoder dict import)\n"
    )
    assert invoke("rules", "show", "9").output == "Error: no rule with id 9\n"


def test_lint_lists_stored_rules_that_no_longer_validate(invoke, db_url):
    invoke("db", "upgrade")
    invoke("dict", "import", str(SAMPLE / "codes.csv"))
    invoke("rules", "add", "--code", "I25.103", "--pattern", "冠心病", "--author", "a")
    from sqlalchemy import update

    from coder.db.connect import make_engine
    from coder.db.models import coding_rule

    eng = make_engine(db_url)
    with eng.begin() as conn:  # as if edited by hand in the database
        conn.execute(update(coding_rule).values(pattern="冠心病(?=x)"))
    eng.dispose()
    r = invoke("rules", "lint")
    assert r.exit_code == 1
    assert r.output.startswith("rule 1: pattern '冠心病(?=x)' is invalid: (? constructs")


def test_rules_enable_restores_a_disabled_rule(invoke):
    invoke("db", "upgrade")
    invoke("dict", "import", str(SAMPLE / "codes.csv"))
    invoke("rules", "add", "--code", "I25.103", "--pattern", "冠心病", "--author", "王芳")
    assert invoke("rules", "disable", "1", "--author", "王芳").output == "rule 1 disabled (version 2)\n"
    assert (
        invoke("rules", "enable", "1", "--author", "王芳", "--reason", "back").output == "rule 1 enabled (version 3)\n"
    )
    assert invoke("rules", "enable", "1", "--author", "王芳").output == "rule 1 was already enabled\n"
    assert [h["action"] for h in json.loads(invoke("rules", "show", "1", "--json").output)["history"]] == [
        "insert",
        "disable",
        "enable",
    ]
