"""Verifiers: one rule made ready to be tested against texts the prefilter let through.

A rule's pattern becomes the cheapest test that answers like its regex: string searches for
chain-shaped patterns (rulebase.chain), a set of strings for small alternations, the `regex`
package (compiled on first use, with a timeout) for the rest; spans likewise.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import regex

from .chain import INF, Chain, to_chain
from .chain import matcher as chain_matcher
from .decision import Hit, Span
from .dialect import DEFAULT_TIMEOUT
from .literals import pattern_requirements
from .rule import Rule
from .syntax import length_bounds

NO_UPPER_BOUND = INF  # max_len of a rule that can match texts of any length


class CompiledPattern(NamedTuple):
    """One pattern ready to run: its chain form (None for other shapes) and two functions."""

    chain: Chain | None
    span: Callable[[str], Span | None]  # text -> leftmost match's span, or None; may raise TimeoutError
    found: Callable[[str], bool]  # text -> whether the pattern occurs; may raise TimeoutError


def compile_regex(pattern: str) -> regex.Pattern:
    return regex.compile(pattern)


class Verifier:
    """One rule, ready to be tested against a text the prefilter let through.

    Slotted, not a tuple: the hot loop reads `min_len`, `max_len`, `gate` and `rest` of every
    candidate, and slot reads are the fastest attribute access CPython has.
    """

    __slots__ = (
        "rule",
        "index",
        "priority",
        "others",
        "matches",
        "excluded",
        "span",
        "hit",
        "words",
        "direct",
        "whole",
        "test",
        "gate",
        "rest",
        "min_len",
        "max_len",
    )

    def __init__(
        self,
        rule: Rule,
        others: list[tuple[str, ...]],
        timeout: float,
        memo: dict | None = None,
        index: int = 0,
        excludes: dict[str, Callable[[str], bool]] | None = None,
    ):
        self.rule = rule
        self.hit = Hit(rule)  # the rule's match without its span, made once: a shape is built from them
        self.index = index  # the rule's place in priority order (then id) within its RuleSet
        self.priority = rule.priority
        # Required literals beyond the indexed one: a C-speed substring test rejects most
        # candidates before anything else runs.
        self.others = others
        compiled = compile_pattern(rule.parsed, rule.pattern, timeout, memo)
        chain, self.span, self.matches = compiled.chain, compiled.span, compiled.found
        self.excluded = self._exclusion(rule, timeout, excludes) if rule.exclude else None
        # A pattern that is a set of strings, unanchored (肺炎, (急性)?阑尾炎, 综合(征|症)), matches
        # exactly where one of them occurs: without an exclusion the automaton's hit alone decides
        # the rule. One anchored at both ends (^(双侧)?肺炎$) matches exactly when the text is one
        # of them.
        self.words: tuple[str, ...] | None = None
        self.direct: tuple[str, ...] | None = None
        self.whole: tuple[str, ...] | None = None
        if chain is not None and len(chain.parts) == 1 and chain.lead == (0, 0) and chain.trail == (0, 0):
            if not chain.anchored_start and not chain.anchored_end:
                self.words = chain.parts[0]
                if rule.exclude is None:
                    self.direct = self.words
            elif chain.anchored_start and chain.anchored_end and rule.exclude is None:
                self.whole = chain.parts[0]
        self.test = self._fastest_test(others)
        # Inline checks the hot loop makes before calling anything: a literal the text must hold,
        # and the lengths a matching text can have. Most candidates fail one of them.
        lo, hi = length_bounds(rule.parsed.alt)
        self.min_len = lo
        self.max_len = (
            hi if (hi is not None and rule.parsed.anchored_start and rule.parsed.anchored_end) else NO_UPPER_BOUND
        )
        self.gate = others[0][0] if others and len(others[0]) == 1 else None
        self.rest = self._fastest_test(others[1:]) if self.gate is not None else self.test

    @staticmethod
    def _exclusion(rule: Rule, timeout: float, excludes: dict[str, Callable[[str], bool]] | None) -> Callable:
        """The exclusion's test, compiled once per text in `excludes` (a rule set's, shared by its
        rules: most exclusions are a few patterns repeated under many codes)."""
        if excludes is None:
            return compile_pattern(rule.parsed_exclude, rule.exclude, timeout).found
        found = excludes.get(rule.exclude)
        if found is None:
            found = excludes[rule.exclude] = compile_pattern(rule.parsed_exclude, rule.exclude, timeout).found
        return found

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


def compile_pattern(parsed, source: str, timeout: float, memo: dict | None = None) -> CompiledPattern:
    """One pattern as string searches where its shape allows, else its regex (with `timeout`).

    Chain-shaped patterns are tested with string searches; the regex, compiled on first use, is
    left for other shapes and for spans the strings alone cannot give.
    """
    chain = to_chain(parsed, memo)
    span = _make_span(source, chain, timeout)
    return CompiledPattern(chain, span, chain_matcher(chain) if chain is not None else (lambda t: span(t) is not None))


def prefixed(strings: tuple[str, ...]) -> bool:
    """Whether one of these strings is a prefix of another: then which one a regex alternation
    takes at a start depends on its order, not on the strings alone."""
    if len(strings) < 2:
        return False
    # Sorted, the strings between a and a longer string that begins with a all begin with a as
    # well, so a prefix shows between neighbours: n log n, not the n² pairs.
    ordered = sorted(strings)
    return any(a != b and b.startswith(a) for a, b in zip(ordered, ordered[1:], strict=False))


def _literal_set_span(chain) -> Callable[[str], Span | None] | None:
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

        def suffix(t: str) -> Span | None:
            for s in longest_first:
                if t.endswith(s):
                    return (len(t) - len(s), len(t))
            return None

        return suffix
    if prefixed(strings):
        return None
    if chain.anchored_start:

        def prefix(t: str) -> Span | None:
            for s in strings:
                if t.startswith(s):
                    return (0, len(s))
            return None

        return prefix

    def leftmost(t: str) -> Span | None:
        best: Span | None = None
        for s in strings:
            i = t.find(s)
            if i >= 0 and (best is None or i < best[0]):
                best = (i, i + len(s))
        return best

    return leftmost


def _make_span(source: str, chain, timeout: float) -> Callable[[str], Span | None]:
    """A function text -> span of the leftmost match, or None; raises TimeoutError."""
    by_strings = _literal_set_span(chain)
    if by_strings is not None:
        return by_strings
    compiled: list = []  # compiled on first use: regex.compile costs ~0.25 ms, and most rules are never candidates

    def search(t: str) -> Span | None:
        if not compiled:
            compiled.append(compile_regex(source).search)
        # Positional arguments: (string, pos, endpos, concurrent, partial, timeout). The keyword
        # form costs about 1.4 us more per call, which is most of a run's time; a test pins
        # this calling convention to the installed regex version.
        m = compiled[0](t, None, None, None, False, timeout)
        return m.span() if m is not None else None

    return search


def rule_test(rule: Rule, timeout: float = DEFAULT_TIMEOUT) -> Callable[[str], bool]:
    """normalized text -> whether this one rule matches (pattern found, exclude not); may raise TimeoutError."""
    return Verifier(rule, [tuple(r) for r in pattern_requirements(rule.parsed)], timeout).test
