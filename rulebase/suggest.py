"""Ranked candidate codes for a failed line, from similar audited descriptions (pure).

STUB: the contract the service and `evaluate` are written against; the suggestions helper
replaces the internals (character-level similarity with rapidfuzz) keeping these names.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from rulebase.mining import Example

TOP = 5


class Evidence(NamedTuple):
    """One similar audited text and how persons coded it."""

    text: str
    code: str
    count: int  # history lines with this text and code
    score: float  # similarity to the failed text, 0..100


class Suggestion(NamedTuple):
    code: str
    score: float  # the ranking score, 0..100
    evidence: tuple[Evidence, ...]


class Suggester:
    """An index over the audited history's distinct normalized texts."""

    def __init__(self, history: Sequence[Example]):
        self.history = list(history)

    def suggest(self, text: str, k: int = TOP) -> list[Suggestion]:
        return self.suggest_many([text], k)[0]

    def suggest_many(self, texts: Sequence[str], k: int = TOP) -> list[list[Suggestion]]:
        out = []
        for t in texts:
            best: dict[str, Suggestion] = {}
            for e in self.history:
                if e.text == t or (t and (t in e.text or e.text in t)):
                    for code, n in e.codes.items():
                        s = 100.0 * min(len(t), len(e.text)) / max(len(t), len(e.text))
                        if code not in best or best[code].score < s:
                            best[code] = Suggestion(code, s, (Evidence(e.text, code, n, s),))
            out.append(sorted(best.values(), key=lambda s: -s.score)[:k])
        return out
