"""`icdcoder watch`: code new pending lines within seconds of their arrival (issue #12, point 4).

Each cycle looks cheaply for work: a pending line (one row off the (status, id) index), or, when the
rule-base version changed since the last run, a failure the new rules may code. Only then does it
start a run, run_coding itself, so the lock, batches, logs and crash safety are the run's and an idle
watch writes nothing (no run row per idle cycle). Between cycles it waits: on PostgreSQL for a NOTIFY
on coder.db.notify.CHANNEL, on a connection of its own, the interval being a safety poll only; on
SQLite and Oracle it polls every interval. A live run holding the lock (cron's `icdcoder run`) is
waited out, never an error. A stop request ends the run in hand after the batch that has committed,
then the watch; every wait looks at it at least once a second.

Each run loads the rules afresh, as `icdcoder run` does: a rule change takes effect at the next run.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from sqlalchemy import Connection, Engine, select

from coder.db.migrate import require_current
from coder.db.models import diagnosis, run_lock
from coder.db.notify import CHANNEL
from coder.errors import DatabaseError, IcdCoderError, RunLocked
from coder.store.rules import rulebase_version
from rulebase.engine import DEFAULT_TIMEOUT

from .lock import LOCK_NAME, is_dead
from .loop import ENGINES, RunResult, run_coding
from .sources import work_phases

SLICE = 1.0  # seconds: the longest any wait goes without looking at the stop request

Stop = threading.Event | Callable[[], bool]


def watch(
    engine: Engine,
    interval: float = 5.0,
    batch_size: int = 1000,
    timeout: float = DEFAULT_TIMEOUT,
    engine_name: str = "python",
    stop: Stop | None = None,
    on_run: Callable[[RunResult], None] | None = None,
) -> int:
    """Code waiting lines as they come until `stop` (an Event, or a function) says to; the runs made.

    `on_run` gets each run's result. An error other than a held lock ends the watch with it (a run
    that fails has marked itself crashed and released the lock, as under cron).
    """
    if interval <= 0:
        raise ValueError("interval must be positive")
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    if engine_name not in ENGINES:
        raise IcdCoderError(f"unknown engine {engine_name!r}; choose from {', '.join(ENGINES)}")
    require_current(engine)
    event = stop if isinstance(stop, threading.Event) else None
    stopped: Callable[[], bool] = event.is_set if event is not None else (stop or (lambda: False))
    waiter = _Listener(engine) if _can_listen(engine) else _Poller(event)
    runs = 0
    retried: int | None = None  # the rule-base version whose failures have had their retry
    try:
        while not stopped():
            with engine.connect() as conn:
                version = rulebase_version(conn)
                waiting = _work_waits(conn, version, retry=version != retried)
                held = waiting and _lock_held(conn)
            if not waiting:
                retried = version
            elif not held:
                try:
                    result = run_coding(
                        engine, batch_size=batch_size, timeout=timeout, engine_name=engine_name, stop=stopped
                    )
                except RunLocked:
                    pass  # taken between the look and the run: wait it out like any held lock
                else:
                    runs += 1
                    if result.stopped is None:
                        retried = result.rulebase_version
                    if on_run is not None:
                        on_run(result)
                    if result.considered:
                        continue  # lines that came during the run: look again at once
            waiter.wait(interval, stopped)
    finally:
        waiter.close()
    return runs


def _work_waits(conn: Connection, version: int, retry: bool) -> bool:
    """Whether a run has work: a pending line; with `retry`, a failure older rules left."""
    pending, failed = work_phases(version)
    if conn.execute(select(diagnosis.c.id).where(pending).limit(1)).first() is not None:
        return True
    return retry and conn.execute(select(diagnosis.c.id).where(failed).limit(1)).first() is not None


def _lock_held(conn: Connection) -> bool:
    """Whether a live run holds the run lock (a dead holder's lock the next run takes over)."""
    holder = conn.execute(select(run_lock).where(run_lock.c.name == LOCK_NAME)).first()
    return holder is not None and not is_dead(holder.host, holder.pid, holder.heartbeat_at)


def _can_listen(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql" and engine.dialect.driver == "psycopg"


class _Poller:
    """SQLite and Oracle: wait the interval, in slices, or until the stop event is set."""

    def __init__(self, event: threading.Event | None):
        self.event = event

    def wait(self, seconds: float, stopped: Callable[[], bool]) -> None:
        deadline = time.monotonic() + seconds
        while not stopped():
            left = deadline - time.monotonic()
            if left <= 0:
                return
            if self.event is not None:
                self.event.wait(min(SLICE, left))
            else:
                time.sleep(min(SLICE, left))

    def close(self) -> None:
        pass


class _Listener:
    """PostgreSQL: a connection of its own, in autocommit, LISTENing on the channel.

    It LISTENs before the first look for work, so a line that comes after that look wakes the next
    wait (psycopg keeps notifications that arrive between waits). It never goes back to the pool:
    a pooled connection still listening would collect notifications nobody reads."""

    def __init__(self, engine: Engine):
        import psycopg

        self.errors = psycopg.Error
        raw = engine.raw_connection()
        self.pg = raw.driver_connection
        raw.detach()  # closed here, by the driver: a pool's reset of a lost connection would log a traceback
        try:
            self.pg.rollback()
            self.pg.autocommit = True
            self.pg.execute(f"LISTEN {CHANNEL}")
        except self.errors as exc:
            self.pg.close()
            raise DatabaseError.from_driver(exc) from None

    def wait(self, seconds: float, stopped: Callable[[], bool]) -> None:
        """Until a notification comes, `seconds` pass (the safety poll) or a stop is asked."""
        deadline = time.monotonic() + seconds
        try:
            while not stopped():
                left = deadline - time.monotonic()
                if left <= 0:
                    return
                if sum(1 for _ in self.pg.notifies(timeout=min(SLICE, left), stop_after=1)):
                    # Those that came with it (each batch of a run notifies): one look covers them all.
                    for _ in self.pg.notifies(timeout=0):
                        pass
                    return
        except self.errors as exc:  # the server or the connection went: end with a clean error
            raise DatabaseError.from_driver(exc) from None

    def close(self) -> None:
        self.pg.close()
