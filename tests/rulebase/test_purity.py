"""The core stays pure: importing every rulebase module pulls in no database, terminal or Excel library."""

import pkgutil
import subprocess
import sys
from pathlib import Path

import rulebase

FORBIDDEN = ("sqlalchemy", "click", "openpyxl", "alembic", "psycopg", "oracledb", "coder")


def test_rulebase_imports_no_io_library():
    modules = [f"rulebase.{m.name}" for m in pkgutil.iter_modules(rulebase.__path__)]
    assert "rulebase.engine" in modules and "rulebase.decision" in modules
    probe = (
        "import sys\n"
        + "".join(f"import {m}\n" for m in modules)
        + f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({FORBIDDEN!r})))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(rulebase.__file__).parents[1],
    )
    assert out.stdout.strip() == "[]", f"the core imported {out.stdout.strip()}"
