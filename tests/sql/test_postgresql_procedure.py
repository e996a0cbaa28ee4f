"""sql/postgresql/icdcoder_run.sql, installed on the real server, codes like the Python engine."""

from pathlib import Path

from sqlalchemy import insert, select

from benchmarks.workload import make_rules
from coder.db.models import coding_run, diagnosis, norm_rule, utcnow
from coder.run.loop import run_coding
from rulebase.engine import RuleSet
from tests.coder.run.test_sql_engine import _load, _outcomes, _reset

SQL = Path(__file__).resolve().parents[2] / "sql" / "postgresql"


def _call(engine, script: str, call: str):
    raw = engine.raw_connection()
    try:
        pg = raw.driver_connection
        pg.autocommit = True  # the procedure commits per batch: it must not run inside a transaction block
        pg.execute(script)  # no parameters: psycopg sends it as is, several statements at once
        return pg.execute(call).fetchone()
    finally:
        raw.close()


def test_plpgsql_run_equals_the_python_engine(pg_engine):
    _load(pg_engine, n_rules=600, n_texts=1500, seed=5)
    with pg_engine.begin() as conn:
        # Lines the starter guards stop (migration 0011), before, after and inside not_within words.
        rule_set = RuleSet(make_rules(600, seed=5))  # the rules _load stored: cue the lines they code
        texts = [t for t in conn.execute(select(diagnosis.c.description)).scalars() if rule_set.decide(t).code]
        cued = [c + t for c in ("疑似", "排除", "不排除", "待排除") for t in texts[:20]]
        cued += [t + c for c in ("?", "待排", "除外", "不除外") for t in texts[20:40]]
        conn.execute(
            insert(diagnosis),
            [
                {"record_id": f"G{i}", "seq_no": 1, "kind": "discharge", "status": "pending", "description": t}
                for i, t in enumerate(cued)
            ],
        )
        conn.execute(
            insert(norm_rule),
            [
                {
                    "seq_no": 10,
                    "kind": "literal",
                    "find_text": "梗塞",
                    "replace_text": "梗死",
                    "enabled": True,
                    "version": 1,
                    "author": "t",
                    "changed_at": utcnow(),
                },
                {
                    "seq_no": 20,
                    "kind": "pattern",
                    "find_text": "综合(症|证)",
                    "replace_text": "综合征",
                    "enabled": True,
                    "version": 1,
                    "author": "t",
                    "changed_at": utcnow(),
                },
            ],
        )
    first = run_coding(pg_engine, batch_size=200)
    expected = _outcomes(pg_engine)
    assert first.coded > 50 and first.ambiguous > 0 and len(expected[1]) == first.coded
    assert first.uncertain > 30 and first.negated > 5  # t + 除外 stays coded: 除外 is `before`
    _reset(pg_engine)
    (run_id,) = _call(pg_engine, (SQL / "icdcoder_run.sql").read_text(encoding="utf-8"), "CALL icdcoder_run(200, NULL)")
    assert _outcomes(pg_engine) == expected
    with pg_engine.connect() as conn:
        run = conn.execute(coding_run.select().where(coding_run.c.id == run_id)).one()
    assert (run.status, run.engine, run.considered) == ("finished", "plpgsql", 1500 + len(cued))
    assert (run.uncertain, run.negated) == (first.uncertain, first.negated)
