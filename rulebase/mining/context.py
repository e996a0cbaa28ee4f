"""What may stand around a core: the context its code's history shows, and nothing else.

A core such as `肺部感染` matches any line holding it, including a line that runs a second
diagnosis into it (`肺部感染,冠心病`), which one code cannot describe. So a picked core (or pair)
is bounded: `^[P]{0,a}core[S]{0,b}$`, where P and S are the characters of the contexts the history
explains and a, b the longest such contexts.

A context (the text before the core, or after it, in a text of the core's own code) is
*explained* when it holds no other diagnosis: no history text of two or more lines and no other
code's picked piece occurs in it. The explained contexts are of two sorts:

* the core's own: seen in one of its code's texts (急性 before 阑尾炎, 感染 after 肺部);
* neutral: seen around the cores of at least `NEUTRAL_SHARE` of the codes (左侧, 1、, (首次), 。),
  so a side or a numbering the code's own texts happen not to show still passes.

The history's own run-together lines are coded with their first diagnosis; their second
diagnosis is what the check keeps out of the first one's context.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import ahocorasick_rs

from .pieces import Cand, Corpus, score

NEUTRAL_SHARE = 0.01  # share of the picked codes a context must be seen with to be neutral
NEUTRAL_MIN = 3  # and at least this many codes
MAX_CONTEXT = 12  # longer contexts are not learned (a numbering, a side and a qualifier fit)
_UNFIT = frozenset("[]\\")  # cannot stand inside a portable [ ] class


def _split(text: str, c: Cand) -> tuple[str, str]:
    at = text.find(c.pieces[0])
    end = text.rfind(c.pieces[-1]) + len(c.pieces[-1])
    return text[:at], text[end:]


def char_class(chars: set[str]) -> tuple[str, frozenset[str]]:
    """A portable class of `chars` ('' when none is left): '-' last, '^' never first; and the
    characters it holds."""
    usable = sorted(ch for ch in chars if ch not in _UNFIT)
    if usable == ["^"]:
        usable = []
    if "-" in usable:
        usable.remove("-")
        usable.append("-")
    if usable and usable[0] == "^":
        usable[0], usable[1] = usable[1], usable[0]
    return ("[" + "".join(usable) + "]" if usable else ""), frozenset(usable)


def fits(text: str, c: Cand, before: frozenset[str], after: frozenset[str]) -> bool:
    """Whether `text` matches the bounded pattern of `c` (what `re` would say, without compiling
    one regex per candidate: CJK classes cost ~2 ms each to compile)."""
    first, last = c.pieces[0], c.pieces[-1]
    a, b = c.before or 0, c.after or 0
    start = text.find(first)
    while 0 <= start <= a:
        if all(ch in before for ch in text[:start]):
            head = start + len(first)
            if len(c.pieces) == 1:
                ends = [head]
            else:
                ends = []
                at = text.find(last, head)
                while 0 <= at <= head + c.gap:
                    ends.append(at + len(last))
                    at = text.find(last, at + 1)
            for end in ends:
                if len(text) - end <= b and all(ch in after for ch in text[end:]):
                    return True
        start = text.find(first, start + 1)
    return False


def bound(corpus: Corpus, idx: Sequence[int], picks: list[Cand]) -> list[Cand]:
    """The picks with their context bounded by what the history explains, re-counted."""
    if not picks:
        return picks
    texts, major, lines = corpus.texts, corpus.major, corpus.lines
    diseases = sorted({texts[i] for i in idx if lines[i] >= 2 and len(texts[i]) >= 2})
    piece_code: dict[str, set[str]] = defaultdict(set)
    for c in picks:
        for p in c.pieces:
            piece_code[p].add(c.code)
    words = diseases + sorted(piece_code)
    ac = ahocorasick_rs.AhoCorasick(words)
    n_dis = len(diseases)

    def explained(context: str, code: str) -> bool:
        if len(context) > MAX_CONTEXT:
            return False
        for w in {m[0] for m in ac.find_matches_as_indexes(context, True)}:
            if w < n_dis or piece_code[words[w]] != {code}:
                return False
        return True

    contexts: list[tuple[list[str], list[str]]] = []
    seen_with: tuple[dict[str, set[str]], dict[str, set[str]]] = (defaultdict(set), defaultdict(set))
    verdict: dict[tuple[str, str], bool] = {}
    for c in picks:
        before, after = [], []
        for i in c.texts:
            if major[i] != c.code:
                continue
            for side, ctx, out in zip((0, 1), _split(texts[i], c), (before, after), strict=True):
                if not ctx:
                    continue
                key = (ctx, c.code)
                ok = verdict.get(key)
                if ok is None:
                    ok = verdict[key] = explained(ctx, c.code)
                if ok:
                    out.append(ctx)
                    seen_with[side][ctx].add(c.code)
        contexts.append((before, after))
    floor = max(NEUTRAL_MIN, NEUTRAL_SHARE * len({c.code for c in picks}))
    neutral = [[ctx for ctx, codes in seen.items() if len(codes) >= floor] for seen in seen_with]
    neutral_chars = [frozenset(ch for ctx in n for ch in ctx) for n in neutral]
    neutral_longest = [sorted((len(x) for x in n), reverse=True)[:2] for n in neutral]
    made: dict[tuple, tuple[str, frozenset[str], int]] = {}  # many cores share their sides
    out: list[Cand] = []
    for c, own in zip(picks, contexts, strict=True):
        sides = []
        for k in (0, 1):
            mine = frozenset(own[k])
            side = made.get((k, mine))
            if side is None:
                chars = neutral_chars[k].union(*mine) if mine else neutral_chars[k]
                cls, usable = char_class(chars)
                longest = sorted([*neutral_longest[k], *(len(x) for x in mine)], reverse=True)[:2]
                side = made[(k, mine)] = (cls, usable, min(sum(longest), 255) if cls else 0)
            sides.append(side)
        out.append(_bounded(corpus, c, sides))
    return out


def _bounded(corpus: Corpus, c: Cand, sides: list[tuple[str, frozenset[str], int]]) -> Cand:
    b = Cand(c.kind, c.code, c.pieces, [], gap=c.gap, exclude=c.exclude, priority=c.priority)
    (b.before_class, before, b.before), (b.after_class, after, b.after) = sides
    texts = corpus.texts
    b.texts = [i for i in c.texts if fits(texts[i], b, before, after)]
    return score(corpus, b)
