"""The writer hands its rows to the driver as they are, skipping SQLAlchemy's bind processing:
every column it writes must need no conversion that path skips, on every database."""

import datetime as dt

import pytest
from sqlalchemy import DateTime
from sqlalchemy.dialects import oracle, postgresql, sqlite

from coder.run.writer import WRITES, BatchWriter, _Ids

DIALECTS = [sqlite.dialect(), postgresql.psycopg.dialect(), oracle.oracledb.dialect()]


@pytest.mark.parametrize("dialect", DIALECTS, ids=lambda d: d.name)
def test_no_written_column_needs_a_conversion_the_fast_path_skips(dialect):
    for stmt, row in WRITES:
        compiled = stmt.compile(dialect=dialect, for_executemany=True)
        names = set(compiled.binds)
        assert names == set(row._fields), (stmt, names ^ set(row._fields))
        for name, bind in compiled.binds.items():
            impl = bind.type.dialect_impl(dialect)
            processor = impl.bind_processor(dialect)
            if isinstance(bind.type, DateTime):
                continue  # converted once per batch by BatchWriter.stamp, as the processor would
            assert processor is None, f"{row.__name__}.{name} ({bind.type!r}) needs bind processing on {dialect.name}"


def test_stamp_is_the_datetime_processor(engine):
    writer = BatchWriter(engine, run_id=1, rb_version=1, lock_rows=False)
    now = dt.datetime(2026, 12, 1, 8, 0, 0, 123456)
    processor = DateTime().dialect_impl(engine.dialect).bind_processor(engine.dialect)
    assert writer.stamp(now) == (processor(now) if processor else now)


def test_a_taken_line_that_holds_a_code_is_cleared_as_before(seeded, tmp_path):
    """Most lines are written by the statements that name only the columns that change; a pending
    line that holds a code (set outside the product) is written by the one that names them all."""
    from sqlalchemy import insert, select

    from coder.db.models import diagnosis
    from coder.run.loop import run_coding
    from coder.services.rules import import_rules
    from tests.conftest import write_csv

    rules = [["I25.103", "冠心病", ""], ["I20.000", "不稳定型心绞痛", ""]]
    import_rules(seeded, write_csv(tmp_path / "r.csv", ["code", "pattern", "exclude"], rules), "王芳", "test")
    stale = {"code": "J18.900", "other_codes": "I10.x00x004", "coded_by": "外部"}
    lines = [
        ("P1", "冠心病", {}),
        ("P2", "系统性红斑狼疮", {}),
        ("P3", "冠心病", stale),
        ("P4", "系统性红斑狼疮", stale),
        ("P5", "冠心病 不稳定型心绞痛", {}),
    ]
    with seeded.begin() as conn:
        conn.execute(
            insert(diagnosis),
            [
                {"record_id": r, "seq_no": 1, "kind": "discharge", "status": "pending", "description": t, **extra}
                for r, t, extra in lines
            ],
        )
    run_coding(seeded)
    with seeded.connect() as conn:
        got = {
            r.record_id: (r.status, r.code, r.other_codes, r.coded_by, r.fail_reason)
            for r in conn.execute(select(diagnosis))
        }
    assert got == {
        "P1": ("coded", "I25.103", None, "auto", None),
        "P2": ("failed", None, None, None, "no_match"),
        "P3": ("coded", "I25.103", None, "auto", None),
        "P4": ("failed", None, None, None, "no_match"),
        "P5": ("coded", "I25.103", "I20.000", "auto", None),
    }


def test_the_guard_read_by_range_gives_only_the_batchs_waiting_lines(seeded):
    """A batch of nearly consecutive ids is re-read by its range: a waiting line inside the range
    that is not the batch's, and a batch line a person coded meanwhile, are not the batch's."""
    from sqlalchemy import insert, select, update

    from coder.db.models import diagnosis

    with seeded.begin() as conn:
        conn.execute(
            insert(diagnosis),
            [
                {"record_id": f"W{i}", "seq_no": 1, "kind": "discharge", "status": "pending", "description": "肺炎"}
                for i in range(6)
            ],
        )
        ids = conn.execute(select(diagnosis.c.id).order_by(diagnosis.c.id)).scalars().all()
        conn.execute(
            update(diagnosis).where(diagnosis.c.id == ids[1]).values(status="manual", code="J18.900", coded_by="李娜")
        )
        conn.execute(update(diagnosis).where(diagnosis.c.id == ids[2]).values(coded_by="外部"))
    writer = BatchWriter(seeded, run_id=1, rb_version=1, lock_rows=False)
    batch = [ids[0], ids[1], ids[2], ids[3], ids[5]]  # ids[4] waits too, but is another batch's
    with seeded.connect() as conn:
        by_range = writer.still_waiting(conn, batch)
        by_list = _Ids(writer.work, len(batch), False, seeded.dialect).read(conn, batch)  # the ids' own read
    assert by_range == {ids[0]: True, ids[2]: False, ids[3]: True, ids[5]: True}
    assert by_list == by_range


def test_a_failures_candidates_are_written_by_their_value_however_often_they_come():
    """The writer remembers each set of candidates' JSON: the same value gives the same JSON, two
    values never share one, and the memo empties itself when full instead of growing."""
    import json

    from coder.run.writer import _CandidatesJson, candidates_json
    from rulebase.decision import Candidate

    memo = _CandidatesJson()
    a = (Candidate("I20.000", (3, 7)), Candidate("I25.103", (4,)))
    same = (Candidate("I20.000", (3, 7)), Candidate("I25.103", (4,)))  # equal, another object
    other = (Candidate("I20.000", (3,)), Candidate("I25.103", (4,)))
    assert memo[a] == candidates_json(a)
    assert json.loads(memo[a]) == [{"code": "I20.000", "rule_ids": [3, 7]}, {"code": "I25.103", "rule_ids": [4]}]
    assert memo[same] is memo[a] and len(memo) == 1
    assert json.loads(memo[other])[0]["rule_ids"] == [3]
    assert memo[()] is None
    for k in range(20_001):
        memo[(Candidate("J18.900", (k,)),)]
    assert len(memo) <= 20_000
    assert json.loads(memo[a])[1]["code"] == "I25.103"
