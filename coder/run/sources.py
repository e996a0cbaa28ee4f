"""Where a run's batches come from: the diagnoses waiting for it, in id order.

Alone, a run reads the next batch after the last id it saw. A shared worker claims the next
batch no other worker holds (SELECT ... FOR UPDATE SKIP LOCKED); the rows stay locked until its
batch's transaction ends, so a worker that dies releases them with its connection.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Engine, and_, bindparam, func, or_, select, text

from coder.db.models import diagnosis
from coder.store.rules import rulebase_version
from rulebase.states import Outcome, Status

LEASE_SECONDS = 600  # a shared worker's batch returns to the queue when its transaction idles this long


def work_phases(rb_version: int) -> list:
    """Diagnoses a run should code, as two conditions read one after the other: pending ones, then
    automatic failures from an older rule base.

    Each is an equality on status, so an index on (status, id) hands out batches in id order with
    no sort (one OR of both would make the database collect and sort every waiting row per batch).
    Failures a person has handled are no longer 'failed' (they are 'manual'), and empty
    descriptions stay invalid whatever the rules say, so neither is retried.
    """
    return [
        diagnosis.c.status == Status.PENDING,
        and_(
            diagnosis.c.status == Status.FAILED,
            diagnosis.c.coded_by.is_(None),
            diagnosis.c.fail_reason != Outcome.INVALID_INPUT,
            or_(diagnosis.c.attempted_version.is_(None), diagnosis.c.attempted_version < rb_version),
        ),
    ]


def work_filter(rb_version: int):
    """Every diagnosis a run should code (both phases)."""
    return or_(*work_phases(rb_version))


def pending_count(engine: Engine) -> int:
    with engine.connect() as conn:
        rb = rulebase_version(conn)
        return conn.execute(select(func.count()).select_from(diagnosis).where(work_filter(rb))).scalar_one()


class InOrder:
    """Batches for a run that holds the lock: each phase's rows after the last id read."""

    def __init__(self, rb_version: int, batch_size: int):
        self.queries = [
            select(diagnosis.c.id, diagnosis.c.kind, diagnosis.c.description)
            .where(phase, diagnosis.c.id > bindparam("last_id"))
            .order_by(diagnosis.c.id)
            .limit(batch_size)
            for phase in work_phases(rb_version)
        ]
        self.phase, self.last_id = 0, 0

    def next_batch(self, conn: Connection) -> Sequence[Any] | None:
        """The next batch, read in the caller's transaction; None when every phase is done."""
        while self.phase < len(self.queries):
            batch = conn.execute(self.queries[self.phase], {"last_id": self.last_id}).all()
            if batch:
                self.last_id = batch[-1].id
                return batch
            self.phase, self.last_id = self.phase + 1, 0
        return None


class Claimed:
    """Batches for a shared worker: rows no other worker has locked, locked for this transaction."""

    def __init__(self, rb_version: int, batch_size: int, dialect: str):
        queries = [
            select(diagnosis.c.id, diagnosis.c.kind, diagnosis.c.description)
            .where(phase)
            .order_by(diagnosis.c.id)
            .with_for_update(skip_locked=True)
            for phase in work_phases(rb_version)
        ]
        if dialect != "oracle":  # Oracle refuses FETCH FIRST with FOR UPDATE (ORA-02014)
            queries = [q.limit(batch_size) for q in queries]
        self.queries, self.batch_size, self.phase = queries, batch_size, 0

    def next_batch(self, conn: Connection) -> Sequence[Any] | None:
        if conn.dialect.name == "postgresql":
            # The lease: a worker that hangs holding its batch loses it after this.
            conn.execute(text(f"SET LOCAL idle_in_transaction_session_timeout = '{LEASE_SECONDS}s'"))
        while self.phase < len(self.queries):
            # Oracle's claim has no FETCH FIRST, so its rows are locked as they are fetched.
            claimed = conn.execute(self.queries[self.phase])
            batch = claimed.fetchmany(self.batch_size)
            claimed.close()
            if batch:
                return batch
            self.phase += 1
        return None
