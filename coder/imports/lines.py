"""What both layouts of diagnosis files share: a line as read, the plan, and `plan_lines`, the one
place that checks lines against each other and against the stored ones."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, NamedTuple

from sqlalchemy import Connection, select

from coder.db.models import OTHER_CODES_LENGTH, diagnosis, line_codes, line_columns, utcnow
from coder.errors import Problem
from coder.store.codes import CodeState, problem_with
from rulebase.codes import ICD9CM3, code_list, system_of_kind
from rulebase.rule import MAX_CODE_LENGTH
from rulebase.states import AUTO, PERSON_STATUSES, Status

from .columns import FirstSeen
from .splitting import split_numbered
from .tabular import Sheet


class Layout(StrEnum):
    LONG = "long"
    HOMEPAGE = "homepage"


DISCHARGE = "discharge"
CODES_LENGTH = MAX_CODE_LENGTH + 1 + OTHER_CODES_LENGTH  # a code cell: one code, or a line's list
IMPORTER = "import"  # coded_by of a person's code whose file names no coder
CHUNK = 500  # record ids per IN (...): Oracle takes at most 1,000

# What a coder reads in an export's status column (Chinese, like the rest of the homepage). Read
# back, it says whose a code is: a person's (confirmed, corrected, coded by hand) or icdcoder's.
STATUS_WORDS = {
    Status.PENDING: "待编码",
    Status.CODED: "自动编码",
    Status.CONFIRMED: "自动编码已确认",
    Status.CORRECTED: "人工更正",
    Status.MANUAL: "人工编码",
    Status.FAILED: "未能编码",
}
_PERSON_WORDS = {STATUS_WORDS[s] for s in PERSON_STATUSES} | {str(s) for s in PERSON_STATUSES}


def persons_code(status: str | None) -> bool:
    """Whether a code beside this status (an export's status column) is a person's. No status (a
    file from the HIS): every code in it is a person's. icdcoder's own code coming back is not."""
    if not status:
        return True
    return status.strip() in _PERSON_WORDS


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
    split: bool = False  # a numbered list in the description becomes several lines
    # The homepage layout numbers a record's lines by their place (the k-th pair), not by a seq:
    # the k-th pair is the record's k-th stored line of its kind, whatever seq that line has.
    positional: bool = False


@dataclass
class DiagnosisPlan:
    rows: list[dict[str, Any]] = field(default_factory=list)
    unchanged: int = 0
    split_rows: int = 0  # file rows whose numbered list became several diagnoses
    records: list[dict[str, Any]] = field(default_factory=list)  # homepage rows to add
    changed_records: list[dict[str, Any]] = field(default_factory=list)  # homepage rows with new patient fields
    unchanged_records: int = 0
    layout: str = Layout.LONG
    codes_not_applied: int = 0  # stored lines whose code in the file differs (an import changes no code)
    ignored_columns: tuple[str, ...] = ()  # headers left unread

    def summary(self) -> dict[str, Any]:
        pending = sum(1 for r in self.rows if r["status"] == Status.PENDING)
        out: dict[str, Any] = {
            "added": len(self.rows),
            "pending": pending,
            "coded_by_person": len(self.rows) - pending,
            "unchanged": self.unchanged,
            "split_rows": self.split_rows,
            "codes_not_applied": self.codes_not_applied,
            "ignored_columns": list(self.ignored_columns),
        }
        if self.layout == Layout.HOMEPAGE:
            out.update(
                procedures=sum(1 for r in self.rows if system_of_kind(r["kind"]) == ICD9CM3),
                records_added=len(self.records),
                records_changed=len(self.changed_records),
                records_unchanged=self.unchanged_records,
            )
        return out


def reserved_coder(name: str | None) -> str | None:
    if name and name.strip().lower() == AUTO:
        return f"coder {AUTO!r} is reserved for icdcoder's own codes"
    return None


def line_code_problem(code: str, kind: str, states: Mapping[str, CodeState]) -> str | None:
    """Why a person's `code` cell cannot stand on a line of `kind`: a code not in the dictionary,
    inactive, or of the other code system (a procedure code on a diagnosis line). The cell may hold
    a line's list of codes (`I25.103,I20.000`, as an export writes a line of two diagnoses)."""
    codes = code_list(code)
    try:
        line_columns(codes)
    except ValueError as exc:
        return str(exc)
    for one in codes:
        problem = problem_with(one, states, system_of_kind(kind))
        if problem:
            return problem
    return None


def _noun(kind: str, default: str) -> str:
    return "procedure" if system_of_kind(kind) == ICD9CM3 else default


def in_chunks(values: Iterable[str]) -> Iterable[list[str]]:
    values = sorted(set(values))
    for i in range(0, len(values), CHUNK):
        yield values[i : i + CHUNK]


def stored_lines(conn: Connection, records: Iterable[str]) -> dict[tuple[str, str], list]:
    """(record, kind) -> its stored lines in seq order, for the records a file names only."""
    out: dict[tuple[str, str], list] = {}
    c = diagnosis.c
    for chunk in in_chunks(records):
        q = select(c.record_id, c.kind, c.seq_no, c.description, c.code, c.other_codes).where(c.record_id.in_(chunk))
        for r in conn.execute(q.order_by(c.record_id, c.kind, c.seq_no)):
            out.setdefault((r.record_id, r.kind), []).append(r)
    return out


def plan_lines(
    conn: Connection,
    sheet: Sheet,
    items: Sequence[LineItem],
    problems: list[Problem],
    states: Mapping[str, CodeState],
    refused: Sequence[LineItem] = (),
) -> DiagnosisPlan:
    """The lines to add, checked against each other and against the stored ones: a stored line with
    the same description is unchanged, whatever code the file shows (an export coming back changes
    nothing; a code is changed in the audit, where it is recorded who changed it: the plan counts
    such lines in `codes_not_applied`); one with another description is refused (lines are not
    replaced). A new line's code must be in the dictionary, active, and of the line's system; the codes
    of `refused` rows (refused for another cell) are checked too, so one pass reports every problem."""
    for item in refused:
        message = line_code_problem(item.code, item.kind, states) if item.code and item.kind else None
        if message:
            problems.append(sheet.problem(item.row, item.columns[1], message))
    # Rows of one record keep their order (by seq when given, else as listed); a numbered list
    # becomes consecutive lines, so the final sequence numbers are assigned per record.
    by_record: dict[tuple[str, str], list[tuple[int, int, LineItem]]] = {}
    for order, item in enumerate(items):
        by_record.setdefault((item.record_id, item.kind), []).append(
            (item.seq if item.seq is not None else order, item.row, item)
        )
    stored = stored_lines(conn, (record for record, _ in by_record))
    plan = DiagnosisPlan()
    now = utcnow()
    for (record, kind), listed in by_record.items():
        lines = stored.get((record, kind), [])
        by_seq = {r.seq_no: r for r in lines}
        # The lines a homepage's pairs stand for: those with a text (a blank one has no pair).
        placed = [r for r in lines if (r.description or "").strip()]
        seqs = FirstSeen()
        next_seq = 1
        for seq, n, item in sorted(listed, key=lambda t: (t[0], t[1])):
            if item.seq is not None and not item.positional:
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
                if item.positional:
                    k = seq - 1
                    old = placed[k] if k < len(placed) else None
                    new_seq = max(by_seq, default=0) + k + 1 - len(placed)
                else:
                    old = by_seq.get(next_seq)
                    new_seq = next_seq
                    next_seq += 1
                if old is not None:
                    if old.description == part:
                        plan.unchanged += 1
                        if item.code and code_list(item.code) != line_codes(old.code, old.other_codes):
                            plan.codes_not_applied += 1
                    else:
                        problems.append(
                            sheet.problem(
                                n,
                                item.columns[0],
                                f"record {record} already has {_noun(kind, 'diagnosis')} {old.seq_no} with a "
                                "different description; lines are not replaced by an import",
                            )
                        )
                    continue
                code = item.code or None
                message = line_code_problem(code, kind, states) if code else None
                if message:
                    problems.append(sheet.problem(n, item.columns[1], message))
                    continue
                first, other = line_columns(code_list(code))
                plan.rows.append(
                    {
                        "record_id": record,
                        "seq_no": new_seq,
                        "kind": kind,
                        "description": part,
                        "code": first,
                        "other_codes": other,
                        "coded_by": (item.coder or IMPORTER) if code else None,
                        "status": Status.MANUAL if code else Status.PENDING,
                        "created_at": now,
                        "updated_at": now,
                    }
                )
    return plan


def write_lines(conn: Connection, plan: DiagnosisPlan) -> None:
    if plan.rows:
        conn.execute(diagnosis.insert(), plan.rows)
