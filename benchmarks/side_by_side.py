"""Checkouts of the engine side by side in one sitting (issue #14, point 6).

This machine's speed drifts from day to day and other jobs share it, so figures taken on different
days cannot be compared. This script runs the same workload on several checkouts in alternation
(a, b, c, then c, b, a, ...), each measurement in a fresh child process that imports only its own
checkout's code, and prints medians of **process CPU time** (what another session's load moves
least), with each tree's change against the first:

* `distinct texts/s`: the engine alone, every distinct description of the workload decided once
  by a fresh RuleSet (bench.py's figure); the later trees also with the starter guard table;
* `whole run`: run_coding on a fresh SQLite file of `--run-size` pending lines, lines per CPU
  second of the run only (the database is built before the clock starts); `--edits-off` adds the
  same run with every code edit disabled (later trees).

    git worktree add /tmp/ab-old 13576f7
    mkdir -p /tmp/ab-old-path && ln -s /tmp/ab-old/migrations /tmp/ab-old-path/icdcoder_migrations
    python benchmarks/side_by_side.py --trees before=/tmp/ab-old,after=. --rounds 5

The migrations are the package `icdcoder_migrations` (pyproject.toml maps it to migrations/); an
editable install resolves it to the main checkout, so another tree needs a directory holding a
symlink of that name to its own migrations/ first on the path: `<tree>-path` next to the tree is
used when it exists, and each child's code and migrations are checked. `--profile-dir DIR` first
writes a cProfile of each tree's whole run. Measure committed worktrees, not a checkout being
edited: a tree that changes during the sitting mixes two versions.

`--in-process` times the engines instead in one child process that imports every tree's
`rulebase` (and its workload) under the same name in turn and keeps each tree's RuleSet class.
Each round builds a fresh RuleSet of every tree and decides the texts in chunks of 500 that
alternate between the trees, summing each tree's CPU time: what moves between processes and
between seconds (memory layout, the CPU's clock, another session's load as it comes and goes)
falls on both trees alike, and each round's pair gives a ratio.

`--instructions` counts instead of timing (one round; needs valgrind): each child runs under
callgrind twice, once as it is and once with everything but the measured part (`--setup-only`:
the workload built, the RuleSet or the database made, nothing decided or run), and the difference
is the measured part's instructions. Counts do not move with the machine's load, as CPU seconds
do (timings on a shared 2-core machine move by ±25 %), but they see neither cache misses nor the
kernel (SQLite's writes): read them beside the timings, not instead.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path


def _python_speed() -> float:
    table = {i: (i, str(i), i * 2) for i in range(1024)}
    text = "慢性阻塞性肺疾病急性加重"
    best = float("inf")
    for _ in range(3):
        t = time.process_time()
        hits = 0
        for i in range(200_000):
            a, b, c = table[i & 1023]
            if b in text or a > c:
                hits += 1
        best = min(best, time.process_time() - t)
    return 200_000 / best / 1e6


def _child_match(n_rules: int, n_desc: int, guards: bool, setup_only: bool = False) -> dict:
    import gc

    from benchmarks.workload import make_descriptions, make_rules
    from rulebase.engine import RuleSet

    kwargs = {}
    if guards:
        from rulebase.guards import STARTER

        kwargs["guards"] = STARTER
    rules = make_rules(n_rules, seed=1)
    texts = list(dict.fromkeys(make_descriptions(n_desc, seed=1, rules=n_rules)))
    rs = RuleSet(rules, **kwargs)
    gc.freeze()
    gc.disable()
    shares: dict[str, int] = {}
    t = time.process_time()
    for text in [] if setup_only else texts:
        o = str(rs.decide(text).outcome)
        shares[o] = shares.get(o, 0) + 1
    cpu = time.process_time() - t or 1e-9
    return {"per_s": len(texts) / cpu, "cpu": cpu, "texts": len(texts), "shares": shares}


def _child_run(
    n_rules: int, n_pending: int, profile: str | None, no_edits: bool = False, setup_only: bool = False
) -> dict:
    from sqlalchemy import insert

    from benchmarks.workload import make_descriptions, make_rules, store
    from coder.db.connect import make_engine
    from coder.db.migrate import upgrade_db
    from coder.db.models import diagnosis, rulebase_state
    from coder.run.loop import run_coding

    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{tmp}/run.db")
        upgrade_db(engine)
        rules = make_rules(n_rules, seed=2)
        with engine.begin() as conn:
            store(conn, rules)
            conn.execute(rulebase_state.update().values(version=1))
            texts = make_descriptions(n_pending, seed=2, rules=n_rules)
            conn.execute(
                insert(diagnosis),
                [
                    {"record_id": f"B{i}", "seq_no": 1, "kind": "discharge", "status": "pending", "description": t}
                    for i, t in enumerate(texts)
                ],
            )
        if no_edits:  # the run without its code edits check (an edit disabled is never read)
            with engine.begin() as conn:
                conn.exec_driver_sql("UPDATE code_edit SET enabled = 0")
        engine.dispose()
        engine = make_engine(f"sqlite:///{tmp}/run.db")
        if setup_only:
            engine.dispose()
            return {"per_s": 0.0, "cpu": 0.0, "wall": 0.0, "counts": {}}
        if profile:
            import cProfile

            prof = cProfile.Profile()
            t = time.process_time()
            prof.enable()
            result = run_coding(engine)
            prof.disable()
            cpu = time.process_time() - t
            prof.dump_stats(profile)
        else:
            t = time.process_time()
            result = run_coding(engine)
            cpu = time.process_time() - t
        engine.dispose()
    counts = {k: getattr(result, k) for k in ("considered", "coded", "no_match", "ambiguous")}
    return {"per_s": result.considered / cpu, "cpu": cpu, "wall": result.seconds, "counts": counts}


def child(args) -> None:
    # Only the tree under test: drop this script's own directory from the path.
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
    speed = _python_speed()
    if args.child == "pair":
        print(json.dumps(_child_in_process(args.trees, args.rules, args.descriptions, args.rounds, args.guards)))
        return
    if args.child == "match":
        out = _child_match(args.rules, args.descriptions, args.guards, args.setup_only)
    else:
        out = _child_run(int(args.run_rules), args.run_size, args.profile, args.no_edits, args.setup_only)
    import coder
    import icdcoder_migrations

    out["python_speed"] = speed
    out["code"] = str(Path(coder.__file__).parents[1])
    out["migrations"] = str(Path(icdcoder_migrations.__file__).resolve().parent)
    print(json.dumps(out))


def _engine_of(tree: Path, extra: Path | None, n_rules: int, n_desc: int, guards: bool) -> dict:
    """One tree's RuleSet class with its own workload's rules and texts, imported alone: its modules
    are dropped from sys.modules afterwards (the objects keep their own), so the next tree imports
    its own code under the same names."""
    import importlib

    saved = list(sys.path)
    sys.path[:0] = [str(p) for p in (extra, tree) if p]
    try:
        workload = importlib.import_module("benchmarks.workload")
        engine = importlib.import_module("rulebase.engine")
        if not Path(engine.__file__).resolve().is_relative_to(tree.resolve()):
            raise SystemExit(f"{tree}: imported {engine.__file__}")
        kwargs = {"guards": importlib.import_module("rulebase.guards").STARTER} if guards else {}
        rules = workload.make_rules(n_rules, seed=1)
        texts = list(dict.fromkeys(workload.make_descriptions(n_desc, seed=1, rules=n_rules)))
        return {"RuleSet": engine.RuleSet, "rules": rules, "texts": texts, "kwargs": kwargs}
    finally:
        sys.path[:] = saved
        for name in [m for m in sys.modules if m.split(".")[0] in ("rulebase", "benchmarks")]:
            del sys.modules[name]


def _child_in_process(spec: str, n_rules: int, n_desc: int, rounds: int, guards: bool) -> dict:
    """Every tree's engine in this one process, each round on fresh RuleSets of every tree, the
    texts decided in chunks that alternate between the trees (a, b, then b, a, ...): CPU seconds of
    each tree's decide calls, summed over a round's chunks. A chunk is some milliseconds, so a
    slower or faster spell of the machine falls on both trees alike."""
    import gc

    trees = _trees(spec)
    labels = list(trees)
    engines = {label: _engine_of(*trees[label], n_rules, n_desc, guards and k > 0) for k, label in enumerate(labels)}
    texts = engines[labels[0]]["texts"]
    for label in labels[1:]:
        if engines[label]["texts"] != texts:
            raise SystemExit(f"{label}: its workload makes other texts than {labels[0]}'s")
    chunks = [texts[i : i + 500] for i in range(0, len(texts), 500)]
    clock = time.process_time_ns
    cpu: dict[str, list[float]] = {label: [] for label in labels}
    for rnd in range(rounds):
        gc.collect()
        decide = {label: e["RuleSet"](e["rules"], **e["kwargs"]).decide for label, e in engines.items()}
        gc.collect()
        gc.freeze()
        gc.disable()
        spent = dict.fromkeys(labels, 0)
        for k, chunk in enumerate(chunks):
            for label in labels if (k + rnd) % 2 == 0 else labels[::-1]:
                of = decide[label]
                t = clock()
                for text in chunk:
                    of(text)
                spent[label] += clock() - t
        for label in labels:
            cpu[label].append(spent[label] / 1e9)
        del decide
        gc.unfreeze()
        gc.enable()
        shown = ", ".join(f"{label} {len(texts) / cpu[label][-1]:,.0f}/s" for label in labels)
        print(f"round {rnd + 1}: {shown}", file=sys.stderr, flush=True)
    return {"texts": len(texts), "cpu": cpu}


def _in_process(args, trees: dict, labels: list[str]) -> None:
    """The engines' figures from one child holding every tree (see --in-process)."""
    spec = ",".join(f"{label}={trees[label][0]}" for label in labels)
    for guards in (False, True):
        argv = ["--child", "pair", "--trees", spec, "--rules", str(args.rules)]
        argv += ["--descriptions", str(args.descriptions), "--rounds", str(args.rounds)]
        proc = subprocess.run(
            [sys.executable, str(Path(__file__).resolve()), *argv, *(["--guards"] if guards else [])],
            capture_output=True,
            text=True,
        )
        if proc.returncode:
            raise SystemExit(f"in-process child failed:\n{proc.stderr[-3000:]}")
        out = json.loads(proc.stdout.strip().splitlines()[-1])
        cpu, n = out["cpu"], out["texts"]
        figure = f"distinct texts/s, {args.rules:,} rules" + (", starter guards (not the reference)" if guards else "")
        print()
        print(f"{figure}, one process, {args.rounds} alternating rounds of {n:,} texts; load {_load()}")
        print()
        print("| tree | median texts/s | change of the median | median of the rounds' ratios | rounds' ratios |")
        print("|---|---:|---:|---:|---|")
        ref = statistics.median(n / c for c in cpu[labels[0]])
        for label in labels:
            per_s = statistics.median(n / c for c in cpu[label])
            ratios = [b / a - 1 for a, b in zip(cpu[label], cpu[labels[0]], strict=True)]
            shown = " ".join(f"{r * 100:+.0f}" for r in ratios)
            print(
                f"| {label} | {per_s:,.0f} | {(per_s / ref - 1) * 100:+.1f}% | "
                f"{statistics.median(ratios) * 100:+.1f}% | {shown} |"
            )


def _measure(tree: Path, extra_path: Path | None, argv: list[str], wrapper: tuple[str, ...] = ()) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(str(p) for p in (extra_path, tree) if p)
    if wrapper:
        env["PYTHONHASHSEED"] = "0"  # the same dictionaries in both children, so the setup cancels out
    proc = subprocess.run(
        [*wrapper, sys.executable, str(Path(__file__).resolve()), *argv],
        env=env,
        cwd=tree,
        capture_output=True,
        text=True,
    )
    if proc.returncode:
        raise SystemExit(f"{tree}: {' '.join(argv)} failed:\n{proc.stderr[-3000:]}")
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    if wrapper:
        collected = re.search(r"Collected : (\d+)", proc.stderr)
        if collected is None:
            raise SystemExit(f"{tree}: no instruction count in valgrind's output:\n{proc.stderr[-2000:]}")
        out["instructions"] = int(collected.group(1))
    ran = (Path(out["code"]).resolve(), Path(out["migrations"]).resolve())
    if ran != (tree.resolve(), (tree / "migrations").resolve()):
        raise SystemExit(f"{tree}: the child ran {ran[0]} with migrations {ran[1]}")
    return out


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _trees(spec: str) -> dict[str, tuple[Path, Path | None]]:
    """label=path,... ; a directory `<path>-path` next to a tree is put first on its path."""
    trees = {}
    for item in spec.split(","):
        label, _, path = item.partition("=")
        tree = Path(path).resolve()
        extra = Path(f"{tree}-path")
        trees[label] = (tree, extra if extra.is_dir() else None)
    return trees


def _table(labels: list[str], jobs: list, value, fmt) -> None:
    """The Markdown table of every figure: the reference tree's value, then each other tree's and its change.
    A figure only the later trees have (guards, edits off) is compared with the reference's plain one."""
    others = labels[1:]
    print("| figure | " + " | ".join([labels[0], *(f"{o} | change" for o in others)]) + " |")
    print("|---|" + "---:|" * (1 + 2 * len(others)))
    for figure, _argv, not_reference in jobs:
        base = figure.replace(", starter guards", "").replace(", code edits off", "") if not_reference else figure
        ref = value(base, labels[0])
        cells = [fmt(ref)]
        for o in others:
            v = value(figure, o)
            cells += [fmt(v), f"{(v / ref - 1) * 100:+.1f}%"]
        print(f"| {figure} | " + " | ".join(cells) + " |")


def _count(trees: dict, labels: list[str], jobs: list[tuple[str, list[str], bool]]) -> None:
    """Each figure's instructions per tree: (child as it is) - (child with --setup-only), two at a time."""
    wrapper = ("valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null")
    work = [(f, a, lab) for f, a, nr in jobs for lab in labels if not (nr and lab == labels[0])]
    with ThreadPoolExecutor(max_workers=2) as pool:
        full = {(f, lab): pool.submit(_measure, *trees[lab], a, wrapper) for f, a, lab in work}
        setup = {(f, lab): pool.submit(_measure, *trees[lab], [*a, "--setup-only"], wrapper) for f, a, lab in work}
        counts = {k: full[k].result()["instructions"] - setup[k].result()["instructions"] for k in full}
        items = {k: full[k].result() for k in full}
    print()
    print("Instructions of the measured part (callgrind; the child minus the same child with --setup-only)")
    print()
    _table(labels, jobs, lambda figure, label: counts[(figure, label)], lambda v: f"{v / 1e6:,.0f} M")
    print()
    for (figure, label), out in items.items():
        if out.get("counts") or out.get("shares"):
            print(f"{label} {figure}: {out.get('counts') or out.get('shares')}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--child", choices=("match", "run", "pair"), help=argparse.SUPPRESS)
    ap.add_argument("--guards", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--profile", help=argparse.SUPPRESS)
    ap.add_argument("--no-edits", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--setup-only", action="store_true", help=argparse.SUPPRESS)
    here = Path(__file__).resolve().parents[1]
    ap.add_argument(
        "--trees",
        default=f"before=/tmp/ab-old,after={here}",
        help="label=checkout,...; the first is the reference the others are compared with",
    )
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--rules", type=int, default=30_000, help="rules for distinct/s")
    ap.add_argument("--descriptions", type=int, default=100_000)
    ap.add_argument("--run-rules", default="1000,30000", help="rule counts for the whole run ('' for none)")
    ap.add_argument("--run-size", type=int, default=100_000)
    ap.add_argument("--no-match", action="store_true", help="skip distinct/s")
    ap.add_argument("--edits-off", action="store_true", help="also the whole run with every code edit disabled")
    ap.add_argument("--profile-dir", type=Path, help="write a cProfile of each tree's run here (an extra round)")
    ap.add_argument("--instructions", action="store_true", help="count instructions under valgrind instead of timing")
    ap.add_argument(
        "--in-process", action="store_true", help="time the engines in one process, alternating (not the whole run)"
    )
    args = ap.parse_args()
    if args.child:
        child(args)
        return
    trees = _trees(args.trees)
    labels = list(trees)
    jobs: list[tuple[str, list[str], bool]] = []  # (figure, child argv, not for the reference)
    if not args.no_match:
        m = ["--child", "match", "--rules", str(args.rules), "--descriptions", str(args.descriptions)]
        jobs.append((f"distinct texts/s, {args.rules:,} rules", m, False))
        jobs.append((f"distinct texts/s, {args.rules:,} rules, starter guards", [*m, "--guards"], True))
    for n in (int(x) for x in args.run_rules.split(",") if x):
        r = ["--child", "run", "--run-rules", str(n), "--run-size", str(args.run_size)]
        jobs.append((f"whole run SQLite, {n:,} rules, {args.run_size:,} lines", r, False))
        if args.edits_off:
            jobs.append(
                (f"whole run SQLite, {n:,} rules, {args.run_size:,} lines, code edits off", [*r, "--no-edits"], True)
            )
    print(f"{', '.join(f'{k} {v[0]}' for k, v in trees.items())}; load average at start {_load()}", flush=True)
    if args.instructions:
        _count(trees, labels, jobs)
        return
    if args.in_process:
        _in_process(args, trees, labels)
        return
    if args.profile_dir:
        args.profile_dir.mkdir(parents=True, exist_ok=True)
        for label in labels:
            for _figure, argv, _ in jobs:
                if argv[1] == "run":
                    prof = args.profile_dir / f"{label}-{argv[3]}.prof"
                    _measure(*trees[label], [*argv, "--profile", str(prof)])
                    print(f"profile: {prof}", flush=True)
    results: dict[tuple[str, str], list[dict]] = {}
    for rnd in range(args.rounds):
        order = labels if rnd % 2 == 0 else labels[::-1]
        for figure, argv, not_reference in jobs:
            for label in order:
                if not_reference and label == labels[0]:
                    continue
                out = _measure(*trees[label], argv)
                results.setdefault((figure, label), []).append(out)
                cpu = f"{out['cpu']:.2f} s CPU" + (f", {out['wall']:.2f} s wall" if "wall" in out else "")
                print(
                    f"round {rnd + 1} {label:<7} {figure}: {out['per_s']:,.0f}/s ({cpu}; python speed "
                    f"{out['python_speed']:.1f}; load {_load()})",
                    flush=True,
                )
    if not args.rounds:
        return
    print()
    print(f"Medians of {args.rounds} alternating rounds, per CPU second of the process; load average at end {_load()}")
    print()

    def median(figure: str, label: str) -> float:
        return statistics.median(o["per_s"] for o in results[(figure, label)])

    _table(labels, jobs, median, "{:,.0f}".format)
    print()
    for figure, _argv, _ in jobs:
        for label in labels:
            outs = results.get((figure, label))
            if outs and "counts" in outs[0]:
                print(f"{label} {figure}: {outs[0]['counts']}")


if __name__ == "__main__":
    main()
