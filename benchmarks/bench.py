"""Matching and whole-run benchmark. Prints figures; asserts nothing (speed is not a test).

    python benchmarks/bench.py                                   # 1k/10k/30k rules x 100k descriptions
    python benchmarks/bench.py --rules 200 --descriptions 2000 --run-size 2000   # the CI smoke size
    python benchmarks/bench.py --pg postgresql+psycopg://icdcoder@localhost/icdcoder_test

The workload is benchmarks.workload's seeded generator, so anyone gets the same rules and texts.
Each rule count is measured in a child process, so its peak memory is its own.
"""

from __future__ import annotations

import argparse
import gc
import multiprocessing as mp
import os
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert  # noqa: E402

from benchmarks.workload import make_descriptions, make_rules, store  # noqa: E402
from coder.db.connect import make_engine  # noqa: E402
from coder.db.migrate import upgrade_db  # noqa: E402
from coder.db.models import diagnosis, rulebase_state  # noqa: E402
from coder.run.loop import run_coding  # noqa: E402
from rulebase.engine import PlainMatcher, RuleSet  # noqa: E402


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def match_figures(n_rules: int, n_desc: int, plain_sample: int, out) -> None:
    """Matching alone. `distinct/s`: every text new to the engine (its per-text decision cache
    never hits), the honest cost of matching. `stream/s`: n_desc draws from those texts with a
    hospital-like skew (the i-th most common text weighs 1/i), where the cache pays off."""
    import random

    rules = make_rules(n_rules, seed=1)
    texts = list(dict.fromkeys(make_descriptions(n_desc, seed=1, rules=n_rules)))
    t = time.perf_counter()
    rs = RuleSet(rules)
    build = time.perf_counter() - t
    # As in a run (coder/run.py): the rule set is frozen out of the collector's sight and the
    # collector paused while descriptions are decided.
    gc.freeze()
    gc.disable()
    t = time.perf_counter()
    shares: dict[str, int] = {}
    for text in texts:
        o = rs.decide(text).outcome
        shares[o] = shares.get(o, 0) + 1
    distinct_rate = len(texts) / (time.perf_counter() - t)
    stream = random.Random(1).choices(texts, [1 / (i + 1) for i in range(len(texts))], k=n_desc)
    del rs
    rs = RuleSet(rules)
    gc.freeze()
    t = time.perf_counter()
    for text in stream:
        rs.decide(text)
    stream_rate = len(stream) / (time.perf_counter() - t)
    engine_peak = _peak_mb()  # before the plain loop compiles every pattern
    plain = PlainMatcher(rules)
    sample = texts[:plain_sample]
    t = time.perf_counter()
    for text in sample:
        plain.decide(text)
    plain_rate = len(sample) / (time.perf_counter() - t)
    out.put(
        {
            "rules": n_rules,
            "descriptions": len(texts),
            "build_s": build,
            "engine_per_s": distinct_rate,
            "stream_per_s": stream_rate,
            "stream_distinct": len(set(stream)) / len(stream),
            "plain_per_s": plain_rate,
            "peak_mb": engine_peak,
            "shares": {k: v / len(texts) for k, v in shares.items()},
        }
    )


def run_figures(url: str, n_rules: int, n_pending: int, engine_name: str = "python", workers: int = 0) -> dict:
    """The whole run on a fresh database: reading, matching, writing. workers > 0: run --workers."""
    engine = make_engine(url)
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
    if workers:
        from coder.run.workers import run_workers

        res = run_workers(engine, workers, engine_name=engine_name)
        considered, seconds = res.totals()["considered"], res.seconds
    else:
        result = run_coding(engine, engine_name=engine_name)
        considered, seconds = result.considered, result.seconds
    engine.dispose()
    return {"considered": considered, "seconds": seconds, "per_s": considered / seconds}


def _pg_schema(base, name: str):
    from sqlalchemy import create_engine, text

    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {name} CASCADE"))
        conn.execute(text(f"CREATE SCHEMA {name}"))
    admin.dispose()
    return base.update_query_dict({"options": f"-csearch_path={name}"}).render_as_string(hide_password=False)


def ruletest_figures(url: str, n_rules: int, n_history: int, distinct: int) -> dict:
    """`rules test` against an audited history: n_history person-coded rows over `distinct` texts."""
    import random

    from coder.audit.ruletest import candidate_impact
    from rulebase.rule import Rule

    engine = make_engine(url)
    upgrade_db(engine)
    rules = make_rules(n_rules, seed=3)
    rng = random.Random(3)
    pool = list(dict.fromkeys(make_descriptions(distinct, seed=3, rules=n_rules)))
    codes = sorted({r.code for r in rules})
    # Frequencies fall off like a hospital's: a few texts very common, most rare.
    weights = [1 / (i + 1) for i in range(len(pool))]
    with engine.begin() as conn:
        store(conn, rules)
        chunk = 50_000
        for start in range(0, n_history, chunk):
            picks = rng.choices(pool, weights, k=min(chunk, n_history - start))
            conn.execute(
                insert(diagnosis),
                [
                    {
                        "record_id": f"H{start + i}",
                        "seq_no": 1,
                        "kind": "discharge",
                        "status": "confirmed",
                        "description": t,
                        "code": codes[hash(t) % len(codes)],
                        "coded_by": "bench",
                    }
                    for i, t in enumerate(picks)
                ],
            )
    candidate = Rule(code=codes[0], pattern=rules[0].pattern, where="candidate")
    with engine.connect() as conn:
        t = time.perf_counter()
        impact = candidate_impact(conn, candidate)
        seconds = time.perf_counter() - t
    engine.dispose()
    return {"seconds": seconds, "audited": impact.audited, "distinct": len(pool)}


def python_speed() -> float:
    """Millions of a fixed little loop per second (dict lookups, tuple unpacking, substring tests:
    what the engine spends its time on). This shared machine's speed drifts by up to half from day
    to day; the figure says how fast it was during this run, so runs can be compared."""
    table = {i: (i, str(i), i * 2) for i in range(1024)}
    text = "慢性阻塞性肺疾病急性加重"
    best = float("inf")
    for _ in range(5):
        t = time.perf_counter()
        hits = 0
        for i in range(200_000):
            a, b, c = table[i & 1023]
            if b in text or a > c:
                hits += 1
        best = min(best, time.perf_counter() - t)
    return 200_000 / best / 1e6


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rules", default="1000,10000,30000")
    ap.add_argument("--descriptions", type=int, default=100_000)
    ap.add_argument("--plain-sample", type=int, default=300, help="descriptions timed with the plain loop")
    ap.add_argument("--run-size", type=int, default=100_000, help="pending diagnoses for the whole-run figure")
    ap.add_argument("--run-rules", default="1000,10000,30000", help="rule counts for the whole-run figures")
    ap.add_argument("--pg", default=os.environ.get("ICDCODER_BENCH_PG"), help="PostgreSQL URL for the run figure")
    ap.add_argument("--sql-rules", type=int, default=1_000, help="rules for the --engine sql comparison")
    ap.add_argument("--sql-size", type=int, default=5_000, help="pending diagnoses for the --engine sql comparison")
    ap.add_argument("--history", type=int, default=1_000_000, help="audited rows for the `rules test` figure")
    ap.add_argument("--history-distinct", type=int, default=50_000, help="distinct descriptions among them")
    ap.add_argument("--history-rules", type=int, default=1_000, help="rules in the base for the `rules test` figure")
    args = ap.parse_args()
    run_rules = [int(x) for x in args.run_rules.split(",")]
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
        f"python speed {python_speed():.1f} M loops/s"
    )
    print(
        f"{'rules':>7} {'build s':>8} {'distinct/s':>11} {'stream/s':>10} {'plain/s':>9} {'ratio':>7} "
        f"{'peak MB':>8}  outcomes (distinct texts)"
    )
    ctx = mp.get_context("spawn")
    for n in (int(x) for x in args.rules.split(",")):
        q = ctx.Queue()
        p = ctx.Process(target=match_figures, args=(n, args.descriptions, args.plain_sample, q))
        p.start()
        f = q.get()
        p.join()
        shares = ", ".join(f"{k} {v:.0%}" for k, v in sorted(f["shares"].items()))
        print(
            f"{n:>7} {f['build_s']:>8.2f} {f['engine_per_s']:>11.0f} {f['stream_per_s']:>10.0f} "
            f"{f['plain_per_s']:>9.0f} {f['engine_per_s'] / f['plain_per_s']:>6.0f}x {f['peak_mb']:>8.0f}  {shares}"
        )
        stream_note = f"stream: {args.descriptions} draws, {f['stream_distinct']:.0%} distinct"
    print(f"(distinct/s over {f['descriptions']} distinct texts; ratio = distinct/s over plain/s; {stream_note})")
    with tempfile.TemporaryDirectory() as tmp:
        for n in run_rules:
            r = run_figures(f"sqlite:///{tmp}/bench{n}.db", n, args.run_size)
            print(
                f"whole run, SQLite:     {r['considered']} diagnoses, {n} rules: "
                f"{r['seconds']:.1f} s, {r['per_s']:.0f} diagnoses/s"
            )
        if args.history:
            r = ruletest_figures(f"sqlite:///{tmp}/history.db", args.history_rules, args.history, args.history_distinct)
            print(
                f"rules test, SQLite:    {r['audited']} audited rows ({r['distinct']} distinct texts), "
                f"{args.history_rules} rules: {r['seconds']:.2f} s"
            )
    if args.pg:
        from sqlalchemy.engine import make_url

        base = make_url(args.pg)
        if base.password is None and os.environ.get("ICDCODER_DB_PASSWORD"):
            base = base.set(password=os.environ["ICDCODER_DB_PASSWORD"])
        for label, engine_name, workers in [
            ("1 process", "python", 0),
            ("2 workers", "python", 2),
            ("4 workers", "python", 4),
        ]:
            r = run_figures(_pg_schema(base, "bench"), run_rules[-1], args.run_size, engine_name, workers)
            print(
                f"whole run, PostgreSQL, {label}: {r['considered']} diagnoses, {run_rules[-1]} rules: "
                f"{r['seconds']:.1f} s, {r['per_s']:.0f} diagnoses/s"
            )
        for rules in (args.sql_rules,):
            for engine_name in ("python", "sql"):
                r = run_figures(_pg_schema(base, "bench"), rules, args.sql_size, engine_name)
                print(
                    f"--engine {engine_name:<6} PostgreSQL: {r['considered']} diagnoses, {rules} rules: "
                    f"{r['seconds']:.1f} s, {r['per_s']:.0f} diagnoses/s"
                )
        from sqlalchemy import create_engine, text

        admin = create_engine(base)
        with admin.begin() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS bench CASCADE"))
        admin.dispose()
    with tempfile.TemporaryDirectory() as tmp:
        for engine_name in ("python", "sql"):
            r = run_figures(f"sqlite:///{tmp}/{engine_name}.db", args.sql_rules, args.sql_size, engine_name)
            print(
                f"--engine {engine_name:<6} SQLite:     {r['considered']} diagnoses, {args.sql_rules} rules: "
                f"{r['seconds']:.1f} s, {r['per_s']:.0f} diagnoses/s"
            )


if __name__ == "__main__":
    main()
