"""The paper's evaluation over audited diagnoses, every day: TP/FP/FN/TN, P, R, F, A, coverage.

For each diagnosis a person coded, confirmed or corrected (its final code is the person's):
TP  auto-coded, and the person's final code is the auto code (confirmed);
FP  auto-coded, and the person's final code differs (corrected);
FN  not auto-coded, though the person's code has an enabled rule;
TN  not auto-coded, and the person's code has no enabled rule.
P = TP/(TP+FP), R = TP/(TP+FN), F = 1/(a/P + (1-a)/R) with a = 0.5, A = (TP+TN)/all (Zhou et al. 2020,
equations 1-4); coverage = auto-coded share; time saved = auto-codes confirmed (TP).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any, NamedTuple

from sqlalchemy import Engine, func, select

from coder.db.models import audited, coding_rule, diagnosis
from coder.errors import IcdCoderError
from coder.store.codes import lines_of
from rulebase.codes import ICD9CM3, system_of_code
from rulebase.states import Status

GROUPINGS = ("month", "chapter", "code")
ALPHA = 0.5

# ICD-10 chapters by the first three characters of the code.
CHAPTERS = [
    ("A00", "B99", "I"),
    ("C00", "D48", "II"),
    ("D50", "D89", "III"),
    ("E00", "E90", "IV"),
    ("F00", "F99", "V"),
    ("G00", "G99", "VI"),
    ("H00", "H59", "VII"),
    ("H60", "H95", "VIII"),
    ("I00", "I99", "IX"),
    ("J00", "J99", "X"),
    ("K00", "K93", "XI"),
    ("L00", "L99", "XII"),
    ("M00", "M99", "XIII"),
    ("N00", "N99", "XIV"),
    ("O00", "O99", "XV"),
    ("P00", "P96", "XVI"),
    ("Q00", "Q99", "XVII"),
    ("R00", "R99", "XVIII"),
    ("S00", "T98", "XIX"),
    ("V01", "Y98", "XX"),
    ("Z00", "Z99", "XXI"),
    ("U00", "U99", "XXII"),
]


# ICD-9-CM-3's chapters, by the two digits a procedure code starts with (named by their range).
PROCEDURE_CHAPTERS = [
    (0, 0), (1, 5), (6, 7), (8, 16), (17, 17), (18, 20), (21, 29), (30, 34), (35, 39), (40, 41),
    (42, 54), (55, 59), (60, 64), (65, 71), (72, 75), (76, 84), (85, 86), (87, 99),
]  # fmt: skip


def chapter(code: str) -> str:
    """The chapter a code is in: I..XXII for ICD-10, the two-digit range (35-39) for ICD-9-CM-3."""
    if system_of_code(code) == ICD9CM3:
        head = int(code[:2])
        for lo, hi in PROCEDURE_CHAPTERS:
            if lo <= head <= hi:
                return f"{lo:02d}" if lo == hi else f"{lo:02d}-{hi:02d}"
        return "?"
    head = code[:3].upper()
    for lo, hi, name in CHAPTERS:
        if lo <= head <= hi:
            return name
    return "?"


def metrics(tp: int, fp: int, fn: int, tn: int) -> dict[str, Any]:
    def ratio(a: int, b: int) -> float | None:
        return round(a / b, 4) if b else None

    p, r = ratio(tp, tp + fp), ratio(tp, tp + fn)
    if p is None or r is None:
        f = None
    else:  # the weighted harmonic mean; it tends to 0 as either does
        f = round(1 / (ALPHA / p + (1 - ALPHA) / r), 4) if p and r else 0.0
    total = tp + fp + fn + tn
    return {
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "tn": tn,
        "total": total,
        "precision": p,
        "recall": r,
        "f_measure": f,
        "accuracy": ratio(tp + tn, total),
        "coverage": ratio(tp + fp, total),
        "time_saved": tp,
    }


def parse_day(text: str | None, name: str) -> dt.datetime | None:
    """An option's YYYY-MM-DD (or ISO date-time) value, or a message naming the option."""
    if text is None:
        return None
    try:
        return dt.datetime.fromisoformat(text)
    except ValueError:
        raise IcdCoderError(f"--{name} {text!r} is not a date; write YYYY-MM-DD") from None


def _month(dialect: str, column):
    """YYYY-MM of a timestamp, in the database (grouping there spares fetching every audited row)."""
    if dialect == "sqlite":  # SQLAlchemy stores a DateTime there as ISO text: its first 7 characters
        return func.substr(column, 1, 7)
    return func.to_char(column, "YYYY-MM")  # PostgreSQL and Oracle


def classify_query(start: dt.datetime | None, end: dt.datetime | None, system: str | None, dialect: str):
    """Audited lines in the period, counted by final status, person's code and month.

    The status says what the run did: a confirmed line kept its auto code (TP), a corrected one had
    it changed (FP), a line coded by hand had none (a failure: FN or TN by whether its code has a
    rule). Only lines a run has tried: one a person coded before any run saw it (history imported
    with its codes) says nothing of icdcoder, so it is neither a miss nor a true negative."""
    month = _month(dialect, diagnosis.c.updated_at).label("month")
    q = (
        select(diagnosis.c.status, diagnosis.c.code, month, func.count().label("n"))
        .where(
            audited(),
            diagnosis.c.code.is_not(None),
            diagnosis.c.attempted_at.is_not(None),
        )
        .group_by(diagnosis.c.status, diagnosis.c.code, month)
        # Read index-only from the audited lines' own index; SQLite's planner, without statistics,
        # would take the worklist's index for the status and fetch every row for its day.
        .with_hint(diagnosis, "INDEXED BY ix_diagnosis_audited", "sqlite")
    )
    if start is not None:
        q = q.where(diagnosis.c.updated_at >= start)
    if end is not None:
        q = q.where(diagnosis.c.updated_at < end + dt.timedelta(days=1))  # --to is inclusive
    if system is not None:
        q = q.where(lines_of(system))
    return q


class Classified(NamedTuple):
    kind: str  # tp, fp, fn, tn
    code: str  # the person's code
    month: str  # YYYY-MM
    n: int = 1  # audited lines of this kind, code and month


def _ruled(conn, codes: set[str]) -> set[str]:
    """Which of these codes have an enabled rule (asked of the codes the report holds, not of every rule)."""
    out: set[str] = set()
    ordered = sorted(codes)
    for i in range(0, len(ordered), 500):
        q = select(
            coding_rule.c.code
        ).where(
            coding_rule.c.enabled == True,  # noqa: E712 - SQL comparison
            coding_rule.c.code.in_(ordered[i : i + 500]),
        )
        out.update(conn.execute(q.distinct()).scalars())
    return out


def classify(
    engine: Engine, date_from: str | None = None, date_to: str | None = None, system: str | None = None
) -> list[Classified]:
    """The audited lines (of `system`) in the period, classified against what the run did."""
    q = classify_query(parse_day(date_from, "from"), parse_day(date_to, "to"), system, engine.dialect.name)
    with engine.connect() as conn:
        rows = conn.execute(q).all()
        by_hand = {code for status, code, _, _ in rows if status not in (Status.CONFIRMED, Status.CORRECTED)}
        ruled = _ruled(conn, by_hand)
    out = []
    for status, code, month, n in rows:
        if status == Status.CONFIRMED:
            kind = "tp"
        elif status == Status.CORRECTED:
            kind = "fp"
        else:
            kind = "fn" if code in ruled else "tn"
        out.append(Classified(kind, code, month, n))
    return out


def _tally(items: Iterable[Classified]) -> dict[str, Any]:
    counts: dict[str, int] = defaultdict(int)
    for r in items:
        counts[r.kind] += r.n
    return metrics(counts["tp"], counts["fp"], counts["fn"], counts["tn"])


def report(
    engine: Engine,
    date_from: str | None = None,
    date_to: str | None = None,
    by: tuple[str, ...] = (),
    system: str | None = None,
) -> dict[str, Any]:
    rows = classify(engine, date_from, date_to, system)
    out: dict[str, Any] = {"from": date_from, "to": date_to, "system": system, **_tally(rows)}
    for g in by:
        if g not in GROUPINGS:
            raise IcdCoderError(f"unknown grouping {g!r}; choose from {', '.join(GROUPINGS)}")
        groups: dict[str, list[Classified]] = defaultdict(list)
        for r in rows:
            key = {"month": r.month, "chapter": chapter(r.code), "code": r.code}[g]
            groups[key].append(r)
        out[f"by_{g}"] = [{g: key, **_tally(items)} for key, items in sorted(groups.items())]
    out["code_edits"] = code_edit_counts(engine)
    return out


def code_edit_counts(engine: Engine) -> dict[str, Any]:
    """Lines a code edit marks now ({"lines": n, "by_kind": {kind: lines}}), from the marks' index;
    the marks of the moment, whatever the period."""
    from coder.store.edits import mark_counts

    with engine.connect() as conn:
        return mark_counts(conn)


COLUMNS = ("tp", "fp", "fn", "tn", "total", "precision", "recall", "f_measure", "accuracy", "coverage", "time_saved")


def write_report_xlsx(data: dict[str, Any], path: str | Path) -> None:
    """One sheet for the whole period, one per grouping, and a monthly line chart of auto-coded
    vs confirmed-correct codes (the paper's Figure 6)."""
    from openpyxl import load_workbook
    from openpyxl.chart import LineChart, Reference

    from coder.imports.tabular import write_workbook

    path = Path(path)
    if path.suffix.lower() != ".xlsx":
        raise IcdCoderError(f"{path}: the report is written as .xlsx")
    sheets = [
        (
            "summary",
            ("period",) + COLUMNS,
            [[f"{data['from'] or '…'} – {data['to'] or '…'}"] + [data[c] for c in COLUMNS]],
        )
    ]
    for g in GROUPINGS:
        if f"by_{g}" in data:
            sheets.append((g, (g,) + COLUMNS, [[row[g]] + [row[c] for c in COLUMNS] for row in data[f"by_{g}"]]))
    write_workbook(path, sheets, widths={"period": 24, "month": 10, "chapter": 10, "code": 16})
    if "by_month" in data and data["by_month"]:
        wb = load_workbook(path)
        ws = wb["month"]
        n = len(data["by_month"])
        # Two helper columns after the metrics: auto-coded (TP+FP) and confirmed correct (TP).
        base = len(COLUMNS) + 2
        ws.cell(row=1, column=base, value="auto_coded")
        ws.cell(row=1, column=base + 1, value="confirmed_correct")
        for i, row in enumerate(data["by_month"], start=2):
            ws.cell(row=i, column=base, value=row["tp"] + row["fp"])
            ws.cell(row=i, column=base + 1, value=row["tp"])
        chart = LineChart()
        chart.title = "Auto-coded vs confirmed correct, by month"
        chart.y_axis.title = "diagnoses"
        chart.x_axis.title = "month"
        chart.add_data(Reference(ws, min_col=base, max_col=base + 1, min_row=1, max_row=n + 1), titles_from_data=True)
        chart.set_categories(Reference(ws, min_col=1, min_row=2, max_row=n + 1))
        ws.add_chart(chart, f"A{n + 4}")
        wb.save(path)
