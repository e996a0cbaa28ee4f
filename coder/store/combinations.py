"""The combination table in the database (rows with history, coder.store.versioned) and what a
run's batch does with it: the combinations applied to the batch's records, in the batch's
transaction.

A combination change does not bump the rule-base version: no line's own decision changes. A new
combination applies to the records whose lines are coded from then on.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

from sqlalchemy import Connection, and_, bindparam, exists, func, literal_column, select, update

from coder.db.models import code_log, combination, combo_history, combo_hit, diagnosis, utcnow
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
_COLUMNS = (
    diagnosis.c.id,
    diagnosis.c.record_id,
    diagnosis.c.kind,
    diagnosis.c.seq_no,
    diagnosis.c.code,
    diagnosis.c.status,
    diagnosis.c.coded_by,
)
_some = select(diagnosis.c.record_id)
_codes = diagnosis.c.code.in_(bindparam("codes", expanding=True))
# The lines holding a source code of the records the batch's lines belong to: coded in this
# batch or before (a record's lines can span batches and runs; the later batch completes it).
LINES_OF_RANGE = select(*_COLUMNS).where(
    _codes, diagnosis.c.record_id.in_(_some.where(diagnosis.c.id.between(bindparam("lo"), bindparam("hi"))))
)
LINES_OF_IDS = select(*_COLUMNS).where(
    _codes, diagnosis.c.record_id.in_(_some.where(diagnosis.c.id.in_(bindparam("ids", expanding=True))))
)

SET_CODE = (
    update(diagnosis)
    .where(diagnosis.c.id == bindparam("d_id"), diagnosis.c.status == Status.CODED.value, diagnosis.c.coded_by == AUTO)
    .values(code=bindparam("c_code"), updated_at=bindparam("c_at"))
)
_latest = select(func.max(code_log.c.id)).where(code_log.c.diagnosis_id == bindparam("d_id")).scalar_subquery()
_here = exists().where(code_log.c.run_id == bindparam("run"), code_log.c.diagnosis_id == bindparam("d_id"))
# A line coded by an earlier run gets a log row in this one, a copy of its latest, so the run's
# log names every line its combination replaced.
COPY_LOG = code_log.insert().from_select(
    [
        "run_id",
        "diagnosis_id",
        "code",
        "rule_id",
        "rule_version",
        "normalized",
        "match_start",
        "match_end",
        "logged_at",
    ],
    select(
        bindparam("run"),
        code_log.c.diagnosis_id,
        code_log.c.code,
        code_log.c.rule_id,
        code_log.c.rule_version,
        code_log.c.normalized,
        code_log.c.match_start,
        code_log.c.match_end,
        bindparam("c_at"),
    ).where(and_(code_log.c.id == _latest, ~_here)),
)
MARK_LOG = (
    update(code_log)
    .where(code_log.c.run_id == bindparam("run"), code_log.c.diagnosis_id == bindparam("d_id"))
    .values(
        code=bindparam("c_code"),
        combination_id=bindparam("c_id"),
        combination_version=bindparam("c_version"),
        source_ids=bindparam("c_sources"),
        source_code=bindparam("c_old"),
    )
)


class Combined(NamedTuple):
    """What one application wrote: combinations applied, lines they replaced, lines marked for review."""

    applied: int
    lines: int
    marked: int


def apply_to_batch(
    conn: Connection, table: Combinations, run_id: int, batch_ids: Sequence[int], stamp: Any = None
) -> Combined:
    """Apply the enabled combinations to the records of a run's batch, in the caller's transaction:
    one read of those records' lines that hold a source code; writes only where one applies."""
    if not table or not batch_ids:
        return Combined(0, 0, 0)
    params: dict[str, Any] = {"codes": sorted(table.by_code)}
    lo, hi = min(batch_ids), max(batch_ids)
    if hi - lo < 2 * len(batch_ids):
        rows = conn.execute(LINES_OF_RANGE, {**params, "lo": lo, "hi": hi}).all()
    else:
        rows = conn.execute(LINES_OF_IDS, {**params, "ids": list(batch_ids)}).all()
    if len(rows) < 2:
        return Combined(0, 0, 0)
    records: dict[str, list[Line]] = {}
    for r in rows:
        auto = (r[5], r[6]) == _AUTO_CODED
        records.setdefault(r[1], []).append(Line(r[0], r[2], r[3], r[4], auto))
    now = utcnow()
    stamp = now if stamp is None else stamp
    sets, logs, marks = [], [], []
    applied = 0
    for lines in records.values():
        if len(lines) < 2:
            continue
        outcome = table.apply(lines)
        for a in outcome.applied:
            applied += 1
            c = a.combination
            sources = ",".join(map(str, a.line_ids))
            for d_id, old in zip(a.line_ids, a.old_codes, strict=True):
                sets.append({"d_id": d_id, "c_code": c.code, "c_at": stamp})
                logs.append(
                    {
                        "run": run_id,
                        "d_id": d_id,
                        "c_code": c.code,
                        "c_id": c.id,
                        "c_version": c.version,
                        "c_sources": sources,
                        "c_old": old,
                        "c_at": stamp,
                    }
                )
        for b in outcome.blocked:
            c = b.combination
            why = (
                f"组合编码 {c.id}（{c.codes} → {c.code}）未应用：第 {','.join(map(str, b.person_ids))} "
                "号诊断为人工编码，请复核"
            )
            marks.extend((d_id, c, why) for d_id in b.auto_ids)
    if sets:
        conn.execute(SET_CODE, sets)
        conn.execute(COPY_LOG, [{k: r[k] for k in ("run", "d_id", "c_at")} for r in logs])
        conn.execute(MARK_LOG, [{k: v for k, v in r.items() if k != "c_at"} for r in logs])
    marked = _write_marks(conn, marks, now) if marks else 0
    return Combined(applied, len(sets), marked)


def _write_marks(conn: Connection, marks: list[tuple[int, Combination, str]], now) -> int:
    ids = sorted({d for d, _, _ in marks})
    standing = set(
        conn.execute(
            select(combo_hit.c.diagnosis_id, combo_hit.c.combo_id).where(
                combo_hit.c.cleared_at.is_(None), combo_hit.c.diagnosis_id.in_(ids)
            )
        ).all()
    )
    new = []
    for d_id, c, why in marks:
        if (d_id, c.id) in standing:
            continue
        standing.add((d_id, c.id))
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
    if new:
        conn.execute(combo_hit.insert(), new)
    return len(new)


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
