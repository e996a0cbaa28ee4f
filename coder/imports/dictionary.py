"""The code dictionary from a file, in one code system: code, name [, parent, active, aliases].

Adds and updates, never deletes. The headers may be the national clinical version's own (诊断编码,
疾病名称, 手术操作编码, ...). A national list carries columns of its own (序号, 附加编码, 性别限制,
备注): they are left unread and named in the plan, so a 35,000-row file imports as the hospital
holds it instead of being refused for a column icdcoder has no use for.

A name's trailing bracketed parts are its other names: `冠状动脉粥样硬化性心脏病[冠心病]` is stored
as the name `冠状动脉粥样硬化性心脏病` with the alias `冠心病`, which `dict search` finds. A bracket
inside a name stays: it qualifies the word before it (`指[趾]甲的其他先天性畸形`, `袢[强效]利尿剂`), and
dropping it would change what the name says; the name without it becomes an alias instead, so a
search for `指甲的其他先天性畸形` finds it too. Round brackets are part of names and stay.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, NamedTuple

from sqlalchemy import Connection, bindparam, select, update

from coder.db.models import icd_code, utcnow
from coder.errors import ImportRejected, Problem
from coder.store.codes import ALIAS_JOIN
from rulebase.codes import ICD10, NAMES, SYSTEMS, form_problem, system_of_code
from rulebase.rule import MAX_CODE_LENGTH

from .columns import CellInvalid, Changed, Column, Schema, flag, text
from .tabular import Sheet, read_sheet

MAX_NAME = 200  # icd_code.name
MAX_ALIASES = 500  # icd_code.aliases, the aliases joined by ALIAS_JOIN
# How people separate several names in one 别名 cell.
_ALIAS_SEPARATORS = re.compile(r"[|;；、,，]")
_OPEN, _CLOSE = "[［【", "]］】"
# Any opening bracket with any closing one: Chinese input methods mix them ([冠心病］).
_PAIR = re.compile(rf"[{re.escape(_OPEN)}]([^{re.escape(_OPEN + _CLOSE)}]*)[{re.escape(_CLOSE)}]")
_TRAILING = re.compile(rf"\s*{_PAIR.pattern}\s*$")
_INNER = re.compile(rf"(\s*){_PAIR.pattern}(\s*)")


class Named(NamedTuple):
    name: str
    aliases: tuple[str, ...]


def split_name(value: str, column: str = "name") -> Named:
    """A name cell as its name and the aliases its brackets carry; CellInvalid for unpaired brackets."""
    if any(c in _OPEN + _CLOSE for c in _PAIR.sub("", value)):
        raise CellInvalid(
            f"{column} {value!r} has a bracket without its pair (or brackets inside brackets): "
            "a name's other names are written in pairs, 冠状动脉粥样硬化性心脏病[冠心病]"
        )
    name, trailing = value, []
    while m := _TRAILING.search(name):
        trailing.insert(0, m.group(1).strip())
        name = name[: m.start()]
    name = name.strip()
    if not name:
        raise CellInvalid(f"{column} {value!r} is only bracketed other names: write the name before them")
    if len(name) > MAX_NAME:
        raise CellInvalid(f"{column} is longer than {MAX_NAME} characters")
    aliases = list(trailing)
    if _PAIR.search(name):
        # keep one blank where the bracket stood between two words, none where it touched one
        plain = _INNER.sub(lambda m: " " if m.group(1) and m.group(3) else "", name).strip()
        aliases.append(plain)
    return Named(name, tuple(aliases))


def split_aliases(value: str, column: str = "aliases") -> tuple[str, ...]:
    return tuple(a.strip() for a in _ALIAS_SEPARATORS.split(value) if a.strip())


def _active(value: str, column: str) -> bool:
    result = flag(value)
    if result is None and value.strip() in ("有效", "无效"):
        result = value.strip() == "有效"
    if result is None:
        raise CellInvalid(f"{column} must be 1 or 0 (or 是/否, 有效/无效)")
    return result


def _code_of(system: str):
    def parse(value: str, column: str) -> str:
        value = text(MAX_CODE_LENGTH)(value, column)
        problem = form_problem(value, system)
        if problem:
            raise CellInvalid(problem)
        return value

    return parse


CODE_HEADERS = (
    "诊断编码",
    "疾病编码",
    "编码",
    "诊断代码",
    "疾病代码",
    "代码",
    "手术编码",
    "手术操作编码",
    "操作编码",
    "手术代码",
    "手术操作代码",
    "操作代码",
)
NAME_HEADERS = ("诊断名称", "疾病名称", "名称", "手术名称", "手术操作名称", "操作名称")


@cache
def schema(system: str) -> Schema:
    """The dictionary's columns, the code checked against `system`'s form."""
    return Schema(
        (
            Column(
                "code",
                _code_of(system),
                required=True,
                empty="code is empty",
                unique="duplicate code {value!r}",
                aliases=CODE_HEADERS,
                textual=True,
            ),
            Column("name", split_name, required=True, empty="name is empty", aliases=NAME_HEADERS),
            Column("parent", text(MAX_CODE_LENGTH), aliases=("上级编码", "父级编码", "上级代码"), textual=True),
            Column("active", _active, default=True, aliases=("有效", "是否有效", "启用", "是否启用")),
            Column("aliases", split_aliases, default=(), aliases=("alias", "别名")),
        ),
        strict=False,
    )


SCHEMA = schema(ICD10)
DICT_COLUMNS = SCHEMA.names
FIELDS = ("code", "name", "parent", "active", "aliases", "code_system")  # what an import compares and writes


@dataclass
class DictPlan:
    system: str = ICD10
    added: list[dict[str, Any]] = field(default_factory=list)
    changed: list[Changed] = field(default_factory=list)  # code fields before and after
    unchanged: int = 0
    ignored_columns: tuple[str, ...] = ()  # headers of the file no column reads
    source: str | None = None  # where titles not from a file came from (a package and its version)

    def summary(self) -> dict[str, int]:
        return {"added": len(self.added), "changed": len(self.changed), "unchanged": self.unchanged}


def plan_dictionary(
    conn: Connection, path: str | Path, system: str = ICD10, mapping: Mapping[str, str] | None = None
) -> DictPlan:
    return plan_sheet(conn, read_sheet(path), system, mapping)


def plan_sheet(
    conn: Connection, sheet: Sheet, system: str = ICD10, mapping: Mapping[str, str] | None = None
) -> DictPlan:
    """What importing `sheet` into `system` would add and change; ImportRejected naming every problem."""
    if system not in SYSTEMS:
        raise ValueError(f"unknown code system {system!r}")
    columns = schema(system)
    problems: list[Problem] = []
    found = columns.check_header(sheet, problems, mapping)  # keeps the problems of the columns it reads
    ignored = tuple(h for h in sheet.headers if h and h not in found.values())
    problems += _ambiguous_headers(sheet, columns, mapping or {})
    _refuse_other_system(sheet, found["code"], system, problems)

    existing = {r.code: r for r in conn.execute(select(icd_code))}

    def not_elsewhere(code: str) -> str | None:
        old = existing.get(code)
        if old is not None and old.code_system != system:
            return (
                f"code {code!r} is already in the dictionary as an {NAMES[old.code_system]} code; "
                f"a code belongs to one system (this file is imported as {NAMES[system]})"
            )
        return None

    checked = list(columns.read(sheet, problems, {"code": not_elsewhere}, headers=found))
    codes_in_file = {values["code"] for _, values, _ in checked}
    parent_at = found.get("parent", "parent")
    for number, values, _ in checked:
        p = values["parent"]
        if not p:
            continue
        if p == values["code"]:
            problems.append(sheet.problem(number, parent_at, f"code {p!r} cannot be its own parent"))
        elif p in codes_in_file:
            continue
        elif p not in existing:
            problems.append(
                sheet.problem(number, parent_at, f"parent {p!r} is neither in this file nor in the dictionary")
            )
        elif existing[p].code_system != system:
            problems.append(
                sheet.problem(
                    number,
                    parent_at,
                    f"parent {p!r} is an {NAMES[existing[p].code_system]} code; this file is {NAMES[system]}",
                )
            )
    rows = [(number, _stored(values, system)) for number, values, ok in checked if ok]
    for number, values in rows:
        if values["aliases"] is not None and len(values["aliases"]) > MAX_ALIASES:
            where = found.get("aliases", found["name"])
            problems.append(
                sheet.problem(
                    number, where, f"the other names are longer than {MAX_ALIASES} characters together: shorten them"
                )
            )
    if problems:
        raise ImportRejected(sorted(problems, key=_place))
    plan = DictPlan(system=system, ignored_columns=ignored)
    for _, values in rows:
        old = existing.get(values["code"])
        if old is None:
            plan.added.append(values)
            continue
        before = {k: getattr(old, k) for k in FIELDS}
        if before == values:
            plan.unchanged += 1
        else:
            plan.changed.append(Changed(before, values))
    return plan


def _stored(values: dict[str, Any], system: str) -> dict[str, Any]:
    """A row's values as icd_code holds them: the name's bracketed aliases joined with the 别名 column's."""
    named: Named = values["name"]
    aliases: list[str] = []
    for alias in (*named.aliases, *values["aliases"]):
        for part in alias.split(ALIAS_JOIN):  # the join character cannot be inside an alias
            part = part.strip()
            if part and part != named.name and part not in aliases:
                aliases.append(part)
    return {
        "code": values["code"],
        "name": named.name,
        "parent": values["parent"],
        "active": values["active"],
        "aliases": ALIAS_JOIN.join(aliases) or None,
        "code_system": system,
    }


def _ambiguous_headers(sheet: Sheet, columns: Schema, mapping: Mapping[str, str]) -> list[Problem]:
    """Two headers that both name one column (编码 and 诊断编码): reading either could be the wrong one."""
    problems = []
    for c in columns.columns:
        matches = [h for h in (c.name, *c.aliases) if h in sheet.headers]
        if len(matches) > 1 and c.name not in mapping:
            problems.append(
                sheet.problem(
                    1,
                    matches[1],
                    f"columns {' and '.join(matches)} can each be the {c.name} column: remove one, "
                    f"or say which it is with --map {c.name}=HEADER",
                )
            )
    return problems


def _refuse_other_system(sheet: Sheet, header: str, system: str, problems: list[Problem]) -> None:
    """A file whose every code is of the other system was imported without --system: one problem
    saying so, not one per row of a 35,000-row file."""
    codes = [(row.number, row.get(header)) for row in sheet.rows if row.get(header)]
    systems = {system_of_code(code) for _, code in codes}
    if len(codes) < 2 or len(systems) != 1 or None in systems or system in systems:
        return  # a single code's own problem says the same
    (other,) = systems
    number, first = codes[0]
    raise ImportRejected(
        [
            *problems,
            sheet.problem(
                number,
                header,
                f"code {first!r} and every other code in the file ({len(codes)} in all) are {NAMES[other]} codes, "
                f"not {NAMES[system]}: import the file with --system {other}",
            ),
        ]
    )


def _place(p: Problem) -> tuple[int, int]:
    return (p.row or 0, 0)


def write_dictionary(conn: Connection, plan: DictPlan) -> None:
    now = utcnow()
    if plan.added:
        conn.execute(icd_code.insert(), [{**v, "updated_at": now} for v in plan.added])
    if plan.changed:
        # one statement executed for every changed code: a national list can change thousands
        c = icd_code.c
        statement = (
            update(icd_code)
            .where(c.code == bindparam("b_code"))
            .values(
                name=bindparam("b_name"),
                parent=bindparam("b_parent"),
                active=bindparam("b_active"),
                aliases=bindparam("b_aliases"),
                updated_at=now,
            )
        )
        conn.execute(
            statement,
            [
                {
                    "b_code": n["code"],
                    "b_name": n["name"],
                    "b_parent": n["parent"],
                    "b_active": n["active"],
                    "b_aliases": n["aliases"],
                }
                for _, n in plan.changed
            ],
        )
