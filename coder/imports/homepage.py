"""The homepage layout: one row per discharge (住院病案首页), as HIS exports it.

The record is identified by 病案号 (with 住院次数 when the export has it: one patient's admissions
share a 病案号), else 住院号 or ID. Its diagnoses are name/code pairs: 出院主要诊断名称/编码 (line 1),
then 出院其他诊断名称N/编码N in the order of N; its procedures the same with 主要手术操作名称/编码
and 其他手术操作名称N/编码N. The patient fields the code checks need (性别, 年龄, 出生日期, 入院时间,
出院时间, 出院科别) and the summary's own list (出院诊断) go to the homepage table. Every other
column of the export (often 190 of them: fees, clinical notes) is left unread: nothing of it is
stored.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any, NamedTuple

from sqlalchemy import Connection, select, update

from coder.db.models import homepage, utcnow
from coder.errors import Problem
from coder.store.codes import CodeState
from rulebase.codes import PROCEDURE
from rulebase.rule import MAX_CODE_LENGTH

from .columns import CellInvalid, Column, FirstSeen, Schema, numeric_code, shown_header, text
from .diagnoses import DISCHARGE, DiagnosisPlan, LineItem, _coder, line_code_problem
from .tabular import Sheet

SEXES = {
    "男": "M",
    "男性": "M",
    "m": "M",
    "male": "M",
    "1": "M",
    "女": "F",
    "女性": "F",
    "f": "F",
    "female": "F",
    "2": "F",
}
UNSTATED_SEX = {"未知", "未说明", "未说明的性别", "0", "9"}  # the national codes 0 and 9


def sex(value: str, name: str) -> str | None:
    t = value.strip().lower()
    if t in SEXES:
        return SEXES[t]
    if t in UNSTATED_SEX:
        return None
    raise CellInvalid(f"{name} {value!r} is not a sex: write 男 or 女 (or 1, 2; 0 or 9 when not stated)")


_DATE = re.compile(
    r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"
    r"(?:[ T]+(\d{1,2})[:时](\d{1,2})(?:[:分](\d{1,2})(?:\.\d+)?)?秒?)?"
)
_COMPACT = re.compile(r"(\d{4})(\d{2})(\d{2})(?:(\d{2})(\d{2})(\d{2})?)?")


def when(value: str, name: str) -> dt.datetime:
    """A date or a date and time, as HIS exports and Excel write them."""
    t = value.strip()
    m = _DATE.fullmatch(t) or _COMPACT.fullmatch(t)
    try:
        if m is None:
            raise ValueError
        return dt.datetime(*(int(g) if g else 0 for g in m.groups()))
    except ValueError:
        raise CellInvalid(f"{name} {value!r} is not a date: write it as 2026-03-04 or 2026-03-04 08:30") from None


RECORD = Schema(
    (
        Column(
            "record_id",
            text(64),
            required=True,
            empty="the record id is empty",
            aliases=("病案号", "病案号码", "住院号", "id"),
        ),
        Column("admission_no", text(16), aliases=("住院次数",)),
        Column("sex", sex, aliases=("性别",)),
        Column("age", text(16), aliases=("年龄",)),
        Column("birth_date", when, aliases=("出生日期",)),
        Column("admitted_at", when, aliases=("入院时间", "入院日期")),
        Column("discharged_at", when, aliases=("出院时间", "出院日期")),
        Column("department", text(100), aliases=("出院科别", "出院科室")),
        Column("discharge_text", text(1000), aliases=("出院诊断",)),
        Column("coder", text(64), aliases=("编码员",)),
    ),
    strict=False,
)
RECORD_FIELDS = (
    "mrn",
    "admission_no",
    "sex",
    "age",
    "birth_date",
    "admitted_at",
    "discharged_at",
    "department",
    "discharge_text",
)


class Pairs(NamedTuple):
    """Where one kind of line stands in the export: the main pair, then the numbered others."""

    kind: str
    main: tuple[tuple[str, ...], tuple[str, ...]]  # the headers its name and its code may have
    other: re.Pattern[str]  # a numbered other pair's header: group 1 name or code, group 2 its number


PAIRS = (
    Pairs(
        DISCHARGE,
        (("出院主要诊断名称", "主要诊断名称"), ("出院主要诊断编码", "主要诊断编码")),
        re.compile(r"(?:出院)?其他诊断(名称|编码)(\d+)"),
    ),
    Pairs(
        PROCEDURE,
        (("主要手术操作名称", "主要手术名称"), ("主要手术操作编码", "主要手术编码")),
        re.compile(r"其他手术操作?(名称|编码)(\d+)"),
    ),
)


def _columns(sheet: Sheet, pairs: Pairs, problems: list[Problem]) -> list[tuple[str | None, str | None]]:
    """(name header, code header) of each pair in line order."""
    found: list[tuple[str | None, str | None]] = []
    main = [next((h for h in names if h in sheet.headers), None) for names in pairs.main]
    if any(main):
        found.append((main[0], main[1]))
    numbered: dict[int, dict[str, str]] = {}
    for h in sheet.headers:
        m = pairs.other.fullmatch(h)
        if m:
            numbered.setdefault(int(m.group(2)), {})[m.group(1)] = h
    for k in sorted(numbered):
        found.append((numbered[k].get("名称"), numbered[k].get("编码")))
    for name, code in found:
        if name is None:
            problems.append(
                sheet.problem(1, code, f"column {code!r} has no name column beside it; add it or remove the codes")
            )
    return found


def required_columns_problem(sheet: Sheet) -> Problem:
    return sheet.problem(
        1,
        None,
        "no diagnosis columns: the homepage layout reads 出院主要诊断名称 / 出院主要诊断编码 and "
        "出院其他诊断名称1 / 出院其他诊断编码1 ... (procedures: 主要手术操作名称 / 主要手术操作编码, "
        f"其他手术操作名称1 / 其他手术操作编码1 ...); the header row has: {shown_header(sheet.headers)}. "
        "A file with one row per diagnosis is the long layout (--layout long)",
    )


def _code(
    sheet: Sheet, row, header: str, kind: str, states: Mapping[str, CodeState], problems: list[Problem]
) -> tuple[str | None, bool]:
    raw = row.get(header) if header else ""
    if not raw:
        return None, True
    if header in row.numeric:
        problems.append(sheet.problem(row.number, header, numeric_code(raw)))
        return None, False
    try:
        code = text(MAX_CODE_LENGTH)(raw, header)
    except CellInvalid as exc:
        problems.append(sheet.problem(row.number, header, str(exc)))
        return None, False
    message = line_code_problem(code, kind, states)
    if message:
        problems.append(sheet.problem(row.number, header, message))
        return None, False
    return code, True


def read_homepage(
    sheet: Sheet, mapping: Mapping[str, str], states: Mapping[str, CodeState], problems: list[Problem]
) -> tuple[dict[str, dict[str, Any]], list[LineItem]]:
    """The records (record id -> homepage fields) and the lines of the export."""
    headers = RECORD.check_header(sheet, problems, mapping)
    where = {p.kind: _columns(sheet, p, problems) for p in PAIRS}
    if not any(where.values()):
        problems.append(required_columns_problem(sheet))
        return {}, []
    records: dict[str, dict[str, Any]] = {}
    items: list[LineItem] = []
    by_number = {r.number: r for r in sheet.rows}
    seen = FirstSeen()
    for n, v, ok in RECORD.read(sheet, problems, headers=headers):
        record_id = v["record_id"]
        if record_id and v["admission_no"]:
            record_id = f"{record_id}-{v['admission_no']}"
            if len(record_id) > 64:
                problems.append(
                    sheet.problem(n, headers["record_id"], "病案号 and 住院次数 together are longer than 64 characters")
                )
                ok = False
        earlier = seen.earlier(record_id, n)
        if record_id and earlier is not None:
            problems.append(sheet.problem(n, headers["record_id"], f"record {record_id} is also on row {earlier}"))
            ok = False
        row = by_number[n]
        if v["coder"] and _coder(v["coder"]):
            problems.append(sheet.problem(n, headers.get("coder"), _coder(v["coder"])))
            ok = False
        lines: list[LineItem] = []
        for kind, pairs in where.items():
            seq = 0
            for name_header, code_header in pairs:
                if name_header is None:
                    continue
                name = row.get(name_header)
                code, good = _code(sheet, row, code_header, kind, states, problems)
                ok = ok and good
                if not name:
                    if code_header and row.get(code_header):
                        problems.append(
                            sheet.problem(
                                n,
                                name_header,
                                f"the name is empty beside the code {row.get(code_header)!r} in {code_header}: "
                                "fill in the name or clear the code",
                            )
                        )
                        ok = False
                    continue
                if len(name) > 1000:
                    problems.append(sheet.problem(n, name_header, f"{name_header} is longer than 1000 characters"))
                    ok = False
                    continue
                seq += 1
                lines.append(
                    LineItem(
                        record_id,
                        kind,
                        seq,
                        name,
                        code,
                        v["coder"] if code else None,
                        n,
                        (name_header, code_header or name_header),
                        False,
                    )
                )
        if ok:
            records[record_id] = {
                "record_id": record_id,
                "mrn": v["record_id"],
                **{k: v[k] for k in RECORD_FIELDS if k != "mrn"},
            }
            items.extend(lines)
    return records, items


def plan_records(conn: Connection, records: dict[str, dict[str, Any]], plan: DiagnosisPlan) -> None:
    """Records the file adds, and records whose patient fields it changes (those are updated: they
    are the HIS's data, not a person's coding)."""
    if not records:
        return
    stored = {r.record_id: r for r in conn.execute(select(homepage))}
    for record_id, values in records.items():
        old = stored.get(record_id)
        if old is None:
            plan.records.append(values)
        elif any(getattr(old, k) != values[k] for k in RECORD_FIELDS):
            plan.changed_records.append(values)
        else:
            plan.unchanged_records += 1


def write_records(conn: Connection, plan: DiagnosisPlan) -> None:
    now = utcnow()
    if plan.records:
        conn.execute(homepage.insert(), [{**r, "created_at": now, "updated_at": now} for r in plan.records])
    for r in plan.changed_records:
        conn.execute(
            update(homepage)
            .where(homepage.c.record_id == r["record_id"])
            .values(**{k: r[k] for k in RECORD_FIELDS}, updated_at=now)
        )
