"""The matching semantics, said once (README, "Matching semantics", points 3 and 5).

Every matcher finds the verified matches of a description and hands them to `resolve`: the plain
loop, the indexed RuleSet (whose cache of decision shapes memoizes `resolve`'s result per set of
matching rules), the in-database engine, and rule testing (`merge`). Nothing else decides. Where
the top rules propose several codes, `separate` decides by their places (README point 3: several
diagnoses in one line, or ambiguous). A decision that would code then passes `guard` (README
point 6), once its spans are known.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from operator import attrgetter
from typing import NamedTuple

from .guards import Guard, Guards
from .normalize import normalize_text
from .rule import Rule
from .states import GuardScope, Outcome

Span = tuple[int, int]
_new = tuple.__new__  # a NamedTuple's own constructor is a Python function: the hot paths build them directly
_CODED, _AMBIGUOUS = Outcome.CODED, Outcome.AMBIGUOUS


class Candidate(NamedTuple):
    """One code proposed by one or more rules at the winning priority."""

    code: str
    rule_ids: tuple[int, ...]


class Part(NamedTuple):
    """One code of a coded line, with the rule that gave it and the words it was matched at."""

    code: str
    rule_id: int | None
    rule_version: int | None
    span: Span


class Cue(NamedTuple):
    """The guard whose cue stopped a line, and the cue's place in the normalized text."""

    guard_id: int | None  # None for a guard not stored (the starter set held in code)
    guard_version: int
    start: int
    end: int


class Decision(NamedTuple):
    """What the engine concluded for one description (immutable; a tuple, cheap to make).

    A line coded with several codes has them all in `parts`, in text order; `code`, `rule_id`,
    `rule_version` and `span` are the first part's. A line of one code leaves `parts` empty (the
    common case makes no second tuple): `coded_parts()` reads either.
    """

    outcome: Outcome
    normalized: str
    code: str | None = None
    rule_id: int | None = None
    rule_version: int | None = None
    span: Span | None = None
    candidates: tuple[Candidate, ...] = ()
    parts: tuple[Part, ...] = ()
    cue: Cue | None = None  # an uncertain or negated line's: the guard that stopped it, and where

    def coded_parts(self) -> tuple[Part, ...]:
        """Every code this decision gives, in text order; none unless it codes."""
        if self.parts:
            return self.parts
        if self.outcome is Outcome.CODED:
            return (Part(self.code, self.rule_id, self.rule_version, self.span),)
        return ()

    @property
    def codes(self) -> tuple[str, ...]:
        """The codes this decision gives, in text order (empty unless it codes)."""
        if self.parts:
            return tuple(p.code for p in self.parts)
        return (self.code,) if self.outcome is Outcome.CODED else ()


class Hit(NamedTuple):
    """A rule that matched one description."""

    rule: Rule
    span: Span | None = None  # None when found without a regex: `place` fills in the winner's


_rule_of = attrgetter("rule")


def rule_key(rule: Rule) -> int:
    """A rule's id for ordering and listing; a candidate rule that is not stored yet counts as 0."""
    return rule.id if rule.id is not None else 0


def candidates_of(rules: Iterable[Rule]) -> tuple[Candidate, ...]:
    """The codes these rules propose, each with its rule ids, sorted."""
    by_code: dict[str, list[int]] = {}
    for r in rules:
        key = rule_key(r)
        ids = by_code.get(r.code)
        if ids is None:
            by_code[r.code] = [key]
        elif key not in ids:
            ids.append(key)
    out = []
    for code in sorted(by_code):
        ids = by_code[code]
        if len(ids) > 1:
            ids.sort()
        out.append(_new(Candidate, (code, tuple(ids))))
    return tuple(out)


def prepare(normalizer: Callable[[str], str], description: str | None) -> str | Decision:
    """The normalized text to match, or the decision when there is none to match (README points 1, 4, 5):
    a description that normalizes to nothing is invalid_input; a normalization pattern that runs out
    of time makes the description a timeout, like a rule's would."""
    try:
        text = normalizer(description or "")
    except TimeoutError:
        return Decision(Outcome.TIMEOUT, normalize_text(description))
    return text if text else Decision(Outcome.INVALID_INPUT, text)


SpanOf = Callable[[Rule], Callable[[str], Span | None]]


_SPANS: dict[str, Callable[[str], Span | None]] = {}


def rule_span(rule: Rule) -> Callable[[str], Span | None]:
    """A rule's leftmost match span on a text, for callers without a compiled rule base of their
    own (rule testing, the in-database engine); compiled once per pattern."""
    found = _SPANS.get(rule.pattern)
    if found is None:
        from .verify import DEFAULT_TIMEOUT, compile_pattern  # verify needs this module's Span first

        if len(_SPANS) >= 4096:
            _SPANS.clear()
        found = _SPANS[rule.pattern] = compile_pattern(rule.parsed, rule.pattern, DEFAULT_TIMEOUT).span
    return found


def resolve(
    normalized: str,
    hits: Sequence[Hit],
    timed_out: Sequence[Rule] = (),
    *,
    strict: bool = False,
    span_of: SpanOf = rule_span,
) -> Decision:
    """Apply the semantics to the verified matches of one description.

    Only the hits at the highest priority count (a matcher may stop looking below it). One distinct
    code: coded, by the lowest rule id for that code. None: no_match. Several codes: `separate`
    decides by their places (a hit without its span gets it from `span_of`); with `strict` (the
    paper's semantics, a per-database setting) they are ambiguous, listing every candidate. A rule
    at or above that priority that ran out of time could have matched, so the description is not
    coded on a guess: timeout.
    """
    top = None
    mixed = False  # whether the hits are of several priorities
    for h in hits:
        p = h.rule.priority
        if top is None:
            top = p
        elif p != top:
            mixed = True
            if p > top:
                top = p
    if timed_out and top is not None:
        timed_out = [r for r in timed_out if r.priority >= top]
    if timed_out:
        return Decision(Outcome.TIMEOUT, normalized, candidates=candidates_of([*timed_out, *(h.rule for h in hits)]))
    if top is None:
        return Decision(Outcome.NO_MATCH, normalized)
    best = [h for h in hits if h.rule.priority == top] if mixed else hits
    candidates = candidates_of(map(_rule_of, best))
    if len(candidates) > 1:
        if strict:
            return _new(Decision, (_AMBIGUOUS, normalized, None, None, None, None, candidates, (), None))
        try:
            spanned = [h if h.span is not None else Hit(h.rule, span_of(h.rule)(normalized)) for h in best]
        except TimeoutError:
            return Decision(Outcome.TIMEOUT, normalized, candidates=candidates)
        return separate(normalized, spanned, candidates)
    winner = min(best, key=lambda h: rule_key(h.rule))
    return Decision(
        Outcome.CODED,
        normalized,
        code=winner.rule.code,
        rule_id=winner.rule.id,
        rule_version=winner.rule.version,
        span=winner.span,
        candidates=candidates,
    )


def _overlap(a: Span, b: Span) -> bool:
    return a[0] < b[1] and b[0] < a[1]


Places = dict[Span, dict[str, Rule]]  # each place matched, with the codes matched there (each by its lowest-id rule)


def places_of(hits: Sequence[Hit]) -> Places:
    """The hits by place, each place with the codes matched there."""
    at: Places = {}
    for h in hits:
        join_place(at, h.span, {h.rule.code: h.rule})
    return at


def join_place(at: Places, where: Span, codes: dict[str, Rule]) -> None:
    """The codes matched at `where` join the places: a new place keeps the table itself (it is
    read, never changed), one already there gets both tables merged."""
    here = at.get(where)
    at[where] = codes if here is None else merged_codes(here, codes)


def merged_codes(here: dict[str, Rule], codes: dict[str, Rule]) -> dict[str, Rule]:
    """Two tables of the codes matched at one place as one: of the hits of one code at one place
    only the lowest rule id can become a part. Neither table is changed (the engine's shapes
    share theirs)."""
    if here.keys().isdisjoint(codes):
        return here | codes
    merged = dict(here)
    for code, rule in codes.items():
        best = merged.get(code)
        if best is None or rule_key(rule) < rule_key(best):
            merged[code] = rule
    return merged


def separate(normalized: str, hits: Sequence[Hit], candidates: tuple[Candidate, ...]) -> Decision:
    """The decision for top-priority hits of several codes, each with its span (README point 3)."""
    return separate_places(normalized, places_of(hits), candidates)


def separate_places(normalized: str, at: Places, candidates: tuple[Candidate, ...]) -> Decision:
    """The decision for the places the top-priority rules of several codes matched at.

    A hit whose words lie strictly inside another code's hit is the less specific reading of the
    same words (心绞痛 in 不稳定型心绞痛) and drops out. If two of the hits left, of different
    codes, claim overlapping words, the line is ambiguous. Otherwise each code left is a diagnosis
    of its own: one part per code, by its lowest rule id and that rule's span, in text order.
    Said over the distinct places rather than hit by hit (a rule base repeats a pattern under many
    codes): whether a hit stays and what it overlaps depends only on its code and its place.
    """
    if len(at) == 1:
        # One place (the most common set of several codes): its codes all claim the same words;
        # one code there is that code, at that place.
        ((span, codes),) = at.items()
        if len(codes) > 1:
            if span[0] < span[1]:
                return _new(Decision, (_AMBIGUOUS, normalized, None, None, None, None, candidates, (), None))
        else:
            (r,) = codes.values()
            return _new(Decision, (_CODED, normalized, r.code, r.id, r.version, span, candidates, (), None))
    places = list(at.items())
    kept: list[tuple[Span, dict[str, Rule]]] = []
    for item in places:
        (start, end), codes = item
        inside = False  # whether a place strictly contains this one
        only = None  # the code matched at the places containing it
        mixed = False  # whether those places hold several codes
        for (s, e), others in places:
            if s <= start and end <= e and (s != start or e != end):
                inside = True
                for code in others:
                    if only is None:
                        only = code
                    elif code != only:
                        mixed = True
                        break
                if mixed:
                    break
        if inside:
            # a hit drops out when a place containing it holds a code other than its own
            rule = None if mixed else codes.get(only)
            if rule is None:
                continue
            item = ((start, end), {only: rule})
        kept.append(item)
    for i, ((start, end), codes) in enumerate(kept):
        several = len(codes) > 1
        if several and start < end:
            return _new(Decision, (_AMBIGUOUS, normalized, None, None, None, None, candidates, (), None))
        for (s, e), other_codes in kept[i + 1 :]:
            if start < e and s < end and (several or len(other_codes) > 1 or codes.keys() != other_codes.keys()):
                return _new(Decision, (_AMBIGUOUS, normalized, None, None, None, None, candidates, (), None))
    by_code: dict[str, tuple[Rule, Span]] = {}
    for span, codes in kept:
        for code, r in codes.items():
            best = by_code.get(code)
            if best is None or rule_key(r) < rule_key(best[0]):
                by_code[code] = (r, span)
    if len(by_code) == 1:
        ((r, span),) = by_code.values()
        return _new(Decision, (_CODED, normalized, r.code, r.id, r.version, span, candidates, (), None))
    in_order = sorted([(span, code, r) for code, (r, span) in by_code.items()])  # a code is in it once
    parts = tuple([_new(Part, (code, r.id, r.version, span)) for span, code, r in in_order])
    span, code, r = in_order[0]
    return _new(Decision, (_CODED, normalized, code, r.id, r.version, span, candidates, parts, None))


def place(decision: Decision, span_function: Callable[[int | None], Callable[[str], Span | None]]) -> Decision:
    """A coded decision with the winner's span; `span_function(rule_id)` gives that rule's search.

    A span search that runs out of time makes the description a timeout: it is never coded
    without the place it was matched at. Other decisions come back as they are.
    """
    if decision.outcome != Outcome.CODED or decision.span is not None:
        return decision
    try:
        span = span_function(decision.rule_id)(decision.normalized)
    except TimeoutError:
        return Decision(Outcome.TIMEOUT, decision.normalized, candidates=decision.candidates)
    if span is None:  # pragma: no cover - a string test and the regex disagree: a bug, not an input
        raise AssertionError(f"rule {decision.rule_id}: the rule matched but its regex did not")
    return decision._replace(span=span)


_AFTER, _BEFORE = GuardScope.AFTER, GuardScope.BEFORE


def in_scope(scope: GuardScope, start: int, end: int, span: Span) -> bool:
    """Whether a cue at [start, end) stands in `scope` of the matched words `span` (README point 6).

    A cue wholly before the words is in scope `before` and `any`; wholly after, `after` and `any`.
    A cue that overlaps the words is part of what the rule's author matched (a rule for
    发热待查 matches 待查 itself), so it guards nothing.
    """
    if end <= span[0]:
        return scope is not _AFTER
    if start >= span[1]:
        return scope is not _BEFORE
    return False


def guard(decision: Decision, guards: Guards | None) -> Decision:
    """A decision that would code, failed as `uncertain` or `negated` when a guard's cue stands in
    its scope of a coded part's span (the first such guard in table order decides which).

    A line of several codes fails whole when any of its parts is guarded: coding the others would
    hide the guarded diagnosis from the coder. A cue inside any part's words is that rule's own
    text (发热待查) and guards nothing. The candidates are the codes the line would have had, so a
    coder sees what the rules proposed (`would_have`). Only a coded decision is guarded: an
    ambiguous one is a failure a coder reads already, and has no one span to judge by.
    """
    if decision.outcome is not _CODED or not guards:
        return decision
    found = guards.occurrences(decision.normalized)
    if not found:
        return decision
    span = decision.span
    if not decision.parts:
        for g, start, end in found:
            if in_scope(g.scope, start, end, span):
                return _guarded(decision, g, start, end)
        return decision
    spans = [p.span for p in decision.parts]
    for g, start, end in found:
        if any(_overlap((start, end), s) for s in spans):
            continue
        if any(in_scope(g.scope, start, end, s) for s in spans):
            return _guarded(decision, g, start, end)
    return decision


def _guarded(decision: Decision, g: Guard, start: int, end: int) -> Decision:
    return Decision(
        Outcome(g.kind),
        decision.normalized,
        span=decision.span,
        candidates=would_have(decision),
        cue=Cue(g.id, g.version, start, end),
    )


def would_have(decision: Decision) -> tuple[Candidate, ...]:
    """The candidates of a coded decision that it codes, in its codes' (text) order: a guarded line
    shows these, not a match its span dropped (冠心病 疑似不稳定型心绞痛 proposes I25.103 and
    I20.000, not also the 心绞痛 inside 不稳定型心绞痛), so coding it with all of them gives what the
    run would have given, its first code first. The in-database scripts say the same in SQL."""
    by_code = {c.code: c for c in decision.candidates}
    return tuple(by_code[code] for code in decision.codes if code in by_code)


def merge(base: Decision, extra: Sequence[Rule], rule_of: Callable[[int], Rule], *, strict: bool = False) -> Decision:
    """The decision once `extra` rules, all matching this text, join a rule base that decided `base`.

    `base`'s candidates are its hits at its top priority, so `resolve` over them and `extra` is the
    decision of the joined rule base. `rule_of` finds a rule of base's candidates by id.
    """
    if not extra or base.outcome in (Outcome.INVALID_INPUT, Outcome.TIMEOUT):
        return base
    hits = [Hit(rule_of(i)) for c in base.candidates for i in c.rule_ids]
    return resolve(base.normalized, hits + [Hit(r) for r in extra], strict=strict)
