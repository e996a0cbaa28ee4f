"""The paper's evaluation over audited diagnoses, every day: TP/FP/FN/TN, P, R, F, A, coverage.

For each diagnosis a person coded, confirmed or corrected (its final code is the person's):
TP  auto-coded, and the person's final code is the auto code (confirmed);
FP  auto-coded, and the person's final code differs (corrected);
FN  not auto-coded, though the person's code has an enabled rule;
TN  not auto-coded, and the person's code has no enabled rule.
P = TP/(TP+FP), R = TP/(TP+FN), F = 1/(a/P + (1-a)/R) with a = 0.5, A = (TP+TN)/all (Zhou et al. 2020,
equations 1-4); coverage = auto-coded share; time saved = auto-codes confirmed (TP).

A line of several codes (two diagnoses in one line) counts code by code: each code the person kept
is a TP; a code they replaced is an FP (under the person's code, as a corrected line is); a code
they added beyond the run's is an FN or TN by its rule; a run's code they removed without
replacing it is an FP under that code. A line of one code counts exactly as above.

Per record, as JointCoder reports (`code_sets`): the same lines, by record_id, each record a code set
twice over: icdcoder's (a confirmed line's code, a corrected line's code before the correction, none
for a line coded by hand) and the persons' (every line's final code). A record in the period is the
lines of it whose review falls in the period; a record reviewed over two months is, by month, two
partial records, one in each.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any, NamedTuple

from sqlalchemy import Engine, case, func, or_, select

from coder.db.models import audit_action, audited, code_log, coding_rule, diagnosis, line_codes
from coder.errors import IcdCoderError
from coder.store.codes import lines_of
from rulebase.codes import ICD9CM3, system_of_code
from rulebase.states import ReviewAction, Status

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


def code_sets(gold: dict[Any, set[str]], auto: dict[Any, set[str]]) -> dict[str, Any]:
    """Each record's code sets, the persons' (`gold`, every record) against icdcoder's (`auto`).

    Micro: `metrics` over the codes of all records, TP a code in both sets of its record, FP one
    only icdcoder gave, FN one only the persons gave. Macro: the mean of each record's own
    P = both/|auto|, R = both/|gold| and F1 = 2·both/(|gold|+|auto|); a record icdcoder gave no code
    has no precision (left out of that mean) and R = F1 = 0. Exact: the two sets are equal."""
    both = engine_only = person_only = exact = 0
    precisions: list[float] = []
    recall_sum = f1_sum = 0.0
    for record, g in gold.items():
        a = auto.get(record, set())
        hit = len(g & a)
        both += hit
        engine_only += len(a) - hit
        person_only += len(g) - hit
        exact += hit == len(g) == len(a)
        if a:
            precisions.append(hit / len(a))
        recall_sum += hit / len(g)
        f1_sum += 2 * hit / (len(g) + len(a))
    n = len(gold)
    m = metrics(both, engine_only, person_only, 0)

    def mean(total: float, count: int) -> float | None:
        return round(total / count, 4) if count else None

    return {
        "count": n,
        "exact": exact,
        "exact_share": mean(exact, n),
        "codes_both": both,
        "codes_engine_only": engine_only,
        "codes_person_only": person_only,
        "precision": m["precision"],
        "recall": m["recall"],
        "f1": m["f_measure"],
        "macro_precision": mean(sum(precisions), len(precisions)),
        "macro_recall": mean(recall_sum, n),
        "macro_f1": mean(f1_sum, n),
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
            # Lines of one code a person did not correct; the others are counted code by code
            # (`by_code_query`).
            diagnosis.c.other_codes.is_(None),
            diagnosis.c.status != str(Status.CORRECTED),
        )
        .group_by(diagnosis.c.status, diagnosis.c.code, month)
        # Read index-only from the audited lines' own index; SQLite's planner, without statistics,
        # would take the worklist's index for the status and fetch every row for its day.
        .with_hint(diagnosis, "INDEXED BY ix_diagnosis_audited", "sqlite")
    )
    return _in_period(q, start, end, system)


def _replaced(column):
    """The audit row's `column` (old_code, old_other_codes) of the correction that took a line from
    the run's codes: read by the line's id from its own index."""
    c = diagnosis.c
    return (
        select(column)
        .where(
            audit_action.c.diagnosis_id == c.id,
            audit_action.c.action == str(ReviewAction.CORRECT),
            audit_action.c.old_status.in_([str(Status.CODED), str(Status.CONFIRMED)]),
        )
        .order_by(audit_action.c.id.desc())
        .limit(1)
        .scalar_subquery()
    )


def _logged():
    """The run's latest logged code of the line (its last row)."""
    return (
        select(code_log.c.code)
        .where(code_log.c.diagnosis_id == diagnosis.c.id)
        .order_by(code_log.c.id.desc())
        .limit(1)
        .scalar_subquery()
    )


def by_code_query(start: dt.datetime | None, end: dt.datetime | None, system: str | None, dialect: str):
    """The audited lines `classify_query` leaves out (corrected, or of several codes), one row each:
    (status, codes, other codes, month, the run's first and other codes the correction replaced)."""
    c = diagnosis.c
    corrected = c.status == str(Status.CORRECTED)
    q = select(
        c.status,
        c.code,
        c.other_codes,
        _month(dialect, c.updated_at).label("month"),
        case((corrected, func.coalesce(_replaced(audit_action.c.old_code), _logged())), else_=None),
        case((corrected, _replaced(audit_action.c.old_other_codes)), else_=None),
    ).where(
        audited(),
        c.code.is_not(None),
        c.attempted_at.is_not(None),
        or_(c.other_codes.is_not(None), corrected),
    )
    return _in_period(q, start, end, system)


def code_kinds(status: str, final: tuple[str, ...], auto: tuple[str, ...], ruled: set[str]) -> list[tuple[str, str]]:
    """(kind, code) for each code of one audited line: the rule of the module's docstring, said once.
    `auto`: the run's codes (those a correction replaced; for a confirmed line, the line's own)."""
    if status == Status.CONFIRMED:
        return [("tp", code) for code in final]
    if status != Status.CORRECTED:  # coded by hand: the run gave none
        return [("fn" if code in ruled else "tn", code) for code in final]
    kept = [code for code in final if code in auto]
    added = [code for code in final if code not in auto]
    removed = [code for code in auto if code not in final]
    out = [("tp", code) for code in kept]
    out += [("fp", code) for code in added[: len(removed)]]  # a wrong code, replaced by the person's
    out += [("fn" if code in ruled else "tn", code) for code in added[len(removed) :]]  # one the run missed
    out += [("fp", code) for code in removed[len(added) :]]  # one the person dropped
    return out


def _in_period(q, start: dt.datetime | None, end: dt.datetime | None, system: str | None):
    if start is not None:
        q = q.where(diagnosis.c.updated_at >= start)
    if end is not None:
        q = q.where(diagnosis.c.updated_at < end + dt.timedelta(days=1))  # --to is inclusive
    if system is not None:
        q = q.where(lines_of(system))
    return q


def records_query(
    start: dt.datetime | None, end: dt.datetime | None, system: str | None, dialect: str, by_month: bool = False
):
    """(record_id, status, final code, code icdcoder gave[, month]) of each line `classify_query` counts.

    icdcoder's code of a corrected line is the one its correction replaced (the audit row that
    took it from coded or confirmed), else the run's logged code; both are read by the line's id
    from their own index, only for the corrected lines (CASE evaluates the one branch it takes).
    No hint here: the audited index holds no record_id, and fetching rows in its (day) order reads
    the table at random, twice as slow as the planner's way in id order."""
    c = diagnosis.c
    corrected = c.status == str(Status.CORRECTED)
    auto = case((corrected, func.coalesce(_replaced(audit_action.c.old_code), _logged())), else_=None)
    auto_other = case((corrected, _replaced(audit_action.c.old_other_codes)), else_=None)
    month = (_month(dialect, c.updated_at),) if by_month else ()
    q = select(c.record_id, c.status, c.code, c.other_codes, auto, auto_other, *month).where(
        audited(), c.code.is_not(None), c.attempted_at.is_not(None)
    )
    return _in_period(q, start, end, system)


def record_figures(
    engine: Engine,
    date_from: str | None = None,
    date_to: str | None = None,
    system: str | None = None,
    by_month: bool = False,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """`code_sets` over the period's records, and (with `by_month`) over each month's."""
    q = records_query(parse_day(date_from, "from"), parse_day(date_to, "to"), system, engine.dialect.name, by_month)
    with engine.connect() as conn:
        rows = conn.execute(q).all()
    gold: dict[Any, set[str]] = defaultdict(set)
    auto: dict[Any, set[str]] = defaultdict(set)
    confirmed, corrected = Status.CONFIRMED, Status.CORRECTED
    for record_id, status, code, other, replaced, replaced_other, *month in rows:
        key = (month[0], record_id) if by_month else record_id
        final = line_codes(code, other)
        gold[key].update(final)
        if status == confirmed:
            auto[key].update(final)
        elif status == corrected:
            # Corrected, so wrong: a code no history names still counts against icdcoder.
            auto[key].update(line_codes(replaced, replaced_other) or (f"?{record_id}:{code}",))
    if not by_month:
        return code_sets(gold, auto), []
    whole_gold: dict[Any, set[str]] = defaultdict(set)
    whole_auto: dict[Any, set[str]] = defaultdict(set)
    months: dict[str, tuple[dict, dict]] = defaultdict(lambda: ({}, {}))
    for (month, record_id), g in gold.items():
        a = auto.get((month, record_id), set())
        whole_gold[record_id] |= g
        whole_auto[record_id] |= a
        months[month][0][record_id] = g
        months[month][1][record_id] = a
    return code_sets(whole_gold, whole_auto), [
        {"month": month, **code_sets(g, a)} for month, (g, a) in sorted(months.items())
    ]


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
    start, end = parse_day(date_from, "from"), parse_day(date_to, "to")
    with engine.connect() as conn:
        rows = conn.execute(classify_query(start, end, system, engine.dialect.name)).all()
        lines = conn.execute(by_code_query(start, end, system, engine.dialect.name)).all()
        by_hand = {code for status, code, _, _ in rows if status != Status.CONFIRMED}
        by_hand.update(c for line in lines for c in line_codes(line[1], line[2]))
        ruled = _ruled(conn, by_hand)
    out = []
    for status, code, month, n in rows:
        kind = "tp" if status == Status.CONFIRMED else "fn" if code in ruled else "tn"
        out.append(Classified(kind, code, month, n))
    for status, code, other, month, auto, auto_other in lines:
        final = line_codes(code, other)
        run_codes = final if status == Status.CONFIRMED else line_codes(auto, auto_other)
        out += [Classified(kind, c, month) for kind, c in code_kinds(status, final, run_codes, ruled)]
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
    records_by_month: bool = True,
    records: bool = True,
) -> dict[str, Any]:
    """The line figures, `records` (code_sets) and each grouping; by month, each month's `records`
    too unless `records_by_month` is False (the page and the workbook show only the period's: they
    skip the second pass over the records). `records` False: no record figures (`records` None), the
    workbench's page until they are asked for: they read every audited line of the period, about a
    second at 100,000 audited lines, where the line figures are read from an index."""
    for g in by:
        if g not in GROUPINGS:
            raise IcdCoderError(f"unknown grouping {g!r}; choose from {', '.join(GROUPINGS)}")
    rows = classify(engine, date_from, date_to, system)
    out: dict[str, Any] = {"from": date_from, "to": date_to, "system": system, **_tally(rows)}
    out["records"], record_months = (
        record_figures(engine, date_from, date_to, system, by_month=records_by_month and "month" in by)
        if records
        else (None, None)
    )
    for g in by:
        groups: dict[str, list[Classified]] = defaultdict(list)
        for r in rows:
            key = {"month": r.month, "chapter": chapter(r.code), "code": r.code}[g]
            groups[key].append(r)
        out[f"by_{g}"] = [{g: key, **_tally(items)} for key, items in sorted(groups.items())]
    if record_months:  # the same months: both count the lines by the day of their review
        month_records = {r["month"]: r for r in record_months}
        for row in out["by_month"]:
            row["records"] = {k: v for k, v in month_records[row["month"]].items() if k != "month"}
    out["code_edits"] = code_edit_counts(engine)
    return out


def code_edit_counts(engine: Engine) -> dict[str, Any]:
    """Lines a code edit marks now ({"lines": n, "by_kind": {kind: lines}}), from the marks' index;
    the marks of the moment, whatever the period."""
    from coder.store.edits import mark_counts

    with engine.connect() as conn:
        return mark_counts(conn)


COLUMNS = ("tp", "fp", "fn", "tn", "total", "precision", "recall", "f_measure", "accuracy", "coverage", "time_saved")
RECORD_COLUMNS = (
    "count", "exact", "exact_share", "precision", "recall", "f1", "macro_precision", "macro_recall", "macro_f1",
)  # fmt: skip


def write_report_xlsx(data: dict[str, Any], path: str | Path) -> None:
    """One sheet for the whole period (the record measures after the line ones, `records_…`), one
    per grouping, and a monthly line chart of auto-coded vs confirmed-correct codes (the paper's Figure 6)."""
    from openpyxl import load_workbook
    from openpyxl.chart import LineChart, Reference

    from coder.imports.tabular import write_workbook

    path = Path(path)
    if path.suffix.lower() != ".xlsx":
        raise IcdCoderError(f"{path}: the report is written as .xlsx")
    records = data["records"]
    sheets = [
        (
            "summary",
            ("period",) + COLUMNS + tuple(f"records_{c}" for c in RECORD_COLUMNS),
            [
                [f"{data['from'] or '…'} – {data['to'] or '…'}"]
                + [data[c] for c in COLUMNS]
                + [records[c] for c in RECORD_COLUMNS]
            ],
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
