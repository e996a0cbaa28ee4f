"""`mine` itself: read the history, pick, cross-validate, add the exact texts still needed, gather evidence."""

from __future__ import annotations

import time
from collections.abc import Sequence

from ..rule import Rule
from . import Example, MiningOptions, MiningResult, Proposal, ProposalKind
from .apply import Applier
from .evidence import gather
from .pieces import Cand, Corpus
from .select import EXACT_LAYER
from .validate import cross_validate, cv_precision, exact_cv, expressible, to_rule

MAX_PRIORITY = 1000
FEWER_FOLDS_FROM = 50_000  # distinct texts


def _base(existing: Sequence[Rule], options: MiningOptions) -> int:
    if options.base_priority is not None:
        return options.base_priority
    top = max((r.priority for r in existing if r.enabled), default=None)
    return 0 if top is None else min(top + 1, MAX_PRIORITY - EXACT_LAYER)


def _merge(history: Sequence[Example]) -> tuple[list[str], list[dict[str, int]], list[str]]:
    """One entry per distinct text (the caller's may repeat one), in text order."""
    by_text: dict[str, dict[str, int]] = {}
    shown: dict[str, str] = {}
    for e in history:
        if not e.text or not e.codes:
            continue
        codes = by_text.setdefault(e.text, {})
        for c, n in e.codes.items():
            if n > 0 and c:
                codes[c] = codes.get(c, 0) + int(n)
        shown.setdefault(e.text, e.shown or e.text)
    texts = sorted(t for t, c in by_text.items() if c)
    return texts, [by_text[t] for t in texts], [shown[t] for t in texts]


def run(history: Sequence[Example], existing: Sequence[Rule], options: MiningOptions) -> MiningResult:
    started = time.perf_counter()
    texts, codes, shown = _merge(history)
    corpus = Corpus(texts, codes)
    out = MiningResult(texts=len(texts), lines=sum(corpus.lines))
    if not texts:
        out.seconds = time.perf_counter() - started
        return out
    base = _base(existing, options)
    target = options.min_precision
    # On a large history three folds: each trains on two thirds (a more conservative estimate) and
    # the run mines four times instead of six.
    folds = max(2, options.folds if len(texts) < FEWER_FOLDS_FROM else min(options.folds, 3))
    fold_support = options.min_support * (folds - 1) / folds
    own, cls, coded, right, picks = cross_validate(corpus, folds, options.seed, target, fold_support, base)
    overall = right / coded if coded else 0.0
    scored: list[tuple[Cand, float]] = [(c, cv_precision(c, own, cls, overall)) for c in picks]

    # Exact texts where the cores that would be accepted do not give the majority code.
    good = Applier(
        [
            c
            for c, cv in scored
            if c.precision >= target and cv >= target and c.support >= options.min_support and expressible(c)
        ]
    )
    for i, t in enumerate(texts):
        if corpus.lines[i] < options.min_support:
            continue
        code, _ = good.decide(t)
        if code is not None and code == corpus.major[i]:
            continue
        c = Cand("exact", corpus.major[i], (t,), [i], priority=min(base + EXACT_LAYER, MAX_PRIORITY))
        c.support, c.correct, c.positives = corpus.lines[i], corpus.major_lines[i], 1
        scored.append((c, exact_cv(corpus.codes[i], c.code)))

    rules: list[Rule] = []
    kept: list[tuple[Cand, float]] = []
    for c, cv in scored:
        r = to_rule(c)
        if r is not None:
            rules.append(r)
            kept.append((c, cv))
    evidence = gather(corpus, shown, rules, [c for c, _cv in kept], existing, options.examples)
    proposals = []
    for rule, (c, cv), ev in zip(rules, kept, evidence, strict=True):
        precision = ev.correct / ev.support if ev.support else 0.0
        accepted = ev.support >= options.min_support and precision >= target and cv >= target and ev.breaks == 0
        proposals.append(
            Proposal(
                rule=rule,
                kind=ProposalKind(c.kind),
                support=ev.support,
                correct=ev.correct,
                precision=precision,
                cv_precision=min(cv, precision) if c.kind == "exact" else cv,
                distinct=ev.distinct,
                wrong_codes=ev.wrong_codes,
                examples=ev.examples,
                wrong_examples=ev.wrong_examples,
                overlaps=ev.overlaps,
                breaks=ev.breaks,
                accepted=accepted,
            )
        )
    proposals.sort(key=lambda p: (p.rule.code, p.kind.value, p.rule.pattern, p.rule.exclude or ""))
    out.proposals = proposals
    out.seconds = time.perf_counter() - started
    return out
