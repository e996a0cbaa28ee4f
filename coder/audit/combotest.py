"""Testing combination changes against the audited history before they go live, as rule changes
are (coder.audit.ruletest).

The audited records are those whose lines a person coded, confirmed or corrected. A change of
the combination table can only matter to a record where a person's code is a source or the code
of a changed combination: elsewhere a combination turns a wrong code into another wrong one at
most. For those records each audited line is decided as a run would code it (normalized, the stored
rules, the guard table: a guarded line gets no code), the table before and after is applied to
the record's lines, and each line's codes are compared with the person's (as a set: a line of
several codes is right when it has the person's codes): how many lines (and records) it would
turn right or wrong.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, or_, select

from coder.audit.ruletest import EXAMPLES, audited_where, stored_rule_set
from coder.db.models import diagnosis, line_codes
from coder.store import guards as guardstore
from coder.store import normalization as normstore
from rulebase.codes import ICD10
from rulebase.combinations import Combination, Combinations, Line
from rulebase.decision import guard
from rulebase.guards import Guards

CHUNK = 500  # record ids per IN (...): Oracle takes at most 1,000


@dataclass
class ComboImpact:
    """A combination change judged: audited lines and records it would turn right or wrong."""

    audited: int = 0  # audited lines of the records that could change
    records: int = 0  # those records
    broken: int = 0  # lines coded right before, wrong after
    fixed: int = 0  # wrong before, right after
    records_broken: int = 0  # records right as a whole before, not after
    records_fixed: int = 0
    broken_examples: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "audited": self.audited,
            "records": self.records,
            "broken": self.broken,
            "fixed": self.fixed,
            "records_broken": self.records_broken,
            "records_fixed": self.records_fixed,
            "broken_examples": self.broken_examples,
            "seconds": round(self.seconds, 3),
        }

    def lines(self) -> list[str]:
        out = [
            f"against {self.records} audited records ({self.audited} lines) holding its codes: "
            f"{self.records_fixed} records / {self.fixed} lines would become correctly coded, "
            f"{self.records_broken} records / {self.broken} lines correctly coded would become wrong "
            f"({self.seconds:.2f}s)"
        ]
        if self.broken_examples:
            out.append("  now wrong: " + " | ".join(self.broken_examples))
        return out


def touched(old: Sequence[Combination], new: Sequence[Combination]) -> set[str]:
    """Every code (source or target) of a combination that differs between the tables."""
    before = {c.id: c for c in old}
    after_ids = {c.id for c in new}
    changed = [c for c in new if c.id is None or before.get(c.id) != c]
    changed += [c for c in old if c.id not in after_ids]
    return {code for c in changed for code in (*c.sources, c.code)}


def judge_combinations(conn: Connection, old: Sequence[Combination], new: Sequence[Combination]) -> ComboImpact:
    started = time.perf_counter()
    impact = ComboImpact()
    codes = sorted(touched(old, new))
    if not codes:
        return impact
    wanted = set(codes)
    where = audited_where(ICD10)
    records: set[str] = set()
    for i in range(0, len(codes), CHUNK):
        # A person's other codes may hold one too: those lines are read and looked at here.
        q = select(diagnosis.c.record_id, diagnosis.c.code, diagnosis.c.other_codes).where(
            *where, or_(diagnosis.c.code.in_(codes[i : i + CHUNK]), diagnosis.c.other_codes.is_not(None))
        )
        records.update(r[0] for r in conn.execute(q) if wanted.intersection(line_codes(r[1], r[2])))
    if not records:
        impact.seconds = time.perf_counter() - started
        return impact
    run = _Decider(normstore.normalizer(conn), stored_rule_set(conn, ICD10), guardstore.compiled(conn))
    before, after = Combinations(old), Combinations(new)
    ids = sorted(records)
    for i in range(0, len(ids), CHUNK):
        q = (
            select(diagnosis.c.id, diagnosis.c.record_id, diagnosis.c.kind, diagnosis.c.seq_no)
            .add_columns(diagnosis.c.description, diagnosis.c.code, diagnosis.c.other_codes)
            .where(*audited_where(ICD10, record_ids=ids[i : i + CHUNK]))
            .order_by(diagnosis.c.record_id, diagnosis.c.kind, diagnosis.c.seq_no)
        )
        by_record: dict[str, list] = {}
        for r in conn.execute(q):
            by_record.setdefault(r.record_id, []).append(r)
        for lines in by_record.values():
            _judge_record(lines, run, before, after, impact)
    impact.seconds = time.perf_counter() - started
    return impact


class _Decider:
    """A line's codes as a run would give them: normalized, decided by the stored rules, guarded."""

    def __init__(self, normalizer, rules, guards: Guards):
        self.normalizer, self.rules, self.guards = normalizer, rules, guards

    def codes(self, description: str | None) -> tuple[str, ...]:
        try:
            text = self.normalizer(description or "")
        except TimeoutError:
            return ()
        if not text:
            return ()
        return guard(self.rules.decide(text), self.guards).codes


def _judge_record(rows, run: _Decider, before: Combinations, after: Combinations, impact: ComboImpact) -> None:
    auto = [Line(r.id, r.kind, r.seq_no, run.codes(r.description), True) for r in rows]
    person = {r.id: frozenset(line_codes(r.code, r.other_codes)) for r in rows}
    was, now = _codes_after(auto, before), _codes_after(auto, after)
    impact.records += 1
    impact.audited += len(rows)
    for r in rows:
        right_before, right_after = was[r.id] == person[r.id], now[r.id] == person[r.id]
        if right_before and not right_after:
            impact.broken += 1
            if len(impact.broken_examples) < EXAMPLES:
                said = ",".join(sorted(now[r.id])) or "none"
                impact.broken_examples.append(f"{r.description} ({','.join(sorted(person[r.id]))}, now {said})")
        elif right_after and not right_before:
            impact.fixed += 1
    whole_before = all(was[i] == c for i, c in person.items())
    whole_after = all(now[i] == c for i, c in person.items())
    if whole_before and not whole_after:
        impact.records_broken += 1
    elif whole_after and not whole_before:
        impact.records_fixed += 1


def _codes_after(lines: list[Line], table: Combinations) -> dict[int, frozenset[str]]:
    """Each line's codes (as a set: a line is right when it has the person's codes) after the table."""
    changed = table.apply(lines).codes
    return {ln.id: frozenset(changed.get(ln.id, ln.codes)) for ln in lines}
