"""`icdcoder demo`: the whole product on the bundled sample, in a fresh SQLite file.

The file is made as a department would have made it: the dictionary, normalization table and rule
base at go-live (2024-12-16), a year of coding and audit (2025, coder.sample.history: reviews and
the rule changes answering them), and today's HIS export (the long-layout list and the homepage
export), coded by today's run with the rule base as the year left it and waiting for review. Three
accounts with demo passwords log in to the workbench (`icdcoder serve`)."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from sqlalchemy import create_engine, inspect, select

from coder.db.connect import make_engine
from coder.db.migrate import upgrade_db
from coder.db.models import app_setting, code_log, coding_rule, diagnosis
from coder.errors import IcdCoderError
from coder.sample import history as year_of_history
from coder.store.codes import lines_of
from coder.store.users import set_setting
from rulebase.codes import ICD9CM3

from .diagnoses import Layout, import_diagnoses, list_failures
from .dictionary import import_dictionary
from .normalization import import_normalization
from .rules import import_rules
from .run import RunResult, run_coding
from .users import add_user

DEMO_AUTHOR = "icdcoder demo"
DEMO_MARK = "demo_database"  # app_setting: this file is a demo, `icdcoder demo` may replace it
# The workbench's accounts in the demo file. Demo passwords, printed by `icdcoder demo`: the file
# holds invented data only; a real database's passwords are typed at a hidden prompt.
DEMO_USERS = (("李娜", "coder", "lina-demo"), ("王芳", "author", "wangfang-demo"), ("管理员", "admin", "admin-demo"))


@dataclass
class DemoResult:
    path: Path
    codes: int  # ICD-10 and ICD-9-CM-3
    rules: int
    diagnoses: int  # lines of both samples: the long-layout list and the homepage export
    run: RunResult
    examples: dict[str, list[tuple[str, str]]]  # outcome -> (description, code or candidates)
    records: int = 0  # discharges of the homepage export
    procedures: int = 0  # its procedure lines
    procedure_codes: int = 0
    history: year_of_history.History | None = None  # the year of audit history before today's export
    users: tuple[tuple[str, str, str], ...] = ()  # (name, role, demo password)


def _is_demo_file(path: Path) -> bool:
    engine = create_engine(f"sqlite:///{path}")
    try:
        tables = inspect(engine).get_table_names()
        if "coding_rule" not in tables:
            return False
        with engine.connect() as conn:
            if (
                "app_setting" in tables
                and conn.execute(select(app_setting.c.value).where(app_setting.c.name == DEMO_MARK)).first()
            ):
                return True
            authors = {r[0] for r in conn.execute(select(coding_rule.c.author).distinct())}
        return authors <= {DEMO_AUTHOR}  # a demo file made before the mark
    except Exception:  # not a SQLite database at all
        return False
    finally:
        engine.dispose()


def _distinct(pairs: list[tuple[str, str]], n: int = 4) -> list[tuple[str, str]]:
    return list(dict.fromkeys(pairs))[:n]


def run_demo(path: str | Path) -> DemoResult:
    path = Path(path)
    if path.exists():
        if not _is_demo_file(path):
            raise IcdCoderError(f"{path} exists and is not a demo database; choose another --path or remove it")
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
    engine = make_engine(f"sqlite:///{path}")
    upgrade_db(engine)
    sample = resources.files("coder.sample")
    with (
        resources.as_file(sample / "codes.csv") as codes,
        resources.as_file(sample / "rules.csv") as rules,
        resources.as_file(sample / "diagnoses.csv") as diagnoses,
        resources.as_file(sample / "normalization.csv") as normalization,
        resources.as_file(sample / "procedure_codes.csv") as procedure_codes,
        resources.as_file(sample / "homepage.csv") as homepage,
    ):
        with engine.begin() as conn:
            set_setting(conn, DEMO_MARK, DEMO_AUTHOR)
        n_codes = import_dictionary(engine, codes).summary()["added"]
        n_procs = import_dictionary(engine, procedure_codes, system=ICD9CM3).summary()["added"]
        import_normalization(engine, normalization, DEMO_AUTHOR, "bundled sample normalization table")
        n_rules = import_rules(engine, rules, DEMO_AUTHOR, "bundled sample rule base").summary()["added"]
        # A year of coding and review with that rule base, and 王芳's changes answering the reviews.
        past = year_of_history.write(engine)
        n_diag = import_diagnoses(engine, diagnoses).summary()["added"]
        # The HIS's own shape: one row per discharge, diagnoses and procedures as name/code pairs.
        pages = import_diagnoses(engine, homepage, layout=Layout.HOMEPAGE).summary()
    result = run_coding(engine)
    for name, role, password in DEMO_USERS:
        add_user(engine, name, role, password)
    examples: dict[str, list[tuple[str, str]]] = {}
    today = code_log.c.run_id == result.run_id
    with engine.connect() as conn:
        rows = conn.execute(
            select(diagnosis.c.description, code_log.c.code)
            .join(code_log, code_log.c.diagnosis_id == diagnosis.c.id)
            .where(today)
            .order_by(code_log.c.id)
            .limit(40)
        ).all()
        examples["coded"] = _distinct([(r.description, r.code) for r in rows])
        rows = conn.execute(
            select(diagnosis.c.description, code_log.c.code)
            .join(code_log, code_log.c.diagnosis_id == diagnosis.c.id)
            .where(today, lines_of(ICD9CM3))
            .order_by(code_log.c.id)
            .limit(40)
        ).all()
        examples["coded procedures"] = _distinct([(r.description, r.code) for r in rows])
    for reason in ("no_match", "ambiguous"):
        examples[reason] = _distinct(
            [
                (f["description"], ", ".join(f["candidates"]) or "-")
                for f in list_failures(engine, reason=reason, run=result.run_id, limit=40)
            ]
        )
    engine.dispose()
    return DemoResult(
        path,
        n_codes + n_procs,
        n_rules,
        n_diag + pages["added"],
        result,
        examples,
        records=pages["records_added"],
        procedures=pages["procedures"],
        procedure_codes=n_procs,
        history=past,
        users=DEMO_USERS,
    )
