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

from coder.db.models import diagnosis, homepage, utcnow
from coder.errors import Problem
from rulebase.codes import PROCEDURE

from .columns import CellInvalid, Column, FirstSeen, Schema, numeric_code, shown_header, text
from .lines import CODES_LENGTH, DISCHARGE, DiagnosisPlan, LineItem, in_chunks, persons_code, reserved_coder
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


_AGE = re.compile(r"[0-9]+(?:\.[0-9]+)?|(?:[0-9]+\s*(?:岁|周岁|个月|月|周|天|日|小时|时))+")


def age(value: str, name: str) -> str:
    """An age as the homepage writes it (67, 67岁, 3个月, 1岁3月, 12天), kept as written."""
    t = text(16)(value, name).strip()
    if not _AGE.fullmatch(t):
        raise CellInvalid(f"{name} {value!r} is not an age: write it as 67, 67岁, 3月, 12天 or 1岁3月")
    return t


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
        Column("age", age, aliases=("年龄",)),
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


NAME, CODE, STATUS = "名称", "编码", "状态"  # a line's three cells (the status: in an export only)


class Pairs(NamedTuple):
    """Where one kind of line stands in the export: the main line's cells, then the numbered others'.
    Read from these headers and written with the first of each, so an export reads back."""

    kind: str
    main: tuple[str, ...]  # the main line's header stem (出院主要诊断 + 名称/编码/状态), then other stems
    other: str  # the numbered lines' stem, as written: 出院其他诊断 + 名称1 / 编码1 / 状态1
    other_read: re.Pattern[str]  # the stems read: group 1 the part, group 2 the number

    def header(self, k: int, part: str) -> str:
        """Line k's (1: the main line) header for `part`, as an export writes it."""
        return f"{self.main[0]}{part}" if k == 1 else f"{self.other}{part}{k - 1}"


PAIRS = (
    Pairs(
        DISCHARGE, ("出院主要诊断", "主要诊断"), "出院其他诊断", re.compile(r"(?:出院)?其他诊断(名称|编码|状态)(\d+)")
    ),
    Pairs(PROCEDURE, ("主要手术操作", "主要手术"), "其他手术操作", re.compile(r"其他手术操作?(名称|编码|状态)(\d+)")),
)


class Slot(NamedTuple):
    """The headers of one line's cells in this file (None: the file has no such column)."""

    name: str | None
    code: str | None
    status: str | None


def looks_like(sheet: Sheet) -> bool:
    """Whether a sheet is a homepage export (it has a main diagnosis column)."""
    return any(f"{stem}{part}" in sheet.headers for stem in PAIRS[0].main for part in (NAME, CODE))


def _columns(sheet: Sheet, pairs: Pairs, problems: list[Problem]) -> list[Slot]:
    """The slots of one kind of line, in line order."""
    found: list[Slot] = []
    main = [
        next((f"{s}{part}" for s in pairs.main if f"{s}{part}" in sheet.headers), None) for part in (NAME, CODE, STATUS)
    ]
    if main[0] or main[1]:
        found.append(Slot(*main))
    numbered: dict[int, dict[str, str]] = {}
    for h in sheet.headers:
        m = pairs.other_read.fullmatch(h)
        if m:
            numbered.setdefault(int(m.group(2)), {})[m.group(1)] = h
    for k in sorted(numbered):
        found.append(Slot(numbered[k].get(NAME), numbered[k].get(CODE), numbered[k].get(STATUS)))
    for slot in found:
        if slot.name is None and slot.code is not None:
            problems.append(
                sheet.problem(
                    1, slot.code, f"column {slot.code!r} has no name column beside it; add it or remove the codes"
                )
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


def _code(sheet: Sheet, row, header: str, problems: list[Problem]) -> tuple[str | None, bool]:
    """A pair's code cell as typed (the dictionary is asked by plan_lines, for new lines only)."""
    raw = row.get(header) if header else ""
    if not raw:
        return None, True
    if header in row.numeric:
        problems.append(sheet.problem(row.number, header, numeric_code(raw)))
        return None, False
    try:
        code = text(CODES_LENGTH)(raw, header)
    except CellInvalid as exc:
        problems.append(sheet.problem(row.number, header, str(exc)))
        return None, False
    return code, True


def read_homepage(
    sheet: Sheet, mapping: Mapping[str, str], problems: list[Problem]
) -> tuple[dict[str, dict[str, Any]], list[LineItem], list[LineItem], set[str]]:
    """The records (record id -> the homepage fields the file has), the lines of the export, the
    lines of rows refused for a bad cell, and the headers read."""
    where = {p.kind: _columns(sheet, p, problems) for p in PAIRS}
    pair_headers = {h for slots in where.values() for slot in slots for h in slot if h}
    headers = RECORD.check_header(sheet, problems, mapping, also_read=pair_headers)
    if not any(where.values()):
        problems.append(required_columns_problem(sheet))
        return {}, [], [], set()
    present = ["mrn", *(f for f in RECORD_FIELDS if f in headers)]  # a field the file lacks is left as stored
    records: dict[str, dict[str, Any]] = {}
    items: list[LineItem] = []
    refused: list[LineItem] = []
    by_number = {r.number: r for r in sheet.rows}
    seen = FirstSeen()
    for n, v, ok in RECORD.read(sheet, problems, headers=headers):
        record_id, ok = _record_id(sheet, n, v, headers, seen, problems, ok)
        if v["admitted_at"] and v["discharged_at"] and v["discharged_at"] < v["admitted_at"]:
            problems.append(
                sheet.problem(n, headers.get("discharged_at"), "the discharge is before the admission (入院时间)")
            )
            ok = False
        message = reserved_coder(v["coder"])
        if message:
            problems.append(sheet.problem(n, headers.get("coder"), message))
            ok = False
        lines: list[LineItem] = []
        for kind, slots in where.items():
            ok = _read_lines(sheet, by_number[n], record_id, kind, slots, v["coder"], lines, problems) and ok
        if ok:
            v["mrn"] = v["record_id"]
            records[record_id] = {"record_id": record_id, **{f: v[f] for f in present}}
            items.extend(lines)
        else:
            refused.extend(lines)
    return records, items, refused, set(headers.values()) | pair_headers


def _record_id(sheet: Sheet, n: int, v: dict, headers, seen: FirstSeen, problems: list[Problem], ok: bool):
    """The record's id: 病案号, joined with 住院次数 when the file has it (a patient's admissions share one)."""
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
    return record_id, ok


def _read_lines(
    sheet: Sheet, row, record_id: str, kind: str, slots: list[Slot], coder, lines: list[LineItem], problems
) -> bool:
    """One kind's lines of a row, numbered by their place among the filled slots; False if a cell is bad."""
    ok = True
    k = 0
    for slot in slots:
        if slot.name is None:
            continue
        name = row.get(slot.name)
        code, good = _code(sheet, row, slot.code, problems)
        ok = ok and good
        if not name:
            if code:
                problems.append(
                    sheet.problem(
                        row.number,
                        slot.name,
                        f"the name is empty beside the code {code!r} in {slot.code}: "
                        "fill in the name or clear the code",
                    )
                )
                ok = False
            continue
        if len(name) > 1000:
            problems.append(sheet.problem(row.number, slot.name, f"{slot.name} is longer than 1000 characters"))
            ok = False
            continue
        if code and not persons_code(row.get(slot.status) if slot.status else None):
            code = None  # icdcoder's own code, coming back in an export: not a person's
        k += 1
        lines.append(
            LineItem(
                record_id=record_id,
                kind=kind,
                seq=k,
                description=name,
                code=code,
                coder=coder if code else None,
                row=row.number,
                columns=(slot.name, slot.code or slot.name),
                positional=True,
            )
        )
    return ok


def plan_records(conn: Connection, records: dict[str, dict[str, Any]], plan: DiagnosisPlan) -> None:
    """Records the file adds, and records whose patient fields it changes (those are updated: they
    are the HIS's data, not a person's coding). A record the file says nothing of but its id (a
    long-layout record coming back in a homepage export) adds no row: there is nothing to keep."""
    stored: dict[str, Any] = {}
    for chunk in in_chunks(records):
        stored.update({r.record_id: r for r in conn.execute(select(homepage).where(homepage.c.record_id.in_(chunk)))})
    for record_id, values in records.items():
        old = stored.get(record_id)
        fields = [f for f in values if f not in ("record_id", "mrn")]
        if old is None:
            if any(values[f] is not None for f in fields):
                plan.records.append(values)
        elif any(getattr(old, f) != values[f] for f in fields):
            plan.changed_records.append(values)
        else:
            plan.unchanged_records += 1


def sync_departments(conn: Connection, plan: DiagnosisPlan) -> None:
    """Copy each touched record's department onto its lines (after the lines are written): the
    records the plan adds or changes, and records that gain lines."""
    touched = {r["record_id"] for r in (*plan.records, *plan.changed_records) if "department" in r}
    touched |= {r["record_id"] for r in plan.rows}
    of_record = select(homepage.c.department).where(homepage.c.record_id == diagnosis.c.record_id).scalar_subquery()
    for chunk in in_chunks(sorted(touched)):
        kept = select(homepage.c.record_id).where(homepage.c.record_id.in_(chunk))  # a long layout has none
        conn.execute(update(diagnosis).where(diagnosis.c.record_id.in_(kept)).values(department=of_record))


def write_records(conn: Connection, plan: DiagnosisPlan) -> None:
    now = utcnow()
    if plan.records:
        conn.execute(homepage.insert(), [{**r, "created_at": now, "updated_at": now} for r in plan.records])
    for r in plan.changed_records:
        conn.execute(
            update(homepage)
            .where(homepage.c.record_id == r["record_id"])
            .values(**{k: v for k, v in r.items() if k != "record_id"}, updated_at=now)
        )
