"""The code dictionary as the rest of the application asks about it."""

from __future__ import annotations

from typing import NamedTuple

from sqlalchemy import Connection, select

from coder.db.models import diagnosis, icd_code
from rulebase.codes import ICD9CM3, NAMES, PROCEDURE, system_of_kind


class CodeState(NamedTuple):
    active: bool
    system: str


def code_states(conn: Connection) -> dict[str, CodeState]:
    """Every code of the dictionary, whether it is active, and its code system."""
    c = icd_code.c
    return {r.code: CodeState(r.active, r.code_system) for r in conn.execute(select(c.code, c.active, c.code_system))}


def problem_with(code: str, states: dict[str, CodeState] | None, system: str | None = None) -> str | None:
    """Why `code` cannot be used for a rule or a line, or None when it can (`states`: code_states, or
    None when the code is not in the dictionary; `system`: the system the line is coded in, if known)."""
    if states is None or code not in states:
        return f"code {code!r} is not in the code dictionary"
    state = states[code]
    if not state.active:
        return f"code {code!r} is inactive in the code dictionary"
    if system is not None and state.system != system:
        return f"code {code!r} is an {NAMES[state.system]} code; this line is coded in {NAMES[system]}" + (
            " (procedure lines take procedure codes)"
            if system == ICD9CM3
            else " (only procedure lines take procedure codes)"
        )
    return None


def code_problem(conn: Connection, code: str, system: str | None = None) -> str | None:
    """Why `code` cannot be used for a rule or a line (of `system`), or None when it can."""
    row = conn.execute(select(icd_code.c.active, icd_code.c.code_system).where(icd_code.c.code == code)).first()
    if row is None:
        return problem_with(code, None) + " (import it with icdcoder dict import)"
    return problem_with(code, {code: CodeState(row.active, row.code_system)}, system)


def lines_of(system: str):
    """The SQL condition for the lines coded in `system` (by their kind; see system_of_kind)."""
    if system == ICD9CM3:
        return diagnosis.c.kind == PROCEDURE
    return diagnosis.c.kind != PROCEDURE


def codes_of(system: str):
    """The codes of `system`, as a subquery for `code IN (...)`."""
    return select(icd_code.c.code).where(icd_code.c.code_system == system)


__all__ = ["CodeState", "code_problem", "code_states", "codes_of", "lines_of", "problem_with", "system_of_kind"]
