"""The run lock: one row (primary key 'coding') per database, so two runs never overlap.

A lock whose process is dead (same host) or whose heartbeat is stale (another host) is taken
over and the run that held it is marked crashed. Shared workers take no lock; each has a run row,
and rows of workers that died are marked crashed when the next one starts.
"""

from __future__ import annotations

import os
import socket
from datetime import timedelta
from typing import NamedTuple

from sqlalchemy import Connection, Engine, bindparam, delete, select, update
from sqlalchemy.exc import IntegrityError

from coder.db.models import coding_run, run_lock, utcnow
from coder.errors import RunLocked
from rulebase.states import RunStatus

LOCK_NAME = "coding"
STALE_AFTER = timedelta(minutes=15)  # a heartbeat older than this, from another host, is a dead run


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def is_dead(holder_host: str, holder_pid: int, heartbeat) -> bool:
    host = socket.gethostname()
    return (holder_host == host and not _pid_alive(holder_pid)) or (
        holder_host != host and heartbeat is not None and utcnow() - heartbeat > STALE_AFTER
    )


def _describe_holder(conn: Connection, holder) -> str:
    run = conn.execute(select(coding_run).where(coding_run.c.id == holder.run_id)).first()
    started = run.started_at.strftime("%Y-%m-%d %H:%M:%S") if run else "?"
    return f"run {holder.run_id} (started {started} UTC on {holder.host}, pid {holder.pid})"


def _here() -> dict[str, object]:
    """Who holds a run row or the lock: this host and process."""
    return {"host": socket.gethostname(), "pid": os.getpid()}


def _new_run(conn: Connection, rb_version: int, engine_name: str) -> int:
    now = utcnow()
    values = {"started_at": now, "heartbeat_at": now, "rulebase_version": rb_version, "engine": engine_name}
    return conn.execute(coding_run.insert().values(**values, **_here(), status=RunStatus.RUNNING)).inserted_primary_key[
        0
    ]


def _mark_crashed(conn: Connection, run_id: int, error: str) -> int:
    return conn.execute(
        update(coding_run)
        .where(coding_run.c.id == run_id, coding_run.c.status == RunStatus.RUNNING)
        .values(status=RunStatus.CRASHED, ended_at=utcnow(), error=error)
    ).rowcount


class LockTaken(NamedTuple):
    run_id: int
    took_over: int | None  # the crashed run whose lock was taken over


def acquire_lock(engine: Engine, rb_version: int, engine_name: str = "python") -> LockTaken:
    """Create a run row and take the lock."""
    took_over = None
    for _ in range(3):
        try:
            with engine.begin() as conn:
                run_id = _new_run(conn, rb_version, engine_name)
                now = utcnow()
                lock = {"name": LOCK_NAME, "run_id": run_id, "acquired_at": now, "heartbeat_at": now}
                conn.execute(run_lock.insert().values(**lock, **_here()))
            return LockTaken(run_id, took_over)
        except IntegrityError:
            pass
        with engine.begin() as conn:
            holder = conn.execute(select(run_lock).where(run_lock.c.name == LOCK_NAME)).first()
            if holder is None:
                continue  # released between our insert and this read: try again
            if not is_dead(holder.host, holder.pid, holder.heartbeat_at):
                raise RunLocked(
                    f"another coding run is in progress: {_describe_holder(conn, holder)}; "
                    "try again when it has finished"
                )
            # Delete only the lock we judged dead: if another runner took it over first, this
            # deletes nothing and the next insert fails again, which is what we want.
            gone = conn.execute(
                delete(run_lock).where(run_lock.c.name == LOCK_NAME, run_lock.c.run_id == holder.run_id)
            ).rowcount
            if gone:
                _mark_crashed(
                    conn, holder.run_id, f"the process ({holder.host}, pid {holder.pid}) died; its lock was taken over"
                )
                took_over = holder.run_id
    raise RunLocked("could not take the run lock after three attempts; another run keeps taking it")


def start_worker(engine: Engine, rb_version: int, engine_name: str) -> int:
    """A run row for a shared worker. Running rows of workers that died are marked crashed first;
    their batches went back to the queue when their connections closed."""
    with engine.begin() as conn:
        holder = conn.execute(select(run_lock).where(run_lock.c.name == LOCK_NAME)).first()
        if holder is not None and not is_dead(holder.host, holder.pid, holder.heartbeat_at):
            raise RunLocked(
                f"a coding run holds the run lock: {_describe_holder(conn, holder)}; "
                "shared workers start when it has finished"
            )
        locked = select(run_lock.c.run_id)
        for r in conn.execute(
            select(coding_run).where(coding_run.c.status == RunStatus.RUNNING, coding_run.c.id.not_in(locked))
        ):
            if is_dead(r.host, r.pid, r.heartbeat_at):
                _mark_crashed(conn, r.id, f"the worker ({r.host}, pid {r.pid}) died")
        return _new_run(conn, rb_version, engine_name)


def heartbeat_statements(run_id: int) -> tuple:
    """(run row, lock row) updates a run executes per batch with :hb, the time of the beat."""
    return (
        update(coding_run).where(coding_run.c.id == run_id).values(heartbeat_at=bindparam("hb")),
        update(run_lock)
        .where(run_lock.c.name == LOCK_NAME, run_lock.c.run_id == run_id)
        .values(heartbeat_at=bindparam("hb")),
    )


def release_lock(
    engine: Engine, run_id: int, status: RunStatus, counts: dict[str, int] | None = None, error: str | None = None
) -> None:
    """End the run row with its status and counts (column names), and drop the lock it held."""
    with engine.begin() as conn:
        conn.execute(
            update(coding_run)
            .where(coding_run.c.id == run_id)
            .values(status=status, ended_at=utcnow(), error=error, **(counts or {}))
        )
        conn.execute(delete(run_lock).where(run_lock.c.name == LOCK_NAME, run_lock.c.run_id == run_id))
