"""Read-only views for the list commands: diagnoses, the failure log, runs."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Engine, select

from coder.db.models import RUN_COUNTS, code_log, coding_run, diagnosis, fail_log, line_codes
from coder.errors import IcdCoderError, NotFound
from coder.store.codes import lines_of, system_of_kind
from rulebase.states import FAILURE_REASONS, Status

STATUSES = tuple(Status)


def latest_log_rows(conn: Connection, ids: Sequence[int]) -> dict[int, list[Any]]:
    """The success-log rows of each line's latest run: one per code of the line, by position (the
    first code's row first). Lines no run coded are absent."""
    rows: dict[int, list[Any]] = {}
    ids = list(ids)
    for i in range(0, len(ids), 500):  # IN lists of at most 500 (Oracle takes 1,000)
        for r in conn.execute(select(code_log).where(code_log.c.diagnosis_id.in_(ids[i : i + 500]))):
            rows.setdefault(r.diagnosis_id, []).append(r)
    out = {}
    for line_id, found in rows.items():
        run = max(found, key=lambda r: r.id).run_id
        out[line_id] = sorted((r for r in found if r.run_id == run), key=lambda r: (r.position, r.id))
    return out


def _limit(q, limit: int | None):
    if limit is not None:
        if limit < 1:
            raise IcdCoderError("--limit must be at least 1")
        q = q.limit(limit)
    return q


def list_diagnoses(
    engine: Engine,
    status: str | None = None,
    record: str | None = None,
    limit: int | None = None,
    system: str | None = None,
) -> list[dict[str, Any]]:
    q = select(diagnosis).order_by(diagnosis.c.record_id, diagnosis.c.kind, diagnosis.c.seq_no)
    if status:
        if status not in STATUSES:
            raise IcdCoderError(f"unknown status {status!r}; choose from {', '.join(STATUSES)}")
        q = q.where(diagnosis.c.status == status)
    if record:
        q = q.where(diagnosis.c.record_id == record)
    if system:
        q = q.where(lines_of(system))
    with engine.connect() as conn:
        rows = conn.execute(_limit(q, limit)).all()
    return [
        {
            "id": r.id,
            "record_id": r.record_id,
            "seq": r.seq_no,
            "kind": r.kind,
            "system": system_of_kind(r.kind),
            "description": r.description,
            "status": r.status,
            "code": r.code,  # the first
            "codes": list(line_codes(r.code, r.other_codes)),
            "coded_by": r.coded_by,
            "fail_reason": r.fail_reason,
        }
        for r in rows
    ]


def cue_of(r, normalized: str | None) -> dict[str, Any] | None:
    """The cue that stopped an uncertain or negated line, from its failure row's cue columns
    (`guard_id`, `guard_version`, `cue_start`, `cue_end`) and normalized text: the words, their
    place and the guard; None for any other failure, and for one logged before migration 0015 or by
    an in-database engine (which do not record it)."""
    if r.guard_version is None or normalized is None:
        return None
    return {
        "text": normalized[r.cue_start : r.cue_end],
        "start": r.cue_start,
        "end": r.cue_end,
        "guard_id": r.guard_id,
        "guard_version": r.guard_version,
    }


def list_failures(
    engine: Engine,
    reason: str | None = None,
    run: int | None = None,
    limit: int | None = None,
    system: str | None = None,
) -> list[dict[str, Any]]:
    q = (
        select(fail_log, diagnosis.c.record_id, diagnosis.c.description, diagnosis.c.status)
        .join(diagnosis, diagnosis.c.id == fail_log.c.diagnosis_id)
        .order_by(fail_log.c.id)
    )
    if reason:
        if reason not in FAILURE_REASONS:
            raise IcdCoderError(f"unknown reason {reason!r}; choose from {', '.join(FAILURE_REASONS)}")
        q = q.where(fail_log.c.reason == reason)
    if run is not None:
        q = q.where(fail_log.c.run_id == run)
    if system:
        q = q.where(lines_of(system))
    with engine.connect() as conn:
        rows = conn.execute(_limit(q, limit)).all()
    out = []
    for r in rows:
        cands = json.loads(r.candidates) if r.candidates else []
        out.append(
            {
                "id": r.id,
                "diagnosis_id": r.diagnosis_id,
                "run_id": r.run_id,
                "reason": r.reason,
                "candidates": [c["code"] for c in cands],
                "candidate_rules": cands,
                "record_id": r.record_id,
                "description": r.description,
                "normalized": r.normalized,
                "cue": cue_of(r, r.normalized),
                "status_now": r.status,
                "logged_at": r.logged_at.isoformat(timespec="seconds"),
            }
        )
    return out


def _run_dict(r) -> dict[str, Any]:
    return {
        "id": r.id,
        "status": r.status,
        "started_at": r.started_at.isoformat(timespec="seconds"),
        "ended_at": r.ended_at.isoformat(timespec="seconds") if r.ended_at else None,
        "host": r.host,
        "pid": r.pid,
        "engine": r.engine,
        "rulebase_version": r.rulebase_version,
        **{str(key): getattr(r, column) for key, column in RUN_COUNTS.items()},
        "error": r.error,
    }


def list_runs(engine: Engine, limit: int | None = None) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(_limit(select(coding_run).order_by(coding_run.c.id.desc()), limit)).all()
    return [_run_dict(r) for r in rows]


def show_run(engine: Engine, run_id: int) -> dict[str, Any]:
    with engine.connect() as conn:
        r = conn.execute(select(coding_run).where(coding_run.c.id == run_id)).first()
    if r is None:
        raise NotFound(f"no run with id {run_id}")
    return _run_dict(r)
