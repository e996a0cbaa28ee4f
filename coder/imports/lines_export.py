"""Lines back out to the HIS, in the layout they came in, with the codes filled in.

The code columns carry every code a line has (a person's and icdcoder's), so the HIS can load
them; the status columns tell coders which is which. The files are the importers' layouts, and the
importers read the status columns as nothing: importing an export again changes nothing.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, select

from coder.db.models import diagnosis, homepage
from coder.errors import IcdCoderError
from coder.store.codes import lines_of
from rulebase.codes import PROCEDURE
from rulebase.states import AUTO, Status

from .diagnoses import DISCHARGE, Layout
from .tabular import SUFFIXES, write_workbook

# What a coder reads in a status column (Chinese, like the rest of the homepage).
STATUS_WORDS = {
    Status.PENDING: "待编码",
    Status.CODED: "自动编码",
    Status.CONFIRMED: "自动编码已确认",
    Status.CORRECTED: "人工更正",
    Status.MANUAL: "人工编码",
    Status.FAILED: "未能编码",
}
LONG_HEADERS = ("record_id", "seq", "kind", "description", "code", "coder", "status", "fail_reason")
RECORD_HEADERS = (
    ("病案号", "mrn"),
    ("住院次数", "admission_no"),
    ("性别", "sex"),
    ("年龄", "age"),
    ("出生日期", "birth_date"),
    ("入院时间", "admitted_at"),
    ("出院时间", "discharged_at"),
    ("出院科别", "department"),
    ("出院诊断", "discharge_text"),
)
SEX_WORDS = {"M": "男", "F": "女"}
# The name, code and status headers of line k (1: the main one) of each kind.
PAIR_HEADERS = {
    DISCHARGE: (("出院主要诊断名称", "出院主要诊断编码", "出院主要诊断状态"), "出院其他诊断{}{}"),
    PROCEDURE: (("主要手术操作名称", "主要手术操作编码", "主要手术操作状态"), "其他手术操作{}{}"),
}


def _status(r) -> str:
    word = STATUS_WORDS.get(r.status, r.status)
    return f"{word}（{r.fail_reason}）" if r.status == Status.FAILED and r.fail_reason else word


def _person(r) -> str:
    return "" if r.coded_by in (None, AUTO) else r.coded_by


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d") if value.time() == dt.time() else value.strftime("%Y-%m-%d %H:%M:%S")
    return str(value)


def _lines(conn: Connection, system: str | None) -> list:
    q = select(diagnosis).order_by(diagnosis.c.record_id, diagnosis.c.kind, diagnosis.c.seq_no)
    if system:
        q = q.where(lines_of(system))
    return conn.execute(q).all()


def long_rows(conn: Connection, system: str | None = None) -> tuple[Sequence[str], list[list[str]]]:
    rows = [
        [
            r.record_id,
            str(r.seq_no),
            r.kind,
            r.description or "",
            r.code or "",
            _person(r),
            r.status,  # the long layout is for scripts as much as for people: the status as stored
            r.fail_reason or "",
        ]
        for r in _lines(conn, system)
    ]
    return LONG_HEADERS, rows


def _pair(kind: str, k: int) -> tuple[str, str, str]:
    main, other = PAIR_HEADERS[kind]
    if k == 1:
        return main
    return tuple(other.format(part, k - 1) for part in ("名称", "编码", "状态"))  # type: ignore[return-value]


def homepage_rows(conn: Connection, system: str | None = None) -> tuple[Sequence[str], list[list[str]]]:
    """One row per record: its patient fields, then each kind's lines as name/code/status triples
    (as many as the record with the most has), then the coders who coded it."""
    records: dict[str, dict[str, Any]] = {}
    for r in _lines(conn, system):
        rec = records.setdefault(r.record_id, {DISCHARGE: [], PROCEDURE: [], "coders": []})
        rec[PROCEDURE if r.kind == PROCEDURE else DISCHARGE].append(r)
        if _person(r) and _person(r) not in rec["coders"]:
            rec["coders"].append(_person(r))
    stored = {h.record_id: h for h in conn.execute(select(homepage))}
    widths = {kind: max((len(rec[kind]) for rec in records.values()), default=0) for kind in PAIR_HEADERS}
    widths[DISCHARGE] = max(widths[DISCHARGE], 1)  # the main diagnosis columns are always there
    with_admission = any(h.admission_no for h in stored.values())
    fields = [(h, f) for h, f in RECORD_HEADERS if f != "admission_no" or with_admission]
    headers = [h for h, _ in fields]
    for kind in PAIR_HEADERS:
        for k in range(1, widths[kind] + 1):
            headers.extend(_pair(kind, k))
    headers.append("编码员")
    out = []
    for record_id, rec in records.items():
        h = stored.get(record_id)
        row = []
        for _, f in fields:
            if h is None:
                row.append(record_id if f == "mrn" else "")
            elif f == "sex":
                row.append(SEX_WORDS.get(h.sex, ""))
            else:
                row.append(_text(getattr(h, f)))
        for kind in PAIR_HEADERS:
            lines = rec[kind]
            for k in range(widths[kind]):
                if k < len(lines):
                    r = lines[k]
                    row.extend([r.description or "", r.code or "", _status(r)])
                else:
                    row.extend(["", "", ""])
        row.append("、".join(rec["coders"]))
        out.append(row)
    return headers, out


def export_lines(conn: Connection, path: str | Path, layout: str = Layout.LONG, system: str | None = None) -> int:
    """Write every line (of `system`) to an .xlsx or .csv file in `layout`; return the rows written."""
    path = Path(path)
    if path.suffix.lower() not in SUFFIXES:
        raise IcdCoderError(f"{path}: unsupported file type {path.suffix or '(none)'}; use .xlsx or .csv")
    if layout not in tuple(Layout):
        raise IcdCoderError(f"unknown layout {layout!r}; choose from {', '.join(Layout)}")
    headers, rows = (homepage_rows if layout == Layout.HOMEPAGE else long_rows)(conn, system)
    if path.suffix.lower() == ".csv":
        _write_csv(path, headers, rows)
    else:
        write_workbook(path, [("lines" if layout == Layout.LONG else "homepage", headers, rows)])
    return len(rows)


def _write_csv(path: Path, headers: Sequence[str], rows: Iterable[Sequence[str]]) -> None:
    try:
        # utf-8-sig: Excel on Chinese Windows opens it as UTF-8 (without the mark it guesses GBK).
        with path.open("w", encoding="utf-8-sig", newline="") as f:
            w = csv.writer(f, lineterminator="\r\n")
            w.writerow(headers)
            w.writerows(rows)
    except OSError as exc:
        raise IcdCoderError(f"{path}: cannot be written ({exc.strerror or exc})") from None
