"""The matching semantics, said once (README, "Matching semantics", points 3 and 5).

Every matcher finds the verified matches of a description and hands them to `resolve`: the plain
loop, the indexed RuleSet (whose cache of decision shapes memoizes `resolve`'s result per set of
matching rules), the in-database engine, and rule testing (`merge`). Nothing else decides. A
decision that would code then passes `guard` (README point 6), once its span is known.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import NamedTuple

from .guards import Guards
from .normalize import normalize_text
from .rule import Rule
from .states import GuardScope, Outcome

Span = tuple[int, int]


class Candidate(NamedTuple):
    """One code proposed by one or more rules at the winning priority."""

    code: str
    rule_ids: tuple[int, ...]


class Decision(NamedTuple):
    """What the engine concluded for one description (immutable; a tuple, cheap to make)."""

    outcome: Outcome
    normalized: str
    code: str | None = None
    rule_id: int | None = None
    rule_version: int | None = None
    span: Span | None = None
    candidates: tuple[Candidate, ...] = ()


class Hit(NamedTuple):
    """A rule that matched one description."""

    rule: Rule
    span: Span | None = None  # None when found without a regex: `place` fills in the winner's


def rule_key(rule: Rule) -> int:
    """A rule's id for ordering and listing; a candidate rule that is not stored yet counts as 0."""
    return rule.id if rule.id is not None else 0


def candidates_of(rules: Iterable[Rule]) -> tuple[Candidate, ...]:
    """The codes these rules propose, each with its rule ids, sorted."""
    by_code: dict[str, set[int]] = {}
    for r in rules:
        by_code.setdefault(r.code, set()).add(rule_key(r))
    return tuple(Candidate(code, tuple(sorted(ids))) for code, ids in sorted(by_code.items()))


def prepare(normalizer: Callable[[str], str], description: str | None) -> str | Decision:
    """The normalized text to match, or the decision when there is none to match (README points 1, 4, 5):
    a description that normalizes to nothing is invalid_input; a normalization pattern that runs out
    of time makes the description a timeout, like a rule's would."""
    try:
        text = normalizer(description or "")
    except TimeoutError:
        return Decision(Outcome.TIMEOUT, normalize_text(description))
    return text if text else Decision(Outcome.INVALID_INPUT, text)


def resolve(normalized: str, hits: Sequence[Hit], timed_out: Sequence[Rule] = ()) -> Decision:
    """Apply the semantics to the verified matches of one description.

    Only the hits at the highest priority count (a matcher may stop looking below it). One distinct
    code: coded, by the lowest rule id for that code. None: no_match. Several codes: ambiguous,
    listing every candidate. A rule at or above that priority that ran out of time could have
    matched, so the description is not coded on a guess: timeout.
    """
    top = max((h.rule.priority for h in hits), default=None)
    if top is not None:
        timed_out = [r for r in timed_out if r.priority >= top]
    if timed_out:
        return Decision(Outcome.TIMEOUT, normalized, candidates=candidates_of([*timed_out, *(h.rule for h in hits)]))
    if top is None:
        return Decision(Outcome.NO_MATCH, normalized)
    best = [h for h in hits if h.rule.priority == top]
    candidates = candidates_of(h.rule for h in best)
    if len(candidates) > 1:
        return Decision(Outcome.AMBIGUOUS, normalized, candidates=candidates)
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


_CODED = Outcome.CODED
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
    its scope of the winner's span (the first such guard in table order decides which).

    The candidates are kept, so a coder sees what the rules proposed. Only a coded decision is
    guarded: an ambiguous one is a failure a coder reads already, and has no one span to judge by.
    """
    if decision.outcome is not _CODED or not guards:
        return decision
    found = guards.occurrences(decision.normalized)
    if not found:
        return decision
    span = decision.span
    for g, start, end in found:
        if in_scope(g.scope, start, end, span):
            return Decision(Outcome(g.kind), decision.normalized, span=span, candidates=decision.candidates)
    return decision


def merge(base: Decision, extra: Sequence[Rule], rule_of: Callable[[int], Rule]) -> Decision:
    """The decision once `extra` rules, all matching this text, join a rule base that decided `base`.

    `base`'s candidates are its hits at its top priority, so `resolve` over them and `extra` is the
    decision of the joined rule base. `rule_of` finds a rule of base's candidates by id.
    """
    if not extra or base.outcome in (Outcome.INVALID_INPUT, Outcome.TIMEOUT):
        return base
    hits = [Hit(rule_of(i)) for c in base.candidates for i in c.rule_ids]
    return resolve(base.normalized, hits + [Hit(r) for r in extra])
