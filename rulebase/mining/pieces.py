"""Candidate pieces: literal cores, pairs and exclusions, with their in-sample counts.

Everything here works on one `Corpus` (the distinct texts, their codes and line counts) and a
subset of its text indices (all of them, or the training folds of a cross-validation). No rule is
built here: a `Cand` is a piece and the texts it matches; `select` turns the good ones into rules.

Cost is bounded by design: pieces are substrings of 2..MAX_PIECE characters, counted per code
over that code's own texts (so memory holds one code's substrings at a time); only pieces shared
by two texts of one code survive, and one Aho-Corasick pass over every text finds the texts that
hold each survivor. Nothing loops over texts × pieces.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import ahocorasick_rs

MIN_PIECE = 2  # one character (炎, 癌) says nothing about a code
MAX_PIECE = 10  # longer shared pieces are caught by their 10-character windows
MAX_COUNTER = 12  # counter-example texts an exclusion may be learned from; more: the piece is too general
MAX_EXCLUDES = 6  # alternatives in one exclude pattern
MAX_GAP = 8  # characters a pair's modifier and head may be apart
MAX_PAIRS_PER_TEXT = 40
MAX_SHARERS = 20  # codes a piece may be shared within and still be indexed

_ESCAPED = str.maketrans({c: "\\" + c for c in ".[](){}*+?|^$\\"})


def escape(text: str) -> str:
    """A literal in the dialect: every META character escaped."""
    return text.translate(_ESCAPED)


class Corpus:
    """The distinct texts and their codes, by index; every count is in history lines."""

    __slots__ = ("texts", "codes", "lines", "major", "major_lines")

    def __init__(self, texts: Sequence[str], codes: Sequence[Mapping[str, int]]):
        self.texts = list(texts)
        self.codes = [dict(c) for c in codes]
        self.lines = [sum(c.values()) for c in self.codes]
        # The code most lines got; a tie goes to the smaller code so the result never depends on order.
        self.major = [min(c.items(), key=lambda kv: (-kv[1], kv[0]))[0] for c in self.codes]
        self.major_lines = [c[m] for c, m in zip(self.codes, self.major, strict=True)]


@dataclass(slots=True)
class Cand:
    """A candidate rule before it is a rule: its pieces, the texts it matches, their counts."""

    kind: str  # a ProposalKind value
    code: str
    pieces: tuple[str, ...]  # one literal (core, exclusion, exact) or two (pair: modifier, head)
    texts: list[int]  # indices of the texts it matches (after its exclusions)
    support: int = 0  # lines
    correct: int = 0  # lines coded `code`
    positives: int = 0  # matched texts whose major code is `code`
    gap: int = 0  # a pair's largest gap
    # Characters allowed before the first piece and after the last (None: any number). A core
    # bounded by what its own texts carry around it (qualifiers, 3级, (右)) does not match a line
    # that runs another diagnosis into it, which then stays uncoded instead of coded on a guess.
    before: int | None = None
    after: int | None = None
    before_class: str = ""  # the characters allowed there, as a [ ] class ("": any)
    after_class: str = ""
    exclude: tuple[str, ...] = ()
    priority: int = 0
    extra: dict = field(default_factory=dict)

    @property
    def precision(self) -> float:
        return self.correct / self.support if self.support else 0.0

    def pattern(self) -> str:
        found = self.extra.get("pattern")
        if found is None:
            found = self.extra["pattern"] = self._pattern()
        return found

    def _pattern(self) -> str:
        if self.kind == "exact":
            return "^" + escape(self.pieces[0]) + "$"
        if len(self.pieces) == 2:
            core = escape(self.pieces[0]) + ".{0," + str(self.gap) + "}" + escape(self.pieces[1])
        else:
            core = escape(self.pieces[0])
        if self.before is not None:
            lead = "" if self.before == 0 else (self.before_class or ".") + "{0," + str(self.before) + "}"
            core = "^" + lead + core
        if self.after is not None:
            core += "$" if self.after == 0 else (self.after_class or ".") + "{0," + str(self.after) + "}$"
        return core

    def regex(self) -> re.Pattern:
        found = self.extra.get("regex")
        if found is None:
            found = self.extra["regex"] = re.compile(self.pattern())
        return found

    def bound(self, corpus: Corpus, own: list[int], slack: int) -> Cand:
        """This candidate with its context bounded by its own texts' (plus `slack`), re-counted."""
        texts = corpus.texts
        first, last = self.pieces[0], self.pieces[-1]
        before = after = 0
        for i in own:
            t = texts[i]
            before = max(before, t.find(first))
            after = max(after, len(t) - t.rfind(last) - len(last))
        bounded = Cand(self.kind, self.code, self.pieces, [], gap=self.gap, exclude=self.exclude)
        bounded.before, bounded.after = min(before + slack, 255), min(after + slack, 255)
        rx = re.compile(bounded.pattern())
        bounded.texts = [i for i in self.texts if rx.search(texts[i])]
        return score(corpus, bounded)

    def exclude_pattern(self) -> str | None:
        if not self.exclude:
            return None
        if len(self.exclude) == 1:
            return escape(self.exclude[0])
        return "(" + "|".join(escape(e) for e in self.exclude) + ")"

    def key(self) -> tuple:
        """Identity across folds: the same code and pieces is the same proposal (its bounds and
        exclusions, learned from the texts at hand, may differ from fold to fold)."""
        return (self.code, self.pieces)


def _usable(piece: str) -> bool:
    # A piece must say something: not a blank at its ends (the text's words, not their spacing),
    # and at least one letter or ideograph (3级 yes, "(2" no).
    return piece[0] != " " and piece[-1] != " " and any(ch.isalpha() for ch in piece)


def substrings(text: str) -> set[str]:
    n = len(text)
    return {text[i:j] for i in range(n - MIN_PIECE + 1) for j in range(i + MIN_PIECE, min(n, i + MAX_PIECE) + 1)}


def score(corpus: Corpus, cand: Cand) -> Cand:
    """Fill in a candidate's counts from its texts."""
    codes, lines, major = corpus.codes, corpus.lines, corpus.major
    code = cand.code
    support = correct = positives = 0
    for i in cand.texts:
        support += lines[i]
        if major[i] == code:
            positives += 1
            correct += codes[i][code]
        else:
            correct += codes[i].get(code, 0)
    cand.support, cand.correct, cand.positives = support, correct, positives
    return cand


def shared_pieces(corpus: Corpus, idx: Sequence[int]) -> list[str]:
    """Pieces shared by at least two texts of one code, and the whole text of a code's only text."""
    by_code: dict[str, list[int]] = defaultdict(list)
    for i in idx:
        by_code[corpus.major[i]].append(i)
    texts = corpus.texts
    found: set[str] = set()
    sharers: Counter = Counter()
    for members in by_code.values():
        if len(members) == 1:
            only = texts[members[0]]
            if MIN_PIECE <= len(only) and _usable(only):
                found.add(only)
            continue
        counts: Counter = Counter()
        for i in members:
            counts.update(substrings(texts[i]))
        sharers.update(p for p, n in counts.items() if n >= 2)
    # A piece that several texts of each of many codes hold is a qualifier or a bare head noun
    # (急性, 左侧, 骨折): never a core, and too common to be worth finding in every text.
    found.update(p for p, n in sharers.items() if n <= MAX_SHARERS)
    return sorted(p for p in found if _usable(p))


class Index:
    """Which texts of the subset hold each piece, found in one Aho-Corasick pass."""

    def __init__(self, corpus: Corpus, idx: Sequence[int], pieces: list[str]):
        self.pieces = pieces
        self.holders: list[list[int]] = [[] for _ in pieces]
        if not pieces:
            self.find = None
            return
        ac = ahocorasick_rs.AhoCorasick(pieces)
        self.find = ac.find_matches_as_indexes
        holders = self.holders
        texts = corpus.texts
        for i in idx:
            for p in {m[0] for m in self.find(texts[i], True)}:
                holders[p].append(i)

    def occurrences(self, text: str) -> list[tuple[int, int, int]]:
        return self.find(text, True) if self.find else []


def cores(corpus: Corpus, index: Index, floor: float) -> list[Cand]:
    """Each piece for the code most of its lines got, when at or above `floor` precision or when
    its few counter-examples (other codes' texts) might be excluded: those carry them in
    `extra["counter"]`, and `select.pick` tries the exclusion only when it needs the piece."""
    lines, major, texts = corpus.lines, corpus.major, corpus.texts
    out: list[Cand] = []
    for p, holders in enumerate(index.holders):
        if not holders:
            continue
        first = major[holders[0]]
        if len(holders) == 1 or all(major[i] == first for i in holders):
            code = first
        else:
            weight: Counter = Counter()
            for i in holders:
                weight[major[i]] += lines[i]
            code = min(weight.items(), key=lambda kv: (-kv[1], kv[0]))[0]
        cand = score(corpus, Cand("core", code, (index.pieces[p],), holders))
        if cand.positives < 2 and not any(texts[i] == index.pieces[p] and major[i] == code for i in holders):
            continue  # one text of its own code and others': a guess, unless the piece is that whole text
        counter = len(holders) - cand.positives
        if counter and counter <= min(MAX_COUNTER, cand.positives):
            cand.extra["counter"] = [i for i in holders if major[i] != code]
        elif cand.precision < floor:
            continue
        out.append(cand)
    return out


def exclusion(corpus: Corpus, index: Index, cand: Cand, counter: list[int]) -> Cand | None:
    """The candidate with the pieces that set its counter-examples apart excluded.

    Exclusion pieces are shared pieces (two texts of some code hold them) found in the
    counter-examples and in no text of the candidate's own code; chosen greedily, the piece most
    counter-examples hold first (the specific sibling: 糖尿病性肾病 under 2型糖尿病), then the
    shortest, which excludes the most unseen variants of the sibling.
    """
    texts, major, holders, pieces = corpus.texts, corpus.major, index.holders, index.pieces
    piece = cand.pieces[0]
    own = {i for i in cand.texts if major[i] == cand.code}
    where: dict[int, set[int]] = defaultdict(set)
    for i in counter:
        text = texts[i]
        at = text.find(piece)
        end = at + len(piece)
        for p, start, stop in index.occurrences(text):
            # Only pieces that touch the general piece: its sibling is what stands next to it
            # (慢性 before 肺炎, 性肾病 after 2型糖尿病), not a word elsewhere on the line.
            if start <= end and stop >= at:
                where[p].add(i)
    options = []
    for p, held in where.items():
        s = pieces[p]
        if s == piece:
            continue
        held_by = holders[p]
        if len(held_by) <= len(own):
            if any(i in own for i in held_by):
                continue
        elif any(s in texts[i] for i in own):
            continue
        options.append((-len(held), len(s), s, held))
    options.sort(key=lambda o: o[:3])
    left = set(counter)
    chosen: list[str] = []
    for _n, _len, s, held in options:
        if not left or len(chosen) >= MAX_EXCLUDES:
            break
        if not (held & left) or any(c in s for c in chosen):
            continue
        chosen.append(s)
        left -= held
    if not chosen or len(left) == len(counter):
        return None
    chosen.sort()
    kept = [i for i in cand.texts if not any(e in texts[i] for e in chosen)]
    return score(corpus, Cand("exclusion", cand.code, cand.pieces, kept, exclude=tuple(chosen)))


def pairs(corpus: Corpus, idx: Sequence[int], index: Index, uncovered: list[int], floor: float) -> list[Cand]:
    """Modifier … head pairs for texts no precise core covers: two pieces of the text, in order,
    at most MAX_GAP apart, shared (in that order) by at least two texts of its code."""
    texts, major = corpus.texts, corpus.major
    seen: dict[tuple[int, int, str], list[int]] = defaultdict(list)
    gaps: dict[tuple[int, int, str], int] = {}
    lengths = [len(p) for p in index.pieces]
    for i in uncovered:
        occ = sorted(set(index.occurrences(texts[i])), key=lambda m: (m[1], -m[2]))
        # Only the widest occurrences: a piece inside a longer one at the same place adds nothing.
        wide = [m for m in occ if not any(o[1] <= m[1] and m[2] <= o[2] and o != m for o in occ)]
        made = 0
        for a in wide:
            for b in wide:
                if made >= MAX_PAIRS_PER_TEXT:
                    break
                gap = b[1] - a[2]
                if 0 < gap <= MAX_GAP and lengths[a[0]] >= MIN_PIECE and lengths[b[0]] >= MIN_PIECE:
                    k = (a[0], b[0], major[i])
                    if not seen[k] or seen[k][-1] != i:
                        seen[k].append(i)
                        gaps[k] = max(gaps.get(k, 0), gap)
                        made += 1
    out: list[Cand] = []
    holders = index.holders
    for (a, b, code), members in sorted(seen.items()):
        if len(members) < 2:
            continue
        gap = min(MAX_GAP, gaps[(a, b, code)] + 2)
        both = sorted(set(holders[a]) & set(holders[b]))
        rx = re.compile(re.escape(index.pieces[a]) + ".{0," + str(gap) + "}" + re.escape(index.pieces[b]))
        matched = [i for i in both if rx.search(texts[i])]
        cand = score(corpus, Cand("pair", code, (index.pieces[a], index.pieces[b]), matched, gap=gap))
        if cand.precision >= floor and cand.positives >= 2:
            out.append(cand)
    del idx
    return out
