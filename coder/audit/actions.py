"""The coders' side of the audit loop: the review queue and the three actions.

A person's code is final: confirm, correct and code set a person status (confirmed, corrected,
manual) that no run touches again (run.sources.work_filter). Acting again on a diagnosis is allowed; the
latest person's word stands and every action stays in audit_action.

A line may carry several codes (two diagnoses in one line): an action takes the line's whole list
(`I25.103,I20.000`), confirm agrees with every code, correct and code give the list the person
decided; audit_action keeps the lists before and after, so each code is judged (reports count a
code the person kept as right, one they removed as wrong, one they added as missed).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, func, select, update

from coder.db.models import (
    PERSON_LENGTH,
    audit_action,
    code_log,
    diagnosis,
    fail_log,
    icd_code,
    line_codes,
    line_columns,
    utcnow,
)
from coder.errors import ActionRefused, IcdCoderError, NotFound
from coder.store import combinations as combination_store
from coder.store import edits as edit_store
from coder.store.codes import code_problem, lines_of, system_of_kind
from coder.store.queries import cue_of, latest_log_rows
from rulebase.codes import code_list
from rulebase.states import AUTO, FAILURE_REASONS, PERSON_STATUSES, ReviewAction, Status

CONFIRM, CORRECT, CODE = ReviewAction.CONFIRM, ReviewAction.CORRECT, ReviewAction.CODE
ACTIONS = tuple(ReviewAction)
PENDING, CODED, FAILED = Status.PENDING, Status.CODED, Status.FAILED
CONFIRMED, CORRECTED, MANUAL = Status.CONFIRMED, Status.CORRECTED, Status.MANUAL


@dataclass(frozen=True)
class Outcome:
    diagnosis_id: int
    action: str
    status: str
    code: str  # the first code
    audit_id: int | None  # None: nothing changed (a re-import of the same decision)
    codes: tuple[str, ...] = ()  # every code of the line, in its order


def _said(codes: tuple[str, ...]) -> str:
    return ",".join(codes)


def _locked(conn: Connection, d_id: int):
    """The diagnosis, locked until the caller's transaction ends, so the status and code recorded as
    replaced are the ones replaced even while a run is coding (PostgreSQL and Oracle: FOR UPDATE;
    SQLite: a write first, which takes the database's write lock before the read)."""
    if conn.dialect.name == "sqlite":
        conn.execute(update(diagnosis).where(diagnosis.c.id == d_id).values(id=diagnosis.c.id))
        return conn.execute(select(diagnosis).where(diagnosis.c.id == d_id)).first()
    return conn.execute(select(diagnosis).where(diagnosis.c.id == d_id).with_for_update()).first()


def _latest(conn: Connection, log, d_id: int):
    return conn.execute(select(log).where(log.c.diagnosis_id == d_id).order_by(log.c.id.desc()).limit(1)).first()


def _target(
    action: str, status: str, current: tuple[str, ...], new: tuple[str, ...], d_id: int
) -> tuple[str, tuple[str, ...]]:
    """(new status, new codes) for an action on a diagnosis in `status`, or ActionRefused saying what to do.
    `new` is empty when the person gave no code."""
    if action == CONFIRM:
        if status in (PENDING, FAILED) or not current:
            raise ActionRefused(
                f"diagnosis {d_id} has no code to confirm (status {status}); code it by hand with: audit code"
            )
        if new and set(new) != set(current):
            raise ActionRefused(
                f"diagnosis {d_id} is coded {_said(current)}, not {_said(new)}; to change it use: audit correct"
            )
        return (CONFIRMED if status == CODED else status), current
    if not new:
        raise ActionRefused(f"diagnosis {d_id}: {action} needs a code")
    if action == CORRECT:
        if status in (PENDING, FAILED):
            raise ActionRefused(f"diagnosis {d_id} was not auto-coded (status {status}); use: audit code")
        if status == MANUAL:
            return MANUAL, new
        if status in (CODED, CONFIRMED) and new == current:
            raise ActionRefused(
                f"diagnosis {d_id} is already coded {_said(current)}; to agree with it use: audit confirm"
            )
        return CORRECTED, new
    if action == CODE:
        if status in (CODED, CONFIRMED, CORRECTED):
            raise ActionRefused(
                f"diagnosis {d_id} is coded {_said(current)} (status {status}); to change the code use: audit correct"
            )
        return MANUAL, new
    raise ActionRefused(f"unknown action {action!r}; choose from {', '.join(ACTIONS)}")


def _replaced_rule(conn: Connection, d_id: int, old: tuple[str, ...], new: tuple[str, ...]):
    """The success-log row of the run's code this action replaces (the first of the line's old codes
    the person dropped; on a confirm, the first code's): the rule the correction answers."""
    latest = latest_log_rows(conn, [d_id]).get(d_id, [])
    dropped = [c for c in old if c not in new] or list(old[:1])
    for code in dropped:
        for r in latest:
            if r.code == code:
                return r
    return None


def apply_action(
    conn: Connection,
    d_id: int,
    action: str,
    person: str,
    code: str | None = None,
    remark: str | None = None,
    skip_unchanged: bool = False,
    expect: tuple[str, str | None] | None = None,
) -> Outcome:
    """Record one review in the caller's transaction. With skip_unchanged, a decision that changes
    nothing (already confirmed, already that code) writes no second row: re-imports are harmless.

    `expect`: the (status, code) the person saw when deciding (the workbench's page). When the line
    has changed since (another coder acted, or a run coded it), nothing is written and the refusal
    names who changed it and when: two coders on one line never overwrite each other silently."""
    person = (person or "").strip()
    if not person:
        raise ActionRefused("who reviewed it is required (--by NAME)")
    if len(person) > PERSON_LENGTH:
        raise ActionRefused(f"the reviewer's name is longer than {PERSON_LENGTH} characters")
    if person.lower() == AUTO:
        raise ActionRefused(f"{AUTO!r} is reserved for icdcoder's own codes; give the coder's name")
    given = code_list(code)
    row = _locked(conn, d_id)
    if row is None:
        raise NotFound(f"no diagnosis with id {d_id}")
    current = line_codes(row.code, row.other_codes)
    if expect is not None and (row.status, current) != (expect[0], code_list(expect[1])):
        raise _changed_meanwhile(conn, row, expect)
    for c in given:
        # A line takes codes of its own system: a procedure line an ICD-9-CM-3 code, the others ICD-10.
        problem = code_problem(conn, c, system_of_kind(row.kind))
        if problem:
            raise ActionRefused(f"diagnosis {d_id}: {problem}", about_code=True)
    status, new_codes = _target(action, row.status, current, given, d_id)
    if action == CONFIRM:
        for c in new_codes:
            problem = code_problem(conn, c)
            if problem:
                raise ActionRefused(f"diagnosis {d_id}: {problem}; to change it use: audit correct", about_code=True)
    try:
        new_code, new_other = line_columns(new_codes)
    except ValueError as exc:
        raise ActionRefused(f"diagnosis {d_id}: {exc}") from None
    if skip_unchanged and (status, new_codes) == (row.status, current) and row.status != CODED:
        return Outcome(d_id, action, status, new_code, None, new_codes)
    failure = _latest(conn, fail_log, d_id) if row.status == FAILED else None
    # The code being replaced came from a rule when it is still the run's code (coded, or
    # confirmed by someone before this correction).
    success = _replaced_rule(conn, d_id, current, new_codes) if row.status in (CODED, CONFIRMED) else None
    if success is None and failure is None:
        success = _latest(conn, code_log, d_id)  # for the normalized text only
    from_rule = success is not None and row.status in (CODED, CONFIRMED) and success.code in current
    now = utcnow()
    audit_id = conn.execute(
        audit_action.insert().values(
            diagnosis_id=d_id,
            action=action,
            person=person,
            acted_at=now,
            old_status=row.status,
            old_code=row.code,
            new_code=new_code,
            old_other_codes=row.other_codes,
            new_other_codes=new_other,
            remark=remark,
            rule_id=success.rule_id if from_rule else None,
            rule_version=success.rule_version if from_rule else None,
            fail_reason=failure.reason if failure is not None else None,
            candidates=failure.candidates if failure is not None else None,
            normalized=(
                failure.normalized if failure is not None else success.normalized if success is not None else None
            ),
        )
    ).inserted_primary_key[0]
    conn.execute(
        update(diagnosis)
        .where(diagnosis.c.id == d_id)
        .values(status=status, code=new_code, other_codes=new_other, coded_by=person, updated_at=now)
    )
    # The code edits look at the record again: a corrected code loses the marks it no longer earns;
    # and the combinations' review marks follow the person's codes.
    edit_store.check_records(conn, edit_store.checker(conn), records=[row.record_id])
    combination_store.check_marks(conn, records=[row.record_id])
    return Outcome(d_id, action, status, new_code, audit_id, new_codes)


def _changed_meanwhile(conn: Connection, row, expect: tuple[str, str | None]) -> ActionRefused:
    """The refusal of a decision taken on a line that changed after the person saw it: who changed
    it (the latest audit row's person, or a coding run) and when. Said in Chinese: only the
    workbench's pages pass `expect`."""
    from coder.imports.lines import STATUS_WORDS

    last = conn.execute(
        select(audit_action.c.person, audit_action.c.acted_at)
        .where(audit_action.c.diagnosis_id == row.id)
        .order_by(audit_action.c.id.desc())
        .limit(1)
    ).first()
    if last is not None and row.status in PERSON_STATUSES:
        who, when = last.person, last.acted_at
    else:  # no person's word on it now: a run (re)coded it
        who, when = "编码运行", row.updated_at

    def said(status: str, code: str | None) -> str:
        return STATUS_WORDS.get(status, status) + (f" {code}" if code else "")

    now_codes = _said(line_codes(row.code, row.other_codes))
    return ActionRefused(
        f"诊断 {row.id} 在您打开页面后已被 {who} 于 {when:%Y-%m-%d %H:%M:%S} (UTC) 修改："
        f"页面显示的是“{said(*expect)}”，现在是“{said(row.status, now_codes)}”。"
        "您的操作未执行，没有覆盖任何内容；请重新打开该诊断后再决定。"
    )


def queue(
    engine: Engine,
    status: str | None = None,
    reason: str | None = None,
    run: int | None = None,
    limit: int | None = None,
    ids: list[int] | None = None,
    system: str | None = None,
    edits: bool = False,
) -> list[dict[str, Any]]:
    """What awaits review, oldest first: auto-codes to confirm or correct, failures to code by hand.
    `edits`: only lines a code edit marks, whatever their status, each with its marks (`edits`)."""
    with engine.connect() as conn:
        rows = conn.execute(queue_query(status, reason, run, limit, ids, system, edits)).all()
        items = [_queue_item(r) for r in rows]
        if edits:
            marks = edit_store.open_marks(conn, [i["diagnosis_id"] for i in items])
            for row, item in zip(rows, items, strict=True):
                item["code"] = row.code  # a person's code too: the edits check every code
                item["edits"] = marks.get(item["diagnosis_id"], [])
    return items


def queue_query(
    status: str | None = None,
    reason: str | None = None,
    run: int | None = None,
    limit: int | None = None,
    ids: list[int] | None = None,
    system: str | None = None,
    edits: bool = False,
):
    statuses = tuple(Status) if edits else (CODED, FAILED)
    if status is not None:
        if status not in statuses:
            raise IcdCoderError(f"unknown queue status {status!r}; choose from {', '.join(statuses)}")
        statuses = (status,)
    if reason is not None and reason not in FAILURE_REASONS:
        raise IcdCoderError(f"unknown reason {reason!r}; choose from {', '.join(FAILURE_REASONS)}")
    last_ok = (
        select(code_log.c.diagnosis_id, func.max(code_log.c.id).label("log_id"))
        .group_by(code_log.c.diagnosis_id)
        .subquery()
    )
    last_fail = (
        select(fail_log.c.diagnosis_id, func.max(fail_log.c.id).label("log_id"))
        .group_by(fail_log.c.diagnosis_id)
        .subquery()
    )
    ok, bad = code_log.alias("ok"), fail_log.alias("bad")
    q = (
        select(
            diagnosis,
            icd_code.c.name.label("code_name"),
            ok.c.normalized.label("ok_norm"),
            ok.c.rule_id,
            ok.c.run_id.label("ok_run"),
            bad.c.normalized.label("bad_norm"),
            bad.c.candidates,
            bad.c.run_id.label("bad_run"),
            bad.c.guard_id,
            bad.c.guard_version,
            bad.c.cue_start,
            bad.c.cue_end,
        )
        .outerjoin(icd_code, icd_code.c.code == diagnosis.c.code)
        .outerjoin(last_ok, last_ok.c.diagnosis_id == diagnosis.c.id)
        .outerjoin(ok, ok.c.id == last_ok.c.log_id)
        .outerjoin(last_fail, last_fail.c.diagnosis_id == diagnosis.c.id)
        .outerjoin(bad, bad.c.id == last_fail.c.log_id)
        .where(diagnosis.c.status.in_(statuses))
        .order_by(diagnosis.c.attempted_at, diagnosis.c.id)
    )
    if reason is not None:
        q = q.where(diagnosis.c.fail_reason == reason)
    if run is not None:
        q = q.where(
            ((diagnosis.c.status == CODED) & (ok.c.run_id == run))
            | ((diagnosis.c.status == FAILED) & (bad.c.run_id == run))
        )
    if ids is not None:
        q = q.where(diagnosis.c.id.in_(ids))
    if edits:
        q = q.where(diagnosis.c.id.in_(edit_store.marked_lines_query()))
    if system is not None:
        q = q.where(lines_of(system))
    if limit is not None:
        if limit < 1:
            raise IcdCoderError("--limit must be at least 1")
        q = q.limit(limit)
    return q


def _queue_item(r) -> dict[str, Any]:
    failed = r.status == FAILED
    cands = json.loads(r.candidates) if failed and r.candidates else []
    return {
        "diagnosis_id": r.id,
        "record_id": r.record_id,
        "seq": r.seq_no,
        "kind": r.kind,
        "description": r.description,
        "normalized": r.bad_norm if failed else r.ok_norm,
        "status": r.status,
        "auto_code": None if failed else r.code,
        "auto_codes": [] if failed else list(line_codes(r.code, r.other_codes)),
        "auto_code_name": None if failed else r.code_name,
        "rule_id": None if failed else r.rule_id,
        "reason": r.fail_reason if failed else None,
        "cue": cue_of(r, r.bad_norm) if failed else None,
        "candidates": [c["code"] for c in cands],
        "candidate_rules": cands,
        "run_id": r.bad_run if failed else r.ok_run,
    }


QUEUE_COLUMNS = tuple(
    "diagnosis_id record_id description normalized auto_code auto_code_name reason candidates".split()
)


def queue_row(item: dict[str, Any]) -> list[Any]:
    """A queue item as the cells people read (a line's codes and the candidate codes joined), in
    QUEUE_COLUMNS order."""
    cells = [item[k] for k in QUEUE_COLUMNS[:-1]]
    if len(item.get("auto_codes") or ()) > 1:
        cells[QUEUE_COLUMNS.index("auto_code")] = ",".join(item["auto_codes"])
    return cells + [", ".join(item["candidates"])]
