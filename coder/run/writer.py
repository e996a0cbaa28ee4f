"""What a batch writes: each diagnosis's new status with its log row, and the run's counts.

The rows are named tuples whose fields are the statements' parameters, declared once. They go
to the driver's executemany as they are (`executemany`): SQLAlchemy's per-row parameter
processing (about 20 µs a row, most of a batch's write time on SQLite) is skipped, which is
right only while every value is an int, a str, None, or a timestamp the caller converted with
`stamp` (tests/coder/run/test_writer.py holds every written column to that).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum
from operator import itemgetter
from typing import Any, NamedTuple

from sqlalchemy import Connection, DateTime, Engine, and_, bindparam, case, null, select, update

from coder.db.models import RUN_COUNTS, code_log, coding_run, diagnosis, fail_log, utcnow
from coder.store import combinations as combination_store
from coder.store import edits as edit_store
from rulebase.decision import Decision
from rulebase.states import AUTO, Outcome, Status

from .lock import heartbeat_statements
from .sources import work_filter


class StatusRow(NamedTuple):
    """A diagnosis's new status, code and attempt (the UPDATE's parameters)."""

    d_id: int
    d_status: str  # a Status value
    d_code: str | None
    d_other: str | None  # the codes after the first, as diagnosis.other_codes keeps them
    d_by: str | None
    d_reason: str | None  # an Outcome value
    d_at: Any  # stamped
    d_version: int


class FailedRow(NamedTuple):
    """A failed line that held nothing: only its status columns change (the common failure)."""

    d_id: int
    d_status: str
    d_reason: str
    d_at: Any  # stamped
    d_version: int


class CodedRow(NamedTuple):
    """A line that held nothing coded with one code: no other codes to write."""

    d_id: int
    d_status: str
    d_code: str
    d_by: str
    d_at: Any  # stamped
    d_version: int


class SuccessRow(NamedTuple):
    run_id: int
    diagnosis_id: int
    code: str
    rule_id: int
    rule_version: int
    normalized: str
    match_start: int
    match_end: int
    logged_at: Any  # stamped
    position: int  # 0: the line's first code; a line of several codes has a row for each


class FailureRow(NamedTuple):
    run_id: int
    diagnosis_id: int
    reason: str  # an Outcome value
    candidates: str | None  # JSON
    normalized: str | None
    logged_at: Any  # stamped


class GuardedRow(NamedTuple):
    """An uncertain or negated line's failure row: a FailureRow with the cue that stopped it."""

    run_id: int
    diagnosis_id: int
    reason: str
    candidates: str | None
    normalized: str | None
    logged_at: Any
    guard_id: int | None
    guard_version: int
    cue_start: int
    cue_end: int


COUNT_COLUMNS = RUN_COUNTS
COUNT_KEYS = tuple(str(k) for k in COUNT_COLUMNS)

# Each column a status update may name, and the row field it takes its value from.
_STATUS_FIELDS = {
    "status": "d_status",
    "code": "d_code",
    "other_codes": "d_other",
    "coded_by": "d_by",
    "fail_reason": "d_reason",
    "attempted_at": "d_at",
    "attempted_version": "d_version",
    "updated_at": "d_at",
}


def _status_update(columns: Sequence[str], **fixed):
    """The UPDATE of one diagnosis by id that names these columns (each from its row field) and the
    `fixed` values."""
    values = {c: bindparam(_STATUS_FIELDS[c]) for c in columns}
    return update(diagnosis).where(diagnosis.c.id == bindparam("d_id")).values(**values, **fixed)


STATUS_UPDATE = _status_update(tuple(_STATUS_FIELDS))
# A line a run takes holds no code when nothing outside the product changed it (pending lines come
# without one; a run's failure clears it): most lines then need only the columns that change. SQLite
# costs an UPDATE by the columns it names, the unchanged ones too (the foreign key of `code`, the
# partial indexes that name them): failures write 19 % fewer instructions than with every column.
FAILED_UPDATE = _status_update(("status", "fail_reason", "attempted_at", "attempted_version", "updated_at"))
CODED_UPDATE = _status_update(
    ("status", "code", "coded_by", "attempted_at", "attempted_version", "updated_at"), fail_reason=null()
)
SUCCESS_INSERT = code_log.insert().values({k: bindparam(k) for k in SuccessRow._fields})
FAILURE_INSERT = fail_log.insert().values({k: bindparam(k) for k in FailureRow._fields})
# Its own statement: the common failure binds no cue columns (a guarded line is rare).
GUARDED_INSERT = fail_log.insert().values({k: bindparam(k) for k in GuardedRow._fields})
WRITES = (
    (STATUS_UPDATE, StatusRow),
    (FAILED_UPDATE, FailedRow),
    (CODED_UPDATE, CodedRow),
    (SUCCESS_INSERT, SuccessRow),
    (FAILURE_INSERT, FailureRow),
    (GUARDED_INSERT, GuardedRow),
)


def compile_for_executemany(stmt, dialect):
    # for_executemany: no RETURNING of the new id, which Oracle would want bound per row
    return stmt.compile(dialect=dialect, for_executemany=True)


class _Many:
    """One statement compiled for one dialect, with the order its placeholders want the fields in."""

    def __init__(self, stmt, fields: tuple[str, ...], dialect):
        compiled = compile_for_executemany(stmt, dialect)
        self.sql = compiled.string
        order = compiled.positiontup
        self.named = order is None  # named placeholders (Oracle, psycopg)
        self.fields = fields
        self.pick = None if self.named or tuple(order) == fields else itemgetter(*(fields.index(k) for k in order))

    def execute(self, conn: Connection, rows: Sequence[tuple]) -> None:
        if self.named:
            conn.exec_driver_sql(self.sql, [dict(zip(self.fields, r, strict=True)) for r in rows])
        elif self.pick is None:
            # Exact tuples: sqlite3 reads a tuple subclass's items one by one through the sequence
            # protocol, 60 % slower on an executemany; the copy costs a fraction of that.
            conn.exec_driver_sql(self.sql, list(map(tuple, rows)))
        else:
            conn.exec_driver_sql(self.sql, [self.pick(r) for r in rows])


# Whether a line holds nothing a failure or a single code must clear (see FAILED_UPDATE); a number,
# not a truth value, for Oracle before 23 has no boolean in a select list.
_HOLDS_NOTHING = case(
    (and_(diagnosis.c.code.is_(None), diagnosis.c.other_codes.is_(None), diagnosis.c.coded_by.is_(None)), 1),
    else_=0,
)


class _Ids:
    """The guard read for one number of ids, compiled for one dialect: its SQL and where the ids go
    among the statement's other values (the work filter's states and rule-base version)."""

    def __init__(self, work, n: int, lock: bool, dialect):
        names = tuple(f"id{k}" for k in range(n))
        stmt = select(diagnosis.c.id, _HOLDS_NOTHING).where(diagnosis.c.id.in_([bindparam(k, 0) for k in names]), work)
        compiled = (stmt.with_for_update() if lock else stmt).compile(dialect=dialect)
        self.sql = compiled.string
        values = {k: (v.value if isinstance(v, Enum) else v) for k, v in compiled.params.items()}
        order = compiled.positiontup
        self.names, self.named = names, order is None
        if self.named:
            self.values: Any = values
        else:
            start = order.index(names[0]) if names else 0
            if tuple(order[start : start + n]) != names:  # pragma: no cover - the IN comes first in every dialect
                raise AssertionError("the guard's ids are not bound side by side")
            self.head = tuple(values[k] for k in order[:start])
            self.tail = tuple(values[k] for k in order[start + n :])

    def read(self, conn: Connection, ids: Sequence[int]) -> dict[int, bool]:
        if self.named:
            params: Any = {**self.values, **dict(zip(self.names, ids, strict=True))}
        else:
            params = (*self.head, *ids, *self.tail)
        return _waiting(conn.exec_driver_sql(self.sql, params))


def _waiting(rows, batch: set[int] | None = None) -> dict[int, bool]:
    """The guard read's rows (id, holds nothing) as id -> holds nothing; only the batch's ids when
    the read covered more (a range)."""
    if batch is None:
        return {d_id: bool(empty) for d_id, empty in rows}
    return {d_id: bool(empty) for d_id, empty in rows if d_id in batch}


class _Range:
    """The guard read of a range of ids, compiled once for one dialect, handed to the driver as it is."""

    def __init__(self, work, dialect):
        # NOT INDEXED: the key's range, which SQLite would otherwise pass over for an index on the
        # states (every pending line, not the batch's); other databases plan by their statistics.
        stmt = (
            select(diagnosis.c.id, _HOLDS_NOTHING)
            .where(diagnosis.c.id.between(bindparam("lo", 0), bindparam("hi", 0)), work)
            .with_hint(diagnosis, "NOT INDEXED", "sqlite")
        )
        compiled = stmt.compile(dialect=dialect)
        self.sql = compiled.string
        self.values = {k: (v.value if isinstance(v, Enum) else v) for k, v in compiled.params.items()}
        self.order = compiled.positiontup  # None: named placeholders

    def read(self, conn: Connection, ids: Sequence[int], lo: int, hi: int) -> dict[int, bool]:
        values = {**self.values, "lo": lo, "hi": hi}
        params: Any = values if self.order is None else tuple(values[k] for k in self.order)
        return _waiting(conn.exec_driver_sql(self.sql, params), set(ids))


# The states as plain str for the driver: sqlite3 looks up an adapter for every str subclass it is
# handed, a StrEnum included, which costs a microsecond a value (measured: +60 % on an executemany).
_CODED, _FAILED = Status.CODED.value, Status.FAILED.value
_CODED_OUTCOME = Outcome.CODED  # decisions hold the members: compared by identity (a member's == is slow)
_REASON = {o: o.value for o in Outcome}

MAX_NORMALIZED = code_log.c.normalized.type.length  # the longest normalized text a log row holds
TOO_LONG = Decision(Outcome.TOO_LONG, "")  # the decision for a line whose normalized text is longer


def too_long(normalized: str) -> bool:
    """Normalization can lengthen a text past what the logs hold: such a line fails alone."""
    return len(normalized) > MAX_NORMALIZED


_row = tuple.__new__  # a named row from its values in field order, without NamedTuple's keyword handling


def candidates_json(candidates: tuple) -> str | None:
    """A failure's candidate codes as fail_log.candidates keeps them."""
    if not candidates:
        return None
    return json.dumps([{"code": c.code, "rule_ids": list(c.rule_ids)} for c in candidates])


class _CandidatesJson(dict):
    """candidates_json, remembered by the candidates' value: the engine hands every text of one set
    of matching rules the same candidates, and a run's failures come from a few thousand sets."""

    def __missing__(self, candidates: tuple) -> str | None:
        if len(self) >= 20_000:
            self.clear()
        found = self[candidates] = candidates_json(candidates)
        return found


@dataclass
class Tally:
    """What a run has written so far: the counts its log rows add up to."""

    considered: int = 0
    coded: int = 0
    no_match: int = 0
    ambiguous: int = 0
    invalid_input: int = 0
    timeout: int = 0
    too_long: int = 0
    uncertain: int = 0
    negated: int = 0

    def columns(self) -> dict[str, int]:
        """The counts as coding_run's columns."""
        return {column: getattr(self, str(key)) for key, column in COUNT_COLUMNS.items()}

    def add(self, other: Tally) -> None:
        for key in COUNT_KEYS:
            setattr(self, key, getattr(self, key) + getattr(other, key))

    def plus(self, other: Tally) -> Tally:
        both = Tally()
        both.add(self)
        both.add(other)
        return both


class BatchWriter:
    """Writes a run's batches. Built once per run: statements built per batch would cost time on
    every batch and, with the collector paused for the run, never be freed (SQLAlchemy's clause
    objects refer to one another, about 30 kB a batch)."""

    def __init__(self, engine: Engine, run_id: int, rb_version: int, lock_rows: bool, tally: Tally | None = None):
        dialect = engine.dialect
        self.run_id, self.rb_version = run_id, rb_version
        self.heartbeat_run, self.heartbeat_lock = heartbeat_statements(run_id)
        # Which of a batch's diagnoses still wait for a run: a person may have coded them meanwhile.
        self.work = work_filter(rb_version)
        self.lock_rows = lock_rows
        self.lock_retried = dialect.name != "sqlite"
        self._guards: dict[tuple[int, bool], _Ids] = {}
        self.range_guard = _Range(self.work, dialect)
        self.counts = (
            update(coding_run)
            .where(coding_run.c.id == run_id)
            .values({column: bindparam(f"n_{column}") for column in COUNT_COLUMNS.values()})
        )
        self.status, self.failed, self.coded, self.success, self.failure, self.guarded = (
            _Many(stmt, row._fields, dialect) for stmt, row in WRITES
        )
        processor = DateTime().dialect_impl(dialect).bind_processor(dialect)
        self.stamp: Callable[[Any], Any] = processor or (lambda value: value)  # as the driver stores it
        self.tally = tally if tally is not None else Tally()  # what committed batches wrote
        self.edits = None  # (checker, the dictionary's active codes), read by the first batch
        self.combinations = None  # the enabled combination table, read by the first batch
        self.candidates_json = _CandidatesJson()

    def still_waiting(self, conn: Connection, ids: list[int], locked: bool = False) -> dict[int, bool]:
        """The ids among `ids` that still wait for a run, each with whether its line holds nothing
        (no code, no coder), read (and locked where the run locks) in the caller's transaction.

        Compiled once per number of ids and handed to the driver as it is: an expanding IN is
        rendered anew by SQLAlchemy for every batch, which cost more than SQLite's own read."""
        lock = self.lock_retried if locked else self.lock_rows
        if not lock and len(ids) > 1:
            lo, hi = min(ids), max(ids)
            if hi - lo < 2 * len(ids):
                # A batch read in id order is (nearly) a run of consecutive ids: read by the range, a
                # scan of the key without a list of ids to bind and look up; the range's other lines
                # are not the batch's. Not where rows are locked: the range would lock those too.
                return self.range_guard.read(conn, ids, lo, hi)
        found = self._guards.get((len(ids), lock))
        if found is None:
            if len(self._guards) >= 8:  # a run meets two sizes (a full batch, the last); line by line, one
                self._guards.clear()
            found = self._guards[(len(ids), lock)] = _Ids(self.work, len(ids), lock, conn.dialect)
        return found.read(conn, ids)

    def write(self, conn: Connection, decisions: dict[int, Decision], locked: bool = False) -> Tally:
        """Store one batch of decisions: statuses, log rows and run counts, in the caller's transaction.

        Returns what the batch wrote; the caller adds it to `tally` once the transaction has
        committed, so the counts never include a batch that was rolled back. `locked`: lock the
        rows read by the guard even if the run does not (a batch retried line by line)."""
        now = utcnow()
        stamp = self.stamp(now)
        run_id, rb_version = self.run_id, self.rb_version
        # Written first: on SQLite the first write takes the database's write lock, so nobody can
        # change these diagnoses between the guard read below and our commit.
        conn.execute(self.heartbeat_run, {"hb": now})
        conn.execute(self.heartbeat_lock, {"hb": now})
        still_ours = self.still_waiting(conn, list(decisions), locked)
        statuses: list[StatusRow] = []
        failed: list[FailedRow] = []
        coded: list[CodedRow] = []
        successes: list[SuccessRow] = []
        failures: list[FailureRow] = []
        guarded: list[GuardedRow] = []
        counts = dict.fromkeys(Outcome, 0)
        as_json = self.candidates_json
        for d_id, empty in sorted(still_ours.items()):
            d = decisions[d_id]
            if too_long(d.normalized):
                d = TOO_LONG
            outcome = d.outcome
            counts[outcome] += 1
            if outcome is _CODED_OUTCOME:
                parts = d.parts
                if not parts:
                    if empty:
                        coded.append(_row(CodedRow, (d_id, _CODED, d.code, AUTO, stamp, rb_version)))
                    else:
                        statuses.append(_row(StatusRow, (d_id, _CODED, d.code, None, AUTO, None, stamp, rb_version)))
                    successes.append(
                        _row(
                            SuccessRow,
                            (run_id, d_id, d.code, d.rule_id, d.rule_version, d.normalized, *d.span, stamp, 0),
                        )
                    )
                    continue
                other = ",".join(p.code for p in parts[1:])
                statuses.append(_row(StatusRow, (d_id, _CODED, d.code, other, AUTO, None, stamp, rb_version)))
                for position, p in enumerate(parts):
                    successes.append(
                        _row(
                            SuccessRow,
                            (run_id, d_id, p.code, p.rule_id, p.rule_version, d.normalized, *p.span, stamp, position),
                        )
                    )
            else:
                reason = _REASON[outcome]
                if empty:
                    failed.append(_row(FailedRow, (d_id, _FAILED, reason, stamp, rb_version)))
                else:
                    statuses.append(_row(StatusRow, (d_id, _FAILED, None, None, None, reason, stamp, rb_version)))
                cue = d.cue
                if cue is None:
                    failures.append(
                        _row(FailureRow, (run_id, d_id, reason, as_json[d.candidates], d.normalized or None, stamp))
                    )
                else:
                    guarded.append(
                        _row(GuardedRow, (run_id, d_id, reason, as_json[d.candidates], d.normalized, stamp, *cue))
                    )
        batch = Tally(considered=len(still_ours), **{str(o): n for o, n in counts.items()})
        for many, rows in ((self.status, statuses), (self.failed, failed), (self.coded, coded)):
            if rows:
                many.execute(conn, rows)
        if successes:
            self.success.execute(conn, successes)
        if failures:
            self.failure.execute(conn, failures)
        if guarded:
            self.guarded.execute(conn, guarded)
        if still_ours:
            # The combination codes: the batch's records, all their lines, in this transaction,
            # before the edits check the codes they leave.
            if self.combinations is None:
                self.combinations = combination_store.compiled(conn)
            combination_store.apply_to_batch(conn, self.combinations, run_id, list(still_ours), now)
            # The code edits: the records whose codes the batch changed checked again, all their lines,
            # in this transaction; an edit marks a line for review and changes no code. Most failed
            # lines held no code before and hold none now: their records' codes are as they were. A
            # failed line that held a code (set outside the product) was cleared: its record is checked.
            just_coded = [edit_store.Coded(s.d_id, s.d_code, s.d_other) for s in statuses if s.d_code is not None]
            just_coded.extend(edit_store.Coded(c.d_id, c.d_code, None) for c in coded)
            cleared = [s.d_id for s in statuses if s.d_code is None]
            if just_coded or cleared:
                if self.edits is None:
                    self.edits = (edit_store.checker(conn), edit_store.active_codes(conn))
                edit_store.check_batch(conn, self.edits[0], just_coded, self.edits[1], cleared=cleared)
        conn.execute(self.counts, {f"n_{column}": n for column, n in self.tally.plus(batch).columns().items()})
        return batch
