"""The combination table in the database (rows with history, coder.store.versioned) and what a
run's batch does with it: the combinations applied to the batch's records, in the batch's
transaction.

A combination change does not bump the rule-base version: no line's own decision changes. A new
combination applies to the records whose lines are coded from then on.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

from sqlalchemy import Connection, bindparam, exists, func, literal_column, or_, select, update

from coder.db.models import code_log, combination, combo_history, combo_hit, diagnosis, line_codes, line_columns, utcnow
from rulebase.combinations import Combination, CombinationInvalid, Combinations, Line
from rulebase.states import AUTO, Status

from .history import require_author, rulebase_version
from .versioned import Versioned

COMBINATIONS = Versioned(
    table=combination,
    history_table=combo_history,
    history_key="combo_id",
    columns={name: name for name in ("codes", "code", "enabled", "note")},
    make=Combination,
    noun="combination",
    invalid=CombinationInvalid,
)
EDITABLE = COMBINATIONS.editable
fields_of = COMBINATIONS.fields_of


def load(conn: Connection, include_disabled: bool = False) -> list[Combination]:
    q = select(combination).order_by(combination.c.id)
    if not include_disabled:
        q = q.where(combination.c.enabled == True)  # noqa: E712 - SQL comparison
    return [COMBINATIONS.from_row(r) for r in conn.execute(q)]


def compiled(conn: Connection) -> Combinations:
    return Combinations(load(conn))


def get(conn: Connection, combination_id: int) -> Combination:
    return COMBINATIONS.get(conn, combination_id)


def add(conn: Connection, item: Combination, author: str, reason: str | None) -> Combination:
    require_author(author)
    return COMBINATIONS.insert(conn, item, author, reason, rulebase_version(conn))


def proposed(conn: Connection, combination_id: int, changes: dict[str, Any]) -> tuple[Combination, Combination]:
    old = get(conn, combination_id)
    return old, COMBINATIONS.proposed(old, changes)


def replace(conn: Connection, old: Combination, new: Combination, author: str, reason: str | None) -> Combination:
    """Store `new` over `old` (unchanged: nothing written). A disabled combination's review marks
    are cleared at once: it no longer stands in anybody's way."""
    require_author(author)
    if fields_of(new) == fields_of(old):
        return old
    stored = COMBINATIONS.replace(conn, old, new, author, reason, rulebase_version(conn))
    if not stored.enabled:
        conn.execute(
            update(combo_hit)
            .where(combo_hit.c.combo_id == old.id, combo_hit.c.cleared_at.is_(None))
            .values(cleared_at=utcnow())
        )
    return stored


def history(conn: Connection, combination_id: int) -> list[dict[str, Any]]:
    return COMBINATIONS.history(conn, combination_id)


# --- applying to a run's batch --------------------------------------------------------------------

_AUTO_CODED = (Status.CODED.value, AUTO)
_open_mark = (combo_hit.c.diagnosis_id == diagnosis.c.id) & combo_hit.c.cleared_at.is_(None)
# Every line that may matter: a source code as its first code, several codes (read in Python), or
# an open review mark (to be cleared when its reason is gone). A line with two marks comes twice.
_LINES = (
    select(
        diagnosis.c.id,
        diagnosis.c.record_id,
        diagnosis.c.kind,
        diagnosis.c.seq_no,
        diagnosis.c.code,
        diagnosis.c.other_codes,
        diagnosis.c.status,
        diagnosis.c.coded_by,
        combo_hit.c.id.label("hit_id"),
        combo_hit.c.combo_id,
    )
    .select_from(diagnosis.outerjoin(combo_hit, _open_mark))
    .where(
        or_(
            diagnosis.c.code.in_(bindparam("codes", expanding=True)),
            diagnosis.c.other_codes.is_not(None),
            combo_hit.c.id.is_not(None),
        )
    )
)
_some = select(diagnosis.c.record_id)
# The lines of the records the batch's lines belong to: coded in this batch or before (a record's
# lines can span batches and runs; the later batch completes it).
LINES_OF_RANGE = _LINES.where(
    diagnosis.c.record_id.in_(_some.where(diagnosis.c.id.between(bindparam("lo"), bindparam("hi"))))
)
LINES_OF_IDS = _LINES.where(
    diagnosis.c.record_id.in_(_some.where(diagnosis.c.id.in_(bindparam("ids", expanding=True))))
)
LINES_OF_RECORDS = _LINES.where(diagnosis.c.record_id.in_(bindparam("records", expanding=True)))

SET_CODE = (
    update(diagnosis)
    .where(diagnosis.c.id == bindparam("d_id"), diagnosis.c.status == Status.CODED.value, diagnosis.c.coded_by == AUTO)
    .values(code=bindparam("c_code"), other_codes=bindparam("c_other"), updated_at=bindparam("c_at"))
)
_log = code_log.alias("latest")
_latest_run = select(func.max(_log.c.run_id)).where(_log.c.diagnosis_id == bindparam("d_id")).scalar_subquery()
_here = exists().where(_log.c.run_id == bindparam("run"), _log.c.diagnosis_id == bindparam("d_id"))
_COPIED = (
    "diagnosis_id", "code", "rule_id", "rule_version", "normalized", "match_start", "match_end", "position",
    "combination_id", "combination_version", "source_ids", "source_code",
)  # fmt: skip
# A line coded by an earlier run gets log rows in this one, a copy of its latest run's (every code
# of it), so the run's log names every line its combination replaced.
COPY_LOG = code_log.insert().from_select(
    ["run_id", *_COPIED, "logged_at"],
    select(bindparam("run"), *(code_log.c[name] for name in _COPIED), bindparam("c_at")).where(
        code_log.c.diagnosis_id == bindparam("d_id"), code_log.c.run_id == _latest_run, ~_here
    ),
)
# The row of the replaced code, found by its code: a line's codes are distinct, and its rows keep
# the positions the decision gave them.
MARK_LOG = (
    update(code_log)
    .where(
        code_log.c.run_id == bindparam("run"),
        code_log.c.diagnosis_id == bindparam("d_id"),
        code_log.c.code == bindparam("c_old"),
    )
    .values(
        code=bindparam("c_code"),
        combination_id=bindparam("c_id"),
        combination_version=bindparam("c_version"),
        source_ids=bindparam("c_sources"),
        source_code=bindparam("c_old_code"),
    )
)
CLEAR = update(combo_hit).where(combo_hit.c.id == bindparam("hit_id")).values(cleared_at=bindparam("now"))


class Combined(NamedTuple):
    """What one application wrote: combinations applied, lines they changed, review marks found
    new and cleared."""

    applied: int
    lines: int
    marked: int
    cleared: int = 0


class _Read(NamedTuple):
    records: list[list[Line]]  # the records with two or more source codes
    opened: dict[tuple[int, int], int]  # (line id, combination id) -> open mark id, of the lines read


def _read(conn: Connection, table: Combinations, rows: Sequence[Any]) -> _Read:
    """The lines read by record (rows by position: a Row's attribute costs a microsecond)."""
    by_code = table.by_code
    records: dict[str, list[Line]] = {}
    counts: dict[str, int] = {}
    opened: dict[tuple[int, int], int] = {}
    last = None
    for r in rows:
        if r[8] is not None:
            opened[(r[0], r[9])] = r[8]
        if r[0] == last:
            continue  # the same line again, for its second mark
        last = r[0]
        if r[5] is None:  # one code: the common line, without a tuple to count through
            if r[4] not in by_code:
                continue
            codes, n = (r[4],), 1
        else:
            codes = line_codes(r[4], r[5])
            n = sum(1 for c in codes if c in by_code)
            if not n:
                continue
        counts[r[1]] = counts.get(r[1], 0) + n
        records.setdefault(r[1], []).append(Line(r[0], r[2], r[3], codes, (r[6], r[7]) == _AUTO_CODED))
    return _Read([lines for rec, lines in records.items() if counts[rec] > 1], opened)


def _rows(conn: Connection, table: Combinations, batch_ids=None, records=None) -> list:
    params: dict[str, Any] = {"codes": sorted(table.by_code)}
    if records is not None:
        return conn.execute(LINES_OF_RECORDS, {**params, "records": list(records)}).all()
    lo, hi = min(batch_ids), max(batch_ids)
    if hi - lo < 2 * len(batch_ids):
        return conn.execute(LINES_OF_RANGE, {**params, "lo": lo, "hi": hi}).all()
    return conn.execute(LINES_OF_IDS, {**params, "ids": list(batch_ids)}).all()


def apply_to_batch(
    conn: Connection, table: Combinations, run_id: int, batch_ids: Sequence[int], stamp: Any = None
) -> Combined:
    """Apply the enabled combinations to the records of a run's batch, in the caller's transaction:
    one read of those records' lines that may combine or carry a review mark; writes only where
    something changes. An empty table reads nothing."""
    if not table or not batch_ids:
        return Combined(0, 0, 0)
    read = _read(conn, table, _rows(conn, table, batch_ids=batch_ids))
    if not read.records and not read.opened:
        return Combined(0, 0, 0)
    now = utcnow()
    stamp = now if stamp is None else stamp
    sets, logs, marks = [], [], []
    applied = 0
    for lines in read.records:
        outcome = table.apply(lines)
        for a in outcome.applied:
            applied += 1
            c = a.combination
            sources = ",".join(map(str, a.line_ids))
            for src in a.sources:
                logs.append(
                    {
                        "run": run_id,
                        "d_id": src.line_id,
                        "c_old": src.code,
                        "c_code": c.code,
                        "c_id": c.id,
                        "c_version": c.version,
                        "c_sources": sources,
                        "c_old_code": src.code,
                    }
                )
        for d_id, codes in outcome.codes.items():
            code, other = line_columns(codes)
            sets.append({"d_id": d_id, "c_code": code, "c_other": other, "c_at": stamp})
        marks.extend(_blocked_marks(outcome.blocked))
    if sets:
        conn.execute(SET_CODE, sets)
        conn.execute(COPY_LOG, [{"run": run_id, "d_id": r["d_id"], "c_at": stamp} for r in sets])
        conn.execute(MARK_LOG, logs)
    marked, cleared = _write_marks(conn, marks, read.opened, now)
    return Combined(applied, len(sets), marked, cleared)


def check_marks(conn: Connection, records: Sequence[str], table: Combinations | None = None) -> tuple[int, int]:
    """Bring the review marks of some records in line with their lines as they are now (after an
    audit action: a person's code that no longer stands in a combination's way, or the auto line
    decided by a person, closes the mark; a person's new code may open one). Changes no code;
    (marks found new, marks cleared). An empty table reads nothing (disabling clears the marks)."""
    table = compiled(conn) if table is None else table
    if not table or not records:
        return 0, 0
    read = _read(conn, table, _rows(conn, table, records=records))
    marks = [m for lines in read.records for m in _blocked_marks(table.apply(lines).blocked)]
    return _write_marks(conn, marks, read.opened, utcnow())


def _blocked_marks(blocked) -> list[tuple[int, Combination, str]]:
    out = []
    for b in blocked:
        c = b.combination
        why = (
            f"组合编码 {c.id}（{c.codes} → {c.code}）未应用：第 {','.join(map(str, b.person_ids))} "
            "号诊断为人工编码，请复核"
        )
        out.extend((d_id, c, why) for d_id in b.auto_ids)
    return out


def _write_marks(
    conn: Connection, marks: list[tuple[int, Combination, str]], opened: dict[tuple[int, int], int], now
) -> tuple[int, int]:
    """Insert the marks not open yet; clear the open ones (of the lines read) no longer found."""
    new, wanted = [], set()
    for d_id, c, why in marks:
        key = (d_id, c.id)
        if key in wanted:
            continue
        wanted.add(key)
        if key not in opened:
            new.append(
                {
                    "diagnosis_id": d_id,
                    "combo_id": c.id,
                    "combo_version": c.version,
                    "reason": why[:500],
                    "found_at": now,
                    "cleared_at": None,
                }
            )
    gone = [{"hit_id": hit_id, "now": now} for key, hit_id in opened.items() if key not in wanted]
    if new:
        conn.execute(combo_hit.insert(), new)
    if gone:
        conn.execute(CLEAR, gone)
    return len(new), len(gone)


# --- reading the marks ----------------------------------------------------------------------------


def review_marks(conn: Connection, limit: int = 1000) -> list[dict[str, Any]]:
    """The open marks whose line is still auto-coded (a person's decision on it settles the mark)."""
    q = (
        select(
            combo_hit.c.diagnosis_id,
            combo_hit.c.combo_id,
            combo_hit.c.reason,
            combo_hit.c.found_at,
            diagnosis.c.record_id,
            diagnosis.c.seq_no,
            diagnosis.c.code,
        )
        .join(diagnosis, diagnosis.c.id == combo_hit.c.diagnosis_id)
        .where(
            combo_hit.c.cleared_at.is_(None),
            diagnosis.c.status == Status.CODED.value,
            diagnosis.c.coded_by == literal_column(f"'{AUTO}'"),
        )
        .order_by(combo_hit.c.diagnosis_id, combo_hit.c.id)
        .limit(limit)
    )
    return [
        {
            "diagnosis_id": r.diagnosis_id,
            "combination_id": r.combo_id,
            "reason": r.reason,
            "found_at": r.found_at.isoformat(),
            "record_id": r.record_id,
            "seq_no": r.seq_no,
            "code": r.code,
        }
        for r in conn.execute(q)
    ]
