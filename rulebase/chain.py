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

from .dialect import Dot, Pattern, Repeat, Seq
from .literals import exact

INF = 10**9


@dataclass(frozen=True)
class Chain:
    parts: tuple[tuple[str, ...], ...]  # each part: the strings it may be (none empty)
    gaps: tuple[tuple[int, int], ...]  # gaps[i]: (min, max) characters between part i and part i+1
    anchored_start: bool
    anchored_end: bool


def to_chain(pattern: Pattern) -> Chain | None:
    """The pattern as a chain, or None when it has another shape."""
    if len(pattern.alt.branches) != 1:
        e = exact(pattern.alt)
        if e is None or "" in e:
            return None
        return Chain((tuple(sorted(e)),), (), pattern.anchored_start, pattern.anchored_end)
    parts: list[tuple[str, ...]] = []
    gaps: list[tuple[int, int]] = []
    run: list = []  # consecutive items with small exact sets: one part once closed
    pending: tuple[int, int] | None = None  # the gap since the last closed part

    def close_run() -> bool:
        nonlocal pending
        e = exact(Seq(tuple(run)))
        run.clear()
        if e is None or "" in e:
            return False
        if parts:
            gaps.append(pending or (0, 0))
        parts.append(tuple(sorted(e)))
        pending = None
        return True

    for item in pattern.alt.branches[0].items:
        if isinstance(item, Dot) or (isinstance(item, Repeat) and isinstance(item.node, Dot)):
            if not run and not parts:
                return None  # a leading gap is rare; the regex decides it
            if run and not close_run():
                return None
            lo, hi = (1, 1) if isinstance(item, Dot) else (item.min, INF if item.max is None else item.max)
            pending = _add(pending, (lo, hi))
            continue
        if exact(item) is None:
            return None
        run.append(item)
        if exact(Seq(tuple(run))) is None:
            return None
    if run:
        if not close_run():
            return None
    elif pending is not None:
        return None  # a trailing gap is rare; the regex decides it
    return Chain(tuple(parts), tuple(gaps), pattern.anchored_start, pattern.anchored_end)


def _add(a: tuple[int, int] | None, b: tuple[int, int]) -> tuple[int, int]:
    if a is None:
        return b
    return (a[0] + b[0], min(INF, a[1] + b[1]))


def matcher(chain: Chain) -> Callable[[str], bool]:
    """A function text -> whether the chain's pattern is found in the text."""
    parts, gaps = chain.parts, chain.gaps
    last = len(parts) - 1
    anchored_start, anchored_end = chain.anchored_start, chain.anchored_end

    if last == 0:
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
                    if not anchored_end or end == len(t):
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
        return lambda t: found(t, 0, 0, 0)
    return lambda t: found(t, 0, 0, INF)
