"""The matching engine: pure functions over frozen dataclasses, no database, no terminal.

Two matchers with one meaning (README, "Matching semantics"):

* `PlainMatcher` tries every enabled rule on every description with the `regex` package, the
  paper's design. It is the reference the differential tests hold the fast one to.
* `RuleSet` indexes each rule's required literal (rulebase.literals) in one Aho-Corasick
  automaton; per description only the rules whose literal occurs are verified, cheapest
  checks first, and the real pattern decides. Results equal the plain loop's.

Both hand the verified matches to `resolve`, which applies priority and ambiguity.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace

import ahocorasick
import regex

from rulebase.chain import matcher as chain_matcher, to_chain
from rulebase.literals import pattern_requirements, plain_literal
from rulebase.normalize import normalize_text
from rulebase.rule import Rule

CODED = "coded"
NO_MATCH = "no_match"
AMBIGUOUS = "ambiguous"
INVALID_INPUT = "invalid_input"
TIMEOUT = "timeout"
FAILURE_REASONS = (NO_MATCH, AMBIGUOUS, INVALID_INPUT, TIMEOUT)

DEFAULT_TIMEOUT = 0.25  # seconds one pattern may spend on one description


@dataclass(frozen=True)
class Candidate:
    """One code proposed by one or more rules at the winning priority."""

    code: str
    rule_ids: tuple[int, ...]


@dataclass(frozen=True)
class Decision:
    """What the engine concluded for one description."""

    outcome: str  # CODED or one of FAILURE_REASONS
    normalized: str
    code: str | None = None
    rule_id: int | None = None
    rule_version: int | None = None
    span: tuple[int, int] | None = None
    candidates: tuple[Candidate, ...] = ()


@dataclass(frozen=True)
class Hit:
    rule: Rule
    span: tuple[int, int] | None  # None when decided without a regex: filled in for the winner only


def _order(rules: Iterable[Rule]) -> list[Rule]:
    """Enabled rules, highest priority first, then by id, so resolution can stop early."""
    enabled = [r for r in rules if r.enabled]
    return sorted(enabled, key=lambda r: (-r.priority, r.id if r.id is not None else 0))


def _compile(pattern: str) -> regex.Pattern:
    return regex.compile(pattern)


def resolve(normalized: str, hits: Sequence[Hit], timed_out: Sequence[Rule] = ()) -> Decision:
    """Apply the semantics to the verified matches of one description.

    Only the hits at the highest priority count. One distinct code: coded, by the lowest rule id
    for that code. None: no_match. Several codes: ambiguous, listing every candidate. A rule that
    ran out of time could have matched, so the description is not coded on a guess.
    """
    if hits:
        floor = max(h.rule.priority for h in hits)
        timed_out = [r for r in timed_out if r.priority >= floor]
    if timed_out:
        return Decision(TIMEOUT, normalized, candidates=_candidates([Hit(r, (0, 0)) for r in timed_out] + list(hits)))
    if not hits:
        return Decision(NO_MATCH, normalized)
    top = max(h.rule.priority for h in hits)
    best = [h for h in hits if h.rule.priority == top]
    codes = {h.rule.code for h in best}
    if len(codes) > 1:
        return Decision(AMBIGUOUS, normalized, candidates=_candidates(best))
    winner = min(best, key=lambda h: h.rule.id if h.rule.id is not None else 0)
    return Decision(
        CODED,
        normalized,
        code=winner.rule.code,
        rule_id=winner.rule.id,
        rule_version=winner.rule.version,
        span=winner.span,
        candidates=_candidates(best),
    )


def _candidates(hits: Sequence[Hit]) -> tuple[Candidate, ...]:
    by_code: dict[str, set[int]] = {}
    for h in hits:
        by_code.setdefault(h.rule.code, set()).add(h.rule.id if h.rule.id is not None else 0)
    return tuple(Candidate(code, tuple(sorted(ids))) for code, ids in sorted(by_code.items()))


class _Matcher:
    """Normalization and the empty-text check, shared; subclasses find the verified hits."""

    normalizer: Callable[[str], str]

    def decide(self, description: str | None) -> Decision:
        text = self.normalizer(description or "")
        if not text:
            return Decision(INVALID_INPUT, text)
        hits: list[Hit] = []
        timed_out: list[Rule] = []
        self._match(text, hits, timed_out)
        decision = resolve(text, hits, timed_out)
        if decision.outcome == CODED and decision.span is None:
            try:
                span = self._span(decision.rule_id, text)
            except TimeoutError:
                return Decision(TIMEOUT, text, candidates=decision.candidates)
            decision = replace(decision, span=span)
        return decision

    def _span(self, rule_id: int | None, text: str) -> tuple[int, int]:
        raise NotImplementedError

    def _match(self, text: str, hits: list[Hit], timed_out: list[Rule]) -> None:
        raise NotImplementedError


class PlainMatcher(_Matcher):
    """Every rule against every description: slow, obvious, the reference."""

    def __init__(self, rules: Iterable[Rule], timeout: float = DEFAULT_TIMEOUT,
                 normalizer: Callable[[str], str] = normalize_text):
        self.timeout = timeout
        self.normalizer = normalizer
        self.rules = [(r, _compile(r.pattern), _compile(r.exclude) if r.exclude else None) for r in _order(rules)]

    def _match(self, text: str, hits: list[Hit], timed_out: list[Rule]) -> None:
        for rule, pat, exc in self.rules:
            try:
                m = pat.search(text, timeout=self.timeout)
                if m and not (exc and exc.search(text, timeout=self.timeout)):
                    hits.append(Hit(rule, m.span()))
            except TimeoutError:
                timed_out.append(rule)


class _Verifier:
    """One rule, ready to be tested against a text the prefilter let through."""

    __slots__ = ("rule", "priority", "others", "matches", "excluded", "span")

    def __init__(self, rule: Rule, others: list[tuple[str, ...]], timeout: float):
        self.rule = rule
        self.priority = rule.priority
        # Required literals beyond the indexed one: a C-speed substring test rejects most
        # candidates before anything else runs.
        self.others = others
        self.span = _make_span(rule.parsed, rule.pattern, timeout)
        self.matches = _make_test(rule.parsed, self.span)
        self.excluded = (_make_test(rule.parsed_exclude, _make_span(rule.parsed_exclude, rule.exclude, timeout))
                         if rule.exclude else None)

    def test(self, text: str) -> bool:
        for req in self.others:
            for s in req:
                if s in text:
                    break
            else:
                return False
        return self.matches(text) and not (self.excluded is not None and self.excluded(text))


def _make_test(parsed, span: Callable[[str], tuple[int, int] | None]) -> Callable[[str], bool]:
    """text -> whether the pattern is found: string searches for chain-shaped patterns, else the regex."""
    chain = to_chain(parsed)
    if chain is not None:
        return chain_matcher(chain)
    return lambda t: span(t) is not None


def _make_span(parsed, source: str, timeout: float) -> Callable[[str], tuple[int, int] | None]:
    """A function text -> span of the leftmost match, or None; raises TimeoutError."""
    lit = plain_literal(parsed)
    if lit is not None:
        n = len(lit)
        if parsed.anchored_start and parsed.anchored_end:
            return lambda t: (0, n) if t == lit else None
        if parsed.anchored_start:
            return lambda t: (0, n) if t.startswith(lit) else None
        if parsed.anchored_end:
            return lambda t: (len(t) - n, len(t)) if t.endswith(lit) else None

        def find(t: str) -> tuple[int, int] | None:
            i = t.find(lit)
            return None if i < 0 else (i, i + n)

        return find
    compiled: list = []  # compiled on first use: regex.compile costs ~0.25 ms, and most rules are never candidates

    def search(t: str) -> tuple[int, int] | None:
        if not compiled:
            compiled.append(_compile(source).search)
        # Positional arguments: (string, pos, endpos, concurrent, partial, timeout). The keyword
        # form costs about 1.4 us more per call, which is most of a run's time; a test pins
        # this calling convention to the installed regex version.
        m = compiled[0](t, None, None, None, False, timeout)
        return m.span() if m is not None else None

    return search


class RuleSet(_Matcher):
    """The compiled rule base: an Aho-Corasick prefilter over required literals, then verification."""

    def __init__(self, rules: Iterable[Rule], timeout: float = DEFAULT_TIMEOUT,
                 normalizer: Callable[[str], str] = normalize_text):
        self.normalizer = normalizer
        ordered = _order(rules)
        self.verifiers: list[_Verifier] = []
        index: dict[str, list[int]] = {}
        always: list[int] = []
        for i, rule in enumerate(ordered):
            reqs = pattern_requirements(rule.parsed)
            self.verifiers.append(_Verifier(rule, [tuple(r) for r in reqs[1:]], timeout))
            if reqs:
                for lit in reqs[0]:
                    index.setdefault(lit, []).append(i)
            else:
                always.append(i)
        self.always = frozenset(always)
        self.unindexed = len(always)
        self.automaton = ahocorasick.Automaton()
        for lit, idxs in index.items():
            self.automaton.add_word(lit, tuple(idxs))
        if index:
            self.automaton.make_automaton()
        self.has_index = bool(index)
        self.by_id = {v.rule.id: v for v in self.verifiers}

    def _span(self, rule_id: int | None, text: str) -> tuple[int, int]:
        span = self.by_id[rule_id].span(text)
        if span is None:  # pragma: no cover - the string test and the regex disagree: a bug, not an input
            raise AssertionError(f"rule {rule_id}: string test matched but the regex did not")
        return span

    def __len__(self) -> int:
        return len(self.verifiers)

    def candidates(self, text: str) -> list[int]:
        """Indices of rules worth verifying, in priority order."""
        found = set(self.always)
        if self.has_index:
            for _, idxs in self.automaton.iter(text):
                found.update(idxs)
        return sorted(found)

    def matching(self, text: str) -> list[Rule]:
        """Every rule that matches a normalized text, whatever its priority; a timed-out rule counts as not."""
        out = []
        for i in self.candidates(text):
            v = self.verifiers[i]
            try:
                if v.test(text):
                    out.append(v.rule)
            except TimeoutError:
                pass
        return out

    def _match(self, text: str, hits: list[Hit], timed_out: list[Rule]) -> None:
        best: int | None = None
        verifiers = self.verifiers
        for i in self.candidates(text):
            v = verifiers[i]
            if best is not None and v.priority < best:
                break  # candidates are in priority order; lower ones cannot change the outcome
            try:
                matched = v.test(text)
            except TimeoutError:
                timed_out.append(v.rule)
                continue
            if matched:
                hits.append(Hit(v.rule, None))
                best = v.priority


def rule_test(rule: Rule, timeout: float = DEFAULT_TIMEOUT) -> Callable[[str], bool]:
    """normalized text -> whether this one rule matches (pattern found, exclude not); may raise TimeoutError."""
    return _Verifier(rule, [tuple(r) for r in pattern_requirements(rule.parsed)], timeout).test


def merge(base: Decision, extra: Sequence[Rule], rule_of: Callable[[int], Rule]) -> Decision:
    """The decision once `extra` rules, all matching this text, join a rule base that decided `base`.

    Same semantics as resolve: only the top priority counts, several codes there are ambiguous.
    `rule_of` finds a rule of base's candidates by id.
    """
    if not extra or base.outcome in (INVALID_INPUT, TIMEOUT):
        return base
    hits = [Hit(r, None) for r in extra]
    if base.outcome == NO_MATCH:
        return resolve(base.normalized, hits)
    base_hits = [Hit(rule_of(i), None) for c in base.candidates for i in c.rule_ids]
    base_top = base_hits[0].rule.priority
    extra_top = max(r.priority for r in extra)
    if extra_top < base_top:
        return base
    if extra_top > base_top:
        return resolve(base.normalized, hits)
    return resolve(base.normalized, base_hits + hits)
