"""The coders' pages of the web workbench as use cases: the worklist (counts, filters, paging in the
database), failures grouped by their normalized text and one decision for a whole group, one line
in its record, and the code search.

The worklist's order: the auto-codes to confirm, then the failures by reason (FAILURE_REASONS'
order), each group oldest attempt first (attempted_at, id). Each group is one range of the index
`ix_diagnosis_review` on diagnosis (status, fail_reason, attempted_at, id, kind, code): counted
index-only, and paged by reading the range in order from the page's offset within it (the counts
say which group a page starts in), so a page costs its offset within one group, never a sort. The
log rows, code names and departments are then read for the page's ids only.

A department filter reads the same groups from `ix_diagnosis_department` (department, status,
fail_reason, attempted_at, id): the line carries its homepage's department (copied at import), so
a department's group is a range too, counted and paged like the others.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from rapidfuzz.distance import LCSseq
from sqlalchemy import Connection, Engine, exists, false, func, literal, null, or_, select, union_all

from coder.audit.actions import CODE, CONFIRM, CORRECT, Outcome, apply_action
from coder.db.models import (
    audit_action,
    coding_rule,
    coding_run,
    diagnosis,
    fail_log,
    homepage,
    icd_code,
    line_codes,
)
from coder.errors import ActionRefused, IcdCoderError, NotFound
from coder.services.dictionary import search_codes
from coder.services.suggestions import REFRESH, LineText, suggest_lines
from coder.store import edits as edit_store
from coder.store.codes import ALIAS_JOIN, ascii_lower, lines_of, names_of
from coder.store.queries import cue_of, latest_log_rows
from rulebase.codes import SYSTEMS, code_list, system_of_kind
from rulebase.states import FAILURE_REASONS, Status

__all__ = [
    "ACTIONS",
    "API_LIMIT",
    "Candidate",
    "FailureGroup",
    "Filters",
    "LineView",
    "WorklistItem",
    "WorklistPage",
    "act",
    "api_codes",
    "decide_group",
    "departments",
    "expected_of",
    "failure_groups",
    "line",
    "next_line",
    "parse_expected",
    "worklist",
]

CODED, FAILED = Status.CODED, Status.FAILED
ACTIONS = (CONFIRM, CORRECT, CODE)
# What awaits review, as (status, fail_reason): each is one range of ix_diagnosis_review.
QUEUE_GROUPS: tuple[tuple[str, str | None], ...] = ((CODED, None), *((FAILED, r) for r in FAILURE_REASONS))
MAX_PAGE = 500
API_LIMIT = 20
GROUP_SCAN = 10_000  # failures read to find the groups (the oldest of each reason, no_match first)
d = diagnosis.c


@dataclass(frozen=True)
class Filters:
    """The worklist's filters. `status`: coded (auto-codes to confirm) or failed; `reason`: a failure
    reason (implies failed); `run`: lines whose latest attempt was that run; `department`: 出院科别 of
    the line's homepage; `date_from`/`date_to`: the day of the latest attempt (inclusive, UTC);
    `code`: auto-codes starting with it (Latin letters in any case); `system`: icd10 or icd9cm3."""

    status: str | None = None
    reason: str | None = None
    run: int | None = None
    department: str | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    code: str | None = None
    system: str | None = None

    def checked(self) -> Filters:
        status, reason = self.status or None, self.reason or None
        if status is not None and status not in (CODED, FAILED):
            raise IcdCoderError(f"unknown worklist status {status!r}; choose from {CODED}, {FAILED}")
        if reason is not None:
            if reason not in FAILURE_REASONS:
                raise IcdCoderError(f"unknown reason {reason!r}; choose from {', '.join(FAILURE_REASONS)}")
            if status == CODED:
                raise IcdCoderError("a failure reason filters failures, not auto-codes")
            status = FAILED
        if self.system is not None and self.system not in SYSTEMS:
            raise IcdCoderError(f"unknown code system {self.system!r}; choose from {', '.join(SYSTEMS)}")
        code = (self.code or "").strip() or None
        department = (self.department or "").strip() or None
        return replace(self, status=status, reason=reason, code=code, department=department)

    def groups(self) -> list[tuple[str, str | None]]:
        """The (status, reason) ranges the filters select. Failures have no code: a code filter
        selects auto-codes only."""
        return [
            (s, r)
            for s, r in QUEUE_GROUPS
            if (self.status is None or s == self.status)
            and (self.reason is None or r == self.reason)
            and (self.code is None or s == CODED)
        ]

    def args(self) -> dict[str, Any]:
        """The filters as query-string arguments (for links that keep them)."""
        out = {}
        for key in ("status", "reason", "run", "department", "date_from", "date_to", "code", "system"):
            value = getattr(self, key)
            if key == "status" and self.reason is not None:
                continue  # a reason says failed
            if value is not None:
                out[key] = value.isoformat() if isinstance(value, dt.date) else value
        return out


@dataclass(frozen=True)
class Candidate:
    code: str
    name: str | None
    rule_ids: tuple[int, ...] = ()


@dataclass(frozen=True)
class WorklistItem:
    id: int
    record_id: str
    seq: int
    kind: str
    system: str
    description: str | None
    normalized: str | None
    status: str
    code: str | None
    code_name: str | None
    reason: str | None
    candidates: tuple[Candidate, ...]
    rule_id: int | None
    run_id: int | None
    attempted_at: dt.datetime | None
    department: str | None
    edits: tuple[str, ...] = ()  # the reasons of its open code edit marks
    codes: tuple[str, ...] = ()  # every code of the line (`code` is the first)
    code_names: tuple[str | None, ...] = ()  # their names, in the same order


@dataclass(frozen=True)
class WorklistPage:
    items: list[WorklistItem]
    total: int  # lines of the whole filter (all pages)
    counts: dict[str, int]  # coded, failed and each failure reason, under the filters other than status and reason
    offset: int = 0
    limit: int = 50
    filters: Filters = field(default_factory=Filters)
    edit_count: int = 0  # lines a code edit marks (代码校验), whatever the filters
    edits: bool = False  # this page lists those lines

    @property
    def has_next(self) -> bool:
        return self.offset + len(self.items) < self.total


@dataclass(frozen=True)
class FailureGroup:
    normalized: str
    system: str
    count: int  # failed lines with this text among those read (all of them when `complete`)
    complete: bool
    reasons: tuple[str, ...]
    candidates: tuple[Candidate, ...]
    example_id: int
    example_description: str | None


@dataclass(frozen=True)
class LineView:
    line: dict[str, Any]
    record_lines: list[dict[str, Any]]
    homepage: dict[str, Any] | None
    # the latest run's code_log rows (one per code, by position) as `parts`, each with its rule, and
    # the normalized text cut into `segments` for <mark>; the first part's fields at the top level
    success: dict[str, Any] | None
    failure: dict[str, Any] | None  # the latest fail_log row, its candidates with names
    history: list[dict[str, Any]]
    expected: str  # status|codes as this view shows them (the whole list): the forms' `expected`
    may_confirm: bool
    may_correct: bool
    may_code: bool
    # a failed line's codes learned from similar audited texts (services.suggestions), best first
    suggestions: list[dict[str, Any]] = field(default_factory=list)
    edits: list[dict[str, Any]] = field(default_factory=list)  # its open code edit marks (reasons)


# --- the worklist --------------------------------------------------------------------------------


def _day(value: dt.date) -> dt.datetime:
    return dt.datetime(value.year, value.month, value.day)


_EVERY = object()  # _conditions: every reason
_NEVER = dt.datetime(9999, 12, 31)


def _run_window(conn: Connection, run: int) -> list:
    """The lines whose latest attempt run `run` made: attempted_at from its start to the next run's
    start. Runs never overlap (one holds the lock at a time; shared workers join one run), and a
    run stamps each line it attempts with the time of its batch (also its log row's logged_at), so
    the window is a range of the worklist's index, whatever the size of the run."""
    c = coding_run.c
    started = conn.execute(select(c.started_at).where(c.id == run)).scalar()
    if started is None:
        return [false()]
    after = conn.execute(select(func.min(c.started_at)).where(c.id > run)).scalar()
    return [d.attempted_at >= started, d.attempted_at < (after or _NEVER)]


def _code_prefix(key: str, dialect: str):
    """Codes starting with `key`, Latin letters in either case (as the code search): SQLite's LIKE
    already ignores the case of ASCII letters, and is cheaper there than a function per row."""
    if dialect == "sqlite":
        return d.code.startswith(key, autoescape=True)
    return ascii_lower(d.code).startswith(key.lower(), autoescape=True)


def _conditions(f: Filters, conn: Connection, status, reason=_EVERY) -> list:
    """The WHERE of the lines of `status` (one, or a tuple) and `reason` (None: none; default: every
    reason) under the filters."""
    where = [d.status == status] if isinstance(status, str) else [d.status.in_(status)]
    if reason is not _EVERY:
        where.append(d.fail_reason.is_(None) if reason is None else d.fail_reason == reason)
    if f.system is not None:
        where.append(lines_of(f.system))
    if f.date_from is not None:
        where.append(d.attempted_at >= _day(f.date_from))
    if f.date_to is not None:
        where.append(d.attempted_at < _day(f.date_to) + dt.timedelta(days=1))
    if f.run is not None:
        where.extend(_run_window(conn, f.run))
    if f.code is not None:
        where.append(_code_prefix(f.code, conn.dialect.name))
    if f.department is not None:
        where.append(d.department == f.department)
    return where


def _counts(conn: Connection, f: Filters) -> dict[str, int]:
    """coded, failed and each reason under the filters other than status and reason: an index-only
    count of each (status, reason) range (of the department's index when one is asked for)."""
    counts = {str(CODED): 0, str(FAILED): 0, **{str(r): 0 for r in FAILURE_REASONS}}
    n = func.count().label("n")
    # one count per (status, reason) range: an equality prefix, then any date or run range
    q = union_all(
        *(
            select(
                literal(str(s)).label("status"), (null() if r is None else literal(str(r))).label("reason"), n
            ).where(*_conditions(f, conn, s, r))
            for s, r in QUEUE_GROUPS
            if f.code is None or s == CODED
        )
    )
    for status, reason, number in conn.execute(q):
        if status == CODED:
            counts[CODED] += number
        elif status == FAILED:
            counts[FAILED] += number
            if reason in counts:
                counts[reason] += number
    return counts


def _in_order(conn: Connection, f: Filters, group: tuple[str, str | None], columns, after=None):
    """One (status, reason) range under the filters in the queue's order within it (attempted_at, id),
    as its index reads it. `after`: only the lines after that (attempted_at, id)."""
    q = select(*columns).where(*_conditions(f, conn, *group))
    if after is not None:
        at, at_id = after
        q = q.where(d.attempted_at >= at, or_(d.attempted_at > at, d.id > at_id))
    return q.order_by(d.attempted_at, d.id)


def _count_of(counts: dict[str, int], group: tuple[str, str | None]) -> int:
    return counts[CODED] if group[0] == CODED else counts[group[1]]


def _page_ids(conn: Connection, f: Filters, groups, counts: dict[str, int], offset: int, limit: int) -> list[int]:
    """The page's ids: the groups follow each other (auto-codes, then failures by reason), so the
    counts say which group's range a page starts in and at what offset; each range is read from
    its index in order from there (a deep page costs its offset within one range, never a merge)."""
    ids: list[int] = []
    for group in groups:
        n = _count_of(counts, group)
        if offset >= n:
            offset -= n
            continue
        want = limit - len(ids)
        found = list(conn.execute(_in_order(conn, f, group, [d.id]).offset(offset).limit(want)).scalars())
        ids.extend(found)
        offset = 0
        if len(ids) >= limit:
            break
    return ids


def worklist(
    engine: Engine,
    status: str | None = None,
    reason: str | None = None,
    run: int | None = None,
    department: str | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    code: str | None = None,
    system: str | None = None,
    offset: int = 0,
    limit: int = 50,
    edits: bool = False,
) -> WorklistPage:
    """One page of what awaits review: the auto-codes to confirm, then the failures by reason, each
    oldest attempt first; with the counts per status and reason under the other filters.
    `edits`: the lines a code edit marks instead (代码校验), any status, in id order."""
    f = Filters(status, reason, run, department, date_from, date_to, code, system).checked()
    if offset < 0 or not 1 <= limit <= MAX_PAGE:
        raise IcdCoderError(f"a page starts at 0 and holds 1 to {MAX_PAGE} lines")
    groups = f.groups()
    with engine.connect() as conn:
        counts = None
        if f.code is not None and offset == 0 and groups == [(CODED, None)]:
            # A code filter selects auto-codes only (failures have none), and a rare code's lines
            # are found only by reading the whole range: when the first page holds them all, that
            # one read is the count too.
            ids = list(conn.execute(_in_order(conn, f, (CODED, None), [d.id]).limit(limit + 1)).scalars())
            if len(ids) <= limit:
                counts = {**dict.fromkeys(map(str, (CODED, FAILED, *FAILURE_REASONS)), 0), str(CODED): len(ids)}
        if counts is None:
            counts = _counts(conn, f)
            ids = _page_ids(conn, f, groups, counts, offset, limit)
        total = sum(_count_of(counts, g) for g in groups)
        edit_count = edit_store.mark_counts(conn)["lines"]
        if edits:
            marked = edit_store.marked_lines_query().order_by(edit_store.edit_hit.c.diagnosis_id)
            ids = list(conn.execute(marked.offset(offset).limit(limit)).scalars())
            total = edit_count
        items = _items(conn, ids)
    return WorklistPage(items, total, counts, offset, limit, f, edit_count, edits)


def _latest_logs(conn: Connection, log, ids: list[int]) -> dict[int, Any]:
    """The latest row of `log` for each of `ids` (a page: read by diagnosis_id, never grouped over the log)."""
    latest: dict[int, Any] = {}
    for chunk in _chunks(ids):
        for r in conn.execute(select(log).where(log.c.diagnosis_id.in_(chunk))):
            if r.diagnosis_id not in latest or r.id > latest[r.diagnosis_id].id:
                latest[r.diagnosis_id] = r
    return latest


def _chunks(values: list, size: int = 500):
    """IN lists of at most `size` (Oracle takes 1,000)."""
    for i in range(0, len(values), size):
        yield values[i : i + size]


def _candidates(raw: str | None, names: dict[str, str]) -> tuple[Candidate, ...]:
    cands = json.loads(raw) if raw else []
    return tuple(Candidate(c["code"], names.get(c["code"]), tuple(c.get("rule_ids", ()))) for c in cands)


def _candidate_codes(raw: str | None) -> list[str]:
    return [c["code"] for c in json.loads(raw)] if raw else []


def _items(conn: Connection, ids: list[int]) -> list[WorklistItem]:
    if not ids:
        return []
    rows = {r.id: r for r in conn.execute(select(diagnosis).where(d.id.in_(ids)))}
    ok = {i: parts[0] for i, parts in latest_log_rows(conn, ids).items()}
    bad = _latest_logs(conn, fail_log, ids)
    records = sorted({r.record_id for r in rows.values()})
    depts: dict[str, str | None] = {}
    for chunk in _chunks(records):
        depts.update(
            conn.execute(
                select(homepage.c.record_id, homepage.c.department).where(homepage.c.record_id.in_(chunk))
            ).all()
        )
    # The page's rows are read whole by id, other_codes with them: the worklist's index holds the
    # first code only, and the other codes are needed for the shown lines alone.
    codes = {i: line_codes(r.code, r.other_codes) for i, r in rows.items()}
    names = names_of(
        conn,
        [c for cs in codes.values() for c in cs] + [c for f in bad.values() for c in _candidate_codes(f.candidates)],
    )
    marks = edit_store.open_marks(conn, ids)
    items = []
    for i in ids:
        r = rows[i]
        failed = r.status == FAILED
        log = bad.get(i) if failed else ok.get(i)
        items.append(
            WorklistItem(
                id=r.id,
                record_id=r.record_id,
                seq=r.seq_no,
                kind=r.kind,
                system=system_of_kind(r.kind),
                description=r.description,
                normalized=log.normalized if log is not None else None,
                status=r.status,
                code=r.code,
                code_name=names.get(r.code) if r.code else None,
                reason=r.fail_reason if failed else None,
                candidates=_candidates(log.candidates, names) if failed and log is not None else (),
                rule_id=None if failed or log is None else log.rule_id,
                run_id=log.run_id if log is not None else None,
                attempted_at=r.attempted_at,
                department=depts.get(r.record_id),
                edits=tuple(m["reason"] for m in marks.get(i, ())),
                codes=codes[i],
                code_names=tuple(names.get(c) for c in codes[i]),
            )
        )
    return items


def _group_of(status: str, reason: str | None) -> tuple[str, str | None] | None:
    """The worklist group a line is (or was, before a person decided it) in: auto-codes, or failures
    of its reason (a line coded by hand keeps the reason it failed with)."""
    if status in (CODED, Status.CONFIRMED, Status.CORRECTED):
        return (CODED, None)
    if status in (FAILED, Status.MANUAL) and reason:
        return (FAILED, reason)
    return None


def next_line(engine: Engine, line_id: int, filters: Filters | None = None) -> int | None:
    """The worklist line after `line_id` under `filters` (a line page's "next"): the next one of its
    group (also once it has been decided, so "next" goes on from where the coder is), then the
    first of the groups after it; the worklist's first line for a line that was in no group."""
    f = (filters or Filters()).checked()
    groups = f.groups()
    with engine.connect() as conn:
        row = conn.execute(select(d.status, d.fail_reason, d.attempted_at).where(d.id == line_id)).first()
        if row is None:
            return None
        mine = _group_of(row.status, row.fail_reason)
        start = groups.index(mine) if mine in groups and row.attempted_at is not None else None
        for i, group in enumerate(groups):
            if start is not None and i < start:
                continue
            after = (row.attempted_at, line_id) if i == start else None
            found = conn.execute(_in_order(conn, f, group, [d.id], after).limit(1)).scalar()
            if found is not None and found != line_id:
                return found
    return None


_DEPARTMENTS: dict[int, tuple[float, list[str]]] = {}
_DEPARTMENTS_FOR = 60.0  # seconds: a new department shows in the filter's list within a minute
_lock = threading.Lock()


def departments(engine: Engine) -> list[str]:
    """The discharge departments of the homepages (the worklist's filter choices), kept a minute."""
    import time

    now = time.monotonic()
    with _lock:
        cached = _DEPARTMENTS.get(id(engine))
        if cached is not None and now - cached[0] < _DEPARTMENTS_FOR:
            return cached[1]
    with engine.connect() as conn:
        names = list(
            conn.execute(
                select(homepage.c.department)
                .where(homepage.c.department.is_not(None))
                .distinct()
                .order_by(homepage.c.department)
                .limit(1000)
            ).scalars()
        )
    with _lock:
        _DEPARTMENTS[id(engine)] = (now, names)
    return names


# --- failures grouped by their normalized text ---------------------------------------------------


def failure_groups(
    engine: Engine,
    reason: str | None = None,
    run: int | None = None,
    department: str | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    system: str | None = None,
    limit: int = 50,
    scan: int = GROUP_SCAN,
) -> list[FailureGroup]:
    """Failed lines grouped by the normalized text of their latest failure (and code system), most
    lines first, each with its reasons, candidates and an example line. The oldest `scan` failures of
    the filter are read (so the page stays fast at any size); a group's `complete` says its count
    is of every such failure, not of those read only. Lines without text are not grouped."""
    f = Filters(FAILED, reason, run, department, date_from, date_to, None, system).checked()
    groups = f.groups()
    if not groups:
        return []
    with engine.connect() as conn:
        # A window of failures, no_match first (ids and kinds, read from the index in order, not
        # merged: any window serves), then each one's latest failure.
        branches = [_in_order(conn, f, g, [d.id.label("id"), d.kind]).limit(scan + 1) for g in groups]
        if len(branches) > 1:
            branches = [select(union_all(*(select(b.subquery()) for b in branches)).subquery())]
        window = branches[0].limit(scan + 1).subquery()
        latest: dict[int, tuple] = {}  # line id -> (log id, kind, normalized, reason, candidates)
        for line_id, *log in conn.execute(
            select(window.c.id, fail_log.c.id, window.c.kind)
            .add_columns(fail_log.c.normalized, fail_log.c.reason, fail_log.c.candidates)
            .select_from(window)
            .join(fail_log, fail_log.c.diagnosis_id == window.c.id)
        ):
            seen = latest.get(line_id)
            if seen is None or log[0] > seen[0]:
                latest[line_id] = log
        complete = len(latest) <= scan
        found: dict[tuple[str, str], list[int]] = {}
        for line_id in sorted(latest)[:scan]:
            _, kind, text, _, _ = latest[line_id]
            if text and not text.isspace():
                found.setdefault((system_of_kind(kind), text), []).append(line_id)
        ranked = sorted(found.items(), key=lambda kv: (-len(kv[1]), kv[0][1], kv[0][0]))[:limit]
        names = names_of(conn, [c for _, ids in ranked for c in _candidate_codes(latest[ids[0]][4])])
        descriptions = dict(conn.execute(select(d.id, d.description).where(d.id.in_([i[0] for _, i in ranked]))).all())
    return [
        FailureGroup(
            normalized=text,
            system=system_,
            count=len(ids),
            complete=complete,
            reasons=tuple(sorted({latest[i][3] for i in ids})),
            candidates=_candidates(latest[ids[0]][4], names),
            example_id=ids[0],
            example_description=descriptions.get(ids[0]),
        )
        for (system_, text), ids in ranked
    ]


def decide_group(
    engine: Engine,
    normalized: str,
    action: str,
    code: str,
    person: str,
    system: str | None = None,
    reason: str | None = None,
    remark: str | None = None,
) -> int:
    """Code by hand every failed line (of `system`, default: the first code's; of `reason`, if given)
    whose latest failure's normalized text is `normalized`: apply_action line by line in one
    transaction, all or nothing. `code` may be a list (`I25.103,I20.000`): each line gets them all.
    Returns how many lines were coded (0: none is left, another coder was first)."""
    if action != CODE:
        raise ActionRefused("a group of failed lines is coded by hand (code); confirm and correct are for one line")
    given = code_list(code)
    if not given:
        raise ActionRefused("coding a group needs a code")
    code = ",".join(given)
    if not normalized:
        raise ActionRefused("a group needs its normalized text")
    with engine.begin() as conn:
        if system is None:
            system = conn.execute(select(icd_code.c.code_system).where(icd_code.c.code == given[0])).scalar()
        later = fail_log.alias("later")
        q = (
            select(fail_log.c.diagnosis_id)
            .join(diagnosis, d.id == fail_log.c.diagnosis_id)
            .where(
                fail_log.c.normalized == normalized,
                d.status == FAILED,
                ~exists().where(later.c.diagnosis_id == fail_log.c.diagnosis_id, later.c.id > fail_log.c.id),
            )
            .order_by(fail_log.c.diagnosis_id)
        )
        if system is not None:
            q = q.where(lines_of(system))
        if reason:
            q = q.where(d.fail_reason == reason)
        ids = list(conn.execute(q).scalars())
        for line_id in ids:
            # expect: a line another coder (or a run) handled since it was selected refuses the whole group
            apply_action(conn, line_id, CODE, person, code, remark, expect=(FAILED, None))
    return len(ids)


# --- one line ------------------------------------------------------------------------------------


def expected_of(status: str, codes: str | Sequence[str] | None) -> str:
    """What a page sends back as `expected`: the line's status and codes as it showed them (every
    code of the line, comma-separated: apply_action compares the whole list)."""
    said = codes if codes is None or isinstance(codes, str) else ",".join(codes)
    return f"{status}|{said or ''}"


def parse_expected(value: str | None) -> tuple[str, str | None] | None:
    if not value or "|" not in value:
        return None
    status, _, code = value.partition("|")
    return status, (code or None)


def line(engine: Engine, line_id: int) -> LineView:
    """A line in its record: the record's lines, its homepage, the rule that fired with its span,
    the failure's candidates, the names of the codes, and the line's audit history."""
    with engine.connect() as conn:
        row = conn.execute(select(diagnosis).where(d.id == line_id)).first()
        if row is None:
            raise NotFound(f"no diagnosis with id {line_id}")
        siblings = conn.execute(
            select(diagnosis).where(d.record_id == row.record_id).order_by(d.kind, d.seq_no, d.id)
        ).all()
        page = conn.execute(select(homepage).where(homepage.c.record_id == row.record_id)).first()
        parts = latest_log_rows(conn, [line_id]).get(line_id, [])
        ok = parts[0] if parts else None
        bad = _latest_logs(conn, fail_log, [line_id]).get(line_id)
        history = conn.execute(
            select(audit_action).where(audit_action.c.diagnosis_id == line_id).order_by(audit_action.c.id)
        ).all()
        codes = [c for s in siblings for c in line_codes(s.code, s.other_codes)]
        codes += [c for h in history for c in (*_old_codes(h), *_new_codes(h))]
        codes += _candidate_codes(bad.candidates if bad is not None else None) + [p.code for p in parts]
        names = names_of(conn, codes)
        edit_marks = edit_store.open_marks(conn, [line_id]).get(line_id, [])
        rules = {}
        if parts:
            wanted = {p.rule_id for p in parts}
            rules = {r.id: r for r in conn.execute(select(coding_rule).where(coding_rule.c.id.in_(wanted)))}
        run_names = {}
        run_ids = {x.run_id for x in (ok, bad) if x is not None}
        if run_ids:
            run_names = {
                r.id: r.started_at for r in conn.execute(select(coding_run).where(coding_run.c.id.in_(run_ids)))
            }
        suggested = []
        if row.status == FAILED:
            text = LineText(row.id, row.kind, bad.normalized if bad is not None else None, row.description)
            suggested = suggest_lines(conn, [text], stale_ok=REFRESH)[row.id]
    status, code = row.status, row.code
    success = _success(parts, rules, names, run_names) if parts else None
    failure = None
    if bad is not None and (ok is None or status == FAILED or bad.logged_at > ok.logged_at):
        failure = {
            "run_id": bad.run_id,
            "run_started_at": run_names.get(bad.run_id),
            "reason": bad.reason,
            "normalized": bad.normalized,
            "cue": cue_of(bad, bad.normalized),
            "candidates": _candidates(bad.candidates, names),
            "logged_at": bad.logged_at,
        }
    return LineView(
        line=_line_dict(row, names) | {"updated_at": row.updated_at, "attempted_at": row.attempted_at},
        record_lines=[_line_dict(s, names) | {"current": s.id == line_id} for s in siblings],
        homepage=None
        if page is None
        else {
            k: getattr(page, k)
            for k in (
                "record_id",
                "mrn",
                "admission_no",
                "sex",
                "age",
                "birth_date",
                "admitted_at",
                "discharged_at",
                "department",
                "discharge_text",
            )
        },
        success=success,
        failure=failure,
        history=[
            {
                "id": h.id,
                "action": h.action,
                "person": h.person,
                "acted_at": h.acted_at,
                "old_status": h.old_status,
                "old_code": h.old_code,
                "old_name": names.get(h.old_code) if h.old_code else None,
                "new_code": h.new_code,
                "new_name": names.get(h.new_code),
                "old_codes": _old_codes(h),
                "old_code_names": tuple(names.get(c) for c in _old_codes(h)),
                "new_codes": _new_codes(h),
                "new_code_names": tuple(names.get(c) for c in _new_codes(h)),
                "remark": h.remark,
                "rule_id": h.rule_id,
                "rule_version": h.rule_version,
            }
            for h in history
        ],
        expected=expected_of(status, line_codes(code, row.other_codes)),
        # What apply_action accepts (audit.actions._target): confirm a code, correct a line that has
        # one (a person's code included), code one that has none.
        may_confirm=status not in (Status.PENDING, FAILED) and code is not None,
        may_correct=status not in (Status.PENDING, FAILED),
        may_code=status in (Status.PENDING, FAILED),
        suggestions=suggested,
        edits=edit_marks,
    )


def _old_codes(h) -> tuple[str, ...]:
    return line_codes(h.old_code, h.old_other_codes)


def _new_codes(h) -> tuple[str, ...]:
    return line_codes(h.new_code, h.new_other_codes)


def _rule_dict(rule) -> dict[str, Any] | None:
    if rule is None:
        return None
    return {
        "pattern": rule.pattern,
        "exclude": rule.exclude_pattern,
        "version": rule.version,
        "enabled": bool(rule.enabled),
        "priority": rule.priority,
    }


def segments(text: str, spans: list[tuple[int, int]]) -> list[dict[str, Any]]:
    """`text` cut at the spans, for <mark>: [{"text", "part"}], `part` the index of the span a piece
    is the match of, None between them. The spans of one line's codes do not overlap (overlapping
    codes make the line ambiguous); should they, a later span is clipped to start after the earlier."""
    pieces: list[dict[str, Any]] = []
    at = 0
    for part, (start, end) in sorted(enumerate(spans), key=lambda x: (x[1][0], x[1][1], x[0])):
        start, end = max(start, at, 0), min(end, len(text))
        if start >= end:
            continue
        if start > at:
            pieces.append({"text": text[at:start], "part": None})
        pieces.append({"text": text[start:end], "part": part})
        at = end
    if at < len(text) or not pieces:
        pieces.append({"text": text[at:], "part": None})
    return pieces


def _success(parts: list, rules: dict[int, Any], names: dict[str, str], run_names: dict) -> dict[str, Any]:
    """The latest run's codes of a line: each with its rule (as logged and as it is now), its span
    and, for a combination code, the combination row and the lines it combined; the first code's
    fields at the top level, and the normalized text cut at every code's span."""
    text = parts[0].normalized
    shown = []
    for p in parts:
        shown.append(
            {
                "position": p.position,
                "code": p.code,
                "code_name": names.get(p.code),
                "rule_id": p.rule_id,
                "rule_version": p.rule_version,
                "rule": _rule_dict(rules.get(p.rule_id)),
                "start": p.match_start,
                "end": p.match_end,
                "match": p.normalized[p.match_start : p.match_end],
                "combination_id": p.combination_id,
                "combination_version": p.combination_version,
                "source_code": p.source_code,
                "source_ids": [int(i) for i in (p.source_ids or "").split(",") if i.strip().isdigit()],
            }
        )
    first = shown[0]
    return {
        **first,
        "run_id": parts[0].run_id,
        "run_started_at": run_names.get(parts[0].run_id),
        "normalized": text,
        # the first code's span cut three ways (as before several codes a line)
        "before": text[: first["start"]],
        "after": text[first["end"] :],
        "parts": shown,
        "segments": segments(text, [(p["start"], p["end"]) for p in shown]),
        "logged_at": parts[0].logged_at,
    }


def _line_dict(r, names: dict[str, str]) -> dict[str, Any]:
    codes = line_codes(r.code, r.other_codes)
    return {
        "id": r.id,
        "record_id": r.record_id,
        "seq": r.seq_no,
        "kind": r.kind,
        "system": system_of_kind(r.kind),
        "description": r.description,
        "status": r.status,
        "code": r.code,
        "code_name": names.get(r.code) if r.code else None,
        "codes": codes,
        "code_names": tuple(names.get(c) for c in codes),
        "coded_by": r.coded_by,
        "fail_reason": r.fail_reason,
    }


def act(
    engine: Engine,
    line_id: int,
    action: str,
    person: str,
    code: str | None = None,
    remark: str | None = None,
    expected: str | tuple[str, str | None] | None = None,
) -> Outcome:
    """Confirm, correct or code one line as `person`, refused (naming who and when) if it changed since
    the page showed it as `expected` (status|code)."""
    if action not in ACTIONS:
        raise ActionRefused(f"unknown action {action!r}; choose from {', '.join(ACTIONS)}")
    expect = parse_expected(expected) if isinstance(expected, str) or expected is None else expected
    with engine.begin() as conn:
        return apply_action(conn, line_id, action, person, code, (remark or "").strip() or None, expect=expect)


# --- the code search -----------------------------------------------------------------------------


@dataclass
class _Dictionary:
    """The names and aliases of one system's active codes, for fuzzy search: kept until the
    dictionary changes (its count or latest update)."""

    signature: tuple
    codes: list[str]
    texts: list[str]  # lower-cased name or alias, one per entry
    names: dict[str, str]
    by_char: dict[str, list[int]]


_dictionaries: dict[tuple[int, str | None], _Dictionary] = {}
FUZZY_MIN = 0.6  # share of the query's characters that must appear, in order, in a name or alias
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def _dictionary(engine: Engine, system: str | None) -> _Dictionary:
    c = icd_code.c
    active = [c.active == True]  # noqa: E712 (SQL, not Python)
    if system:
        active.append(c.code_system == system)
    with engine.connect() as conn:
        signature = tuple(conn.execute(select(func.count(), func.max(c.updated_at)).where(*active)).one())
        key = (id(engine), system)
        with _lock:
            cached = _dictionaries.get(key)
        if cached is not None and cached.signature == signature:
            return cached
        rows = conn.execute(select(c.code, c.name, c.aliases).where(*active).order_by(c.code)).all()
    codes, texts, names, by_char = [], [], {}, {}
    for code, name, aliases in rows:
        names[code] = name
        for text in [name, *(aliases.split(ALIAS_JOIN) if aliases else [])]:
            text = text.translate(_ASCII_LOWER)
            i = len(texts)
            codes.append(code)
            texts.append(text)
            for ch in set(text):
                by_char.setdefault(ch, []).append(i)
    built = _Dictionary(signature, codes, texts, names, by_char)
    with _lock:
        _dictionaries[key] = built
    return built


def _fuzzy(book: _Dictionary, query: str, limit: int, skip: set[str]) -> list[dict[str, Any]]:
    """Codes whose name or alias holds most of the query's characters in order (the longest common
    subsequence, rapidfuzz's LCSseq), best first: 糖尿病肾病 finds 2型糖尿病性肾病. An index of
    characters picks the few entries worth comparing."""
    q = query.translate(_ASCII_LOWER)
    chars = set(q)
    shared: Counter[int] = Counter()
    for ch in chars:
        shared.update(book.by_char.get(ch, ()))
    need = max(2, math.ceil(len(chars) * FUZZY_MIN))
    pool = [i for i, n in shared.most_common(400) if n >= need and book.codes[i] not in skip]
    best: dict[str, tuple[float, float]] = {}
    for i in pool:
        text = book.texts[i]
        common = LCSseq.similarity(q, text)
        cover = common / len(q)
        if cover >= FUZZY_MIN:
            score = (cover, 2 * common / (len(q) + len(text)))  # difflib's ratio, of the longest match
            code = book.codes[i]
            if code not in best or score > best[code]:
                best[code] = score
    ranked = sorted(best, key=lambda code: (-best[code][0], -best[code][1], code))[:limit]
    return [{"code": code, "name": book.names[code], "match": "fuzzy"} for code in ranked]


def api_codes(engine: Engine, q: str, system: str | None = None, limit: int = API_LIMIT) -> list[dict[str, Any]]:
    """Active codes for a search box: code prefix, then name, then alias (search_codes), then, when
    fewer than `limit`, fuzzy matches of names and aliases; at most `limit`."""
    q = (q or "").strip()[:100]
    if not q:
        return []
    if system is not None and system not in SYSTEMS:
        raise IcdCoderError(f"unknown code system {system!r}; choose from {', '.join(SYSTEMS)}")
    found = [
        {"code": r["code"], "name": r["name"], "match": "search"}
        for r in search_codes(engine, q, system=system, limit=limit * 3)
        if r["active"]
    ][:limit]
    if len(found) < limit and len(q) >= 2:
        found += _fuzzy(_dictionary(engine, system), q, limit - len(found), {r["code"] for r in found})
    return found
