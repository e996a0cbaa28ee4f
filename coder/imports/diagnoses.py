"""Diagnosis and procedure lines from a file, in either layout hospitals export.

* long (one row per line): record_id, seq, description [, kind, code, coder], with the Chinese
  headers HIS exports use (病案号, 序号, 诊断名称, 诊断编码, 编码员);
* homepage (one row per discharge, the 住院病案首页): see coder.imports.homepage.

A line with a code was coded by a person (history, never re-coded); one without is pending. In
the long layout a numbered list in one description ("1.冠心病2.高血压病") becomes one line per
item. Both layouts plan their lines through `lines.plan_lines`, so the checks are the same.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from sqlalchemy import Connection

from coder.errors import IcdCoderError, ImportRejected, Problem
from coder.store.codes import code_states
from rulebase.codes import PROCEDURE

from . import homepage
from .columns import CellInvalid, Column, Schema, integer, text
from .lines import (
    CODES_LENGTH,
    DISCHARGE,
    IMPORTER,
    DiagnosisPlan,
    Layout,
    LineItem,
    persons_code,
    plan_lines,
    reserved_coder,
    write_lines,
)
from .tabular import Sheet, read_sheet

__all__ = [
    "DIAGNOSIS_COLUMNS",
    "DISCHARGE",
    "IMPORTER",
    "SCHEMA",
    "DiagnosisPlan",
    "Layout",
    "plan_diagnoses",
    "write_diagnoses",
]

# Words people write for a procedure line: a near miss of `procedure` would make it a diagnosis
# line, coded by diagnosis rules (every kind but `procedure` is coded in ICD-10).
KIND_WORDS = {"手术": PROCEDURE, "手术操作": PROCEDURE, "操作": PROCEDURE, "诊断": DISCHARGE, "出院诊断": DISCHARGE}


def kind(value: str, name: str) -> str:
    t = value.strip()
    if t in KIND_WORDS:
        return KIND_WORDS[t]
    if t != PROCEDURE and t.lower() == PROCEDURE:
        raise CellInvalid(f"{name} {value!r}: write {PROCEDURE!r} (lower case) for a procedure line")
    return text(16)(t, name)


SCHEMA = Schema(
    (
        Column("record_id", text(64), required=True, empty="record_id is empty", aliases=("病案号", "住院号")),
        Column("seq", integer(minimum=1), aliases=("序号",)),
        Column("kind", kind, default=DISCHARGE, aliases=("类型",)),
        Column("description", text(1000), required=True, default="", aliases=("诊断名称", "诊断描述")),
        Column("code", text(CODES_LENGTH), aliases=("诊断编码", "编码"), textual=True),
        Column("coder", text(64), aliases=("编码员",)),
        # What `diagnoses export --layout long` adds for coders. Read back, the status says whose
        # a code is: icdcoder's own comes back pending (it is not a person's code).
        Column("status", text(), aliases=("状态",)),
        Column("fail_reason", ignored=True, aliases=("失败原因",)),
    ),
    # An HIS's long export carries more (姓名, 科室): left unread and named in the summary, while a
    # misspelt required column is still refused as missing.
    strict=False,
)
DIAGNOSIS_COLUMNS = tuple(c.name for c in SCHEMA.columns if not c.ignored and c.name != "status")

HOMEPAGE_HINT = "; this looks like a homepage export (one row per discharge): import it with --layout homepage"


def _long_items(
    sheet: Sheet, mapping: Mapping[str, str], problems: list[Problem]
) -> tuple[list[LineItem], list[LineItem], set[str]]:
    """The lines of a long-layout sheet, the lines of rows already refused, and the headers read."""
    hint = HOMEPAGE_HINT if homepage.looks_like(sheet) else ""
    headers = SCHEMA.check_header(sheet, problems, mapping, hint=hint)
    columns = (headers.get("description", "description"), headers.get("code", "code"))
    items, refused = [], []
    for n, v, ok in SCHEMA.read(sheet, problems, headers=headers):
        code = v["code"] if persons_code(v["status"]) else None
        if code and v["coder"]:
            message = reserved_coder(v["coder"])
            if message:
                problems.append(sheet.problem(n, headers.get("coder", "coder"), message))
                ok = False
        # A row with a bad cell is reported; the checks across rows need good ones.
        (items if ok else refused).append(
            LineItem(
                record_id=v["record_id"],
                kind=v["kind"],
                seq=v["seq"],
                description=v["description"],
                code=code,
                coder=v["coder"],
                row=n,
                columns=columns,
                split=True,
            )
        )
    return items, refused, set(headers.values())


def plan_diagnoses(
    conn: Connection, path: str | Path, layout: str = Layout.LONG, mapping: Mapping[str, str] | None = None
) -> DiagnosisPlan:
    """Every line (and, in the homepage layout, every record) the file brings; ImportRejected names
    each problem with file, sheet, row and column, and nothing is planned then."""
    if layout not in tuple(Layout):
        raise IcdCoderError(f"unknown layout {layout!r}; choose from {', '.join(Layout)}")
    sheet = read_sheet(path)
    problems: list[Problem] = []
    states = code_states(conn)
    mapping = mapping or {}
    if layout == Layout.HOMEPAGE:
        records, items, refused, read = homepage.read_homepage(sheet, mapping, problems)
        plan = plan_lines(conn, sheet, items, problems, states, refused)
        homepage.plan_records(conn, records, plan)
        plan.layout = Layout.HOMEPAGE
    else:
        items, refused, read = _long_items(sheet, mapping, problems)
        plan = plan_lines(conn, sheet, items, problems, states, refused)
    if problems:
        raise ImportRejected(sorted(problems, key=lambda p: p.row or 0))
    plan.ignored_columns = tuple(h for h in sheet.headers if h and h not in read)
    return plan


def write_diagnoses(conn: Connection, plan: DiagnosisPlan) -> None:
    homepage.write_records(conn, plan)  # first: a line's record is there when the line is
    write_lines(conn, plan)
    homepage.sync_departments(conn, plan)
