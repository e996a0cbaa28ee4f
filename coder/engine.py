"""The matching engine: pure functions over immutable values, no database, no terminal.

Two matchers with one meaning (README, "Matching semantics"):

* `PlainMatcher` tries every enabled rule on every description with the `regex` package, the
  paper's design. It is the reference the differential tests hold the fast one to.
* `RuleSet` indexes each rule's required literal (rulebase.literals) in one Aho-Corasick
  automaton; per description only the rules whose literal occurs are verified, cheapest
  checks first, and the real pattern decides. Results equal the plain loop's.

Both hand the verified matches to `resolve`, which applies priority and ambiguity.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable, Sequence
from contextlib import contextmanager
from typing import NamedTuple

import ahocorasick_rs
import regex

from rulebase.chain import matcher as chain_matcher, to_chain
from rulebase.dialect import length_bounds
from rulebase.literals import pattern_requirements
from rulebase.normalize import normalize_text
from rulebase.rule import Rule

CODED = "coded"
NO_MATCH = "no_match"
AMBIGUOUS = "ambiguous"
INVALID_INPUT = "invalid_input"
TIMEOUT = "timeout"
FAILURE_REASONS = (NO_MATCH, AMBIGUOUS, INVALID_INPUT, TIMEOUT)

DEFAULT_TIMEOUT = 0.25  # seconds one pattern may spend on one description
CACHE_SIZE = 200_000  # distinct descriptions remembered by one RuleSet (about 60 MB at most)
SHAPES_SIZE = 20_000  # sets of matching rules whose decision shape is remembered (a miss costs a few µs)


class Candidate(NamedTuple):
    """One code proposed by one or more rules at the winning priority."""

    code: str
    rule_ids: tuple[int, ...]


class Decision(NamedTuple):
    """What the engine concluded for one description (immutable; a tuple, cheap to make)."""

    outcome: str  # CODED or one of FAILURE_REASONS
    normalized: str
    code: str | None = None
    rule_id: int | None = None
    rule_version: int | None = None
    span: tuple[int, int] | None = None
    candidates: tuple[Candidate, ...] = ()


class Hit(NamedTuple):
    rule: Rule
    span: tuple[int, int] | None  # None when decided without a regex: filled in for the winner only


@contextmanager
def gc_paused():
    """Building tens of thousands of small objects that all live on: the cyclic garbage collector
    would scan them again and again (half the build time at 30,000 rules) and find nothing."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


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
        return self._finish(text, hits, timed_out)

    def _finish(self, text: str, hits: list[Hit], timed_out: list[Rule]) -> Decision:
        decision = resolve(text, hits, timed_out)
        if decision.outcome == CODED and decision.span is None:
            try:
                span = self._span(decision.rule_id, text)
            except TimeoutError:
                return Decision(TIMEOUT, text, candidates=decision.candidates)
            decision = decision._replace(span=span)
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

    __slots__ = ("rule", "priority", "others", "matches", "excluded", "span", "direct", "whole", "test", "gate",
                 "rest", "min_len", "max_len")

    def __init__(self, rule: Rule, others: list[tuple[str, ...]], timeout: float, memo: dict | None = None):
        self.rule = rule
        self.priority = rule.priority
        # Required literals beyond the indexed one: a C-speed substring test rejects most
        # candidates before anything else runs.
        self.others = others
        chain, self.span, self.matches = compile_pattern(rule.parsed, rule.pattern, timeout, memo)
        self.excluded = compile_pattern(rule.parsed_exclude, rule.exclude, timeout)[2] if rule.exclude else None
        # A rule that matches exactly when one of a few strings occurs (肺炎, (急性)?阑尾炎, 综合(征|症))
        # is decided by the automaton's hit alone.
        # One anchored at both ends (^(双侧)?肺炎$) matches exactly when the text is one of them.
        self.direct: tuple[str, ...] | None = None
        self.whole: tuple[str, ...] | None = None
        if (chain is not None and len(chain.parts) == 1 and chain.lead == (0, 0) and chain.trail == (0, 0)
                and rule.exclude is None):
            if not chain.anchored_start and not chain.anchored_end:
                self.direct = chain.parts[0]
            elif chain.anchored_start and chain.anchored_end:
                self.whole = chain.parts[0]
        self.test = self._fastest_test(others)
        # Inline checks the hot loop makes before calling anything: a literal the text must hold,
        # and the lengths a matching text can have. Most candidates fail one of them.
        lo, hi = length_bounds(rule.parsed.alt)
        self.min_len = lo
        self.max_len = hi if (hi is not None and rule.parsed.anchored_start and rule.parsed.anchored_end) else 10**9
        self.gate = others[0][0] if others and len(others[0]) == 1 else None
        self.rest = self._fastest_test(others[1:]) if self.gate is not None else self.test

    def _fastest_test(self, others: list[tuple[str, ...]]) -> Callable[[str], bool]:
        """text -> whether the rule matches, with no more Python calls than this rule needs."""
        matches, excluded = self.matches, self.excluded
        if len(others) == 1 and len(others[0]) == 1:
            needle = others[0][0]
            if excluded is None:
                return lambda t: needle in t and matches(t)
            return lambda t: needle in t and matches(t) and not excluded(t)
        if not others:
            if excluded is None:
                return matches
            return lambda t: matches(t) and not excluded(t)

        def test(text: str) -> bool:
            for req in others:
                for s in req:
                    if s in text:
                        break
                else:
                    return False
            return matches(text) and not (excluded is not None and excluded(text))

        return test


def compile_pattern(parsed, source: str, timeout: float, memo: dict | None = None):
    """(chain or None, text -> leftmost span or None, text -> whether found) for one pattern.

    Chain-shaped patterns are tested with string searches; the regex, compiled on first use, is
    left for other shapes and for spans the strings alone cannot give.
    """
    chain = to_chain(parsed, memo)
    span = _make_span(source, chain, timeout)
    return chain, span, (chain_matcher(chain) if chain is not None else (lambda t: span(t) is not None))


def _literal_set_span(chain) -> Callable[[str], tuple[int, int] | None] | None:
    """The regex's span without the regex, for a pattern that is a small set of strings
    ((急性)?阑尾炎, 综合(征|症)), when the set's strings leave the regex no choice to make.

    The regex takes the leftmost start; there, when one string is a prefix of another, which one
    it takes depends on the pattern's order, so such sets (and anchored-at-start ones) are left to
    the regex unless no string is a prefix of another.
    """
    if chain is None or len(chain.parts) != 1 or chain.lead != (0, 0) or chain.trail != (0, 0):
        return None
    strings = chain.parts[0]
    if chain.anchored_start and chain.anchored_end:
        members = frozenset(strings)
        return lambda t: (0, len(t)) if t in members else None
    if chain.anchored_end:
        longest_first = sorted(strings, key=len, reverse=True)  # the leftmost start is the longest suffix

        def suffix(t: str) -> tuple[int, int] | None:
            for s in longest_first:
                if t.endswith(s):
                    return (len(t) - len(s), len(t))
            return None

        return suffix
    if any(a != b and b.startswith(a) for a in strings for b in strings):
        return None
    if chain.anchored_start:
        def prefix(t: str) -> tuple[int, int] | None:
            for s in strings:
                if t.startswith(s):
                    return (0, len(s))
            return None

        return prefix

    def leftmost(t: str) -> tuple[int, int] | None:
        best: tuple[int, int] | None = None
        for s in strings:
            i = t.find(s)
            if i >= 0 and (best is None or i < best[0]):
                best = (i, i + len(s))
        return best

    return leftmost


def _make_span(source: str, chain, timeout: float) -> Callable[[str], tuple[int, int] | None]:
    """A function text -> span of the leftmost match, or None; raises TimeoutError."""
    by_strings = _literal_set_span(chain)
    if by_strings is not None:
        return by_strings
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
    """The compiled rule base: an Aho-Corasick prefilter over required literals, then verification.

    Rules are indexed in priority order (then id), so the lowest index that matches has the top
    priority. Each automaton word has an entry (empty parts are None):

    * indices of rules its occurrence alone decides (`肺炎`, `(急性)?阑尾炎`);
    * indices of rules that match when the text *is* the word (`^(双侧)?肺炎$`): the word occurs
      and the text has the word's length, so no string is compared;
    * candidates to verify, (index, min length, max length, verifier): two in three fail on the
      text's length, before the rule is looked at;
    * the word's length.
    """

    def __init__(self, rules: Iterable[Rule], timeout: float = DEFAULT_TIMEOUT,
                 normalizer: Callable[[str], str] = normalize_text):
        with gc_paused():
            self._build(rules, timeout, normalizer)

    def _build(self, rules: Iterable[Rule], timeout: float, normalizer: Callable[[str], str]) -> None:
        self.normalizer = normalizer
        ordered = _order(rules)
        self.verifiers: list[_Verifier] = []
        slots: dict[str, tuple[list[int], list[int], list[tuple]]] = {}
        always: list[tuple] = []

        def slot(word: str) -> tuple[list[int], list[int], list[tuple]]:
            found = slots.get(word)
            if found is None:
                found = slots[word] = ([], [], [])
            return found

        for i, rule in enumerate(ordered):
            memo: dict = {}  # one per pattern tree: exact() keys it by node identity
            reqs = pattern_requirements(rule.parsed, memo)
            v = _Verifier(rule, [tuple(r) for r in reqs[1:]], timeout, memo)
            self.verifiers.append(v)
            if v.direct is not None:
                for lit in v.direct:
                    slot(lit)[0].append(i)
            elif v.whole is not None:
                for lit in v.whole:
                    slot(lit)[1].append(i)
            else:
                # One tuple per rule, shared by its words: (index, min length, max length, verifier).
                candidate = (i, v.min_len, v.max_len, v)
                if reqs:
                    for lit in reqs[0]:
                        slot(lit)[2].append(candidate)
                else:
                    always.append(candidate)
        self.always = tuple(always)
        self.unindexed = len(always)
        self.direct = sum(1 for v in self.verifiers if v.direct is not None)
        self.priorities = [v.priority for v in self.verifiers]
        words = list(slots)
        # One tuple per word, looked up by the automaton's word number; None for an empty part.
        self.entries = [(*(tuple(part) or None for part in slots[w]), len(w)) for w in words]
        self.find = ahocorasick_rs.AhoCorasick(words).find_matches_as_indexes if words else _no_words
        self.by_id = {v.rule.id: v for v in self.verifiers}
        self._cache: dict[str | None, Decision] = {}
        # Decisions differ per text only in the text and the span; the rest is a function of the
        # set of matching rules, worked out once per set.
        self._shapes: dict[tuple[int, ...], tuple] = {}

    def _span(self, rule_id: int | None, text: str) -> tuple[int, int]:
        span = self.by_id[rule_id].span(text)
        if span is None:  # pragma: no cover - the string test and the regex disagree: a bug, not an input
            raise AssertionError(f"rule {rule_id}: string test matched but the regex did not")
        return span

    def __len__(self) -> int:
        return len(self.verifiers)

    def _hits(self, text: str) -> tuple[list[int], list[tuple]]:
        """(indices of rules the text's words decide, candidate tuples to verify), either maybe repeated."""
        n = len(text)
        decided: list[int] = []
        verify = [c for c in self.always if c[1] <= n <= c[2]] if self.always else []
        entries = self.entries
        for w, _, _ in self.find(text, True):
            by_word, whole, to_verify, length = entries[w]
            if by_word is not None:
                decided += by_word
            if whole is not None and n == length:
                decided += whole
            if to_verify is not None:
                for c in to_verify:
                    if c[1] <= n <= c[2]:
                        verify.append(c)
        return decided, verify

    def matching(self, text: str) -> list[Rule]:
        """Every rule that matches a normalized text, whatever its priority; a timed-out rule counts as not."""
        decided, verify = self._hits(text)
        out = set(decided)
        for i, _, _, v in set(verify):
            try:
                if v.test(text):
                    out.add(i)
            except TimeoutError:
                pass
        return [self.verifiers[i].rule for i in sorted(out)]

    def _match(self, text: str, hits: list[Hit], timed_out: list[Rule]) -> None:
        for i in self._top(text, timed_out):
            hits.append(Hit(self.verifiers[i].rule, None))

    def _top(self, text: str, timed_out: list[Rule]) -> list[int]:
        """Indices of the matching rules at the highest matching priority, ascending (timeouts go to timed_out)."""
        matched, verify = self._hits(text)
        top = None
        if matched:
            prio = self.priorities
            if len(matched) > 1:
                matched = sorted(set(matched))
                top = prio[matched[0]]
                if prio[matched[-1]] != top:
                    matched = [i for i in matched if prio[i] == top]
            else:
                top = prio[matched[0]]
        if verify:
            if len(verify) > 1:
                # A rule indexed under two words that both occur comes twice: the same tuple, which
                # sorts beside itself without its verifier being compared, and whose second test
                # cannot change the outcome.
                verify.sort()
            for i, _, _, v in verify:
                p = v.priority
                if top is not None and p < top:
                    break  # candidates are in priority order; lower ones cannot change the outcome
                gate = v.gate
                if gate is not None and gate not in text:
                    continue
                try:
                    ok = v.rest(text)
                except TimeoutError:
                    if v.rule not in timed_out:
                        timed_out.append(v.rule)
                    continue
                if ok:
                    if top is None or p > top:
                        top, matched = p, [i]
                    elif i not in matched:
                        matched.append(i)
            if len(matched) > 1:
                matched.sort()
        return matched

    def decide(self, description: str | None) -> Decision:
        # Hospitals write the same few thousand descriptions again and again (冠心病, 高血压病3级):
        # a decision is a pure function of the text, so each distinct text is decided once.
        cache = self._cache
        found = cache.get(description)
        if found is not None:
            return found
        decision = self._decide(description)
        if decision.outcome != TIMEOUT:  # a timeout depends on the machine's load: try again next time
            if len(cache) >= CACHE_SIZE:
                cache.clear()
            cache[description] = decision
        return decision

    def _decide(self, description: str | None) -> Decision:
        text = self.normalizer(description or "")
        if not text:
            return Decision(INVALID_INPUT, text)
        timed_out: list[Rule] = []
        top = self._top(text, timed_out)
        if timed_out:
            return super()._finish(text, [Hit(self.verifiers[i].rule, None) for i in top], timed_out)
        key = tuple(top)
        shape = self._shapes.get(key)
        if shape is None:
            shape = self._shape(key)
        outcome, span_of, code, rule_id, version, candidates = shape
        if span_of is None:
            return _new_decision((outcome, text, None, None, None, None, candidates))
        try:
            span = span_of(text)
        except TimeoutError:
            return Decision(TIMEOUT, text, candidates=candidates)
        if span is None:  # pragma: no cover - the string test and the regex disagree: a bug, not an input
            raise AssertionError(f"rule {rule_id}: string test matched but the regex did not")
        return _new_decision((outcome, text, code, rule_id, version, span, candidates))

    def _shape(self, top: tuple[int, ...]) -> tuple:
        """(outcome, span function or None, code, rule id, version, candidates) for a set of matching rules."""
        rules = [self.verifiers[i].rule for i in top]
        if not rules:
            shape: tuple = (NO_MATCH, None, None, None, None, ())
        else:
            candidates = _candidates([Hit(r, None) for r in rules])
            if len(candidates) > 1:
                shape = (AMBIGUOUS, None, None, None, None, candidates)
            else:
                # Same priority, one code: index order is (priority, id), so the first is the lowest id.
                winner = self.verifiers[top[0]]
                rule = winner.rule
                shape = (CODED, winner.span, rule.code, rule.id, rule.version, candidates)
        if len(self._shapes) >= SHAPES_SIZE:
            self._shapes.clear()
        self._shapes[top] = shape
        return shape


def _no_words(text: str, overlapping: bool) -> list:
    return []


def _new_decision(fields: tuple, _new=tuple.__new__) -> Decision:
    """Decision(*fields) without the keyword handling of a NamedTuple's constructor (a third of its cost)."""
    return _new(Decision, fields)


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
