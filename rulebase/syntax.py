"""The dialect's syntax tree and what can be read off a tree: the empty string, lengths, the
characters a match starts with, the size once repetitions are spelled out. The parser
(rulebase.dialect) builds the trees; the literal index, chains and verifiers read them."""

from __future__ import annotations

from dataclasses import dataclass

# -- syntax tree -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Lit:
    """A run of one or more literal characters (the parser joins neighbours no quantifier binds)."""

    text: str


@dataclass(frozen=True, slots=True)
class Dot:
    pass


@dataclass(frozen=True, slots=True)
class CharClass:
    negated: bool
    chars: frozenset[str]  # every character the class lists, ranges expanded (ASCII only)


@dataclass(frozen=True, slots=True)
class Repeat:
    node: Node
    min: int
    max: int | None  # None: unbounded


@dataclass(frozen=True, slots=True)
class Seq:
    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Alt:
    branches: tuple[Seq, ...]


@dataclass(frozen=True, slots=True)
class Group:
    alt: Alt


Node = Lit | Dot | CharClass | Repeat | Seq | Alt | Group


@dataclass(frozen=True, slots=True)
class Pattern:
    """A parsed, validated pattern."""

    source: str
    alt: Alt
    anchored_start: bool
    anchored_end: bool


# -- properties of the tree --------------------------------------------------------------------


def nullable(node: Node) -> bool:
    """Whether the node can match the empty string."""
    if isinstance(node, (Lit, Dot, CharClass)):
        return False
    if isinstance(node, Group):
        return nullable(node.alt)
    if isinstance(node, Alt):
        return any(nullable(b) for b in node.branches)
    if isinstance(node, Seq):
        return all(nullable(i) for i in node.items)
    if isinstance(node, Repeat):
        return node.min == 0 or nullable(node.node)
    raise TypeError(node)


def length_bounds(node: Node) -> tuple[int, int | None]:
    """The shortest and longest text the node can match (None: no longest)."""
    if isinstance(node, Lit):
        return len(node.text), len(node.text)
    if isinstance(node, (Dot, CharClass)):
        return 1, 1
    if isinstance(node, Group):
        return length_bounds(node.alt)
    if isinstance(node, Alt):
        bounds = [length_bounds(b) for b in node.branches]
        his = [hi for _, hi in bounds]
        return min(lo for lo, _ in bounds), None if None in his else max(his)
    if isinstance(node, Seq):
        lo, hi = 0, 0
        for item in node.items:
            a, b = length_bounds(item)
            lo += a
            hi = None if hi is None or b is None else hi + b
        return lo, hi
    if isinstance(node, Repeat):
        a, b = length_bounds(node.node)
        return a * node.min, None if node.max is None or b is None else b * node.max
    raise TypeError(node)


def expanded_size(node: Node) -> int:
    """How many positions the node has with its repetitions spelled out (an unbounded one counts its minimum)."""
    if isinstance(node, Lit):
        return len(node.text)
    if isinstance(node, (Dot, CharClass)):
        return 1
    if isinstance(node, Group):
        return expanded_size(node.alt)
    if isinstance(node, (Alt, Seq)):
        return sum(expanded_size(n) for n in (node.branches if isinstance(node, Alt) else node.items))
    if isinstance(node, Repeat):
        return expanded_size(node.node) * max(node.max if node.max is not None else node.min, 1)
    raise TypeError(node)


ANY = None  # first-character set that may be any character


def first_chars(node: Node) -> frozenset[str] | None:
    """The characters a match of the node may start with; None when any character may."""
    if isinstance(node, Lit):
        return frozenset(node.text[0])
    if isinstance(node, Dot):
        return ANY
    if isinstance(node, CharClass):
        return ANY if node.negated else node.chars
    if isinstance(node, Group):
        return first_chars(node.alt)
    if isinstance(node, Repeat):
        return first_chars(node.node)
    if isinstance(node, Alt):
        out: set[str] = set()
        for b in node.branches:
            f = first_chars(b)
            if f is ANY:
                return ANY
            out |= f
        return frozenset(out)
    if isinstance(node, Seq):
        out = set()
        for item in node.items:
            f = first_chars(item)
            if f is ANY:
                return ANY
            out |= f
            if not nullable(item):
                break
        return frozenset(out)
    raise TypeError(node)
