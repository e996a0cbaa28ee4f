"""The matching engine: pure functions over immutable values, no database, no terminal.

Two matchers with one meaning (README, "Matching semantics"):

* `PlainMatcher` tries every enabled rule on every description with the `regex` package, the
  paper's design. It is the reference the differential tests hold the fast one to.
* `RuleSet` indexes each rule's required literal (rulebase.literals) in one Aho-Corasick
  automaton; per description only the rules whose literal occurs are verified, cheapest
  checks first, and the real pattern decides. Results equal the plain loop's.

Both hand the verified matches to `decision.resolve`, which applies priority and ambiguity, and
a decision that would code to `decision.guard` (the guard table, `guards=`), inside the decision
the RuleSet's cache remembers per distinct text.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from operator import attrgetter

import ahocorasick_rs

from .decision import (
    Decision,
    Hit,
    Span,
    guard,
    join_place,
    merged_codes,
    place,
    prepare,
    resolve,
    rule_key,
    separate_places,
)
from .guards import Guard, Guards
from .literals import pattern_requirements
from .normalize import normalize_text
from .rule import Rule
from .states import Outcome
from .verify import DEFAULT_TIMEOUT, Verifier, compile_regex, prefixed

__all__ = ["CACHE_SIZE", "DEFAULT_TIMEOUT", "PlainMatcher", "RuleSet", "gc_paused"]

CACHE_SIZE = 200_000  # distinct descriptions remembered by one RuleSet (about 60 MB at most)
SHAPES_SIZE = 20_000  # sets of matching rules whose decision shape is remembered (a miss costs a few µs)


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


def _guards(guards: Guards | Iterable[Guard]) -> Guards | None:
    """The compiled guard table, or None when it has no enabled guard (the check is then skipped)."""
    compiled = guards if isinstance(guards, Guards) else Guards(guards)
    return compiled if compiled else None


def _order(rules: Iterable[Rule]) -> list[Rule]:
    """Enabled rules, highest priority first, then by id, so a matcher can stop early."""
    return sorted((r for r in rules if r.enabled), key=lambda r: (-r.priority, rule_key(r)))


class _Matcher:
    """Normalization and the empty-text check, shared; subclasses decide a normalized text."""

    normalizer: Callable[[str], str]

    def decide(self, description: str | None) -> Decision:
        text = prepare(self.normalizer, description)
        return self._decide_text(text) if type(text) is str else text

    def _decide_text(self, text: str) -> Decision:
        raise NotImplementedError


class PlainMatcher(_Matcher):
    """Every rule against every description: slow, obvious, the reference."""

    def __init__(
        self,
        rules: Iterable[Rule],
        timeout: float = DEFAULT_TIMEOUT,
        normalizer: Callable[[str], str] = normalize_text,
        *,
        guards: Guards | Iterable[Guard] = (),
        strict: bool = False,
    ):
        self.timeout = timeout
        self.normalizer = normalizer
        self.guards = _guards(guards)
        self.strict = strict
        self.rules = [
            (r, compile_regex(r.pattern), compile_regex(r.exclude) if r.exclude else None) for r in _order(rules)
        ]

    def _decide_text(self, text: str) -> Decision:
        hits: list[Hit] = []
        timed_out: list[Rule] = []
        for rule, pat, exc in self.rules:
            try:
                m = pat.search(text, timeout=self.timeout)
                if m and not (exc and exc.search(text, timeout=self.timeout)):
                    hits.append(Hit(rule, m.span()))
            except TimeoutError:
                timed_out.append(rule)
        return guard(resolve(text, hits, timed_out, strict=self.strict), self.guards)


class _Entry:
    """What one automaton word's occurrence means (empty parts are None)."""

    __slots__ = ("decided", "whole", "verify", "length")

    def __init__(self, decided: list[int], whole: list[int], verify: list[Verifier], length: int):
        self.decided = tuple(decided) or None  # rules its occurrence alone decides (肺炎, (急性)?阑尾炎)
        self.whole = tuple(whole) or None  # rules that match when the text *is* the word (^(双侧)?肺炎$)
        self.verify = tuple(verify) or None  # candidates to verify, each with the text lengths it can match
        self.length = length


class _Shape:
    """The decision for one set of matching rules, less the text and the span: `resolve`'s result,
    memoized (in slots, the fastest fields to read), with the winner's span function.

    A set of several codes is decided by the places of its matches in each text (`_spread`):
    `groups` holds one table {code: lowest-id rule} per distinct pattern (rule bases repeat a
    pattern under several codes). A group whose pattern is a set of automaton words, none a prefix
    of another, has its span read off the automaton's hits (`by_word`: word -> groups, and
    `word_codes`, those groups' tables as one); the others are searched (`searched`: (group, span
    function)).
    """

    __slots__ = (
        "outcome",
        "code",
        "rule_id",
        "rule_version",
        "candidates",
        "span_of",
        "groups",
        "by_word",
        "word_codes",
        "searched",
    )

    def __init__(self, decision: Decision, span_of: Callable[[str], Span | None] | None):
        self.outcome, self.code, self.candidates = decision.outcome, decision.code, decision.candidates
        self.rule_id, self.rule_version = decision.rule_id, decision.rule_version
        self.span_of = span_of
        self.groups: tuple[dict[str, Rule], ...] | None = None
        self.by_word: dict[int, list[int]] = {}
        self.word_codes: dict[str, Rule] = {}
        self.searched: tuple[tuple[int, Callable[[str], Span | None]], ...] = ()


_by_index = attrgetter("index")
# Decision(*fields) without the keyword handling of a NamedTuple's constructor (a third of its cost):
# tuple.__new__ itself, called in place (a helper's frame would cost as much again).
_new = tuple.__new__
_TIMEOUT = Outcome.TIMEOUT  # decisions hold the members themselves: compared by identity, the fastest test
_AMBIGUOUS, _CODED = Outcome.AMBIGUOUS, Outcome.CODED


class RuleSet(_Matcher):
    """The compiled rule base: an Aho-Corasick prefilter over required literals, then verification.

    Rules are indexed in priority order (then id), so the lowest index that matches has the top
    priority. Each automaton word has an `_Entry`: rules its occurrence decides, rules that match
    when the text is the word (the text's length decides, no string is compared), and verifiers
    with the text lengths they can match (two in three candidates fail on length alone).
    """

    def __init__(
        self,
        rules: Iterable[Rule],
        timeout: float = DEFAULT_TIMEOUT,
        normalizer: Callable[[str], str] = normalize_text,
        *,
        guards: Guards | Iterable[Guard] = (),
        strict: bool = False,
    ):
        self.guards = _guards(guards)
        self.strict = strict
        with gc_paused():
            self._build(rules, timeout, normalizer)

    def _build(self, rules: Iterable[Rule], timeout: float, normalizer: Callable[[str], str]) -> None:
        self.normalizer = normalizer
        self.verifiers: list[Verifier] = []
        slots: dict[str, tuple[list[int], list[int], list[Verifier]]] = {}
        always: list[Verifier] = []

        def slot(word: str) -> tuple[list[int], list[int], list[Verifier]]:
            found = slots.get(word)
            if found is None:
                found = slots[word] = ([], [], [])
            return found

        # The guards' cues are words of the same automaton, numbered first: a text without any
        # (most texts) is known to be unguarded from the one search it has anyway, by its
        # lowest word number.
        cues = {g.cue for g in self.guards.guards} if self.guards is not None else set()
        for cue in sorted(cues):
            slot(cue)
        self.cue_count = len(cues)
        patterns: dict[str, int] = {}
        excludes: dict[str, Callable[[str], bool]] = {}  # exclusion text -> its test, compiled once
        self.pattern_of: list[int] = []  # by index: the number of the rule's pattern, shared by rules that repeat it
        for i, rule in enumerate(_order(rules)):
            self.pattern_of.append(patterns.setdefault(rule.pattern, len(patterns)))
            memo: dict = {}  # one per pattern tree: exact() keys it by node identity
            reqs = pattern_requirements(rule.parsed, memo)
            v = Verifier(rule, [tuple(r) for r in reqs[1:]], timeout, memo, index=i, excludes=excludes)
            self.verifiers.append(v)
            if v.direct is not None:
                for lit in v.direct:
                    slot(lit)[0].append(i)
            elif v.whole is not None:
                for lit in v.whole:
                    slot(lit)[1].append(i)
            elif reqs:
                for lit in reqs[0]:
                    slot(lit)[2].append(v)
            else:
                always.append(v)
        self.always = tuple(always)
        self.unindexed = len(always)
        self.direct = sum(1 for v in self.verifiers if v.direct is not None)
        self.priorities = [v.priority for v in self.verifiers]
        words = list(slots)
        self.entries = [_Entry(*slots[w], len(w)) for w in words]  # by the automaton's word number
        self.find = ahocorasick_rs.AhoCorasick(words).find_matches_as_indexes if words else _no_words
        self.word_number = dict(zip(words, range(len(words)), strict=True))
        self.by_id = {v.rule.id: v for v in self.verifiers}
        self._cache: dict[str | None, Decision] = {}
        self._shapes: dict[tuple[int, ...], _Shape] = {}
        self._placings: dict[int, tuple[int, ...] | Callable[[str], Span | None]] = {}

    def __len__(self) -> int:
        return len(self.verifiers)

    def _span_function(self, rule_id: int | None) -> Callable[[str], Span | None]:
        return self.by_id[rule_id].span

    def matching(self, text: str) -> list[Rule]:
        """Every rule that matches a normalized text, whatever its priority; a timed-out rule counts as not.

        The words' entries as `decide` reads them, without its shortcuts (length bounds, priority):
        a rule indexed under a word is tested whenever the word occurs."""
        n = len(text)
        out: set[int] = set()
        tests = set(self.always)
        entries = self.entries
        for w, _, _ in self.find(text, True):
            e = entries[w]
            out.update(e.decided or ())
            if e.whole is not None and n == e.length:
                out.update(e.whole)
            tests.update(e.verify or ())
        for v in tests:
            try:
                if v.test(text):
                    out.add(v.index)
            except TimeoutError:
                pass
        return [self.verifiers[i].rule for i in sorted(out)]

    def decide(self, description: str | None) -> Decision:
        # Hospitals write the same few thousand descriptions again and again (冠心病, 高血压病3级):
        # a decision is a pure function of the text, so each distinct text is decided once.
        cache = self._cache
        found = cache.get(description)
        if found is not None:
            return found
        text = prepare(self.normalizer, description)
        decision = self._decide_text(text) if type(text) is str else text
        if decision.outcome is not _TIMEOUT:  # a timeout depends on the machine's load: try again next time
            if len(cache) >= CACHE_SIZE:
                cache.clear()
            cache[description] = decision
        return decision

    def _decide_text(self, text: str) -> Decision:
        # Three steps in one function (a call and its result tuple are about 2 % of a common
        # text's instructions): the candidates, the matching rules at the highest matching
        # priority, their decision.
        #
        # The candidates, from the automaton's hits in one search: rules a word's occurrence
        # decides, rules that match when the text is the word (its length decides), and verifiers
        # whose length bounds admit the text; the first two maybe repeated. Of the rules that
        # match, only the top priority's are kept, ascending by index: `resolve` ignores the others.
        n = len(text)
        matched: list[int] = []
        verify = [v for v in self.always if v.min_len <= n <= v.max_len] if self.always else []
        entries = self.entries
        found = self.find(text, True)
        for w, _, _ in found:
            e = entries[w]
            if e.decided is not None:
                matched += e.decided
            if e.whole is not None and n == e.length:
                matched += e.whole
            if e.verify is not None:
                for v in e.verify:
                    if v.min_len <= n <= v.max_len:
                        verify.append(v)
        timed_out: list[Rule] | None = None
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
                # A rule indexed under two words that both occur comes twice, side by side after
                # the sort; its second test cannot change the outcome.
                verify.sort(key=_by_index)
            for v in verify:
                p = v.priority
                if top is not None and p < top:
                    break  # candidates are in priority order; lower ones cannot change the outcome
                gate = v.gate
                if gate is not None and gate not in text:
                    continue
                try:
                    ok = v.rest(text)
                except TimeoutError:
                    if timed_out is None:
                        timed_out = [v.rule]
                    elif v.rule not in timed_out:
                        timed_out.append(v.rule)
                    continue
                if ok:
                    i = v.index
                    if top is None or p > top:
                        top, matched = p, [i]
                    elif i not in matched:
                        matched.append(i)
            if len(matched) > 1:
                matched.sort()
        if timed_out:
            hits = [Hit(self.verifiers[i].rule) for i in matched]
            decided = resolve(text, hits, timed_out, strict=self.strict, span_of=self._rule_span)
            return guard(place(decided, self._span_function), self.guards)
        key = tuple(matched)
        shape = self._shapes.get(key)
        if shape is None:
            shape = self._shape(key)
        span_of = shape.span_of
        if span_of is None:
            if shape.groups is None:
                return _new(Decision, (shape.outcome, text, None, None, None, None, shape.candidates, (), None))
            decision = self._spread(text, shape, found)
            if decision.outcome is not _CODED:
                return decision
        else:
            try:
                span = span_of(text)
            except TimeoutError:
                return Decision(Outcome.TIMEOUT, text, candidates=shape.candidates)
            if span is None:  # pragma: no cover - the string test and the regex disagree: a bug, not an input
                raise AssertionError(f"rule {shape.rule_id}: string test matched but the regex did not")
            fields = (
                shape.outcome,
                text,
                shape.code,
                shape.rule_id,
                shape.rule_version,
                span,
                shape.candidates,
                (),
                None,
            )
            decision = _new(Decision, fields)
        cues = self.cue_count
        if cues:
            # `guard` only when a cue is among the automaton's hits: the cues have its lowest word
            # numbers, and a hit is (word, start, end).
            for w, _, _ in found:
                if w < cues:
                    return guard(decision, self.guards)
        return decision

    def _rule_span(self, rule: Rule) -> Callable[[str], Span | None]:
        return self.by_id[rule.id].span

    def _spread(self, text: str, shape: _Shape, found: list[tuple[int, int, int]]) -> Decision:
        """A set of rules of several codes: `separate_places` by where each pattern matches in this text.

        A group of automaton words takes its leftmost hit (none of its words is a prefix of
        another, so that is the regex's match); the others are searched. Most texts hold one hit
        of the shape's words: every such group matched there, and with no group searched the codes
        all claim those words, ambiguous, as `separate_places` would say (most several-code sets
        in a large rule base are this)."""
        by_word = shape.by_word
        one = None  # the only hit of the shape's words, while there is only one
        for hit in found:
            if hit[0] in by_word:
                if one is not None:
                    at = self._places(text, shape, found)
                    break
                one = hit
        else:
            if not shape.searched:
                return _new(Decision, (_AMBIGUOUS, text, None, None, None, None, shape.candidates, (), None))
            at = {(one[1], one[2]): shape.word_codes} if one is not None else {}
            try:
                for g, span in shape.searched:
                    join_place(at, span(text), shape.groups[g])
            except TimeoutError:
                return Decision(Outcome.TIMEOUT, text, candidates=shape.candidates)
        if at is None:
            return Decision(Outcome.TIMEOUT, text, candidates=shape.candidates)
        return separate_places(text, at, shape.candidates)

    def _places(self, text: str, shape: _Shape, found: list[tuple[int, int, int]]) -> dict | None:
        """The places of a several-code shape's groups in a text with several hits of its words
        (None when a search runs out of time)."""
        groups, by_word = shape.groups, shape.by_word
        spans: list = [None] * len(groups)
        for w, start, end in found:
            at_word = by_word.get(w)
            if at_word is not None:
                for g in at_word:
                    now = spans[g]
                    if now is None or start < now[0]:
                        spans[g] = (start, end)
        try:
            for g, span in shape.searched:
                spans[g] = span(text)
        except TimeoutError:
            return None
        at: dict = {}
        for where, codes in zip(spans, groups, strict=True):
            join_place(at, where, codes)
        return at

    def _shape(self, top: tuple[int, ...]) -> _Shape:
        """`resolve`'s decision for a set of matching rules, remembered for the next text with that set."""
        verifiers = self.verifiers
        decision = resolve("", [verifiers[i].hit for i in top], strict=True)
        span_of = self._span_function(decision.rule_id) if decision.outcome == Outcome.CODED else None
        shape = _Shape(decision, span_of)
        if decision.outcome == Outcome.AMBIGUOUS and not self.strict:
            self._group(shape, top)
        if len(self._shapes) >= SHAPES_SIZE:
            self._shapes.clear()
        self._shapes[top] = shape
        return shape

    def _group(self, shape: _Shape, top: tuple[int, ...]) -> None:
        """A several-code shape's groups: one per distinct pattern, with how its span is found.

        The rules come in ascending index at one priority, so in ascending id: the first rule
        seen of a code in a group has its lowest id there."""
        groups: list[dict[str, Rule]] = []
        of_pattern: dict[int, int] = {}
        by_word: dict[int, list[int]] = {}
        searched = []
        verifiers, pattern_of, placings = self.verifiers, self.pattern_of, self._placings
        for i in top:
            rule = verifiers[i].rule
            pattern = pattern_of[i]
            g = of_pattern.get(pattern)
            if g is None:
                g = of_pattern[pattern] = len(groups)
                groups.append({rule.code: rule})
                placing = placings.get(pattern) or self._placing(verifiers[i], pattern)
                if type(placing) is tuple:
                    for w in placing:
                        at_word = by_word.get(w)
                        if at_word is None:
                            by_word[w] = [g]
                        else:
                            at_word.append(g)
                else:
                    searched.append((g, placing))
            elif rule.code not in groups[g]:
                groups[g][rule.code] = rule
        shape.groups = tuple(groups)
        shape.by_word = by_word  # read, never changed
        shape.searched = tuple(searched)
        if searched:  # read only when a text holds one hit of the shape's words
            word_codes: dict[str, Rule] = {}
            spanned = {g for g, _ in searched}
            for g, codes in enumerate(groups):
                if g not in spanned:
                    word_codes = merged_codes(word_codes, codes)
            shape.word_codes = word_codes

    def _placing(self, v: Verifier, pattern: int) -> tuple[int, ...] | Callable[[str], Span | None]:
        """How a text's span of this rule's pattern is found in a several-code set: the numbers of
        its automaton words when the pattern is a set of them, none a prefix of another (its
        leftmost hit is then the regex's match; an exclusion decides whether a rule matched, not
        where), else its span function. Remembered per pattern."""
        found: tuple[int, ...] | Callable[[str], Span | None] | None = None
        words, number = v.words, self.word_number
        if words is not None and not prefixed(words):
            numbers = []
            for w in words:
                n = number.get(w)
                if n is None:
                    break
                numbers.append(n)
            else:
                found = tuple(numbers)
        if found is None:
            found = _whole_or(v)
        self._placings[pattern] = found
        return found


def _whole_or(v: Verifier) -> Callable[[str], Span | None]:
    """The span function of a rule known to match: a pattern anchored at both ends matches the
    whole text (the regex's `$` also matches before a final newline, left to the regex)."""
    parsed = v.rule.parsed
    if not (parsed.anchored_start and parsed.anchored_end):
        return v.span
    span = v.span

    def whole(text: str) -> Span | None:
        return (0, len(text)) if text[-1:] != "\n" else span(text)

    return whole


def _no_words(text: str, overlapping: bool) -> list:
    return []
