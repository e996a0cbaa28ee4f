"""icdcoder combinations: add, list, show, edit, disable, enable, export, import (round trip), with
--json and errors that name the place."""

from __future__ import annotations

import json

from tests.conftest import write_csv

CODES = [("E11.900", "2型糖尿病"), ("G63.2*", "糖尿病性多神经病"), ("E11.401+G63.2*", "2型糖尿病性周围神经病"),
         ("K25.900", "胃溃疡"), ("K92.200", "上消化道出血"), ("K25.400", "胃溃疡伴出血")]  # fmt: skip


def test_round_trip(migrated_invoke, tmp_path):
    invoke = migrated_invoke
    codes = write_csv(tmp_path / "codes.csv", ["code", "name"], CODES)
    assert invoke("dict", "import", str(codes)).exit_code == 0
    r = invoke("combinations", "add", "--codes", "E11.900,G63.2*", "--code", "E11.401+G63.2*", "--author", "王芳",
               "--reason", "剑号星号", "--json")  # fmt: skip
    assert r.exit_code == 0, r.output
    added = json.loads(r.output)
    assert (added["codes"], added["code"], added["version"], added["changed"]) == (
        "E11.900,G63.2*",
        "E11.401+G63.2*",
        1,
        True,
    )
    assert added["impact"]["broken"] == 0
    cid = str(added["id"])
    r = invoke("combinations", "edit", cid, "--note", "糖尿病周围神经病变", "--author", "李娜", "--json")
    assert json.loads(r.output)["version"] == 2
    assert invoke("combinations", "disable", cid, "--author", "李娜").stdout.strip() == (
        f"combination {cid} disabled (version 3)"
    )
    assert invoke("combinations", "enable", cid, "--author", "李娜", "--json").exit_code == 0
    shown = json.loads(invoke("combinations", "show", cid, "--json").output)
    assert [h["action"] for h in shown["history"]] == ["insert", "update", "disable", "enable"]
    listed = json.loads(invoke("combinations", "list", "--json").output)
    assert [(c["id"], c["version"], c["enabled"]) for c in listed] == [(added["id"], 4, True)]
    assert "E11.401+G63.2*" in invoke("combinations", "list").output

    out = tmp_path / "combos.csv"
    assert json.loads(invoke("combinations", "export", str(out), "--json").output)["combinations"] == 1
    text = out.read_text(encoding="utf-8-sig")
    assert text.splitlines()[0] == "id,codes,code,enabled,note,version"
    # the exported file, edited: a new row added; imported: one added, the other unchanged
    with out.open("a", encoding="utf-8") as f:
        f.write(',"K25.900,K92.200",K25.400,1,胃溃疡伴出血,\n')
    r = invoke("combinations", "import", str(out), "--author", "王芳", "--dry-run")
    assert "+ new  K25.900,K92.200 -> K25.400" in r.output and "dry run, nothing written" in r.output
    r = invoke("combinations", "import", str(out), "--author", "王芳", "--json")
    assert {k: json.loads(r.output)[k] for k in ("added", "changed", "unchanged")} == {
        "added": 1,
        "changed": 0,
        "unchanged": 1,
    }
    assert len(json.loads(invoke("combinations", "list", "--json").output)) == 2
    assert json.loads(invoke("combinations", "review", "--json").output) == []
    xlsx = tmp_path / "combos.xlsx"
    assert invoke("combinations", "export", str(xlsx)).stdout.strip() == f"2 combinations written to {xlsx}"
    r = invoke("combinations", "import", str(xlsx), "--author", "王芳", "--json")
    assert json.loads(r.output)["unchanged"] == 2


def test_errors_name_the_row_and_write_nothing(migrated_invoke, tmp_path):
    invoke = migrated_invoke
    invoke("dict", "import", str(write_csv(tmp_path / "codes.csv", ["code", "name"], CODES)))
    bad = write_csv(
        tmp_path / "bad.csv",
        ["id", "codes", "code", "enabled", "note", "version"],
        [["", "E11.900", "E11.401+G63.2*", "1", "", ""], ["", "K25.900,K92.200", "K25.499", "1", "", ""]],
    )
    r = invoke("combinations", "import", str(bad), "--author", "王芳")
    assert r.exit_code != 0
    assert f"{bad}, row 2, column codes: a combination needs at least two source codes" in r.output
    assert f"{bad}, row 3, column code: K25.499 is not in the code dictionary" in r.output
    assert json.loads(invoke("combinations", "list", "--json").output) == []
    r = invoke("combinations", "add", "--codes", "E11.900,g63.2*", "--code", "E11.401+G63.2*", "--author", "a")
    assert r.exit_code != 0 and "lower-case" in r.output


def test_the_rules_workbook_carries_the_combinations_sheet(migrated_invoke, tmp_path):
    from openpyxl import load_workbook

    invoke = migrated_invoke
    invoke("dict", "import", str(write_csv(tmp_path / "codes.csv", ["code", "name"], CODES)))
    invoke("combinations", "add", "--codes", "E11.900,G63.2*", "--code", "E11.401+G63.2*", "--author", "王芳")
    book = tmp_path / "rules.xlsx"
    assert invoke("rules", "export", str(book)).exit_code == 0
    wb = load_workbook(book)
    ws = wb["combinations"]
    assert [c.value for c in ws[1]] == ["id", "codes", "code", "enabled", "note", "version"]
    assert [c.value for c in ws[2]][1:3] == ["E11.900,G63.2*", "E11.401+G63.2*"]
    ws.append([None, "K25.900,K92.200", "K25.400", 1, "胃溃疡伴出血", None])
    ws.cell(row=2, column=4).value = 0  # disable the first
    wb.save(book)
    dry = invoke("rules", "import", str(book), "--author", "王芳", "--dry-run", "--json")
    assert json.loads(dry.output)["combinations"] == {"added": 1, "changed": 1, "unchanged": 0}, dry.output
    r = invoke("rules", "import", str(book), "--author", "王芳")
    assert r.exit_code == 0, r.output
    assert "combinations: 1 added, 1 changed, 0 unchanged" in r.output
    listed = json.loads(invoke("combinations", "list", "--json").output)
    assert [(c["codes"], c["enabled"], c["version"]) for c in listed] == [
        ("E11.900,G63.2*", False, 2),
        ("K25.900,K92.200", True, 1),
    ]
    # a bad row in the sheet rejects the whole workbook, with its place
    ws.append([None, "K25.900", "K25.400", 1, None, None])
    wb.save(book)
    r = invoke("rules", "import", str(book), "--author", "王芳")
    assert r.exit_code != 0 and "sheet combinations" in r.output
    assert ", column codes: a combination needs at least two source codes" in r.output
