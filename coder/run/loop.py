"""The coding run: what cron starts at 08:00 and 14:30.

Safety rests on three things:
* the run lock (run.lock), so two runs never overlap, and a crashed run's lock is taken over;
* one transaction per batch, holding each diagnosis's new status together with its log row
  (run.writer), so a SIGKILL at any moment leaves every diagnosis either coded with its log row
  or still pending;
* a guard re-read inside that transaction, so a code a person set meanwhile is never overwritten.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError

from coder.db.migrate import require_current
from coder.errors import IcdCoderError, describe, refused_value
from coder.store import rules as rulestore
from rulebase.codes import system_of_kind
from rulebase.decision import Decision
from rulebase.engine import DEFAULT_TIMEOUT
from rulebase.states import Outcome, RunStatus

from .lock import acquire_lock, release_lock, start_worker
from .setup import RunSetup, load_setup
from .sources import Claimed, InOrder, pending_count
from .writer import BatchWriter, Tally

ENGINES = ("python", "sql")

STOPPED = "stopped by a signal; the next run codes the rest"  # RunResult.stopped when `stop` said so

Decide = Callable[[Connection, int, Sequence[Any]], dict[int, Decision]]  # (conn, run id, batch) -> decisions


@dataclass
class RunResult(Tally):
    run_id: int = 0
    seconds: float = 0.0
    rulebase_version: int = 0
    took_over: int | None = None  # id of a crashed run whose lock this run took over
    stopped: str | None = None  # why the run ended before the work did
    # Rules this run left out, with why: stored rules that no longer validate, and (--engine sql)
    # rules whose pattern the database's regex operator refused. The rest of the rule base coded.
    skipped_rules: dict[int, str] = field(default_factory=dict)

    def skipped_line(self) -> str | None:
        return skipped_line(self.skipped_rules)

    def to_json(self) -> dict:
        d = asdict(self)
        d["seconds"] = round(self.seconds, 3)
        if d["stopped"] is None:
            del d["stopped"]
        return d

    def summary_line(self) -> str:
        took = f"; took over the lock of crashed run {self.took_over}" if self.took_over else ""
        return (
            f"run {self.run_id}: {counts_line(asdict(self))} in {self.seconds:.1f}s "
            f"(rule base v{self.rulebase_version}){took}" + (f"; stopped: {self.stopped}" if self.stopped else "")
        )


def counts_line(counts: dict) -> str:
    """A run's counts as the summary line says them (timeout, too_long and the guarded ones only when
    there are any)."""
    return (
        f"{counts['considered']} considered, {counts['coded']} coded, {counts['no_match']} no_match, "
        f"{counts['ambiguous']} ambiguous, {counts['invalid_input']} invalid_input"
        + "".join(f", {counts[k]} {k}" for k in ("timeout", "too_long", "uncertain", "negated") if counts[k])
    )


def skipped_line(skipped: dict[int, str]) -> str | None:
    """The one line that names the rules a run left out, or None."""
    if not skipped:
        return None
    shown = "; ".join(f"rule {i}: {why}" for i, why in sorted(skipped.items())[:10])
    more = f" (and {len(skipped) - 10} more)" if len(skipped) > 10 else ""
    return f"{len(skipped)} rules skipped: {shown}{more}; see icdcoder rules lint"


def _decider(engine_name: str, setup: RunSetup, timeout: float, skipped: dict[int, str]) -> Decide:
    """The engine's batch function; rules it finds unusable while running are added to `skipped`.

    A line is decided by the rules of its code system only, so a procedure rule never codes a
    diagnosis (system_of_kind says which system a line is in)."""
    if engine_name == "sql":
        from .sqlmatch import SqlMatcher

        matchers = {
            s: SqlMatcher(
                r, setup.normalizer, timeout, refused=skipped, system=s, guards=setup.guards, strict=setup.strict
            )
            for s, r in setup.rules.items()
        }

        def decide_sql(conn: Connection, run_id: int, batch: Sequence[Any]) -> dict[int, Decision]:
            by_system: dict[str, list] = {}
            for row in batch:
                by_system.setdefault(system_of_kind(row.kind), []).append(row)
            decisions: dict[int, Decision] = {}
            for system, rows in by_system.items():
                decisions.update(matchers[system].decide_batch(conn, run_id, rows))
            return decisions

        return decide_sql
    rulesets = {s: setup.rule_set(r, timeout) for s, r in setup.rules.items()}
    by_kind: dict[str, Callable[[str], Decision]] = {}  # memo of system_of_kind, per kind seen

    def decide(_conn: Connection, _run_id: int, batch: Sequence[Any]) -> dict[int, Decision]:
        out = {}
        for row in batch:
            of_kind = by_kind.get(row.kind)
            if of_kind is None:
                of_kind = by_kind[row.kind] = rulesets[system_of_kind(row.kind)].decide
            out[row.id] = of_kind(row.description)
        return out

    return decide


def run_coding(
    engine: Engine,
    batch_size: int = 1000,
    timeout: float = DEFAULT_TIMEOUT,
    progress: Callable[[int, int], None] | None = None,
    engine_name: str = "python",
    shared: bool = False,
    stop: Callable[[], bool] | None = None,
) -> RunResult:
    """Code every diagnosis that is waiting; return the counts.

    Alone (the default) the run holds the database's run lock (RunLocked if another has it) and
    reads batches in id order. `shared` (PostgreSQL, Oracle) makes it one of several workers: each
    claims batches with SELECT ... FOR UPDATE SKIP LOCKED and codes them in the same transaction,
    so a worker that dies releases its batch with its connection and every diagnosis is coded once.

    `stop`, asked before each batch (icdcoder watch's SIGTERM), ends the run after the batch that
    has committed: the run finishes with RunResult.stopped saying so, and the next run codes the rest.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    if engine_name not in ENGINES:
        raise IcdCoderError(f"unknown engine {engine_name!r}; choose from {', '.join(ENGINES)}")
    if shared and engine.dialect.name == "sqlite":
        raise IcdCoderError(
            "SQLite has no row locks, so one run codes at a time there: shared workers "
            "(--workers, --shared) need PostgreSQL or Oracle"
        )
    started = time.perf_counter()
    require_current(engine)
    # The rules are read, checked and built into the rule set, which lives for the whole run, and
    # the batch loop makes no reference cycles to speak of. The collector is off from the start: it
    # would rescan the tens of thousands of rule objects as they are read and checked (3.5 % of a
    # whole run's instructions at 30,000 rules; the rule set's build pauses it itself), and then
    # at every batch (matching twice as slow). The rule set is frozen once built; both are undone
    # when the run ends.
    collector_was_on = gc.isenabled()
    gc.disable()
    frozen = False
    try:
        skipped: dict[int, str] = {}
        with engine.connect() as conn:
            setup = load_setup(conn, timeout, skipped)
        rb_version = setup.rulebase_version
        if shared:
            run_id, took_over = start_worker(engine, rb_version, engine_name), None
        else:
            run_id, took_over = acquire_lock(engine, rb_version, engine_name)
        result = RunResult(run_id=run_id, rulebase_version=rb_version, took_over=took_over, skipped_rules=skipped)
        try:
            decide = _decider(engine_name, setup, timeout, skipped)
            del setup
            gc.freeze()
            frozen = True
            total = pending_count(engine) if progress else 0  # a count is a scan: only for a progress bar
            # A claimed batch is locked already; SQLite's first write locks the whole database.
            writer = BatchWriter(
                engine, run_id, rb_version, lock_rows=engine.dialect.name != "sqlite" and not shared, tally=result
            )
            source = Claimed(rb_version, batch_size, engine.dialect.name) if shared else InOrder(rb_version, batch_size)
            result.stopped = _loop(
                engine, engine_name, rb_version, run_id, source, decide, writer, progress, total, stop
            )
        except BaseException as exc:
            result.seconds = time.perf_counter() - started
            try:
                release_lock(engine, run_id, RunStatus.CRASHED, result.columns(), error=describe(exc))
            except Exception:  # noqa: BLE001 - the database may be what failed (disk full, server gone):
                pass  # the lock is then taken over by the next run, and the error that ended this one is raised
            raise
    finally:
        if frozen:
            gc.unfreeze()
        if collector_was_on:
            gc.enable()
    result.seconds = time.perf_counter() - started
    notes = "; ".join(n for n in (result.stopped, result.skipped_line()) if n) or None
    release_lock(engine, run_id, RunStatus.FINISHED, result.columns(), error=notes and notes[:1000])
    return result


def _loop(
    engine: Engine,
    engine_name: str,
    rb_version: int,
    run_id: int,
    source,
    decide: Decide,
    writer: BatchWriter,
    progress,
    total,
    stop: Callable[[], bool] | None = None,
) -> str | None:
    """Batch after batch, each in its own transaction; the reason it stopped early, or None."""
    while True:
        if stop is not None and stop():
            return STOPPED
        decisions: dict[int, Decision] = {}
        try:
            with engine.begin() as conn:
                if engine_name == "sql" and rulestore.rulebase_version(conn) != rb_version:
                    return "the rule base changed during the run; the next run codes the rest with it"
                batch = source.next_batch(conn)
                if batch is None:
                    return None
                decisions = decide(conn, run_id, batch)
                written = writer.write(conn, decisions)
        except DBAPIError as exc:
            # A line the database refuses (a value it cannot store) must not stop every run from now
            # on: the batch, rolled back, is written again line by line, and a line still refused
            # fails alone. Errors of the connection or the server are not this: they end the run.
            if not decisions or not refused_value(exc):
                raise
            _line_by_line(engine, writer, decisions)
            written = Tally()  # each line counted as it committed
        writer.tally.add(written)  # committed: only now does it count
        if progress:
            progress(writer.tally.considered, total)


def _line_by_line(engine: Engine, writer: BatchWriter, decisions: dict[int, Decision]) -> None:
    """Each line in its own transaction, counted once it has committed."""
    for d_id, decision in sorted(decisions.items()):
        try:
            with engine.begin() as conn:
                written = writer.write(conn, {d_id: decision}, locked=True)
        except DBAPIError as exc:
            if not refused_value(exc):
                raise
            with engine.begin() as conn:
                written = writer.write(conn, {d_id: Decision(Outcome.INVALID_INPUT, "")}, locked=True)
        writer.tally.add(written)
