"""Would Hyperscan win end to end? Compile time and scan rate on the benchmark's workload.

    pip install hyperscan        # not a dependency of icdcoder: wheels bundle the native library
    python benchmarks/hyperscan_check.py [--rules 1000,10000,30000]

Every rule's pattern goes into one Hyperscan database (UTF-8, single match per pattern), exclude
patterns into another. The scan rate counts only finding which rules match each description; priority,
resolution and the winner's span would still be Python's work, so the real cost would be higher.
It checks on a sample that Hyperscan finds the same matching rules as the engine.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.workload import make_descriptions, make_rules  # noqa: E402
from rulebase.engine import RuleSet  # noqa: E402
from rulebase.normalize import normalize_text  # noqa: E402


def check(n_rules: int, n_desc: int) -> None:
    import hyperscan

    rules = make_rules(n_rules, seed=1)
    texts = [normalize_text(t) for t in dict.fromkeys(make_descriptions(n_desc, seed=1, rules=n_rules))]
    encoded = [t.encode() for t in texts]
    flags = hyperscan.HS_FLAG_UTF8 | hyperscan.HS_FLAG_SINGLEMATCH
    excluded_by = {i: r.exclude.encode() for i, r in enumerate(rules) if r.exclude}
    t = time.perf_counter()
    patterns = hyperscan.Database()
    patterns.compile(
        expressions=[r.pattern.encode() for r in rules], ids=list(range(len(rules))), elements=len(rules), flags=flags
    )
    # Exclude patterns in a database of their own, scanned only when a rule that has one matched:
    # in the same database they make every scan about four times slower.
    excludes = hyperscan.Database()
    excludes.compile(
        expressions=list(excluded_by.values()), ids=list(excluded_by), elements=len(excluded_by), flags=flags
    )
    compile_s = time.perf_counter() - t

    found: set[int] = set()
    vetoed: set[int] = set()

    def on_match(pattern_id, start, end, flags, context):
        found.add(pattern_id)

    def on_exclude(pattern_id, start, end, flags, context):
        vetoed.add(pattern_id)

    def scan(raw: bytes) -> set[int]:
        found.clear()
        patterns.scan(raw, match_event_handler=on_match)
        if not found.isdisjoint(excluded_by):
            vetoed.clear()
            excludes.scan(raw, match_event_handler=on_exclude)
            return found - vetoed
        return set(found)

    t = time.perf_counter()
    for raw in encoded:
        found.clear()
        patterns.scan(raw, match_event_handler=on_match)
    patterns_rate = len(encoded) / (time.perf_counter() - t)
    t = time.perf_counter()
    for raw in encoded:
        scan(raw)
    scan_rate = len(encoded) / (time.perf_counter() - t)

    t = time.perf_counter()
    engine = RuleSet(rules)
    build_s = time.perf_counter() - t
    t = time.perf_counter()
    for text in texts:
        engine.matching(text)
    engine_rate = len(texts) / (time.perf_counter() - t)

    differ = 0
    by_id = {r.id: i for i, r in enumerate(rules)}
    for text, raw in zip(texts[:2000], encoded[:2000], strict=True):
        differ += scan(raw) != {by_id[r.id] for r in engine.matching(text)}
    print(
        f"{n_rules:>7} rules: Hyperscan compile {compile_s:5.1f} s, scan {patterns_rate:>9,.0f} texts/s "
        f"(patterns only), {scan_rate:>9,.0f} texts/s (with excludes); "
        f"engine, every matching rule: build {build_s:4.2f} s, {engine_rate:>9,.0f} texts/s; "
        f"{differ} of 2,000 differ"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rules", default="1000,10000,30000")
    ap.add_argument("--descriptions", type=int, default=100_000)
    args = ap.parse_args()
    for n in (int(x) for x in args.rules.split(",")):
        check(n, args.descriptions)


if __name__ == "__main__":
    main()
