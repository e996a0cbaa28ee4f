"""The miner's own matcher for its candidates: what `RuleSet` would decide, without compiling them.

Cross-validation and the evidence apply tens of thousands of candidate rules to every text. Through
the engine each bounded core's regex (two CJK classes) costs ~2 ms to compile and its rule ~0.6 ms
to parse, which at 5,000 codes is most of a mining run. The candidates have three shapes only, a
literal core or pair with its context bounds and literal exclusions, and an exact text, so this
matcher tests them with string operations (`context.fits`) found through one Aho-Corasick
automaton of their first pieces, and applies the engine's semantics (README "Matching
semantics"): the highest priority matching decides, one code there codes, several are ambiguous.
tests/rulebase/test_mining.py holds it equal to `RuleSet` on a mined rule set.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import ahocorasick_rs

from .context import fits
from .pieces import Cand


def _chars(cls: str) -> frozenset[str]:
    return frozenset(cls[1:-1]) if cls else frozenset()


class Applier:
    """Matches and decisions of `cands` on normalized texts."""

    def __init__(self, cands: Sequence[Cand]):
        self.cands = list(cands)
        self.exact: dict[str, list[int]] = defaultdict(list)
        firsts: dict[str, list[int]] = defaultdict(list)
        self.tests: list = []
        for k, c in enumerate(self.cands):
            if c.kind == "exact":
                self.exact[c.pieces[0]].append(k)
                self.tests.append(None)
                continue
            firsts[c.pieces[0]].append(k)
            self.tests.append(self._test(c))
        self.words = sorted(firsts)
        self.by_word = [firsts[w] for w in self.words]
        self.find = ahocorasick_rs.AhoCorasick(self.words).find_matches_as_indexes if self.words else None

    @staticmethod
    def _test(c: Cand):
        exclude = c.exclude
        if c.before is None and c.after is None:
            rx = c.regex()
            core = rx.search
        else:
            if c.before is None or c.after is None:
                rx = c.regex()
                core = rx.search
            else:
                before, after = _chars(c.before_class), _chars(c.after_class)
                if not c.before_class:
                    before = None
                if not c.after_class:
                    after = None
                if before is None and c.before or after is None and c.after:
                    core = c.regex().search  # a '.' bound: rare, left to the regex
                else:
                    empty = frozenset()

                    def core(t, c=c, b=before or empty, a=after or empty):
                        return fits(t, c, b, a)

        if not exclude:
            return core
        return lambda t: bool(core(t)) and not any(e in t for e in exclude)

    def matching(self, text: str) -> list[int]:
        """Indices of the candidates matching `text`, ascending."""
        out = list(self.exact.get(text, ()))
        if self.find is not None:
            tests, by_word = self.tests, self.by_word
            for w in {m[0] for m in self.find(text, True)}:
                for k in by_word[w]:
                    if tests[k](text):
                        out.append(k)
        out.sort()
        return out

    def decide(self, text: str) -> tuple[str | None, list[int]]:
        """(the code, or None when nothing or several codes match at the top; the matching
        candidates at the top priority)."""
        hits = self.matching(text)
        if not hits:
            return None, []
        cands = self.cands
        top = max(cands[k].priority for k in hits)
        best = [k for k in hits if cands[k].priority == top]
        codes = {cands[k].code for k in best}
        return (next(iter(codes)) if len(codes) == 1 else None), best
