"""Diagnosis and procedure lines from a file, in either layout hospitals export.

* long (one row per line): record_id, seq, description [, kind, code, coder], with the Chinese
  headers HIS exports use (病案号, 序号, 诊断名称, 诊断编码, 编码员);
* homepage (one row per discharge, the 住院病案首页): see coder.imports.homepage.

A line with a code was coded by a person (history, never re-coded); one without is pending. In
the long layout a numbered list in one description ("1.冠心病2.高血压病") becomes one line per
item. Both layouts plan their lines through `plan_lines`, so the checks are the same.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, NamedTuple

from sqlalchemy import Connection, select

from coder.db.models import diagnosis, utcnow
from coder.errors import IcdCoderError, ImportRejected, Problem
from coder.store.codes import CodeState, code_states, problem_with
from rulebase.codes import PROCEDURE, system_of_kind
from rulebase.rule import MAX_CODE_LENGTH
from rulebase.states import AUTO, Status

from .columns import Column, FirstSeen, Schema, integer, text
from .splitting import split_numbered
from .tabular import Sheet, read_sheet


class Layout(StrEnum):
    LONG = "long"
    HOMEPAGE = "homepage"


DISCHARGE = "discharge"
IMPORTER = "import"  # coded_by of a person's code whose file names no coder

SCHEMA = Schema(
    (
        Column("record_id", text(64), required=True, empty="record_id is empty", aliases=("病案号", "住院号")),
        Column("seq", integer(minimum=1), aliases=("序号",)),
        Column("kind", text(16), default=DISCHARGE),
        Column("description", text(1000), required=True, default="", aliases=("诊断名称", "诊断描述")),
        Column("code", text(MAX_CODE_LENGTH), aliases=("诊断编码", "编码"), textual=True),
        Column("coder", text(64), aliases=("编码员",)),
        # What `diagnoses export --layout long` adds for coders; read back, these change nothing.
        Column("status", ignored=True, aliases=("状态",)),
        Column("fail_reason", ignored=True, aliases=("失败原因",)),
    )
)
DIAGNOSIS_COLUMNS = tuple(c.name for c in SCHEMA.columns if not c.ignored)


class LineItem(NamedTuple):
    """One line a file brings, before the checks across rows."""

    record_id: str
    kind: str
    seq: int | None  # None: in the order of the file
    description: str
    code: str | None
    coder: str | None
    row: int
    columns: tuple[str, str]  # the headers of its description and its code, for problems
    split: bool  # a numbered list in the description becomes several lines


@dataclass
class DiagnosisPlan:
    rows: list[dict[str, Any]] = field(default_factory=list)
    unchanged: int = 0
    split_rows: int = 0  # file rows whose numbered list became several diagnoses
    records: list[dict[str, Any]] = field(default_factory=list)  # homepage rows to add
    changed_records: list[dict[str, Any]] = field(default_factory=list)  # homepage rows with new patient fields
    unchanged_records: int = 0
    layout: str = Layout.LONG

    def summary(self) -> dict[str, int]:
        pending = sum(1 for r in self.rows if r["status"] == Status.PENDING)
        out = {
            "added": len(self.rows),
            "pending": pending,
            "coded_by_person": len(self.rows) - pending,
            "unchanged": self.unchanged,
            "split_rows": self.split_rows,
        }
        if self.layout == Layout.HOMEPAGE:
            procedures = sum(1 for r in self.rows if system_of_kind(r["kind"]) != system_of_kind(DISCHARGE))
            out.update(
                procedures=procedures,
                records_added=len(self.records),
                records_changed=len(self.changed_records),
                records_unchanged=self.unchanged_records,
            )
        return out


def _coder(name: str | None) -> str | None:
    if name and name.strip().lower() == AUTO:
        return f"coder {AUTO!r} is reserved for icdcoder's own codes"
    return None


def line_code_problem(code: str, kind: str, states: dict[str, CodeState]) -> str | None:
    """Why a person's `code` cannot stand on a line of `kind`: not in the dictionary, inactive, or
    of the other code system (a procedure code on a diagnosis line)."""
    return problem_with(code, states, system_of_kind(kind))


HOMEPAGE_HINT = "; this looks like a homepage export (one row per discharge): import it with --layout homepage"
HOMEPAGE_MARKS = ("出院主要诊断名称", "主要诊断名称", "出院主要诊断编码")


def _long_items(sheet: Sheet, mapping: Mapping[str, str], states, problems: list[Problem]) -> list[LineItem]:
    hint = HOMEPAGE_HINT if any(h in sheet.headers for h in HOMEPAGE_MARKS) else ""
    headers = SCHEMA.check_header(sheet, problems, mapping, hint=hint)
    columns = (headers.get("description", "description"), headers.get("code", "code"))
    items = []
    for n, v, ok in SCHEMA.read(sheet, problems, headers=headers):
        if v["code"] and ok:
            message = line_code_problem(v["code"], v["kind"], states)
            if message:
                problems.append(sheet.problem(n, columns[1], message))
                ok = False
        if v["code"] and v["coder"]:
            message = _coder(v["coder"])
            if message:
                problems.append(sheet.problem(n, headers.get("coder", "coder"), message))
                ok = False
        if ok:  # a row with a bad cell is reported; the checks across rows need good ones
            items.append(
                LineItem(v["record_id"], v["kind"], v["seq"], v["description"], v["code"], v["coder"], n, columns, True)
            )
    return items


def _noun(kind: str, default: str) -> str:
    return "procedure" if kind == PROCEDURE else default


def plan_lines(conn: Connection, sheet: Sheet, items: list[LineItem], problems: list[Problem]) -> DiagnosisPlan:
    """The lines to add, checked against each other and against the stored ones: a stored line with
    the same description is unchanged (whatever code the file shows: codes coming back from an
    export change nothing), one with another description is refused (lines are not replaced)."""
    # Rows of one record keep their order (by seq when given, else as listed); a numbered list
    # becomes consecutive lines, so the final sequence numbers are assigned per record.
    by_record: dict[tuple[str, str], list[tuple[int, int, LineItem]]] = {}
    for order, item in enumerate(items):
        by_record.setdefault((item.record_id, item.kind), []).append(
            (item.seq if item.seq is not None else order, item.row, item)
        )
    plan = DiagnosisPlan()
    existing = {
        (r.record_id, r.kind, r.seq_no): r.description
        for r in conn.execute(
            select(diagnosis.c.record_id, diagnosis.c.kind, diagnosis.c.seq_no, diagnosis.c.description)
        )
    }
    now = utcnow()
    for (record, kind), listed in by_record.items():
        seqs = FirstSeen()
        next_seq = 1
        for seq, n, item in sorted(listed, key=lambda t: (t[0], t[1])):
            if item.seq is not None:
                earlier = seqs.earlier(seq, n)
                if earlier is not None:
                    problems.append(
                        sheet.problem(
                            n, "seq", f"record {record} has {_noun(kind, 'seq')} {seq} twice (also row {earlier})"
                        )
                    )
                    continue
                next_seq = max(next_seq, seq)
            parts = split_numbered(item.description) if item.split else [item.description.strip()]
            if len(parts) > 1:
                plan.split_rows += 1
                if item.code:
                    problems.append(
                        sheet.problem(
                            n, item.columns[1], "a row with a code must hold one diagnosis, not a numbered list"
                        )
                    )
                    continue
            for part in parts:
                key = (record, kind, next_seq)
                next_seq += 1
                if key in existing:
                    if existing[key] == part:
                        plan.unchanged += 1
                    else:
                        problems.append(
                            sheet.problem(
                                n,
                                item.columns[0],
                                f"record {record} already has {_noun(kind, 'diagnosis')} {key[2]} with a different "
                                "description; lines are not replaced by an import",
                            )
                        )
                    continue
                code = item.code or None
                plan.rows.append(
                    {
                        "record_id": record,
                        "seq_no": key[2],
                        "kind": kind,
                        "description": part,
                        "code": code,
                        "coded_by": (item.coder or IMPORTER) if code else None,
                        "status": Status.MANUAL if code else Status.PENDING,
                        "created_at": now,
                        "updated_at": now,
                    }
                )
    return plan


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
        from .homepage import plan_records, read_homepage

        records, items = read_homepage(sheet, mapping, states, problems)
        plan = plan_lines(conn, sheet, items, problems)
        plan_records(conn, records, plan)
        plan.layout = Layout.HOMEPAGE
    else:
        plan = plan_lines(conn, sheet, _long_items(sheet, mapping, states, problems), problems)
    if problems:
        raise ImportRejected(sorted(problems, key=lambda p: p.row or 0))
    return plan


def write_diagnoses(conn: Connection, plan: DiagnosisPlan) -> None:
    from .homepage import write_records

    write_records(conn, plan)  # first: a line's record is there when the line is
    if plan.rows:
        conn.execute(diagnosis.insert(), plan.rows)
