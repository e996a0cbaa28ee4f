"""The coding run: what cron starts at 08:00 and 14:30.

Safety rests on three things:
* one lock row (primary key 'coding') per database, so two runs never overlap; a lock whose
  process is dead (same host) or whose heartbeat is stale (another host) is taken over and
  the run that held it is marked crashed;
* one transaction per batch, holding each diagnosis's new status together with its log row, so a
  SIGKILL at any moment leaves every diagnosis either coded with its log row or still pending;
* a guard re-read inside that transaction, so a code a person set meanwhile is never overwritten.
"""

from __future__ import annotations

import gc
import json
import os
import socket
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import lru_cache
from datetime import timedelta
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection, DateTime, Engine, and_, bindparam, delete, func, or_, select, text, update
from sqlalchemy.exc import IntegrityError

from rulebase.errors import IcdCoderError, RunLocked

from . import normstore, rulestore
from .db.migrate import require_current
from .db.models import (
    AUTO, CODED, FAILED, PENDING, code_log, coding_run, diagnosis, fail_log, run_lock, utcnow,
)
from .engine import (
    CODED as OUT_CODED, DEFAULT_TIMEOUT, INVALID_INPUT, Decision, RuleSet,
)

LOCK_NAME = "coding"
STALE_AFTER = timedelta(minutes=15)  # a heartbeat older than this, from another host, is a dead run
LEASE_SECONDS = 600  # a shared worker's batch returns to the queue when its transaction idles this long
COUNT_KEYS = ("considered", "coded", "no_match", "ambiguous", "invalid_input", "timeout")


@dataclass
class RunResult:
    run_id: int
    considered: int = 0
    coded: int = 0
    no_match: int = 0
    ambiguous: int = 0
    invalid_input: int = 0
    timeout: int = 0
    seconds: float = 0.0
    rulebase_version: int = 0
    took_over: int | None = None  # id of a crashed run whose lock this run took over
    stopped: str | None = None  # why the run ended before the work did

    def to_json(self) -> dict:
        d = asdict(self)
        d["seconds"] = round(self.seconds, 3)
        if d["stopped"] is None:
            del d["stopped"]
        return d

    def summary_line(self) -> str:
        took = f"; took over the lock of crashed run {self.took_over}" if self.took_over else ""
        return (f"run {self.run_id}: {self.considered} considered, {self.coded} coded, {self.no_match} no_match, "
                f"{self.ambiguous} ambiguous, {self.invalid_input} invalid_input"
                + (f", {self.timeout} timeout" if self.timeout else "")
                + f" in {self.seconds:.1f}s (rule base v{self.rulebase_version}){took}"
                + (f"; stopped: {self.stopped}" if self.stopped else ""))


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def work_phases(rb_version: int) -> list:
    """Diagnoses a run should code, as two conditions read one after the other: pending ones, then
    automatic failures from an older rule base.

    Each is an equality on status, so an index on (status, id) hands out batches in id order with
    no sort (one OR of both would make the database collect and sort every waiting row per batch).
    Failures a person has handled are no longer 'failed' (they are 'manual'), and empty
    descriptions stay invalid whatever the rules say, so neither is retried.
    """
    return [
        diagnosis.c.status == PENDING,
        and_(
            diagnosis.c.status == FAILED,
            diagnosis.c.coded_by.is_(None),
            diagnosis.c.fail_reason != INVALID_INPUT,
            or_(diagnosis.c.attempted_version.is_(None), diagnosis.c.attempted_version < rb_version),
        ),
    ]


def work_filter(rb_version: int):
    """Every diagnosis a run should code (both phases)."""
    return or_(*work_phases(rb_version))


def _describe_holder(conn: Connection, holder) -> str:
    run = conn.execute(select(coding_run).where(coding_run.c.id == holder.run_id)).first()
    started = run.started_at.strftime("%Y-%m-%d %H:%M:%S") if run else "?"
    return f"run {holder.run_id} (started {started} UTC on {holder.host}, pid {holder.pid})"


def acquire_lock(engine: Engine, rb_version: int, engine_name: str = "python") -> tuple[int, int | None]:
    """Create a run row and take the lock; return (run id, id of a crashed run taken over)."""
    host, pid = socket.gethostname(), os.getpid()
    took_over = None
    for _ in range(3):
        try:
            with engine.begin() as conn:
                now = utcnow()
                run_id = conn.execute(coding_run.insert().values(
                    started_at=now, heartbeat_at=now, host=host, pid=pid, rulebase_version=rb_version,
                    engine=engine_name, status="running")).inserted_primary_key[0]
                conn.execute(run_lock.insert().values(name=LOCK_NAME, run_id=run_id, host=host, pid=pid,
                                                      acquired_at=now, heartbeat_at=now))
            return run_id, took_over
        except IntegrityError:
            pass
        with engine.begin() as conn:
            holder = conn.execute(select(run_lock).where(run_lock.c.name == LOCK_NAME)).first()
            if holder is None:
                continue  # released between our insert and this read: try again
            if not _dead(holder.host, holder.pid, holder.heartbeat_at):
                raise RunLocked(f"another coding run is in progress: {_describe_holder(conn, holder)}; "
                                "try again when it has finished")
            # Delete only the lock we judged dead: if another runner took it over first, this
            # deletes nothing and the next insert fails again, which is what we want.
            gone = conn.execute(delete(run_lock).where(run_lock.c.name == LOCK_NAME,
                                                       run_lock.c.run_id == holder.run_id)).rowcount
            if gone:
                conn.execute(update(coding_run).where(coding_run.c.id == holder.run_id,
                                                      coding_run.c.status == "running").values(
                    status="crashed", ended_at=utcnow(),
                    error=f"the process ({holder.host}, pid {holder.pid}) died; its lock was taken over"))
                took_over = holder.run_id
    raise RunLocked("could not take the run lock after three attempts; another run keeps taking it")


def _dead(holder_host: str, holder_pid: int, heartbeat) -> bool:
    host = socket.gethostname()
    return (holder_host == host and not _pid_alive(holder_pid)) or (
        holder_host != host and heartbeat is not None and utcnow() - heartbeat > STALE_AFTER)


def start_worker(engine: Engine, rb_version: int, engine_name: str) -> int:
    """A run row for a shared worker. Running rows of workers that died are marked crashed first;
    their batches went back to the queue when their connections closed."""
    host, pid = socket.gethostname(), os.getpid()
    with engine.begin() as conn:
        holder = conn.execute(select(run_lock).where(run_lock.c.name == LOCK_NAME)).first()
        if holder is not None and not _dead(holder.host, holder.pid, holder.heartbeat_at):
            raise RunLocked(f"a coding run holds the run lock: {_describe_holder(conn, holder)}; "
                            "shared workers start when it has finished")
        locked = select(run_lock.c.run_id)
        for r in conn.execute(select(coding_run).where(coding_run.c.status == "running",
                                                       coding_run.c.id.not_in(locked))):
            if _dead(r.host, r.pid, r.heartbeat_at):
                conn.execute(update(coding_run).where(coding_run.c.id == r.id, coding_run.c.status == "running")
                             .values(status="crashed", ended_at=utcnow(),
                                     error=f"the worker ({r.host}, pid {r.pid}) died"))
        now = utcnow()
        return conn.execute(coding_run.insert().values(
            started_at=now, heartbeat_at=now, host=host, pid=pid, rulebase_version=rb_version,
            engine=engine_name, status="running")).inserted_primary_key[0]


def release_lock(engine: Engine, run_id: int, status: str, result: RunResult | None = None,
                 error: str | None = None) -> None:
    with engine.begin() as conn:
        values = {"status": status, "ended_at": utcnow(), "error": error}
        if result is not None:
            values.update({k: getattr(result, k) for k in COUNT_KEYS if k != "timeout"}, timeouts=result.timeout)
        conn.execute(update(coding_run).where(coding_run.c.id == run_id).values(**values))
        conn.execute(delete(run_lock).where(run_lock.c.name == LOCK_NAME, run_lock.c.run_id == run_id))


def _candidates_json(d: Decision) -> str | None:
    if not d.candidates:
        return None
    return json.dumps([{"code": c.code, "rule_ids": list(c.rule_ids)} for c in d.candidates])


_UPDATE = (
    update(diagnosis)
    .where(diagnosis.c.id == bindparam("d_id"))
    .values(status=bindparam("d_status"), code=bindparam("d_code"), coded_by=bindparam("d_by"),
            fail_reason=bindparam("d_reason"), attempted_at=bindparam("d_at"),
            attempted_version=bindparam("d_version"), updated_at=bindparam("d_at"))
)
_UPDATE_FIELDS = ("d_id", "d_status", "d_code", "d_by", "d_reason", "d_at", "d_version")
_SUCCESS_FIELDS = ("run_id", "diagnosis_id", "code", "rule_id", "rule_version", "normalized", "match_start",
                   "match_end", "logged_at")
_FAILURE_FIELDS = ("run_id", "diagnosis_id", "reason", "candidates", "normalized", "logged_at")


_COMPILED: dict[tuple, Any] = {}


@lru_cache(maxsize=None)
def _insert_of(table, columns: tuple[str, ...]):
    """An INSERT of exactly these columns; one statement object per table and columns."""
    return table.insert().values({k: bindparam(k) for k in columns})


def compiled_for_executemany(stmt, dialect):
    """The statement compiled once per dialect. The cache keeps the statement too, so its id stays its own."""
    key = (id(stmt), dialect.name)
    cached = _COMPILED.get(key)
    if cached is None:
        # for_executemany: no RETURNING of the new id, which Oracle would want bound per row
        cached = _COMPILED[key] = (stmt, stmt.compile(dialect=dialect, for_executemany=True))
    return cached[1]


def _executemany(conn: Connection, stmt, fields: tuple[str, ...], rows: list[tuple]) -> None:
    """Execute `stmt` for every row (a tuple of `fields`' values) through the driver's executemany.

    SQLAlchemy's executemany processes each row's parameters in Python (about 20 us a row, most of
    a batch's write time on SQLite); here the statement is compiled once per dialect and the rows,
    which hold only ints, strings and the batch's one timestamp (converted once by the caller),
    go to the driver as they are, reordered only when its placeholders want another order.
    """
    compiled = compiled_for_executemany(stmt, conn.dialect)
    order = compiled.positiontup
    if order is None:  # named placeholders (Oracle, psycopg)
        conn.exec_driver_sql(compiled.string, [dict(zip(fields, r)) for r in rows])
    elif tuple(order) == fields:
        conn.exec_driver_sql(compiled.string, rows)
    else:
        pick = itemgetter(*(fields.index(k) for k in order))
        conn.exec_driver_sql(compiled.string, [pick(r) for r in rows])


@dataclass(frozen=True)
class RunStatements:
    """What a run executes per batch, built once per run.

    Built per batch, they would cost time on every batch and, with the collector paused for the
    run, never be freed: SQLAlchemy's clause objects refer to one another (about 30 kB a batch).
    """

    heartbeat_run: Any
    heartbeat_lock: Any
    guard: Any  # which of a batch's diagnoses still wait for a run (a person may have coded them)
    counts: Any
    read: list  # per phase: the next batch after :last_id, in id order
    claim: list  # per phase: the next batch no other worker holds (shared workers)
    stamp: Callable[[Any], Any]  # a timestamp as the driver stores it (a string on SQLite)


def run_statements(engine: Engine, run_id: int, rb_version: int, batch_size: int, lock_rows: bool) -> RunStatements:
    phases = work_phases(rb_version)
    guard = select(diagnosis.c.id).where(diagnosis.c.id.in_(bindparam("ids", expanding=True)),
                                         work_filter(rb_version))
    claim = [select(diagnosis.c.id, diagnosis.c.description).where(phase).order_by(diagnosis.c.id)
             .with_for_update(skip_locked=True) for phase in phases]
    if engine.dialect.name != "oracle":  # Oracle refuses FETCH FIRST with FOR UPDATE (ORA-02014)
        claim = [q.limit(batch_size) for q in claim]
    processor = DateTime().dialect_impl(engine.dialect).bind_processor(engine.dialect)
    return RunStatements(
        heartbeat_run=update(coding_run).where(coding_run.c.id == run_id).values(heartbeat_at=bindparam("hb")),
        heartbeat_lock=update(run_lock).where(run_lock.c.name == LOCK_NAME, run_lock.c.run_id == run_id)
        .values(heartbeat_at=bindparam("hb")),
        guard=guard.with_for_update() if lock_rows else guard,
        counts=update(coding_run).where(coding_run.c.id == run_id).values(
            {k if k != "timeout" else "timeouts": bindparam(f"n_{k}") for k in COUNT_KEYS}),
        read=[select(diagnosis.c.id, diagnosis.c.description)
              .where(phase, diagnosis.c.id > bindparam("last_id")).order_by(diagnosis.c.id).limit(batch_size)
              for phase in phases],
        claim=claim,
        stamp=processor or (lambda value: value),
    )


def write_batch(conn: Connection, run_id: int, rb_version: int, decisions: dict[int, Decision],
                result: RunResult, stmts: RunStatements) -> None:
    """Store one batch of decisions: statuses, log rows and run counts, in the caller's transaction."""
    now = utcnow()
    stamp = stmts.stamp(now)
    # Written first: on SQLite the first write takes the database's write lock, so nobody can
    # change these diagnoses between the guard read below and our commit.
    conn.execute(stmts.heartbeat_run, {"hb": now})
    conn.execute(stmts.heartbeat_lock, {"hb": now})
    still_ours = conn.execute(stmts.guard, {"ids": list(decisions)}).scalars().all()
    updates, successes, failures = [], [], []
    counts = dict.fromkeys(COUNT_KEYS[1:], 0)
    for d_id in sorted(still_ours):
        d = decisions[d_id]
        outcome = d.outcome
        counts[outcome] += 1
        if outcome == OUT_CODED:
            updates.append((d_id, CODED, d.code, AUTO, None, stamp, rb_version))
            successes.append((run_id, d_id, d.code, d.rule_id, d.rule_version, d.normalized, d.span[0], d.span[1],
                              stamp))
        else:
            updates.append((d_id, FAILED, None, None, outcome, stamp, rb_version))
            failures.append((run_id, d_id, outcome, _candidates_json(d), d.normalized or None, stamp))
    result.considered += len(still_ours)
    for key, n in counts.items():
        setattr(result, key, getattr(result, key) + n)
    if updates:
        _executemany(conn, _UPDATE, _UPDATE_FIELDS, updates)
    if successes:
        _executemany(conn, _insert_of(code_log, _SUCCESS_FIELDS), _SUCCESS_FIELDS, successes)
    if failures:
        _executemany(conn, _insert_of(fail_log, _FAILURE_FIELDS), _FAILURE_FIELDS, failures)
    conn.execute(stmts.counts, {f"n_{k}": getattr(result, k) for k in COUNT_KEYS})


def pending_count(engine: Engine) -> int:
    with engine.connect() as conn:
        rb = rulestore.rulebase_version(conn)
        return conn.execute(select(func.count()).select_from(diagnosis).where(work_filter(rb))).scalar_one()


ENGINES = ("python", "sql")


def _decider(engine_name: str, rules, normalizer, timeout: float):
    """(conn, run_id, batch rows) -> {diagnosis id: Decision}, for the chosen engine."""
    if engine_name == "sql":
        from .sqlmatch import SqlMatcher

        matcher = SqlMatcher(rules, normalizer, timeout)
        return matcher.decide_batch
    ruleset = RuleSet(rules, timeout=timeout, normalizer=normalizer)
    return lambda _conn, _run_id, batch: {row.id: ruleset.decide(row.description) for row in batch}


def run_coding(engine: Engine, batch_size: int = 1000, timeout: float = DEFAULT_TIMEOUT,
               progress: Callable[[int, int], None] | None = None, engine_name: str = "python",
               shared: bool = False) -> RunResult:
    """Code every diagnosis that is waiting; return the counts.

    Alone (the default) the run holds the database's run lock (RunLocked if another has it) and
    reads batches in id order. `shared` (PostgreSQL, Oracle) makes it one of several workers: each
    claims batches with SELECT ... FOR UPDATE SKIP LOCKED and codes them in the same transaction,
    so a worker that dies releases its batch with its connection and every diagnosis is coded once.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    if engine_name not in ENGINES:
        raise IcdCoderError(f"unknown engine {engine_name!r}; choose from {', '.join(ENGINES)}")
    if shared and engine.dialect.name == "sqlite":
        raise IcdCoderError("SQLite has no row locks, so one run codes at a time there: shared workers "
                            "(--workers, --shared) need PostgreSQL or Oracle")
    started = time.perf_counter()
    require_current(engine)
    with engine.connect() as conn:
        rb_version = rulestore.rulebase_version(conn)
        rules = rulestore.load_rules(conn)
        normalizer = normstore.normalizer(conn)
    if shared:
        run_id, took_over = start_worker(engine, rb_version, engine_name), None
    else:
        run_id, took_over = acquire_lock(engine, rb_version, engine_name)
    result = RunResult(run_id=run_id, rulebase_version=rb_version, took_over=took_over)
    frozen = False
    try:
        decide = _decider(engine_name, rules, normalizer, timeout)
        del rules
        # The rule set lives for the whole run, and the batch loop makes no reference cycles to
        # speak of: without the collector rescanning tens of thousands of rules, matching is twice
        # as fast at 30,000 rules. Both are undone when the run ends.
        gc.freeze()
        frozen = True
        collector_was_on = gc.isenabled()
        gc.disable()
        total = pending_count(engine) if progress else 0  # a count is a scan: only for a progress bar
        lock_rows = engine.dialect.name != "sqlite" and not shared  # a claimed batch is locked already
        stmts = run_statements(engine, run_id, rb_version, batch_size, lock_rows)
        phase, last_id = 0, 0
        while phase < len(stmts.read):
            with engine.begin() as conn:
                if engine_name == "sql" and rulestore.rulebase_version(conn) != rb_version:
                    result.stopped = "the rule base changed during the run; the next run codes the rest with it"
                    break
                if shared:
                    if conn.dialect.name == "postgresql":
                        # The lease: a worker that hangs holding its batch loses it after this.
                        conn.execute(text(f"SET LOCAL idle_in_transaction_session_timeout = '{LEASE_SECONDS}s'"))
                    # The claimed rows stay locked until this transaction ends; Oracle's claim has
                    # no FETCH FIRST, so its rows are locked as they are fetched.
                    claimed = conn.execute(stmts.claim[phase])
                    batch = claimed.fetchmany(batch_size)
                    claimed.close()
                else:
                    batch = conn.execute(stmts.read[phase], {"last_id": last_id}).all()
                if not batch:
                    phase, last_id = phase + 1, 0
                    continue
                last_id = batch[-1].id
                decisions = decide(conn, run_id, batch)
                write_batch(conn, run_id, rb_version, decisions, result, stmts)
            if progress:
                progress(result.considered, total)
    except BaseException as exc:
        result.seconds = time.perf_counter() - started
        release_lock(engine, run_id, "crashed", result, error=f"{exc.__class__.__name__}: {exc}"[:1000])
        raise
    finally:
        if frozen:
            gc.unfreeze()
            if collector_was_on:
                gc.enable()
    result.seconds = time.perf_counter() - started
    release_lock(engine, run_id, "finished", result, error=result.stopped)
    return result
