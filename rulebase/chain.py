"""Deciding the common shape of rule without a regex engine.

Coders mostly write literal fragments with optional or alternative parts, joined by `.*` or
`.{m,n}`: `冠(状动脉粥样硬化性)?心(脏)?病`, `高血压(病)?.{0,2}3级`, `(慢性阻塞性肺疾病|COPD).*急性加重`.
Such a pattern is a chain: small finite sets of strings separated by gaps of any characters.
Whether it matches a text is then a few C-speed `str.find` calls, about ten times cheaper than a
`regex` search with a timeout; the matched span, which only the winning rule needs, is still
taken from the real regex by the engine.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from itertools import product

from .literals import exact
from .syntax import Dot, Pattern, Repeat

INF = 10**9


@dataclass(frozen=True, slots=True)
class Chain:
    parts: tuple[tuple[str, ...], ...]  # each part: the strings it may be (none empty)
    gaps: tuple[tuple[int, int], ...]  # gaps[i]: (min, max) characters between part i and part i+1
    anchored_start: bool
    anchored_end: bool
    lead: tuple[int, int] = (0, 0)  # characters before the first part (^.{2,3}结石$)
    trail: tuple[int, int] = (0, 0)  # characters after the last part


def _gap_of(item) -> tuple[int, int] | None:
    if isinstance(item, Dot):
        return (1, 1)
    if isinstance(item, Repeat) and isinstance(item.node, Dot):
        return (item.min, INF if item.max is None else item.max)
    return None


def to_chain(pattern: Pattern, memo: dict | None = None) -> Chain | None:
    """The pattern as a chain, or None when it has another shape.

    `memo` is `exact`'s, shared with `literals.requirements` over the same tree so each
    subtree's strings are worked out once.
    """
    if len(pattern.alt.branches) != 1:
        e = exact(pattern.alt, memo)
        if e is None or "" in e:
            return None
        return Chain((tuple(sorted(e)),), (), pattern.anchored_start, pattern.anchored_end)
    parts: list[tuple[str, ...]] = []
    gaps: list[tuple[int, int]] = []
    lead: tuple[int, int] | None = None
    run: frozenset[str] | None = None  # the product of consecutive exact items: one part once closed
    pending: tuple[int, int] | None = None  # the gap since the last closed part

    def close_run() -> bool:
        """The exact items so far become a part; False when they could match nothing at all."""
        nonlocal run, pending
        if "" in run:
            return False
        if parts:
            gaps.append(pending or (0, 0))
        parts.append(tuple(sorted(run)))
        run, pending = None, None
        return True

    for item in pattern.alt.branches[0].items:
        gap = _gap_of(item)
        if gap is not None:
            if run is not None and not close_run():
                return None
            if parts:
                pending = _add(pending, gap)
            else:
                lead = _add(lead, gap)
            continue
        e = exact(item, memo)
        if e is None:
            return None
        run = e if run is None else frozenset(a + b for a, b in product(run, e))
        if len(run) > 16:
            return None
    if run is not None and not close_run():
        return None
    if not parts:
        return None
    return Chain(
        tuple(parts), tuple(gaps), pattern.anchored_start, pattern.anchored_end, lead or (0, 0), pending or (0, 0)
    )


def matcher(chain: Chain) -> Callable[[str], bool]:
    """A function text -> whether the chain's pattern is found in the text."""
    parts, gaps = chain.parts, chain.gaps
    last = len(parts) - 1
    anchored_start, anchored_end = chain.anchored_start, chain.anchored_end

    lead_lo, lead_hi = chain.lead
    trail_lo, trail_hi = chain.trail
    plain_ends = chain.lead == (0, 0) and chain.trail == (0, 0)

    if last == 0 and plain_ends:
        only = parts[0]
        if anchored_start and anchored_end:
            members = frozenset(only)
            return lambda t: t in members
        if anchored_start:
            return lambda t: t.startswith(only)
        if anchored_end:
            return lambda t: t.endswith(only)
        if len(only) == 1:
            s = only[0]
            return lambda t: s in t
        return lambda t: any(s in t for s in only)

    def found(t: str, i: int, lo: int, hi: int) -> bool:
        for s in parts[i]:
            pos = t.find(s, lo)
            while pos != -1 and pos <= hi:
                end = pos + len(s)
                if i == last:
                    rest = len(t) - end
                    if rest >= trail_lo and (not anchored_end or rest <= trail_hi):
                        return True
                else:
                    g_lo, g_hi = gaps[i]
                    if found(t, i + 1, end + g_lo, end + g_hi):
                        return True
                    if g_hi >= INF:
                        break  # a later occurrence ends later: it cannot do better after an unbounded gap
                pos = t.find(s, pos + 1)
        return False

    if anchored_start:
        return lambda t: found(t, 0, lead_lo, lead_hi)
    return lambda t: found(t, 0, lead_lo, INF)


def _add(a: tuple[int, int] | None, b: tuple[int, int]) -> tuple[int, int]:
    if a is None:
        return b
    return (a[0] + b[0], min(INF, a[1] + b[1]))
