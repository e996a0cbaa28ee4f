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
from typing import Any, NamedTuple

from sqlalchemy import Connection, select

from coder.db.models import diagnosis, homepage, line_codes
from coder.errors import IcdCoderError
from coder.store.codes import lines_of
from rulebase.codes import system_of_kind
from rulebase.states import AUTO, Outcome, Status

from .homepage import CODE, NAME, PAIRS, STATUS
from .lines import IMPORTER, STATUS_WORDS, Layout, in_chunks
from .tabular import SUFFIXES, write_workbook

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
KINDS = {p.kind: p for p in PAIRS}  # the kinds the homepage layout has columns for

REASON_WORDS = {
    Outcome.NO_MATCH: "无匹配规则",
    Outcome.AMBIGUOUS: "多个编码",
    Outcome.INVALID_INPUT: "无有效文字",
    Outcome.TIMEOUT: "匹配超时",
    Outcome.TOO_LONG: "文字过长",
}


def _status(r) -> str:
    word = STATUS_WORDS.get(r.status, r.status)
    if r.status == Status.FAILED and r.fail_reason:
        return f"{word}（{REASON_WORDS.get(r.fail_reason, r.fail_reason)}）"
    return word


def _person(r) -> str:
    """Who coded the line, for the HIS: nobody's name for icdcoder's codes or an unnamed import."""
    return "" if r.coded_by in (None, AUTO, IMPORTER) else r.coded_by


def _cell(value, csv_file: bool):
    """A record field as the file holds it: a workbook keeps dates as dates, CSV writes them out."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        if not csv_file:
            return value
        return value.strftime("%Y-%m-%d") if value.time() == dt.time() else value.strftime("%Y-%m-%d %H:%M:%S")
    return str(value)


def _codes(r) -> str:
    """A line's codes in one cell: `I25.103,I20.000` for a line of two diagnoses (imports read it back)."""
    return ",".join(line_codes(r.code, r.other_codes))


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
            _codes(r),
            _person(r),
            r.status,  # the long layout is for scripts as much as for people: the status as stored
            (r.fail_reason or "") if r.status == Status.FAILED else "",
        ]
        for r in _lines(conn, system)
    ]
    return LONG_HEADERS, rows


class Exported(NamedTuple):
    rows: int
    left_out: int  # lines the layout has no place for (homepage: other kinds than discharge, procedure)


def homepage_rows(
    conn: Connection, system: str | None = None, csv_file: bool = False
) -> tuple[Sequence[str], list[list[Any]], int]:
    """One row per record: its patient fields, then each kind's lines as name/code/status cells
    (as many as the record with the most has), then who coded it; and the lines left out."""
    records: dict[str, dict[str, Any]] = {}
    left_out = 0
    for r in _lines(conn, system):
        if r.kind not in KINDS or not (r.description or "").strip():
            left_out += 1  # no column for it (admission, ...), or a blank line that has no pair
            continue
        rec = records.setdefault(r.record_id, {kind: [] for kind in KINDS} | {"coder": ""})
        rec[r.kind].append(r)
        rec["coder"] = rec["coder"] or _person(r)  # one name, as the HIS's 编码员 holds
    stored: dict[str, Any] = {}
    for chunk in in_chunks(records):
        stored.update({h.record_id: h for h in conn.execute(select(homepage).where(homepage.c.record_id.in_(chunk)))})
    # Only the lines of the system exported: an HIS loading by header must not see empty diagnoses
    # in a procedures file (it would blank them).
    kinds = [k for k in KINDS if system is None or system_of_kind(k) == system]
    widths = {kind: max((len(rec[kind]) for rec in records.values()), default=0) for kind in kinds}
    widths[kinds[0]] = max(widths[kinds[0]], 1)  # the main line's columns are always there
    with_admission = any(h.admission_no for h in stored.values())
    fields = [(h, f) for h, f in RECORD_HEADERS if f != "admission_no" or with_admission]
    headers = [h for h, _ in fields]
    for kind in kinds:
        for k in range(1, widths[kind] + 1):
            headers.extend(KINDS[kind].header(k, part) for part in (NAME, CODE, STATUS))
    headers.append("编码员")
    out = []
    for record_id, rec in records.items():
        h = stored.get(record_id)
        row: list[Any] = []
        for _, f in fields:
            if h is None:
                row.append(record_id if f == "mrn" else "")
            elif f == "sex":
                row.append(SEX_WORDS.get(h.sex, ""))
            else:
                row.append(_cell(getattr(h, f), csv_file))
        for kind in kinds:
            lines = rec[kind]
            for k in range(widths[kind]):
                if k < len(lines):
                    r = lines[k]
                    row.extend([r.description or "", _codes(r), _status(r)])
                else:
                    row.extend(["", "", ""])
        row.append(rec["coder"])
        out.append(row)
    return headers, out, left_out


def export_lines(conn: Connection, path: str | Path, layout: str = Layout.LONG, system: str | None = None) -> Exported:
    """Write every line (of `system`) to an .xlsx or .csv file in `layout`; the rows written, and
    the lines the layout had no place for."""
    path = Path(path)
    if path.suffix.lower() not in SUFFIXES:
        raise IcdCoderError(f"{path}: unsupported file type {path.suffix or '(none)'}; use .xlsx or .csv")
    if layout not in tuple(Layout):
        raise IcdCoderError(f"unknown layout {layout!r}; choose from {', '.join(Layout)}")
    csv_file = path.suffix.lower() == ".csv"
    left_out = 0
    if layout == Layout.HOMEPAGE:
        headers, rows, left_out = homepage_rows(conn, system, csv_file)
    else:
        headers, rows = long_rows(conn, system)
    if csv_file:
        _write_csv(path, headers, rows)
    else:
        write_workbook(path, [("lines" if layout == Layout.LONG else "homepage", headers, rows)])
    return Exported(len(rows), left_out)


def _write_csv(path: Path, headers: Sequence[str], rows: Iterable[Sequence[str]]) -> None:
    try:
        # utf-8-sig: Excel on Chinese Windows opens it as UTF-8 (without the mark it guesses GBK).
        with path.open("w", encoding="utf-8-sig", newline="") as f:
            w = csv.writer(f, lineterminator="\r\n")
            w.writerow(headers)
            w.writerows(rows)
    except OSError as exc:
        raise IcdCoderError(f"{path}: cannot be written ({exc.strerror or exc})") from None
