"""Page times of the workbench on a big SQLite database: 1,000,000 lines and 30,000 rules.

    python -m benchmarks.web_pages [--lines 1000000] [--rules 30000] [--db PATH] [--rounds 5]

Builds the database once (kept at --db for the next time: the build codes a million lines), with
a real coding run, an audited history of a tenth of the lines (confirmed, corrected, coded by hand)
and homepage records with departments; then logs in through the real login form with Flask's test
client (the whole request: routing, session, CSRF check, services, SQL, templates) and prints the
median and worst time of each page over --rounds rounds. The figures go to benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import time
from pathlib import Path

from sqlalchemy import func, insert, select, update

from benchmarks.workload import make_descriptions, make_rules, store
from coder.db.connect import make_engine
from coder.db.migrate import upgrade_db
from coder.db.models import diagnosis, homepage, rulebase_state, utcnow
from coder.run.loop import run_coding
from coder.services import users as accounts

DEPARTMENTS = ["心血管内科", "神经内科", "呼吸内科", "内分泌科", "普外科", "骨科", "妇科", "泌尿外科"]
PASSWORD = "bench-password"


def build(path: Path, n_lines: int, n_rules: int) -> None:
    engine = make_engine(f"sqlite:///{path}")
    upgrade_db(engine)
    rules = make_rules(n_rules, seed=7)
    rng = random.Random(7)
    started = time.perf_counter()
    with engine.begin() as conn:
        store(conn, rules)
        conn.execute(rulebase_state.update().values(version=1))
    texts = make_descriptions(n_lines, seed=7, rules=n_rules)
    chunk, batch = 50_000, []
    records = n_lines // 3
    with engine.begin() as conn:
        for i, t in enumerate(texts):
            batch.append(
                {
                    "record_id": f"B{i // 3:07d}",
                    "seq_no": i % 3 + 1,
                    "kind": "discharge",
                    "status": "pending",
                    "description": t,
                    "department": DEPARTMENTS[(i // 3) % len(DEPARTMENTS)],  # as an import copies it
                }
            )
            if len(batch) == chunk:
                conn.execute(insert(diagnosis), batch)
                batch = []
        if batch:
            conn.execute(insert(diagnosis), batch)
        now = utcnow()
        rows = [
            {"record_id": f"B{r:07d}", "mrn": f"B{r:07d}", "sex": "MF"[r % 2], "age": str(20 + r % 70),
             "department": DEPARTMENTS[r % len(DEPARTMENTS)], "created_at": now, "updated_at": now}
            for r in range(records + 1)
        ]  # fmt: skip
        for s in range(0, len(rows), chunk):
            conn.execute(insert(homepage), rows[s : s + chunk])
    print(f"  inserted {n_lines} lines and {n_rules} rules in {time.perf_counter() - started:.0f}s", flush=True)
    result = run_coding(engine, batch_size=5000)
    print(f"  coding run: {result.summary_line()}", flush=True)
    # An audited tenth: persons confirmed most auto-codes and coded some failures by hand.
    with engine.begin() as conn:
        coded = conn.execute(select(diagnosis.c.id).where(diagnosis.c.status == "coded")).scalars().all()
        picked = rng.sample(coded, min(len(coded), n_lines // 10))
        for s in range(0, len(picked), 900):
            conn.execute(
                update(diagnosis)
                .where(diagnosis.c.id.in_(picked[s : s + 900]))
                .values(status="confirmed", coded_by="李娜", updated_at=utcnow())
            )
    accounts.add_user(engine, "李娜", "author", PASSWORD)
    engine.dispose()


def login(client) -> None:
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").get_data(as_text=True)).group(1)
    r = client.post("/login", data={"name": "李娜", "password": PASSWORD, "csrf_token": token})
    assert r.status_code == 302, r.status_code


def pages(engine) -> list[str]:
    with engine.connect() as conn:
        coded = conn.execute(select(func.min(diagnosis.c.id)).where(diagnosis.c.status == "coded")).scalar()
        failed = conn.execute(select(func.max(diagnosis.c.id)).where(diagnosis.c.status == "failed")).scalar()
    return [
        "/worklist",
        "/worklist?status=failed",
        "/worklist?reason=no_match",
        "/worklist?reason=ambiguous&department=骨科",
        "/worklist?page=2000",
        f"/diagnoses/{coded}",
        f"/diagnoses/{failed}",
        "/api/codes?q=I2",
        "/rules",
        "/rules?search=肺",
        "/rules?page=500",
        "/rules/15000",
        "/normalization",
        "/reports",
        "/reports?records=1",
        "/runs",
        "/guards",
    ]


def rule_test(client, engine, rule_id: int = 15000) -> float:
    """ms of a rule edit's 试验 (POST): the change judged against the audited history."""
    from coder.store import rules as rulestore

    with engine.connect() as conn:
        rule = rulestore.get_rule(conn, rule_id)
    page = client.get(f"/rules/{rule_id}").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    form = {"csrf_token": token, "code": rule.code, "pattern": "肺炎", "exclude": "", "priority": "0", "note": ""}
    form |= {"version": str(rule.version), "action": "test"}
    t = time.perf_counter()
    r = client.post(f"/rules/{rule_id}", data=form)
    assert r.status_code == 200 and "肺炎" in r.get_data(as_text=True), r.status_code
    return (time.perf_counter() - t) * 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--rules", type=int, default=30_000)
    ap.add_argument("--db", type=Path, default=Path("/tmp/icdcoder-web-bench.db"))
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    if not args.db.exists():
        print(f"building {args.db} ...", flush=True)
        build(args.db, args.lines, args.rules)
    from coder.web import create_app

    engine = make_engine(f"sqlite:///{args.db}")
    client = create_app(engine).test_client()
    login(client)
    times: dict[str, list[float]] = {}
    first_test = rule_test(client, engine)  # reads the rule base and history (serve does this at start)
    for _ in range(args.rounds):
        times.setdefault("POST /rules/15000 (试验)", []).append(rule_test(client, engine))
        for path in pages(engine):
            t = time.perf_counter()
            r = client.get(path)
            times.setdefault(path, []).append((time.perf_counter() - t) * 1000)
            assert r.status_code == 200, (path, r.status_code)
    print(f"\n{args.lines:,} lines, {args.rules:,} rules, SQLite; ms per page over {args.rounds} rounds")
    print(f"{'page':<46} {'median':>8} {'worst':>8}")
    for path, ms in times.items():
        print(f"{path:<46} {statistics.median(ms):8.1f} {max(ms):8.1f}")
    print(f"the first 试验 (the rule base and audited history read and kept): {first_test:.0f} ms")
    engine.dispose()


if __name__ == "__main__":
    main()
