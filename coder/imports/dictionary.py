"""The code dictionary from a file: code, name [, parent, active]. Adds and updates, never deletes."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, select, update

from coder.db.models import icd_code, utcnow
from coder.errors import ImportRejected, Problem
from rulebase.codes import form_problem
from rulebase.rule import MAX_CODE_LENGTH

from .columns import CellInvalid, Changed, Column, Schema, one_or_zero, text
from .tabular import read_sheet


def _code(value: str, name: str) -> str:
    value = text(MAX_CODE_LENGTH)(value, name)
    problem = form_problem(value)
    if problem:
        raise CellInvalid(problem)
    return value


SCHEMA = Schema(
    (
        Column("code", _code, required=True, empty="code is empty", unique="duplicate code {value!r}"),
        Column("name", text(200), required=True, empty="name is empty"),
        Column("parent", text(MAX_CODE_LENGTH)),
        Column("active", one_or_zero, default=True),
    )
)
DICT_COLUMNS = SCHEMA.names


@dataclass
class DictPlan:
    added: list[dict[str, Any]] = field(default_factory=list)
    changed: list[Changed] = field(default_factory=list)  # code fields before and after
    unchanged: int = 0

    def summary(self) -> dict[str, int]:
        return {"added": len(self.added), "changed": len(self.changed), "unchanged": self.unchanged}


def plan_dictionary(conn: Connection, path: str | Path) -> DictPlan:
    sheet = read_sheet(path)
    problems: list[Problem] = []
    existing = {r.code: r for r in conn.execute(select(icd_code))}
    checked = list(SCHEMA.read(sheet, problems))
    codes_in_file = {values["code"] for _, values, _ in checked}
    for number, values, _ in checked:
        p = values["parent"]
        if p and p not in codes_in_file and p not in existing:
            problems.append(
                sheet.problem(number, "parent", f"parent {p!r} is neither in this file nor in the dictionary")
            )
    if problems:
        raise ImportRejected(sorted(problems, key=_place))
    plan = DictPlan()
    for _, values, _ in checked:
        old = existing.get(values["code"])
        if old is None:
            plan.added.append(values)
            continue
        before = {"code": old.code, "name": old.name, "parent": old.parent, "active": old.active}
        if before == values:
            plan.unchanged += 1
        else:
            plan.changed.append(Changed(before, values))
    return plan


def _place(p: Problem) -> tuple[int, int]:
    return (p.row or 0, 0)


def write_dictionary(conn: Connection, plan: DictPlan) -> None:
    now = utcnow()
    if plan.added:
        conn.execute(icd_code.insert(), [{**v, "updated_at": now} for v in plan.added])
    for _, new in plan.changed:
        conn.execute(
            update(icd_code)
            .where(icd_code.c.code == new["code"])
            .values(name=new["name"], parent=new["parent"], active=new["active"], updated_at=now)
        )
