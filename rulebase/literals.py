"""The literal text a pattern's every match must contain.

The matching engine indexes these literals in one Aho-Corasick automaton so that, per
description, only the rules whose literals occur are tried with the real pattern. A
requirement is a set of strings of which at least one must occur in any matching text;
a pattern yields a list of requirements that must all hold.
"""

from __future__ import annotations

from itertools import product

from .syntax import Alt, CharClass, Dot, Group, Lit, Node, Pattern, Repeat, Seq

Requirement = frozenset[str]

_MAX_SET = 16  # more alternatives than this make a requirement too weak to be worth indexing
_MAX_CLASS = 8  # a class of at most this many characters is spelled out ([12]型 -> 1型, 2型)


def _minimal(strings: set[str]) -> Requirement:
    """Drop strings that contain another member: requiring "阑尾炎" or "急性阑尾炎" is requiring "阑尾炎"."""
    ordered = sorted(strings, key=len)
    kept: list[str] = []
    for s in ordered:
        if not any(k in s for k in kept):
            kept.append(s)
    return frozenset(kept)


def exact(node: Node, memo: dict[int, frozenset[str] | None] | None = None) -> frozenset[str] | None:
    """Every string the node can match, when that is a small finite set; else None.

    `memo` (keyed by node identity, for one tree) saves recomputing the sets of subtrees when a
    caller asks about a node and then about its children.
    """
    if memo is None:
        return _exact(node, None)
    key = id(node)
    if key not in memo:
        memo[key] = _exact(node, memo)
    return memo[key]


def _exact(node: Node, memo) -> frozenset[str] | None:
    if isinstance(node, Lit):
        return frozenset((node.text,))
    if isinstance(node, CharClass):
        if not node.negated and len(node.chars) <= _MAX_CLASS:
            return node.chars
        return None
    if isinstance(node, Dot):
        return None
    if isinstance(node, Group):
        return exact(node.alt, memo)
    if isinstance(node, Alt):
        out: set[str] = set()
        for b in node.branches:
            e = exact(b, memo)
            if e is None:
                return None
            out |= e
        return frozenset(out) if len(out) <= _MAX_SET else None
    if isinstance(node, Seq):
        acc: frozenset[str] = frozenset([""])
        for item in node.items:
            e = exact(item, memo)
            if e is None or len(acc) * len(e) > _MAX_SET:
                return None
            acc = frozenset(a + b for a, b in product(acc, e))
        return acc
    if isinstance(node, Repeat):
        inner = exact(node.node, memo)
        if inner is None or node.max is None or node.max > 4:
            return None
        out = set()
        for count in range(node.min, node.max + 1):
            acc = frozenset([""])
            for _ in range(count):
                acc = frozenset(a + b for a, b in product(acc, inner))
                if len(acc) > _MAX_SET:
                    return None
            out |= acc
        return frozenset(out) if len(out) <= _MAX_SET else None
    raise TypeError(node)


def strength(req: Requirement) -> tuple[int, int]:
    """Larger is better: the shortest member's length first, then fewer members."""
    return (min(len(s) for s in req), -len(req))


def requirements(node: Node, memo: dict | None = None) -> list[Requirement]:
    """Every requirement the node imposes on a text it matches (possibly none)."""
    if memo is None:
        memo = {}
    e = exact(node, memo)
    if e is not None:
        return [] if "" in e else [_minimal(set(e))]
    if isinstance(node, (Dot, CharClass, Lit)):
        return []
    if isinstance(node, Group):
        return requirements(node.alt, memo)
    if isinstance(node, Repeat):
        return requirements(node.node, memo) if node.min >= 1 else []
    if isinstance(node, Alt):
        if len(node.branches) == 1:
            return requirements(node.branches[0], memo)
        union: set[str] = set()
        for b in node.branches:
            reqs = requirements(b, memo)
            if not reqs:
                return []
            union |= max(reqs, key=strength)
        req = _minimal(union)
        return [req] if len(req) <= _MAX_SET else []
    if isinstance(node, Seq):
        # Consecutive items with small exact sets combine into one requirement (their product);
        # each item's exact set is computed once, so this stays linear in the pattern's length.
        out: list[Requirement] = []
        run: frozenset[str] | None = None

        def flush() -> None:
            if run is not None and "" not in run:
                out.append(_minimal(set(run)))

        for item in node.items:
            e = exact(item, memo)
            if e is None:
                flush()
                run = None
                out.extend(requirements(item, memo))
                continue
            if run is not None and len(run) * len(e) <= _MAX_SET:
                run = frozenset(a + b for a, b in product(run, e))
            else:
                flush()
                run = e
        flush()
        return out
    raise TypeError(node)


def pattern_requirements(pattern: Pattern, memo: dict | None = None) -> list[Requirement]:
    """The requirements of a whole pattern, strongest first (`memo` as for `exact`)."""
    return sorted(set(requirements(pattern.alt, memo)), key=strength, reverse=True)
