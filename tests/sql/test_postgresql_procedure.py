"""sql/postgresql/icdcoder_run.sql, installed on the real server, codes like the Python engine."""

import json
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select, update

from benchmarks.workload import make_rules
from coder.db.connect import make_engine
from coder.db.migrate import upgrade_db
from coder.db.models import (
    RUN_COUNTS,
    app_setting,
    code_log,
    coding_rule,
    coding_run,
    combination,
    combo_hit,
    diagnosis,
    edit_hit,
    fail_log,
    icd_code,
    norm_rule,
    rulebase_state,
    utcnow,
)
from coder.run.loop import run_coding
from coder.services.edits import check_all
from rulebase.engine import RuleSet
from tests.coder.run.test_sql_engine import _load, _outcomes, _reset
from tests.conftest import _pg_schema_url

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
    _load(pg_engine, n_rules=600, n_texts=1000, seed=5)
    with pg_engine.begin() as conn:
        # Lines the starter guards stop (migration 0011), before, after and inside not_within words.
        rule_set = RuleSet(make_rules(600, seed=5))  # the rules _load stored: cue the lines they code
        texts = [t for t in conn.execute(select(diagnosis.c.description)).scalars() if rule_set.decide(t).code]
        cued = [c + t for c in ("疑似", "排除", "不排除", "待排除") for t in texts[:20]]
        cued += [t + c for c in ("?", "待排", "除外", "不除外") for t in texts[20:40]]
        # Two coded lines made one, with and without a blank (a rule's .* can then reach into the
        # second text: contained and overlapping words), and guards on such lines.
        pairs = [(texts[i % len(texts)], texts[(7 * i + 3) % len(texts)]) for i in range(400)]
        two = [f"{t} {u}" for t, u in pairs if len(rule_set.decide(f"{t} {u}").codes) > 1][:30]
        cued += two[:20] + [t + u for t, u in pairs[:15]]
        cued += ["疑似" + t for t in two[20:25]] + [t + "待查" for t in two[25:]]
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
    expected = _outcomes(pg_engine), _several(pg_engine)
    assert first.coded > 50 and first.ambiguous > 0 and len({r[0] for r in expected[0][1]}) == first.coded
    assert first.uncertain > 30 and first.negated > 5  # t + 除外 stays coded: 除外 is `before`
    assert len(expected[1][0]) > 10  # lines of several codes (the workload is seeded)
    _reset(pg_engine)
    with pg_engine.begin() as conn:
        conn.execute(update(diagnosis).values(other_codes=None))
    (run_id,) = _call(pg_engine, (SQL / "icdcoder_run.sql").read_text(encoding="utf-8"), "CALL icdcoder_run(200, NULL)")
    assert (_outcomes(pg_engine), _several(pg_engine)) == expected
    with pg_engine.connect() as conn:
        run = conn.execute(coding_run.select().where(coding_run.c.id == run_id)).one()
        lines = conn.execute(select(func.count()).select_from(diagnosis)).scalar_one()
    assert (run.status, run.engine, run.considered) == ("finished", "plpgsql", lines)
    assert (run.uncertain, run.negated) == (first.uncertain, first.negated)


def _several(engine):
    """The lines of several codes, and every log row's position (_outcomes reads neither)."""
    with engine.connect() as conn:
        lines = conn.execute(
            select(diagnosis.c.id, diagnosis.c.code, diagnosis.c.other_codes)
            .where(diagnosis.c.other_codes.is_not(None))
            .order_by(diagnosis.c.id)
        ).all()
        positions = conn.execute(
            select(code_log.c.diagnosis_id, code_log.c.position, code_log.c.code).order_by(
                code_log.c.diagnosis_id, code_log.c.position
            )
        ).all()
    return lines, positions


# --- several codes a line, the strict setting, guards per part, combinations (issue #14) -----------

RULES = (  # id, code, pattern: the quoted real lines, a contained match, overlapping codes, same-code nesting
    (1, "I25.103", "冠状动脉粥样硬化性心脏病"),
    (2, "I20.000", "不稳定型心绞痛"),
    (3, "I20.900", "心绞痛"),
    (4, "I49.900", "心律失常"),
    (5, "I44.200", "III度房室传导阻滞"),
    (6, "K25.900", "胃溃疡"),
    (7, "K92.200", "上消化道出血"),
    (8, "E11.900", "2型糖尿病"),
    (9, "G63.2*", "糖尿病性周围神经病变"),
    (10, "A15.000", "肺结核"),
    (11, "A16.500", "结核性胸膜炎"),
    (12, "I20.000", "不稳定型心绞痛发作"),  # the same code around rule 2's words
    (13, "J18.900", "肺炎"),
    (14, "R50.900", "发热待查"),  # a rule whose words hold a cue
)
COMBOS = ((1, "E11.900,G63.2*", "E11.401+G63.2*"), (2, "K25.900,K92.200", "K25.400"))
LINES = (  # record, seq, description, person's code (a manual line) or None
    ("A", 1, "冠状动脉粥样硬化性心脏病 不稳定型心绞痛", None),  # I25.103 + I20.000
    ("B", 1, "不稳定型心绞痛", None),  # 心绞痛 lies inside: I20.000 alone
    ("C", 1, "肺结核性胸膜炎", None),  # overlapping, neither contains the other: ambiguous
    ("D", 1, "心律失常III度房室传导阻滞", None),  # I49.900 + I44.200
    ("E", 1, "疑似胃溃疡 肺炎", None),  # the first part guarded: the line fails uncertain
    ("F", 1, "肺炎 胃溃疡待查", None),  # 待查 after the second part: uncertain
    ("G", 1, "排除肺炎", None),
    ("H", 1, "肺炎 不稳定型心绞痛发作", None),  # rules 2 and 12 (one code), 3 inside: J18.900 + I20.000
    ("K", 1, "2型糖尿病", None),  # K1 + K2: E11.401+G63.2* on both lines
    ("K", 2, "糖尿病性周围神经病变", None),
    ("L", 1, "胃溃疡", None),
    ("L", 2, "上消化道出血", "K92.200"),  # a person's code: L1 is marked for review, not combined
    ("M", 1, "胃溃疡伴上消化道出血", None),  # both sources in one line
    ("N", 2, "胃溃疡", None),
    ("N", 1, "上消化道出血 肺炎", None),  # the combination takes one code of a two-code line
    ("P", 1, "2型糖尿病", None),  # P spans two batches of 3
    ("Q", 1, "肺炎", None),
    ("P", 2, "糖尿病性周围神经病变", None),
    ("S", 1, "糖尿病性周围神经病变", None),  # an asterisk code alone, and a code twice: code edits mark them
    ("T", 1, "肺炎", None),
    ("T", 2, "肺炎", None),
    ("U", 1, "肺炎 发热待查", None),  # 待查 after 肺炎 but inside the second part's words: guards nothing
    ("V", 1, "冠状动脉粥样硬化性心脏病 疑似不稳定型心绞痛", None),  # uncertain: A's two codes proposed, not 3's
    ("W", 1, "疑似肺炎 不稳定型心绞痛发作", None),  # uncertain: H's codes, I20.000 by rules 2 and 12
)
LATER = (("K", 3, "胃溃疡 上消化道出血", None), ("R", 2, "糖尿病性周围神经病变", None))  # second run
FIRST_RUN = (("R", 1, "2型糖尿病", None),)  # R1 coded by the first run, R2 by the second


@pytest.fixture
def two_pg():
    """Two migrated schemas on the server: the same data coded by each engine, ids equal."""
    urls = [_pg_schema_url() for _ in range(2)]
    engines = [make_engine(next(u)) for u in urls]
    for e in engines:
        upgrade_db(e)
    yield engines
    for e, u in zip(engines, urls, strict=True):
        e.dispose()
        next(u, None)


def _seed(engine, lines, strict=False):
    with engine.begin() as conn:
        codes = sorted({c for _, c, _ in RULES} | {c for _, _, c in COMBOS})
        conn.execute(insert(icd_code), [{"code": c, "name": c, "active": True} for c in codes])
        conn.execute(
            insert(coding_rule),
            [
                {"id": i, "code": c, "pattern": p, "priority": 0, "enabled": True, "version": 1, "author": "t"}
                for i, c, p in RULES
            ],
        )
        conn.execute(update(rulebase_state).values(version=1))
        conn.execute(
            insert(combination),
            [
                {"id": i, "codes": s, "code": c, "enabled": True, "version": 1, "author": "t", "changed_at": utcnow()}
                for i, s, c in COMBOS
            ],
        )
        if strict:
            conn.execute(insert(app_setting).values(name="matching", value="strict", changed_at=utcnow()))
    _add_lines(engine, lines)


def _add_lines(engine, lines):
    with engine.begin() as conn:
        for record, seq, text, person in lines:
            conn.execute(
                insert(diagnosis).values(
                    record_id=record,
                    seq_no=seq,
                    kind="discharge",
                    description=text,
                    status="manual" if person else "pending",
                    code=person,
                    coded_by="王芳" if person else None,
                )
            )


def _everything(engine):
    """Every row a run writes that both engines write (the code edits are icdcoder's only)."""
    with engine.connect() as conn:
        got = {
            "diagnosis": conn.execute(
                select(
                    diagnosis.c.id,
                    diagnosis.c.record_id,
                    diagnosis.c.seq_no,
                    diagnosis.c.status,
                    diagnosis.c.code,
                    diagnosis.c.other_codes,
                    diagnosis.c.coded_by,
                    diagnosis.c.fail_reason,
                ).order_by(diagnosis.c.id)
            ).all(),
            "code_log": conn.execute(
                select(
                    code_log.c.run_id,
                    code_log.c.diagnosis_id,
                    code_log.c.position,
                    code_log.c.code,
                    code_log.c.rule_id,
                    code_log.c.rule_version,
                    code_log.c.normalized,
                    code_log.c.match_start,
                    code_log.c.match_end,
                    code_log.c.combination_id,
                    code_log.c.combination_version,
                    code_log.c.source_ids,
                    code_log.c.source_code,
                ).order_by(code_log.c.run_id, code_log.c.diagnosis_id, code_log.c.position)
            ).all(),
            "fail_log": [
                (r.run_id, r.diagnosis_id, r.reason, json.loads(r.candidates) if r.candidates else None, r.normalized)
                for r in conn.execute(select(fail_log).order_by(fail_log.c.run_id, fail_log.c.diagnosis_id))
            ],
            "combo_hit": conn.execute(
                select(
                    combo_hit.c.diagnosis_id,
                    combo_hit.c.combo_id,
                    combo_hit.c.combo_version,
                    combo_hit.c.reason,
                    combo_hit.c.cleared_at,
                ).order_by(combo_hit.c.diagnosis_id, combo_hit.c.combo_id)
            ).all(),
            "runs": conn.execute(
                select(*(coding_run.c[k] for k in ("id", "status", *RUN_COUNTS.values()))).order_by(coding_run.c.id)
            ).all(),
        }
    return got


def _plpgsql(engine, batch_size):
    _call(engine, (SQL / "icdcoder_run.sql").read_text(encoding="utf-8"), f"CALL icdcoder_run({batch_size}, NULL)")


def _python(engine, batch_size):
    run_coding(engine, batch_size=batch_size)


def _two_runs(engine, run, strict=False):
    _seed(engine, FIRST_RUN + LINES, strict)
    run(engine, 3)
    _add_lines(engine, LATER)
    run(engine, 3)
    return _everything(engine)


def _by_line(rows):
    by_id = {r.id: (r.record_id, r.seq_no) for r in rows["diagnosis"]}
    lines = {(r.record_id, r.seq_no): r for r in rows["diagnosis"]}
    return by_id, lines


def test_plpgsql_codes_several_diagnoses_a_line_and_combines_like_python(two_pg):
    py, pl = two_pg
    expected = _two_runs(py, _python)
    got = _two_runs(pl, _plpgsql)
    by_id, lines = _by_line(got)

    def codes(record, seq):
        r = lines[(record, seq)]
        return (r.status, r.fail_reason, r.code, r.other_codes)

    # What the semantics say, independent of either engine.
    assert codes("A", 1) == ("coded", None, "I25.103", "I20.000")
    assert codes("B", 1) == ("coded", None, "I20.000", None)
    assert codes("C", 1) == ("failed", "ambiguous", None, None)
    assert codes("D", 1) == ("coded", None, "I49.900", "I44.200")
    assert codes("E", 1)[:2] == codes("F", 1)[:2] == ("failed", "uncertain")
    assert codes("G", 1)[:2] == ("failed", "negated")
    assert codes("H", 1) == ("coded", None, "J18.900", "I20.000")
    assert codes("U", 1) == ("coded", None, "J18.900", "R50.900")
    # A guarded line proposes the codes it would have had, in text order, not the 心绞痛 inside its
    # second part.
    proposed = {by_id[r[1]]: r[3] for r in got["fail_log"] if r[2] == "uncertain"}
    assert proposed[("V", 1)] == [{"code": "I25.103", "rule_ids": [1]}, {"code": "I20.000", "rule_ids": [2]}]
    assert proposed[("W", 1)] == [{"code": "J18.900", "rule_ids": [13]}, {"code": "I20.000", "rule_ids": [2, 12]}]
    assert codes("K", 1)[2] == codes("K", 2)[2] == "E11.401+G63.2*"
    assert codes("P", 1)[2] == codes("P", 2)[2] == "E11.401+G63.2*"  # across two batches
    assert codes("R", 1)[2] == codes("R", 2)[2] == "E11.401+G63.2*"  # across two runs
    assert codes("L", 1)[2] == "K25.900" and codes("L", 2)[:3] == ("manual", None, "K92.200")
    assert [by_id[h.diagnosis_id] for h in got["combo_hit"]] == [("L", 1)]
    assert codes("M", 1)[2:] == ("K25.400", None)
    a = lines[("A", 1)].id
    assert [
        (r.position, r.code, r.rule_id, r.match_start, r.match_end) for r in got["code_log"] if r.diagnosis_id == a
    ] == [
        (0, "I25.103", 1, 0, 12),
        (1, "I20.000", 2, 13, 20),
    ]
    assert {r.source_ids for r in got["code_log"] if r.combination_id == 1 and by_id[r.diagnosis_id][0] == "R"} == {
        f"{lines[('R', 1)].id},{lines[('R', 2)].id}"
    }
    # And every row equals the Python engine's.
    assert got == expected
    # The code edits are not applied in the database; `icdcoder edits check` afterwards gives the
    # open marks `icdcoder run` left.
    assert _open_edit_marks(pl) == []
    check_all(pl)
    marks = _open_edit_marks(py)
    assert {by_id[m[0]][0] for m in marks} >= {"S", "T"}
    assert _open_edit_marks(pl) == marks


def _open_edit_marks(engine):
    with engine.connect() as conn:
        return conn.execute(
            select(edit_hit.c.diagnosis_id, edit_hit.c.edit_id, edit_hit.c.kind, edit_hit.c.reason)
            .where(edit_hit.c.cleared_at.is_(None))
            .order_by(edit_hit.c.diagnosis_id, edit_hit.c.edit_id)
        ).all()


def test_plpgsql_strict_setting_makes_several_codes_ambiguous_like_python(two_pg):
    py, pl = two_pg
    expected = _two_runs(py, _python, strict=True)
    got = _two_runs(pl, _plpgsql, strict=True)
    _, lines = _by_line(got)
    for key in (("A", 1), ("B", 1), ("D", 1), ("M", 1)):
        assert (lines[key].status, lines[key].fail_reason) == ("failed", "ambiguous"), key
    assert got == expected


def test_plpgsql_refuses_an_unknown_matching_setting_before_it_starts(pg_engine):
    import psycopg

    with pg_engine.begin() as conn:
        conn.execute(insert(app_setting).values(name="matching", value="loose", changed_at=utcnow()))
    with pytest.raises(psycopg.errors.InvalidParameterValue, match="matching is loose; it is one of spans, strict"):
        _plpgsql(pg_engine, 10)
    with pg_engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(coding_run)).scalar_one() == 0
