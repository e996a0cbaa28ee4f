"""The in-database engine gives the default engine's outcomes, codes, candidates and log rows."""

import json

import pytest
from sqlalchemy import delete, insert, select, text, update

from benchmarks.workload import make_descriptions, make_rules, store
from coder.db import sqlite_regexp
from coder.db.connect import make_engine
from coder.db.models import code_log, diagnosis, fail_log, icd_code, match_text, rulebase_state
from coder.run.loop import run_coding
from coder.run.sqlmatch import match_query
from rulebase.engine import RuleSet


def _load(engine, n_rules=1000, n_texts=2000, seed=11, procedures=True):
    """Rules and pending lines; with `procedures`, a quarter of the codes are procedure codes and a
    third of the lines procedure lines, so each engine must decide a line by its own system's rules."""
    rules = make_rules(n_rules, seed=seed)
    texts = list(make_descriptions(n_texts, seed=seed, rules=n_rules))
    # Lines naming two diagnoses (README point 3): pairs of texts a rule codes, side by side.
    decide = RuleSet(rules).decide
    coded = [t for t in texts if decide(t).outcome == "coded"]
    texts += [f"{a} {b}" for a, b in zip(coded[::2], coded[1::2], strict=False)]
    with engine.begin() as conn:
        store(conn, rules, author="t", keep_ids=True)
        conn.execute(update(rulebase_state).values(version=1))
        if procedures:
            codes = sorted({r.code for r in rules})[::4]
            conn.execute(update(icd_code).where(icd_code.c.code.in_(codes)).values(code_system="icd9cm3"))
        conn.execute(
            insert(diagnosis),
            [
                {
                    "record_id": f"R{i}",
                    "seq_no": 1,
                    "kind": "procedure" if procedures and i % 3 == 0 else "discharge",
                    "status": "pending",
                    "description": t,
                }
                for i, t in enumerate(texts)
            ],
        )


def _outcomes(engine):
    with engine.connect() as conn:
        diags = sorted((r.id, r.status, r.code, r.other_codes, r.fail_reason) for r in conn.execute(select(diagnosis)))
        ok = sorted(
            (r.diagnosis_id, r.position, r.code, r.rule_id, r.rule_version, r.normalized, r.match_start, r.match_end)
            for r in conn.execute(select(code_log))
        )
        bad = sorted(
            (r.diagnosis_id, r.reason, json.loads(r.candidates) if r.candidates else None, r.normalized)
            for r in conn.execute(select(fail_log))
        )
    return diags, ok, bad


def _reset(engine):
    with engine.begin() as conn:
        conn.execute(delete(code_log))
        conn.execute(delete(fail_log))
        conn.execute(
            update(diagnosis).values(
                status="pending",
                code=None,
                other_codes=None,
                coded_by=None,
                fail_reason=None,
                attempted_at=None,
                attempted_version=None,
            )
        )


@pytest.mark.parametrize("matching", ["spans", "strict"])
def test_sql_engine_equals_the_default_engine(engine, matching):
    from coder.store.settings import set_matching

    _load(engine)
    with engine.begin() as conn:
        set_matching(conn, matching)
    default = run_coding(engine, batch_size=250)
    expected = _outcomes(engine)
    assert default.coded > 100 and default.ambiguous > 5 and default.no_match > 100  # the sample is not trivial
    several = sum(1 for d in expected[0] if d[3] is not None)
    assert several > 10 if matching == "spans" else several == 0
    _reset(engine)
    in_db = run_coding(engine, batch_size=250, engine_name="sql")
    assert _outcomes(engine) == expected
    assert [getattr(in_db, k) for k in ("considered", "coded", "no_match", "ambiguous", "invalid_input")] == [
        getattr(default, k) for k in ("considered", "coded", "no_match", "ambiguous", "invalid_input")
    ]
    with engine.connect() as conn:
        assert conn.execute(select(match_text)).all() == []  # scratch rows never outlive their batch
        engines = [r[0] for r in conn.execute(text("SELECT engine FROM coding_run ORDER BY id"))]
    assert engines == ["python", "sql"]
    with engine.connect() as conn:
        systems = conn.execute(
            select(diagnosis.c.kind, icd_code.c.code_system)
            .join(code_log, code_log.c.diagnosis_id == diagnosis.c.id)
            .join(icd_code, icd_code.c.code == code_log.c.code)
        ).all()
    assert {k for k, _ in systems} == {"procedure", "discharge"}  # both systems coded lines
    assert all((k == "procedure") == (s == "icd9cm3") for k, s in systems)  # each in its own system


def test_sqlite_regexp_is_the_regex_package_with_a_timeout(tmp_path):
    eng = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with eng.connect() as conn:
        # \p{Han} exists in the regex package only: Python's re (SQLAlchemy's default REGEXP) rejects it
        assert conn.execute(text("SELECT '冠心病' REGEXP '\\p{Han}', 'ab' REGEXP '^b'")).one() == (1, 0)
    regexp = sqlite_regexp.Regexp(timeout=0.001)  # the timeout is the function's own, not a global
    slow = "(a|aa)+$"  # outside the portable dialect on purpose: it must take exponential time
    assert regexp(slow, "a" * 40 + "b") == 1
    assert (slow, "a" * 40 + "b") in regexp.timed_out
    assert not sqlite_regexp.Regexp().timed_out


@pytest.mark.parametrize(
    "dialect, operator",
    [
        ("postgresql", "match_text.normalized ~ CONCAT('(?', 'p', ')', coding_rule.pattern)"),
        ("oracle", "REGEXP_LIKE(match_text.normalized, coding_rule.pattern, 'c')"),
    ],
)
def test_match_query_uses_each_database_operator_with_its_flag(dialect, operator):
    from sqlalchemy.dialects import oracle, postgresql

    d = {"postgresql": postgresql.dialect(), "oracle": oracle.dialect()}[dialect]
    sql = str(match_query(dialect, 1).compile(dialect=d))
    assert operator in sql
