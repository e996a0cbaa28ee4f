"""Discharge diagnoses from a file: record_id, seq, description [, kind, code, coder].

A row with a code was coded by a person (history, never re-coded); one without is pending. A
numbered list in one description ("1.冠心病2.高血压病") becomes one diagnosis per item.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, select

from coder.db.models import diagnosis, utcnow
from coder.errors import ImportRejected, Problem
from coder.store.codes import code_states, problem_with
from rulebase.rule import MAX_CODE_LENGTH
from rulebase.states import AUTO, Status

from .columns import Column, FirstSeen, Schema, integer, text
from .splitting import split_numbered
from .tabular import read_sheet

SCHEMA = Schema(
    (
        Column("record_id", text(64), required=True, empty="record_id is empty"),
        Column("seq", integer(minimum=1)),
        Column("kind", text(16), default="discharge"),
        Column("description", text(1000), required=True, default=""),
        Column("code", text(MAX_CODE_LENGTH)),
        Column("coder", text(64)),
    )
)
DIAGNOSIS_COLUMNS = SCHEMA.names


@dataclass
class DiagnosisPlan:
    rows: list[dict[str, Any]] = field(default_factory=list)
    unchanged: int = 0
    split_rows: int = 0  # file rows whose numbered list became several diagnoses

    def summary(self) -> dict[str, int]:
        pending = sum(1 for r in self.rows if r["status"] == Status.PENDING)
        return {
            "added": len(self.rows),
            "pending": pending,
            "coded_by_person": len(self.rows) - pending,
            "unchanged": self.unchanged,
            "split_rows": self.split_rows,
        }


def _coder(name: str | None) -> str | None:
    if name and name.strip().lower() == AUTO:
        return f"coder {AUTO!r} is reserved for icdcoder's own codes"
    return None


def plan_diagnoses(conn: Connection, path: str | Path) -> DiagnosisPlan:
    sheet = read_sheet(path)
    problems: list[Problem] = []
    states = code_states(conn)
    # Rows of one record keep their order (by seq when given, else as listed); a numbered list
    # becomes consecutive diagnoses, so the final sequence numbers are assigned per record.
    by_record: dict[tuple[str, str], list[tuple[int, int, dict[str, Any]]]] = {}
    for order, (n, v, ok) in enumerate(SCHEMA.read(sheet, problems, {"code": lambda c: problem_with(c, states)})):
        if v["code"] and v["coder"]:
            message = _coder(v["coder"])
            if message:
                problems.append(sheet.problem(n, "coder", message))
                ok = False
        if ok:  # a row with a bad cell is reported; the checks across rows need good ones
            by_record.setdefault((v["record_id"], v["kind"]), []).append(
                (v["seq"] if v["seq"] is not None else order, n, v)
            )
    plan = DiagnosisPlan()
    existing = {
        (r.record_id, r.kind, r.seq_no): r.description
        for r in conn.execute(
            select(diagnosis.c.record_id, diagnosis.c.kind, diagnosis.c.seq_no, diagnosis.c.description)
        )
    }
    now = utcnow()
    for (record, kind), items in by_record.items():
        seqs = FirstSeen()
        next_seq = 1
        for seq, n, v in sorted(items, key=lambda t: (t[0], t[1])):
            if v["seq"] is not None:
                earlier = seqs.earlier(seq, n)
                if earlier is not None:
                    problems.append(
                        sheet.problem(n, "seq", f"record {record} has seq {seq} twice (also row {earlier})")
                    )
                    continue
                next_seq = max(next_seq, seq)
            parts = split_numbered(v["description"])
            if len(parts) > 1:
                plan.split_rows += 1
                if v["code"]:
                    problems.append(
                        sheet.problem(n, "code", "a row with a code must hold one diagnosis, not a numbered list")
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
                                "description",
                                f"record {record} already has diagnosis {key[2]} with a different description; "
                                "diagnoses are not replaced by an import",
                            )
                        )
                    continue
                code = v["code"] or None
                plan.rows.append(
                    {
                        "record_id": record,
                        "seq_no": key[2],
                        "kind": kind,
                        "description": part,
                        "code": code,
                        "coded_by": (v["coder"] or "import") if code else None,
                        "status": Status.MANUAL if code else Status.PENDING,
                        "created_at": now,
                        "updated_at": now,
                    }
                )
    if problems:
        raise ImportRejected(sorted(problems, key=lambda p: p.row or 0))
    return plan


def write_diagnoses(conn: Connection, plan: DiagnosisPlan) -> None:
    if plan.rows:
        conn.execute(diagnosis.insert(), plan.rows)
