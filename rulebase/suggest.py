"""Ranked candidate codes for a failed line, from similar audited descriptions (pure).

A failure's text is compared with the distinct normalized texts of the audited history (what
persons coded, confirmed or corrected); the codes those similar texts were given are ranked by
their evidence: how similar the best texts are, how consistently persons coded them so, and how
many other similar texts agree. Each suggestion carries that evidence. Suggesting never codes.

Similarity is character-level, as diagnoses are written without word breaks. Two views of the
longest common subsequence (rapidfuzz's LCSseq, in C) are blended: over the texts as written
(order matters: 左肺急性肺炎 is closer to itself than to 急性肺炎左肺) and over their characters
sorted (a multiset overlap: a moved qualifier, 急性左肺肺炎 for 左肺急性肺炎, still counts). The
shared length L scores a history text t against the failure q as the mean of the two
containments, L/|q| and L/|t|: a history text wholly inside a run-together line
(冠心病 in 冠心病不稳定型心绞痛) scores well, and a long text sharing a little scores low.

Comparing every failure with 200,000 texts is too slow, so an inverted index of character
bigrams picks the texts worth scoring: those sharing the most bigrams with the failure. A
bigram's list holds the most coded texts first, and a very common bigram (肺炎) contributes only
its first POSTINGS entries; rare bigrams contribute all of theirs. A text sharing any bigram
with the history always gets candidates.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from operator import itemgetter
from typing import NamedTuple

from rapidfuzz import fuzz, process
from rapidfuzz.distance import LCSseq

from rulebase.mining import Example

TOP = 5
BUDGET = 1500  # entries read from the rarest bigrams' lists, in full
HEAD = 20  # entries read from each other bigram's list (its most coded texts)
POOL = 30  # texts scored per query (those sharing the most bigrams)
EVIDENCE = 3  # similar texts kept per suggested code
ORDER_WEIGHT = 0.4  # share of the written-order view in the blended common length
AGREEMENT_FLOOR = 0.75  # a text's similarity counts from this share (few of its lines coded so) to all
MORE_EVIDENCE = (1.0, 0.04, 0.02)  # weights of a code's best, second and third similar texts


class Evidence(NamedTuple):
    """One similar audited text and how persons coded it."""

    text: str
    code: str
    count: int  # history lines with this text and code
    score: float  # similarity to the failed text, 0..100
    total: int = 0  # history lines with this text (any code): count/total is the agreement


class Suggestion(NamedTuple):
    code: str
    score: float  # the ranking score, 0..100
    evidence: tuple[Evidence, ...]
    lines: int = 0  # history lines coded so among the evidence texts


def _grams(text: str) -> list[str]:
    """The text's distinct character bigrams (the text itself when it is one character), sorted."""
    if len(text) < 2:
        return [text] if text else []
    return sorted({text[i : i + 2] for i in range(len(text) - 1)})


def _most_first(item: tuple[str, int]) -> tuple[int, str]:
    return -item[1], item[0]


class Suggester:
    """An index over the audited history's distinct normalized texts.

    `inactive`: codes never to suggest (the dictionary's inactive codes); a text coded only so is
    left out of the index.
    """

    def __init__(self, history: Sequence[Example], inactive: Collection[str] = ()):
        merged: dict[str, dict[str, int]] = {}
        for e in history:
            if not e.text:
                continue
            c = merged.get(e.text)
            if c is None:
                c = merged[e.text] = {}
            for code, n in e.codes.items():
                if n > 0 and code not in inactive:
                    c[code] = c.get(code, 0) + n
        # Ids in order of lines coded (most first), then text: a bigram's list is then its most
        # coded texts first, and every tie is broken the same way on every run.
        order = sorted((-sum(c.values()), t) for t, c in merged.items() if c)
        self.texts: list[str] = [t for _, t in order]
        self._sorted: list[str] = ["".join(sorted(t)) for t in self.texts]
        self._totals: list[int] = [-n for n, _ in order]
        self._codes: list[tuple[tuple[str, int], ...]] = [
            tuple(c.items()) if len(c := merged[t]) == 1 else tuple(sorted(c.items(), key=_most_first))
            for t in self.texts
        ]
        postings: dict[str, list[int]] = {}
        for i, t in enumerate(self.texts):
            for g in {t[j : j + 2] for j in range(len(t) - 1)} if len(t) > 1 else (t,):
                lst = postings.get(g)
                if lst is None:
                    postings[g] = [i]
                else:
                    lst.append(i)
        self._postings = postings

    def __len__(self) -> int:
        return len(self.texts)

    def _pool(self, text: str) -> list[int]:
        """The ids of the texts sharing the most bigrams with `text` (about POOL; ties: most coded).

        The rarest bigrams are read in full, up to BUDGET entries in all: a text of the same code
        shares them (the junctions of qualifier, site and head: 性股, 颈心). Each other bigram adds
        only its HEAD most coded texts, so a frequent short text inside a run-together line
        (冠心病 in 冠心病不稳定型心绞痛) is still scored.
        """
        postings = self._postings
        lists = sorted((len(lst), g, lst) for g in _grams(text) if (lst := postings.get(g)) is not None)
        pool: set[int] = set()
        read = 0
        for n, _, lst in lists:
            if read + n <= BUDGET or not read:
                pool.update(lst[:BUDGET])
                read += min(n, BUDGET)
            else:
                pool.update(lst[:HEAD])
        ids = sorted(pool)
        if len(ids) <= POOL:
            return ids
        # the characters' multiset overlap (Dice over sorted characters), in C
        best = process.extract("".join(sorted(text)), itemgetter(*ids)(self._sorted), scorer=fuzz.ratio, limit=POOL)
        return sorted(ids[j] for _, _, j in best)

    def suggest(self, text: str, k: int = TOP) -> list[Suggestion]:
        return self.suggest_many([text], k)[0]

    def suggest_many(self, texts: Sequence[str], k: int = TOP) -> list[list[Suggestion]]:
        done: dict[str, list[Suggestion]] = {}
        out = []
        for t in texts:
            found = done.get(t)
            if found is None:
                found = done[t] = self._suggest(t, k)
            out.append(found)
        return out

    def _suggest(self, q: str, k: int) -> list[Suggestion]:
        if not q or k < 1 or not self.texts:
            return []
        q_sorted = "".join(sorted(q))
        nq = len(q)
        lcs = LCSseq.similarity
        by_code: dict[str, list[tuple[float, float, int, int]]] = {}
        for i in self._pool(q):
            t = self.texts[i]
            # every pooled text shares a bigram with q (it came from that bigram's list)
            common = ORDER_WEIGHT * lcs(q, t) + (1 - ORDER_WEIGHT) * lcs(q_sorted, self._sorted[i])
            sim = min(1.0, 0.5 * (common / nq + common / len(t)))
            total = self._totals[i]
            for code, n in self._codes[i]:
                weight = sim * (AGREEMENT_FLOOR + (1 - AGREEMENT_FLOOR) * n / total)
                by_code.setdefault(code, []).append((weight, sim, n, i))
        ranked = []
        for code, ev in by_code.items():
            ev.sort(key=lambda e: (-e[0], -e[2], e[3]))
            top = ev[:EVIDENCE]
            # more similar texts coded so lift a code a little above one lone text as similar
            score = min(1.0, sum(w * e[0] for w, e in zip(MORE_EVIDENCE, top, strict=False)))
            lines = sum(e[2] for e in top)
            ranked.append((round(100 * score, 1), lines, code, top))
        ranked.sort(key=lambda r: (-r[0], -r[1], r[2]))
        return [
            Suggestion(
                code,
                score,
                tuple(Evidence(self.texts[i], code, n, round(100 * sim, 1), self._totals[i]) for _, sim, n, i in top),
                lines,
            )
            for score, lines, code, top in ranked[:k]
        ]
