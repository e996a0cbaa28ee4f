"""Testing rule changes against the audited history before they go live.

The audited history is every diagnosis a person coded, confirmed or corrected. A change (rules
added, edited, disabled) is judged by what the rule base would decide on those texts before and
after: which person codes each changed rule reproduces (true positives) or contradicts (false
positives), which it misses, which new ambiguities it creates, and how many correct codes the
change would turn wrong. Distinct normalized texts are evaluated once and weighted by their count.
"""

from __future__ import annotations

import datetime as dt
import time
from bisect import bisect_right
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, func, select

from coder.audit import cache
from coder.db.models import audited, diagnosis, homepage
from coder.errors import ChangeRefused
from coder.store import guards as guardstore
from coder.store import normalization as normstore
from coder.store import settings
from coder.store.codes import lines_of, systems_of
from rulebase.codes import SYSTEMS
from rulebase.decision import Decision, Hit, guard, merge, resolve
from rulebase.engine import RuleSet
from rulebase.guards import Guards
from rulebase.rule import Rule
from rulebase.states import Matching, Outcome
from rulebase.verify import DEFAULT_TIMEOUT, compile_pattern

EXAMPLES = 3


@dataclass
class Audited:
    """One distinct normalized text of the audited history and the codes persons gave it."""

    text: str
    codes: Counter
    example: str  # one description as written, for showing

    @property
    def total(self) -> int:
        return sum(self.codes.values())


class History:
    """The audited texts with what judging one change after another reads of them again: each
    code's texts and lines, and the texts joined into one string, so that finding the texts a
    changed rule may match is one automaton pass (normalized text holds no line break)."""

    def __init__(self, texts: Sequence[Audited]):
        self.texts = list(texts)
        self.code_totals: Counter = Counter()  # lines per code (a line of two codes counts for each)
        self.by_code: dict[str, list[int]] = {}
        self.total = 0  # audited lines
        starts, at = [], 0
        for i, a in enumerate(self.texts):
            for key, n in a.codes.items():
                self.total += n
                for code in truth_of(key):
                    self.code_totals[code] += n
                    found = self.by_code.setdefault(code, [])
                    if not found or found[-1] != i:
                        found.append(i)
            starts.append(at)
            at += len(a.text) + 1
        self.starts = starts
        self.joined = "\n".join(a.text for a in self.texts)

    def holding(self, sets: Sequence[RuleSet]) -> list[int] | None:
        """The texts (by index, in order) that a rule of these sets may match: those holding one of
        their automaton's words; None when a set has a rule without one (every text is tried)."""
        if any(s.always for s in sets):
            return None
        found: set[int] = set()
        for s in sets:
            for _, start, _ in s.find(self.joined, True):
                found.add(bisect_right(self.starts, start) - 1)
        return sorted(found)


def line_day():
    """The day a line of the history belongs to, the one definition (mining's --since/--until,
    evaluate's split): its homepage's discharge, as a department counts its cases, else (a line
    imported without a homepage) the day of the person's last action on it. Select from DATED."""
    return func.coalesce(homepage.c.discharged_at, diagnosis.c.updated_at)


DATED = diagnosis.outerjoin(homepage, homepage.c.record_id == diagnosis.c.record_id)


def audited_where(
    system: str | None = None,
    *,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    code_prefix: str | None = None,
    record_ids: Iterable[str] | None = None,
) -> list:
    """The conditions for the audited lines (a person's status and code) of `system`, dated
    since <= line_day() < until, whose code starts with `code_prefix`, of those records."""
    where = [audited(), diagnosis.c.code.is_not(None)]
    if system is not None:
        where.append(lines_of(system))
    if since is not None:
        where.append(line_day() >= since)
    if until is not None:
        where.append(line_day() < until)
    if code_prefix:
        where.append(diagnosis.c.code.startswith(code_prefix, autoescape=True))
    if record_ids is not None:
        where.append(diagnosis.c.record_id.in_(list(record_ids)))
    return where


def load_audited(
    conn: Connection,
    system: str | None = None,
    *,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    code_prefix: str | None = None,
    record_ids: Iterable[str] | None = None,
    several: bool = True,
) -> list[Audited]:
    """The audited history (of the lines of `system`, when given) by normalized text; the
    keywords narrow it as `audited_where` says (until is exclusive). A line a person gave several
    codes counts under their list (`I25.103,I20.000`, `truth_of` reads it back); `several` False
    leaves such lines out (the miner learns one code a text)."""
    normalizer = normstore.normalizer(conn)
    where = audited_where(system, since=since, until=until, code_prefix=code_prefix, record_ids=record_ids)
    if not several:
        where.append(diagnosis.c.other_codes.is_(None))
    q = (
        select(diagnosis.c.description, diagnosis.c.code, diagnosis.c.other_codes, func.count().label("n"))
        .where(*where)
        .group_by(diagnosis.c.description, diagnosis.c.code, diagnosis.c.other_codes)
    )
    if since is not None or until is not None:  # only a dated query needs the homepage
        q = q.select_from(DATED)
    by_text: dict[str, Audited] = {}
    for description, first, other, n in conn.execute(q):
        code = first if other is None else f"{first},{other}"
        try:
            text = normalizer(description)
        except TimeoutError:  # cannot be judged: the run would give it no code either
            continue
        if not text:
            continue
        a = by_text.get(text)
        if a is None:
            a = by_text[text] = Audited(text, Counter(), description)
        a.codes[code] += n
    return list(by_text.values())


@dataclass
class RuleReport:
    """What one rule (as it would be after the change) does on the audited history."""

    rule: Rule
    matches: int = 0
    true_positives: int = 0
    false_positives: Counter = field(default_factory=Counter)
    false_negatives: int = 0
    fp_examples: dict[str, list[str]] = field(default_factory=dict)
    fn_examples: list[str] = field(default_factory=list)
    collisions: Counter = field(default_factory=Counter)  # other rule id -> audited diagnoses made ambiguous
    collision_examples: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "rule_id": self.rule.id,
            "code": self.rule.code,
            "pattern": self.rule.pattern,
            "exclude": self.rule.exclude,
            "matches": self.matches,
            "true_positives": self.true_positives,
            "false_positives": sum(self.false_positives.values()),
            "false_positive_codes": [
                {"code": c, "count": n, "examples": self.fp_examples.get(c, [])}
                for c, n in self.false_positives.most_common()
            ],
            "false_negatives": self.false_negatives,
            "missed_examples": self.fn_examples,
            "collisions": [{"rule_id": r, "count": n} for r, n in self.collisions.most_common()],
            "collision_examples": self.collision_examples,
        }

    def lines(self, label: str) -> list[str]:
        fp = sum(self.false_positives.values())
        out = [
            f"{label}: matches {self.matches} audited lines: {self.true_positives} coded {self.rule.code} "
            f"by persons (true positives), {fp} coded otherwise (false positives); "
            f"misses {self.false_negatives} coded {self.rule.code} (false negatives)"
        ]
        for code, n in self.false_positives.most_common(5):
            out.append(f"  false positive {code} x{n}: " + " | ".join(self.fp_examples.get(code, [])))
        if self.fn_examples:
            out.append("  missed: " + " | ".join(self.fn_examples))
        if self.collisions:
            out.append(
                "  new ambiguities with "
                + ", ".join(f"rule {r} (x{n})" for r, n in self.collisions.most_common())
                + ((": " + " | ".join(self.collision_examples)) if self.collision_examples else "")
            )
        return out


@dataclass
class Impact:
    """The change as a whole: per-rule reports and correct codes gained or lost."""

    audited: int
    reports: list[RuleReport]
    broken: int = 0  # audited diagnoses the rule base coded right before and not after
    fixed: int = 0  # coded right after, not before
    broken_examples: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "audited": self.audited,
            "rules": [r.to_json() for r in self.reports],
            "broken": self.broken,
            "fixed": self.fixed,
            "broken_examples": self.broken_examples,
            "seconds": round(self.seconds, 3),
        }

    def lines(self) -> list[str]:
        out = []
        for r in self.reports:
            out += r.lines(f"rule {r.rule.id}" if r.rule.id is not None else (r.rule.where or "new rule"))
        out.append(
            f"against {self.audited} audited lines: {self.fixed} would become correctly coded, "
            f"{self.broken} correctly coded would become wrong or uncoded ({self.seconds:.2f}s)"
        )
        if self.broken_examples:
            out.append("  now wrong: " + " | ".join(self.broken_examples))
        return out


def truth_of(code: str) -> frozenset[str]:
    """The codes a person gave a line, from the history's key (one code, or a list joined by commas)."""
    return frozenset(code.split(","))


def coded_as(d: Decision, code: str) -> bool:
    """Whether `d` codes the line as the person did: the same code, or for a line of several
    diagnoses the same codes (in any order)."""
    if d.outcome != Outcome.CODED:
        return False
    return d.code == code if not d.parts else frozenset(d.codes) == truth_of(code)


def evaluate(
    audited: Sequence[Audited] | History,
    others: Iterable[Rule],
    old: Sequence[Rule],
    new: Sequence[Rule],
    examples: int = EXAMPLES,
    base: RuleSet | None = None,
    left_out: frozenset[int] = frozenset(),
    guards: Guards | None = None,
    strict: bool = False,
) -> Impact:
    """Judge replacing `old` rules by `new` ones in a rule base that also holds `others`.

    Only texts that an old or new rule matches can change; the rest of the rule base decides
    them once (`others`), and `merge` adds the changed rules with the engine's own semantics.
    `base`: the stored rule base already indexed (kept between changes, `audit.cache`); its rules
    with ids in `left_out` (the changed ones) are not counted, and `others` is not read. `guards`:
    the guard table a run applies, so a text the rules would code but a cue guards counts as the
    failure it is (`decision.guard` on the winner's span).
    """
    started = time.perf_counter()
    new_live = [r for r in new if r.enabled]
    reports = {id(r): RuleReport(r) for r in new_live}
    history = audited if isinstance(audited, History) else History(audited)
    code_totals = history.code_totals
    impact = Impact(history.total, list(reports.values()))
    if not history.texts:  # a first import into an empty history: nothing to judge, no rule set to build
        impact.seconds = time.perf_counter() - started
        return impact
    same = lambda s: s  # noqa: E731 - audited texts are normalized already
    old_set = RuleSet([r for r in old if r.enabled], normalizer=same, strict=strict)
    new_set = RuleSet(new_live, normalizer=same, strict=strict)
    others_set: RuleSet | None = None  # the rest of the rule base, built when a changed rule first matches
    by_id = {r.id: r for r in old if r.id is not None}
    by_id.update({r.id: r for r in new_live if r.id is not None})
    hit_texts: dict[int, set[int]] = {id(r): set() for r in new_live}  # texts each new rule matches
    maybe = history.holding([old_set, new_set])  # only these can change
    for i in range(len(history.texts)) if maybe is None else maybe:
        a = history.texts[i]
        old_hits, new_hits = old_set.matching(a.text), new_set.matching(a.text)
        for r in new_hits:
            hit_texts[id(r)].add(i)
        if not old_hits and not new_hits:
            continue
        if base is not None:
            rest = resolve(a.text, [Hit(r) for r in base.matching(a.text) if r.id not in left_out], strict=strict)
        else:
            if others_set is None:
                others_set = RuleSet(others, normalizer=same, strict=strict)
                by_id.update({v.rule.id: v.rule for v in others_set.verifiers if v.rule.id not in by_id})
            rest = others_set.decide(a.text)
        rule_of = by_id.__getitem__ if base is None else lambda i: by_id[i] if i in by_id else base.by_id[i].rule
        before, after = merge(rest, old_hits, rule_of, strict=strict), merge(rest, new_hits, rule_of, strict=strict)
        if guards:
            before, after = _guarded(before, guards, rule_of, new_live), _guarded(after, guards, rule_of, new_live)
        after_codes = {c.code for c in after.candidates} if after.outcome == Outcome.AMBIGUOUS else set()
        for r in new_hits:
            rep = reports[id(r)]
            rep.matches += a.total
            for code, n in a.codes.items():
                if r.code in truth_of(code):
                    rep.true_positives += n
                else:
                    rep.false_positives[code] += n
                    ex = rep.fp_examples.setdefault(code, [])
                    if len(ex) < examples:
                        ex.append(a.example)
            if r.code in after_codes:
                newly = before.outcome != Outcome.AMBIGUOUS or {c.code for c in before.candidates} != after_codes
                if newly:
                    for c in after.candidates:
                        if c.code != r.code:
                            for rid in c.rule_ids:
                                rep.collisions[rid] += a.total
                    if len(rep.collision_examples) < examples:
                        rep.collision_examples.append(a.example)
        for code, n in a.codes.items():
            was, now = coded_as(before, code), coded_as(after, code)
            if was and not now:
                impact.broken += n
                if len(impact.broken_examples) < examples:
                    impact.broken_examples.append(f"{a.example} ({code})")
            elif now and not was:
                impact.fixed += n
    for r in new_live:  # the first texts of its code that it does not match
        rep = reports[id(r)]
        for i in history.by_code.get(r.code, ()):
            if len(rep.fn_examples) >= examples:
                break
            if i not in hit_texts[id(r)]:
                rep.fn_examples.append(history.texts[i].example)
    for rep in impact.reports:
        rep.false_negatives = code_totals.get(rep.rule.code, 0) - rep.true_positives
    impact.seconds = time.perf_counter() - started
    return impact


def _guarded(d: Decision, guards: Guards, rule_of: Callable[[int], Rule], new: Sequence[Rule]) -> Decision:
    """`decision.guard` on a decision `merge` made (which carries no span): the winner's span found
    first, only when a cue occurs in the text at all. A new rule has no id yet: the winner is the new
    rule of the decided code."""
    if d.outcome != Outcome.CODED or not guards.occurrences(d.normalized):
        return d
    if d.rule_id is not None:
        winner = rule_of(d.rule_id)
    else:
        winner = next(r for r in new if r.id is None and r.code == d.code)
    try:
        span = compile_pattern(winner.parsed, winner.pattern, DEFAULT_TIMEOUT).span(d.normalized)
    except TimeoutError:
        return d._replace(outcome=Outcome.TIMEOUT, code=None, rule_id=None, rule_version=None)
    return guard(d._replace(span=span), guards)


def kept_history(conn: Connection, system: str) -> History:
    """The audited history of `system`, kept between uses (`audit.cache`): rule tests and suggestions."""
    return cache.history(conn, system, lambda: History(load_audited(conn, system)))


def _stored_of(conn: Connection, system: str, rules: list[Rule]) -> list[Rule]:
    systems = systems_of(conn, [r.code for r in rules])
    return [r for r in rules if systems[r.code] == system]


def stored_rule_set(conn: Connection, system: str) -> RuleSet:
    """The stored rules of `system` indexed on normalized text, kept between uses (`audit.cache`)."""
    return cache.rule_set(conn, system, lambda rules: _stored_of(conn, system, rules))


def judge(
    conn: Connection,
    others: Sequence[Rule] | None,
    old: Sequence[Rule],
    new: Sequence[Rule],
    every_system: bool = False,
    left_out: frozenset[int] = frozenset(),
) -> Impact:
    """`evaluate` within each code system: a rule is judged on the audited lines it may code (a
    procedure rule on procedure lines), among the rules of its system; the systems' impacts add up.
    `every_system`: the new rules as if of each system in turn (a pattern tried without a code).
    `others` None: the stored rule base less the rules with ids in `left_out`, and the audited
    history, as `audit.cache` keeps them while they have not changed."""
    system = systems_of(conn, [r.code for r in (*(others or ()), *old, *new)])

    def of(s: str, rules: Sequence[Rule], always: bool = False) -> list[Rule]:
        return [r for r in rules if always or system[r.code] == s]

    touched = [s for s in SYSTEMS if any(system[r.code] == s for r in (*old, *new))]
    guards = guardstore.compiled(conn)  # a run applies them to every system's lines
    strict = settings.matching(conn) is Matching.STRICT  # and decides with the database's semantics
    parts = []
    for s in SYSTEMS if every_system else touched or [SYSTEMS[0]]:  # the other systems' lines cannot change
        old_s, new_s = of(s, old), of(s, new, every_system)
        if others is None:
            history = kept_history(conn, s)
            base = cache.rule_set(conn, s, lambda rules, s=s: _stored_of(conn, s, rules))
            parts.append(
                evaluate(history, (), old_s, new_s, base=base, left_out=left_out, guards=guards, strict=strict)
            )
        else:
            parts.append(evaluate(load_audited(conn, s), of(s, others), old_s, new_s, guards=guards, strict=strict))
    impact = Impact(sum(p.audited for p in parts), [])
    for p in parts:
        impact.broken += p.broken
        impact.fixed += p.fixed
        impact.broken_examples += p.broken_examples[: EXAMPLES - len(impact.broken_examples)]
        impact.seconds += p.seconds
    for r in new:  # one report per new rule: the systems' reports of it, added up
        reps = [rep for p in parts for rep in p.reports if rep.rule is r]
        if reps:
            impact.reports.append(_added(reps))
    return impact


def _added(reports: list[RuleReport]) -> RuleReport:
    if len(reports) == 1:
        return reports[0]
    out = RuleReport(reports[0].rule)
    for rep in reports:
        out.matches += rep.matches
        out.true_positives += rep.true_positives
        out.false_positives += rep.false_positives
        out.false_negatives += rep.false_negatives
        out.collisions += rep.collisions
        for code, ex in rep.fp_examples.items():
            out.fp_examples.setdefault(code, []).extend(ex[: EXAMPLES - len(out.fp_examples.get(code, []))])
        out.fn_examples += rep.fn_examples[: EXAMPLES - len(out.fn_examples)]
        out.collision_examples += rep.collision_examples[: EXAMPLES - len(out.collision_examples)]
    return out


def candidate_impact(conn: Connection, rule: Rule, any_system: bool = False) -> Impact:
    """`rules test`: the candidate as a new rule in the current rule base; `any_system` (a pattern
    tried without a code): in each system, among that system's rules."""
    return judge(conn, None, [], [rule], every_system=any_system)


def check_change(conn: Connection, old: Sequence[Rule], new: Sequence[Rule], force: bool) -> Impact:
    """Judge a change to the rule base, and refuse it unless forced.

    `old` are the changed rules as they were (empty for additions), `new` as they will be (added
    rules have no id yet). Rules in `conn` with those ids are left out of the rest of the rule base,
    so this works before or after the change is written in the caller's transaction; raising
    ChangeRefused makes that transaction roll back.
    """
    changed = frozenset({r.id for r in new if r.id is not None} | {r.id for r in old})
    impact = judge(conn, None, old, new, left_out=changed)
    if impact.broken and not force:
        raise ChangeRefused(
            "\n".join(impact.lines()) + f"\nrefused: this change would turn {impact.broken} correctly coded "
            "audited diagnoses wrong or uncoded; nothing was written. Narrow the rule, or repeat with --force.",
            impact=impact,
        )
    return impact


def warm(engine: Engine) -> None:
    """Read the stored rule base and audited history into `audit.cache` ahead of the first rule
    change (the workbench does this when it starts, so its first 试验 is as quick as the next)."""
    with engine.connect() as conn:
        for s in SYSTEMS:
            kept_history(conn, s)
            cache.rule_set(conn, s, lambda rules, s=s: _stored_of(conn, s, rules))
