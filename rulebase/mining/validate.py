"""Precision on text the miner has not seen: k-fold cross-validation over distinct texts.

The distinct texts are dealt (seeded) into k folds. For each fold the whole miner (`select.build`)
runs on the other k-1 folds, its picks are accepted by the in-sample test (precision and support),
and that rule set, applied through `RuleSet` as the engine would, decides the held-out texts.
Each held-out text it codes is a hit for every rule of the winning code at the top priority;
a hit is worth the share of the text's lines persons coded that way (1.0, 0.0, or between).

A final proposal's `cv_precision` is its own held-out record, shrunk towards the held-out
precision of its class (same kind, same number of own texts, same piece length, measured the
same way over every fold):

    cv = (own correct + M * class precision) / (own hits + M)

A proposal whose pattern never fired on held-out text (a piece only two texts share can never
fire: with one held out, the other alone does not make a piece) is judged by its class: how
precise pieces like it were on texts they had not seen. An exact text `^…$` never fires on
another text, so its estimate is leave-one-line-out over its own lines: the majority code
predicts a left-out line right only when it stays the majority without it.
"""

from __future__ import annotations

import multiprocessing
import random
from collections import defaultdict

from ..dialect import MAX_PATTERN_BYTES
from ..rule import Rule
from .apply import Applier
from .pieces import Cand, Corpus
from .select import build

PRIOR = 3.0  # weight of the class precision, in held-out texts
PARALLEL_FROM = 20_000  # distinct texts from which the folds run in two processes

Record = dict[tuple, list[float]]  # key -> [hits, correct]


def class_of(c: Cand) -> tuple:
    """Candidates alike in how far they can be trusted: kind, own texts, piece length."""
    n = c.positives
    own = 1 if n <= 1 else 2 if n == 2 else 3 if n == 3 else 5 if n <= 5 else 10 if n <= 10 else 11
    size = min(sum(len(p) for p in c.pieces), 6)
    kind = "core" if c.kind in ("core", "exclusion", "priority") else c.kind
    return (kind, own, size)


def to_rule(c: Cand, rule_id: int | None = None) -> Rule | None:
    """The candidate as a rule, or None when the dialect cannot express it."""
    note = f"mined: {c.kind}"
    try:
        return Rule(
            code=c.code, pattern=c.pattern(), exclude=c.exclude_pattern(), priority=c.priority, id=rule_id, note=note
        )
    except Exception:  # noqa: BLE001 - RuleInvalid and its kin: what the dialect refuses is dropped
        return None


def folds_of(corpus: Corpus, k: int, seed: int) -> list[int]:
    order = sorted(range(len(corpus.texts)), key=lambda i: corpus.texts[i])
    random.Random(seed).shuffle(order)
    fold = [0] * len(order)
    for pos, i in enumerate(order):
        fold[i] = pos % k
    return fold


_STATE: dict = {}  # the corpus and folds a forked worker inherits


def _one_fold(f: int) -> tuple[Record, Record, int, int]:
    corpus: Corpus = _STATE["corpus"]
    fold, target, support, base = _STATE["fold"], _STATE["target"], _STATE["support"], _STATE["base"]
    train = [i for i in range(len(fold)) if fold[i] != f]
    kept = [
        c
        for c in build(corpus, train, target, base)
        if c.precision >= target and c.support >= support and expressible(c)
    ]
    own: Record = defaultdict(lambda: [0.0, 0.0])
    cls: Record = defaultdict(lambda: [0.0, 0.0])
    coded = right = 0
    if not kept:
        return dict(own), dict(cls), 0, 0
    applier = Applier(kept)
    texts, codes, lines = corpus.texts, corpus.codes, corpus.lines
    for i in range(len(fold)):
        if fold[i] != f:
            continue
        code, best = applier.decide(texts[i])
        if code is None:
            continue
        share = codes[i].get(code, 0) / lines[i]
        coded += 1
        right += share
        for k in best:
            c = kept[k]
            for rec, key in ((own, c.key()), (cls, class_of(c))):
                rec[key][0] += 1
                rec[key][1] += share
    return dict(own), dict(cls), coded, right


def expressible(c: Cand) -> bool:
    """What the dialect's size limit lets through (the full check, `to_rule`, is for proposals:
    it parses the pattern, ~0.6 ms a rule)."""
    exclude = c.exclude_pattern()
    return len(c.pattern().encode()) <= MAX_PATTERN_BYTES and (
        exclude is None or len(exclude.encode()) <= MAX_PATTERN_BYTES
    )


def _same(s: str) -> str:
    return s


def cross_validate(corpus: Corpus, folds: int, seed: int, target: float, support: float, base: int):
    """(own records, class records, held-out texts coded, of them right, the picks on all texts).

    On a large history the folds run in two forked workers while this process mines the whole
    history: three processes on two cores, each with its own copy of the working sets."""
    _STATE.update(corpus=corpus, fold=folds_of(corpus, folds, seed), target=target, support=support, base=base)
    everything = range(len(corpus.texts))
    try:
        if len(corpus.texts) >= PARALLEL_FROM and "fork" in multiprocessing.get_all_start_methods():
            with multiprocessing.get_context("fork").Pool(2) as pool:
                pending = pool.map_async(_one_fold, range(folds))
                picks = build(corpus, everything, target, base)
                results = pending.get()
        else:
            results = [_one_fold(f) for f in range(folds)]
            picks = build(corpus, everything, target, base)
    finally:
        _STATE.clear()
    own: Record = defaultdict(lambda: [0.0, 0.0])
    cls: Record = defaultdict(lambda: [0.0, 0.0])
    coded = right = 0.0
    for o, c, n, r in results:
        for src, dst in ((o, own), (c, cls)):
            for key, (h, k) in src.items():
                dst[key][0] += h
                dst[key][1] += k
        coded += n
        right += r
    return own, cls, coded, right, picks


def cv_precision(c: Cand, own: Record, cls: Record, overall: float) -> float:
    hits, correct = own.get(c.key(), (0.0, 0.0))
    ch, cc = cls.get(class_of(c), (0.0, 0.0))
    prior = (cc + PRIOR * overall) / (ch + PRIOR) if ch else overall
    return (correct + PRIOR * prior) / (hits + PRIOR)


def exact_cv(codes: dict[str, int], code: str) -> float:
    """Leave one line out: the majority predicts the left-out line when it is still the majority."""
    total = sum(codes.values())
    n1 = codes.get(code, 0)
    n2 = max((n for c, n in codes.items() if c != code), default=0)
    return n1 / total if total and n1 - 1 > n2 else 0.0
