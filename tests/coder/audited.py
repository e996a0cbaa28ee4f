"""A small audited history written straight to the tables, for the mining and evaluate tests.

Every line was coded by a person (status manual) on the second day after its record's discharge;
each record is a homepage row, so a line's day is that discharge."""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import insert

from coder.db.connect import make_engine
from coder.db.migrate import upgrade_db
from coder.db.models import diagnosis, homepage
from coder.services.dictionary import import_dictionary
from coder.services.rules import add_rule
from rulebase.codes import PROCEDURE
from tests.conftest import SAMPLE

# (record id, discharge day, [(description, code), ...]); a code of the form 36.0700 is a procedure.
Record = tuple[str, str, Sequence[tuple[str, str]]]


def write_records(engine, records: Sequence[Record], person: str = "李娜") -> None:
    with engine.begin() as conn:
        for record_id, day, lines in records:
            discharged = dt.datetime.fromisoformat(day).replace(hour=10)
            conn.execute(insert(homepage).values(record_id=record_id, mrn=f"M{record_id}", discharged_at=discharged))
            for seq, (text, code) in enumerate(lines, start=1):
                kind = PROCEDURE if code[:2].isdigit() else "discharge"
                conn.execute(
                    insert(diagnosis).values(
                        record_id=record_id,
                        seq_no=seq,
                        kind=kind,
                        description=text,
                        code=code,
                        coded_by=person,
                        status="manual",
                        created_at=discharged,
                        updated_at=discharged + dt.timedelta(days=2),
                    )
                )


# The tiny hand-checked case: three rules; four learning records before 2025-10-01, four test records after.
TINY_RULES = (
    ("I25.103", "冠(状动脉粥样硬化性)?心(脏)?病"),
    ("I10.x00x004", "高血压(病)?3级"),
    ("E11.900", "2型糖尿病"),
)
TINY_LEARNING: list[Record] = [
    ("L1", "2025-09-02", [("胆囊多发结石", "K80.200x003"), ("急性阑尾炎", "K35.900")]),
    ("L2", "2025-09-10", [("冠心病", "I25.103"), ("胆囊多发结石", "K80.200x003")]),
    ("L3", "2025-09-18", [("急性阑尾炎", "K35.900")]),
    ("L4", "2025-09-30", [("2型糖尿病", "E11.900")]),
]
TINY_TEST: list[Record] = [
    ("T1", "2025-10-01", [("冠心病", "I25.103"), ("高血压3级", "I10.x00x032")]),  # TP, FP
    ("T2", "2025-10-05", [("2型糖尿病", "E11.900"), ("胆囊多发结石", "K80.200x003")]),  # TP, TN
    ("T3", "2025-10-09", [("急性阑尾炎", "K35.900"), ("冠脉粥样硬化", "I25.103")]),  # TN, FN
    ("T4", "2025-10-20", [("冠状动脉粥样硬化性心脏病", "I25.103")]),  # TP: the one record exactly right
]


def write_tiny(engine) -> None:
    """The sample dictionary, the tiny case's rules and its history, on a migrated database."""
    import_dictionary(engine, SAMPLE / "codes.csv")
    for code, pattern in TINY_RULES:
        add_rule(engine, code, pattern, "王芳", reason="tiny case")
    write_records(engine, TINY_LEARNING + TINY_TEST)


def built_file(tmp_path_factory, build) -> Path:
    """A migrated SQLite file that `build(engine)` filled, made once for a module's tests to copy."""
    path = tmp_path_factory.mktemp("built") / "built.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade_db(engine)
    build(engine)
    engine.dispose()
    return path


def copy_db(source, tmp_path, name: str = "copy.db") -> str:
    """A SQLite file of one's own (the shared original stays as built); its URL."""
    target = tmp_path / name
    shutil.copyfile(source, target)
    return f"sqlite:///{target}"
