"""The whole run on SQLite with and without combination codes. Prints figures; asserts nothing.

    python benchmarks/combos_bench.py --rules 30000 --size 100000 --combinations 50

The workload is benchmarks.workload's (the one bench.py's whole-run figure uses), with its lines
grouped four to a record, so records hold several codes. `--combinations N` stores N enabled
combinations of pairs of the codes the run gives most often (0: the table empty). Run it once with
the code before combinations (PYTHONPATH of a checkout of that commit) for the side-by-side figure:
the table is then absent and the script stores none.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import tempfile
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert  # noqa: E402

from benchmarks.workload import make_descriptions, make_rules, store  # noqa: E402
from coder.db.connect import make_engine  # noqa: E402
from coder.db.migrate import upgrade_db  # noqa: E402
from coder.db.models import diagnosis, rulebase_state  # noqa: E402
from coder.run.loop import run_coding  # noqa: E402
from rulebase.engine import RuleSet  # noqa: E402
from rulebase.states import Outcome  # noqa: E402

PER_RECORD = 4


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rules", type=int, default=30_000)
    ap.add_argument("--size", type=int, default=100_000)
    ap.add_argument("--combinations", type=int, default=50)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        engine = make_engine(f"sqlite:///{d}/bench.db")
        upgrade_db(engine)
        rules = make_rules(a.rules, seed=2)
        texts = list(make_descriptions(a.size, seed=2, rules=a.rules))
        with engine.begin() as conn:
            store(conn, rules)
            conn.execute(rulebase_state.update().values(version=1))
            conn.execute(
                insert(diagnosis),
                [
                    {
                        "record_id": f"B{i // PER_RECORD}",
                        "seq_no": i % PER_RECORD + 1,
                        "kind": "discharge",
                        "status": "pending",
                        "description": t,
                    }
                    for i, t in enumerate(texts)
                ],
            )
        stored = 0
        if a.combinations and importlib.util.find_spec("coder.store.combinations") is not None:
            stored = _store_combinations(engine, rules, texts, a.combinations)
        result = run_coding(engine)
        combined = 0
        if stored:
            from sqlalchemy import func, select

            from coder.db.models import code_log

            with engine.connect() as conn:
                q = select(func.count()).select_from(code_log).where(code_log.c.combination_id.is_not(None))
                combined = conn.execute(q).scalar_one()
        engine.dispose()
    print(
        f"rules {a.rules}  lines {result.considered}  combinations {stored}  lines combined {combined}  "
        f"seconds {result.seconds:.2f}  lines/s {result.considered / result.seconds:,.0f}"
    )


def _store_combinations(engine, rules, texts, n: int) -> int:
    from coder.store import combinations as combostore
    from rulebase.combinations import Combination

    rs = RuleSet(rules)
    counts: Counter = Counter()
    for t in texts[:20_000]:
        d = rs.decide(t)
        if d.outcome is Outcome.CODED:
            counts[d.code] += 1
    top = [c for c, _ in counts.most_common(3 * n)]
    n = min(n, len(top) // 3)
    with engine.begin() as conn:
        for i in range(n):
            # sources among the most frequent codes, the target a code none of them is
            first, second, target = top[2 * i], top[2 * i + 1], top[2 * n + i]
            item = Combination(codes=f"{first},{second}", code=target)
            combostore.add(conn, item, "bench", None)
    return n


if __name__ == "__main__":
    main()
