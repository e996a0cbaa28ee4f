"""What each proposal does on the history, found through the engine itself.

One `RuleSet` of every proposal says which proposals match each distinct text (`matching`);
one of the existing rules decides each text as the rule base does today. A proposal's support,
precision and wrong codes come from the texts it matches; `overlaps` are the existing rules that
match those texts too; `breaks` the lines the existing rules code right that the existing rules
plus this one proposal (`decision.merge`) would code wrong or leave ambiguous.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import NamedTuple

from ..decision import merge
from ..engine import RuleSet
from ..rule import Rule
from ..states import Outcome
from .apply import Applier
from .pieces import Cand, Corpus


class Evidence(NamedTuple):
    support: int
    correct: int
    distinct: int
    wrong_codes: tuple[tuple[str, int], ...]
    examples: tuple[str, ...]
    wrong_examples: tuple[str, ...]
    overlaps: tuple[int, ...]
    breaks: int


def _same(s: str) -> str:
    return s


def gather(
    corpus: Corpus,
    shown: Sequence[str],
    rules: Sequence[Rule],
    cands: Sequence[Cand],
    existing: Sequence[Rule],
    examples: int,
) -> list[Evidence]:
    """Evidence for each of `rules` (no ids needed; `cands[k]` is the candidate `rules[k]` was
    made from, matched by `Applier` as the engine would match the rule), in their order."""
    matched: dict[int, list[int]] = defaultdict(list)
    applier = Applier(cands)
    texts = corpus.texts
    for i, t in enumerate(texts):
        for k in applier.matching(t):
            matched[k].append(i)
    live = [r for r in existing if r.enabled]
    base = RuleSet(live, normalizer=_same) if live else None
    by_id = {r.id: r for r in live}
    decided: dict[int, object] = {}
    overlapping: dict[int, tuple[int, ...]] = {}

    def today(i: int):
        if i not in decided:
            decided[i] = base.decide(texts[i])
            overlapping[i] = tuple(r.id for r in base.matching(texts[i]) if r.id is not None)
        return decided[i]

    out: list[Evidence] = []
    codes, lines, major = corpus.codes, corpus.lines, corpus.major
    for k, rule in enumerate(rules):
        hits = matched.get(k, [])
        code = rule.code
        support = sum(lines[i] for i in hits)
        correct = sum(codes[i].get(code, 0) for i in hits)
        wrong: Counter = Counter()
        for i in hits:
            for c, n in codes[i].items():
                if c != code:
                    wrong[c] += n
        by_weight = sorted(hits, key=lambda i: (-lines[i], texts[i]))
        good = tuple(shown[i] for i in by_weight if major[i] == code)[:examples]
        bad = tuple(shown[i] for i in by_weight if major[i] != code)[:examples]
        overlaps: set[int] = set()
        breaks = 0
        if base is not None:
            for i in hits:
                before = today(i)
                overlaps.update(overlapping[i])
                if before.outcome != Outcome.CODED or not codes[i].get(before.code):
                    continue
                after = merge(before, [rule], by_id.__getitem__)
                if after.outcome != Outcome.CODED or after.code != before.code:
                    breaks += codes[i][before.code]
        out.append(
            Evidence(
                support,
                correct,
                len(hits),
                tuple(sorted(wrong.items(), key=lambda kv: (-kv[1], kv[0]))),
                good,
                bad,
                tuple(sorted(overlaps)),
                breaks,
            )
        )
    return out
