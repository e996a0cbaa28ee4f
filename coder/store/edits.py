"""The code edits in the database: the table (rows with history, like normalization entries) and
the marks they leave on lines (edit_hit), written by one function every check goes through.

A check reads all lines of the records it is given, with their homepage's sex and age, runs the
pure checker (rulebase.edits.Checker), and brings the open marks of those lines in line with its
hits: new ones inserted, those no longer found cleared (cleared_at). It never touches a code.
Like the other stores, every function takes an open Connection and leaves the transaction to
the caller: a run's batch and an audit action check inside their own transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple

from sqlalchemy import Connection, bindparam, exists, func, or_, select, update

from coder.db.models import (
    code_edit,
    code_log,
    diagnosis,
    edit_history,
    edit_hit,
    homepage,
    icd_code,
    line_codes,
    utcnow,
)
from coder.db.raw import driver_rows
from rulebase.edits import Checker, CodeEdit, EditHit, EditInvalid, EditLine, Patient
from rulebase.states import EditKind

from .history import require_author, rulebase_version
from .versioned import Versioned

EDITS = Versioned(
    table=code_edit,
    history_table=edit_history,
    history_key="edit_id",
    columns={
        name: name
        for name in ("kind", "codes", "other_codes", "sex", "min_days", "max_days", "message", "enabled", "note")
    },
    make=CodeEdit,
    noun="code edit",
    invalid=EditInvalid,
)
EDITABLE = EDITS.editable
fields_of = EDITS.fields_of
CHUNK = 500  # record ids per IN (...): Oracle takes at most 1,000


# --- the table ------------------------------------------------------------------------------------


def load(conn: Connection, include_disabled: bool = False) -> list[CodeEdit]:
    q = select(code_edit).order_by(code_edit.c.id)
    if not include_disabled:
        q = q.where(code_edit.c.enabled == True)  # noqa: E712 - SQL comparison
    return [EDITS.from_row(r) for r in conn.execute(q)]


def get(conn: Connection, edit_id: int) -> CodeEdit:
    return EDITS.get(conn, edit_id)


def add(conn: Connection, edit: CodeEdit, author: str, reason: str | None) -> CodeEdit:
    """Insert an edit with its history row. No code changes, so the rule-base version stays."""
    require_author(author)
    return EDITS.insert(conn, edit, author, reason, rulebase_version(conn))


def change(conn: Connection, edit_id: int, author: str, reason: str | None, **changes: Any) -> CodeEdit:
    """Change an edit's fields as a new version. A disabled edit's marks are cleared at once (its
    check no longer runs); other changes apply from the next check (`icdcoder edits check`)."""
    require_author(author)
    old = get(conn, edit_id)
    new = EDITS.proposed(old, changes)
    if fields_of(new) == fields_of(old):
        return old
    stored = EDITS.replace(conn, old, new, author, reason, rulebase_version(conn))
    if not stored.enabled:
        conn.execute(
            update(edit_hit)
            .where(edit_hit.c.edit_id == edit_id, edit_hit.c.cleared_at.is_(None))
            .values(cleared_at=utcnow())
        )
    return stored


def history(conn: Connection, edit_id: int) -> list[dict[str, Any]]:
    return EDITS.history(conn, edit_id)


# --- checking records -----------------------------------------------------------------------------

# The lines of some records that have a code or an open mark (a line without either has nothing to
# check or clear: in a run most failed lines), each with whether a line of its kind comes before it
# (the main diagnosis is the first line's first code), its homepage's sex and age (none for a record
# of the long layout) and its open marks (a line with two marks comes twice, a line with none once).
_earlier = diagnosis.alias("earlier")
_LATER = exists().where(
    _earlier.c.record_id == diagnosis.c.record_id,
    _earlier.c.kind == diagnosis.c.kind,
    _earlier.c.seq_no < diagnosis.c.seq_no,
)
_LINES = (
    select(
        diagnosis.c.id,
        diagnosis.c.kind,
        diagnosis.c.seq_no,
        diagnosis.c.code,
        diagnosis.c.other_codes,
        _LATER.label("later"),
        diagnosis.c.record_id,
        homepage.c.sex,
        homepage.c.age,
        edit_hit.c.id.label("hit_id"),
        edit_hit.c.edit_id,
        edit_hit.c.reason,
    )
    .outerjoin(homepage, homepage.c.record_id == diagnosis.c.record_id)
    .outerjoin(edit_hit, (edit_hit.c.diagnosis_id == diagnosis.c.id) & edit_hit.c.cleared_at.is_(None))
    .where(or_(diagnosis.c.code.is_not(None), edit_hit.c.id.is_not(None)))
)
_some = select(diagnosis.c.record_id)
LINES_OF_RECORDS = _LINES.where(diagnosis.c.record_id.in_(bindparam("records", expanding=True)))
LINES_OF_IDS = _LINES.where(
    diagnosis.c.record_id.in_(_some.where(diagnosis.c.id.in_(bindparam("ids", expanding=True))))
)
# A run's batch is mostly a run of consecutive ids: the records of its coded lines are read by the
# id range, which costs no list of parameters; the range's other coded lines' records are checked
# too (a check is idempotent). Only coded lines: a line a run takes holds no code (pending or an
# automatic failure), so a record's codes change only where the batch coded a line.
_coded_in_range = _some.where(diagnosis.c.id.between(bindparam("lo"), bindparam("hi")), diagnosis.c.code.is_not(None))
LINES_OF_RANGE = _LINES.where(diagnosis.c.record_id.in_(_coded_in_range))
_SPAN = 5_000  # ids a range may span however few lines it stands for: a scan of the key, cheaper than a long IN


def _close(ids: Sequence[int], lo: int, hi: int) -> bool:
    """Whether lines lie close enough together to be read by their id range rather than their ids."""
    return hi - lo < max(2 * len(ids), _SPAN)


# The coded lines of an id range whose record has another line or which carry an open mark. A run's
# batch checks the records of these and of the lines whose codes an edit of one code may speak of
# (Checker.quiet); the rest, a record of one line of one quiet code without a mark (most of a run's
# coded lines when records are a line each), are the records check_records would pass over without
# a hit, so they are not read at all.
_other = diagnosis.alias("other")
SHARED_IN_RANGE = select(diagnosis.c.id).where(
    diagnosis.c.id.between(bindparam("lo"), bindparam("hi")),
    diagnosis.c.code.is_not(None),
    or_(
        # id, not *: the record's index holds it, so no row is read (SQLite reads the row for *)
        select(_other.c.id).where(_other.c.record_id == diagnosis.c.record_id, _other.c.id != diagnosis.c.id).exists(),
        exists().where(edit_hit.c.diagnosis_id == diagnosis.c.id, edit_hit.c.cleared_at.is_(None)),
    ),
)


def _line(r) -> EditLine:
    return EditLine(r[0], r[1], r[2], r[3], r[4], bool(r[5]))


CLEAR = update(edit_hit).where(edit_hit.c.id == bindparam("hit_id")).values(cleared_at=bindparam("now"))
# The combination rows of some lines' latest run: which application gave a line which code.
_log = code_log.alias("latest")
COMBINED = select(code_log.c.diagnosis_id, code_log.c.code, code_log.c.combination_id, code_log.c.source_ids).where(
    code_log.c.diagnosis_id.in_(bindparam("ids", expanding=True)),
    code_log.c.combination_id.is_not(None),
    code_log.c.run_id
    == select(func.max(_log.c.run_id)).where(_log.c.diagnosis_id == code_log.c.diagnosis_id).scalar_subquery(),
)
_DUPLICATE = str(EditKind.DUPLICATE)


class Checked(NamedTuple):
    """What one check did: records and lines looked at, marks found new, marks cleared."""

    records: int
    lines: int
    found: int
    cleared: int

    def plus(self, other: Checked) -> Checked:
        return Checked(*(a + b for a, b in zip(self, other, strict=True)))


def active_codes(conn: Connection, codes: Iterable[str] | None = None) -> dict[str, bool]:
    """code -> active, for `codes` (None: the whole dictionary); a code absent is not in it."""
    q = select(icd_code.c.code, icd_code.c.active)
    if codes is not None:
        wanted = sorted(set(codes))
        if not wanted:
            return {}
        if len(wanted) <= CHUNK:
            q = q.where(icd_code.c.code.in_(wanted))
    # From the driver (the whole dictionary is a run's first read): 1/0 or a bool by database.
    return {code: bool(active) for code, active in driver_rows(conn, q)}


def checker(conn: Connection) -> Checker:
    """The enabled edits, ready to check records."""
    return Checker(load(conn))


def check_records(
    conn: Connection,
    check: Checker,
    records: Sequence[str] | None = None,
    batch_ids: Sequence[int] | None = None,
    active: Mapping[str, bool] | None = None,
    by_ids: bool = False,
) -> Checked:
    """Check the records given by id (`records`) or those some lines belong to (`batch_ids`: the
    lines a run's batch coded), and bring the marks on their lines in line with what the edits
    find now.
    `active`: the dictionary's word on the codes (active_codes); None reads it for these lines.
    `by_ids`: read the records by the lines' ids even when they lie close together (a few lines
    of a range, whose range would read every coded line's record in it).
    No enabled edit: nothing read (disabling an edit clears its marks, so none is open)."""
    if not check:
        return Checked(0, 0, 0, 0)
    if batch_ids is not None:
        if not batch_ids:
            return Checked(0, 0, 0, 0)
        lo, hi = min(batch_ids), max(batch_ids)
        if not by_ids and _close(batch_ids, lo, hi):
            rows = conn.execute(LINES_OF_RANGE, {"lo": lo, "hi": hi}).all()
        else:
            rows = conn.execute(LINES_OF_IDS, {"ids": list(batch_ids)}).all()
    else:
        rows = conn.execute(LINES_OF_RECORDS, {"records": list(records or ())}).all()
    if not rows:
        return Checked(0, 0, 0, 0)
    if active is None:
        active = active_codes(conn, {c for r in rows for c in line_codes(r[3], r[4])})
    # Rows by position, not by name: a Row's attribute costs a microsecond, and a batch has thousands.
    by_record: dict[str, list] = {}
    opened: list[tuple] = []
    for r in rows:
        if r[9] is not None:
            opened.append((r[0], r[9], r[10], r[11]))
        lines = by_record.get(r[6])
        if lines is None:
            by_record[r[6]] = [r]
        elif lines[-1][0] != r[0]:  # a line with two marks comes twice, one after the other
            lines.append(r)
    hits: list[EditHit] = []
    doubled: list[list] = []
    decide = check.check
    quiet = check.quiet
    for lines in by_record.values():
        if len(lines) == 1:
            r = lines[0]
            if r[3] is None or (r[4] is None and quiet(r[3], active)):
                continue  # one line, one code no edit of one line speaks of: nothing to find
        elif all(r[3] is None for r in lines):
            continue  # a record without a code has nothing to check
        first = lines[0]
        patient = Patient(first[7], first[8]) if first[7] or first[8] else None
        found = decide([_line(r) for r in lines], patient, active)
        if any(h.kind == _DUPLICATE for h in found):
            doubled.append(lines)  # perhaps one combination's code on its source lines: looked at below
        else:
            hits.extend(found)
    if doubled:
        hits.extend(_checked_with_combinations(conn, check, doubled, active))
    found, cleared = write_marks(conn, hits, opened)
    return Checked(len(by_record), sum(map(len, by_record.values())), found, cleared)


class Coded(NamedTuple):
    """A line a run's batch has just coded, as the batch wrote it."""

    id: int
    code: str
    other_codes: str | None


def check_batch(
    conn: Connection,
    check: Checker,
    coded: Sequence[Coded],
    active: Mapping[str, bool],
    cleared: Sequence[int] = (),
) -> Checked:
    """check_records for the records whose codes a run's batch changed, reading only those that can
    hold a hit or a mark to clear. Of the lines it coded (`coded`): those with several codes or a
    code some edit of one code speaks of, and those SHARED_IN_RANGE names (a record of several
    lines, a line with a mark). Every record of a line whose code it cleared (`cleared`: a failed
    line that held a code set outside the product), by the line's id. Other lines' records are
    not checked again (a range read used to take the range's other coded lines along): they were
    checked when their codes last changed, and `icdcoder edits check` checks all after a table change."""
    if not check:
        return Checked(0, 0, 0, 0)
    done = Checked(0, 0, 0, 0)
    if cleared:
        done = check_records(conn, check, batch_ids=list(cleared), active=active, by_ids=len(cleared) <= CHUNK)
    if not coded:
        return done
    ids = [c.id for c in coded]
    lo, hi = min(ids), max(ids)
    if not _close(ids, lo, hi):
        return done.plus(check_records(conn, check, batch_ids=ids, active=active))  # scattered: every line's record
    quiet = check.quiet
    wanted = {c.id for c in coded if c.other_codes is not None or not quiet(c.code, active)}
    batch = set(ids)
    wanted.update(d_id for (d_id,) in conn.execute(SHARED_IN_RANGE, {"lo": lo, "hi": hi}) if d_id in batch)
    if not wanted:
        return done
    # A few of the batch's lines (records of a line each): read by their ids, for the range would
    # read every coded line's record in it; an IN of at most CHUNK ids (Oracle takes 1,000).
    few = len(wanted) * 4 < len(ids) and len(wanted) <= CHUNK
    return done.plus(check_records(conn, check, batch_ids=sorted(wanted), active=active, by_ids=few))


def _checked_with_combinations(conn: Connection, check: Checker, records: list[list], active) -> list[EditHit]:
    """The records a duplicate edit hit, checked again knowing which of their codes a combination
    gave (one read of those lines' log, done only for them)."""
    ids = [r[0] for lines in records for r in lines]
    together: dict[tuple[int, str], tuple] = {}
    for i in range(0, len(ids), CHUNK):
        for d_id, code, combo_id, sources in conn.execute(COMBINED, {"ids": ids[i : i + CHUNK]}):
            together[(d_id, code)] = (combo_id, sources)
    hits: list[EditHit] = []
    for lines in records:
        first = lines[0]
        patient = Patient(first[7], first[8]) if first[7] or first[8] else None
        hits.extend(check.check([_line(r) for r in lines], patient, active, together))
    return hits


def write_marks(conn: Connection, hits: Sequence[EditHit], opened: Sequence[Any]) -> tuple[int, int]:
    """Insert the hits not yet open, clear the open marks no longer hit (`opened`: the open marks
    as (line id, mark id, edit id, reason)); (inserted, cleared)."""
    standing = {(line_id, edit_id, reason): hit_id for line_id, hit_id, edit_id, reason in opened}
    now = utcnow()
    new = []
    seen = set()
    for h in hits:
        key = (h.line_id, h.edit_id, h.reason[:500])
        if key in seen:
            continue
        seen.add(key)
        if key not in standing:
            new.append(
                {
                    "diagnosis_id": h.line_id,
                    "edit_id": h.edit_id,
                    "edit_version": h.edit_version,
                    "kind": h.kind,
                    "reason": key[2],
                    "found_at": now,
                    "cleared_at": None,
                }
            )
    gone = [{"hit_id": hit_id, "now": now} for key, hit_id in standing.items() if key not in seen]
    if new:
        conn.execute(edit_hit.insert(), new)
    if gone:
        conn.execute(CLEAR, gone)
    return len(new), len(gone)


def check_all(conn: Connection, chunk: int = CHUNK) -> Checked:
    """Check every record that has lines (after the table changed), in chunks of record ids."""
    check = checker(conn)
    if not check:  # no edit runs: no mark stands (disabling clears its marks; this makes sure)
        gone = conn.execute(update(edit_hit).where(edit_hit.c.cleared_at.is_(None)).values(cleared_at=utcnow()))
        return Checked(0, 0, 0, gone.rowcount or 0)
    active = active_codes(conn)
    records = list(conn.execute(select(diagnosis.c.record_id).distinct().order_by(diagnosis.c.record_id)).scalars())
    total = Checked(0, 0, 0, 0)
    for i in range(0, len(records), chunk):
        done = check_records(conn, check, records=records[i : i + chunk], active=active)
        total = total.plus(done)
    return total


# --- reading the marks ----------------------------------------------------------------------------


def open_marks(conn: Connection, line_ids: Sequence[int]) -> dict[int, list[dict[str, Any]]]:
    """line id -> its open marks (edit id, kind, reason, found_at), oldest first."""
    out: dict[int, list[dict[str, Any]]] = {}
    ids = sorted(set(line_ids))
    for i in range(0, len(ids), CHUNK):
        q = (
            select(edit_hit.c.diagnosis_id, edit_hit.c.edit_id, edit_hit.c.kind, edit_hit.c.reason, edit_hit.c.found_at)
            .where(edit_hit.c.cleared_at.is_(None), edit_hit.c.diagnosis_id.in_(ids[i : i + CHUNK]))
            .order_by(edit_hit.c.diagnosis_id, edit_hit.c.id)
        )
        for r in conn.execute(q):
            out.setdefault(r.diagnosis_id, []).append(
                {"edit_id": r.edit_id, "kind": r.kind, "reason": r.reason, "found_at": r.found_at.isoformat()}
            )
    return out


def marked_lines_query():
    """The ids of the lines with an open mark, in id order (a range of ix_edit_hit_open)."""
    return select(edit_hit.c.diagnosis_id).where(edit_hit.c.cleared_at.is_(None)).distinct()


def mark_counts(conn: Connection) -> dict[str, Any]:
    """Lines with an open mark, and open marks' lines by edit kind: both from ix_edit_hit_open."""
    lines = conn.execute(select(func.count()).select_from(marked_lines_query().subquery())).scalar_one()
    by_kind = {
        kind: n
        for kind, n in conn.execute(
            select(edit_hit.c.kind, func.count(edit_hit.c.diagnosis_id.distinct()))
            .where(edit_hit.c.cleared_at.is_(None))
            .group_by(edit_hit.c.kind)
            .order_by(edit_hit.c.kind)
        )
    }
    return {"lines": lines, "by_kind": by_kind}
