"""From candidate pieces to a rule set: per code, a few pieces that cover its texts; priorities
where a specific piece must beat a general one of another code.

The picks are meant to be applied together (README "Matching semantics": only the top priority
counts, two codes there make the text ambiguous). All cores sit at one base priority, so a text
holding the cores of two codes (a run-together line) is ambiguous, never coded on a guess; a
general piece is kept apart from its specific siblings by an exclusion when the counter-examples
allow one, and otherwise by the sibling's higher priority.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import ahocorasick_rs

from . import context
from .pieces import Cand, Corpus, Index, cores, exclusion, pairs, shared_pieces

FLOOR = 0.6  # below this in-sample precision a piece is not even shown for review
COVER = 2  # each text of a code may be covered by this many picks (a second one survives a typo in the first)
PER_CODE = 10  # picks per code at most
MAX_DEPTH = 9  # priority layers above the base; exact texts sit above them all
EXACT_LAYER = MAX_DEPTH + 1
# Characters a core's context may exceed what its own texts show; None: unbounded cores. Bounded
# (2) cores leave more run-together lines uncoded but, measured on benchmarks/mining_quality.py,
# cost a tenth of the stream's coverage (80% -> 69%) and some unseen coverage: off by default.
SLACK: int | None = None
CONTEXT = True  # bound each pick's context by what the history explains (`context`)


def build(corpus: Corpus, idx: Sequence[int], target: float, base: int = 0) -> list[Cand]:
    """The picked candidates of the texts `idx`, with priorities, in a fixed order."""
    major = corpus.major
    index = Index(corpus, idx, shared_pieces(corpus, idx))
    cands = cores(corpus, index, FLOOR)
    covered: set[int] = set()
    for c in cands:
        if c.precision >= target and "counter" not in c.extra:
            covered.update(i for i in c.texts if major[i] == c.code)
    uncovered = [i for i in idx if i not in covered]
    cands += pairs(corpus, idx, index, uncovered, FLOOR)
    picks = pick(corpus, index, cands, target)
    if CONTEXT:
        picks = context.bound(corpus, idx, picks)
    layer(picks, base)
    return picks


def _rank(c: Cand, target: float) -> tuple:
    # A piece whose counter-examples may be excluded ranks as if they were (it is tried then).
    hopeful = "counter" in c.extra
    precision = c.correct / c.support if not hopeful else 1.0
    pattern = c.pattern()
    # Among pieces as general, the longest: the whole shared word (阑尾炎, not 阑尾 or 尾炎).
    return (precision < target, -c.positives, -precision, -len(pattern), c.kind, pattern, c.exclude)


def pick(corpus: Corpus, index: Index, cands: list[Cand], target: float) -> list[Cand]:
    """Greedy cover per code: precise pieces first, the most general of them first, each kept
    while it covers a text of its code that fewer than COVER picks cover. A piece with a few
    counter-examples gets its exclusion when it comes up; if that does not make it precise it
    waits behind the precise ones."""
    major = corpus.major
    by_code: dict[str, list[Cand]] = defaultdict(list)
    for c in cands:
        by_code[c.code].append(c)
    out: list[Cand] = []
    for code in sorted(by_code):
        ranked = sorted(by_code[code], key=lambda c: _rank(c, target))
        times: dict[int, int] = defaultdict(int)
        patterns: set[str] = set()
        chosen = 0
        later: list[Cand] = []
        for group in (ranked, later):
            for c in group:
                if chosen >= PER_CODE:
                    break
                pattern = c.pattern()
                if pattern in patterns:
                    continue
                own = [i for i in c.texts if major[i] == code]
                if not any(times[i] < COVER for i in own):
                    continue
                counter = c.extra.pop("counter", None)
                if counter is not None:
                    better = exclusion(corpus, index, c, counter)
                    c = better if better is not None and better.precision > c.precision else c
                    if c.precision < target and group is ranked:
                        if c.precision >= FLOOR:
                            later.append(c)
                        continue
                    if c.precision < FLOOR:
                        continue
                if SLACK is not None:
                    c = c.bound(corpus, own, SLACK)
                for i in own:
                    times[i] += 1
                patterns.add(pattern)
                out.append(c)
                chosen += 1
            later.sort(key=lambda c: _rank(c, target))
    return out


def layer(picks: list[Cand], base: int) -> None:
    """Priorities: a single piece that contains another code's picked piece (which does not
    exclude it) sits one layer above it, so 2型糖尿病性肾病 beats 糖尿病; the rest at `base`."""
    singles = [c for c in picks if len(c.pieces) == 1]
    for c in picks:
        c.priority = base
    if not singles:
        return
    words = sorted({c.pieces[0] for c in singles})
    number = {w: k for k, w in enumerate(words)}
    by_word: dict[int, list[Cand]] = defaultdict(list)
    for c in singles:
        by_word[number[c.pieces[0]]].append(c)
    ac = ahocorasick_rs.AhoCorasick(words)
    depth: dict[int, int] = {}
    for c in sorted(singles, key=lambda c: (len(c.pieces[0]), c.pieces[0], c.code)):
        piece = c.pieces[0]
        d = 0
        for w in {m[0] for m in ac.find_matches_as_indexes(piece, True)}:
            if words[w] == piece:
                continue
            for inner in by_word[w]:
                if inner.code != c.code and not any(e in piece for e in inner.exclude):
                    d = max(d, depth.get(id(inner), 0) + 1)
        depth[id(c)] = min(d, MAX_DEPTH)
        if d:
            c.kind = "priority"
            c.priority = base + depth[id(c)]
