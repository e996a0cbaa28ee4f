"""The code dictionary as the rest of the application asks about it."""

from __future__ import annotations

from sqlalchemy import Connection, select

from coder.db.models import icd_code


def code_states(conn: Connection) -> dict[str, bool]:
    """Every code of the dictionary and whether it is active."""
    return {r.code: r.active for r in conn.execute(select(icd_code.c.code, icd_code.c.active))}


def problem_with(code: str, states: dict[str, bool] | None) -> str | None:
    """Why `code` cannot be used for a rule or a diagnosis, or None when it can (`states`: code_states,
    or None when the code is not in the dictionary)."""
    if states is None or code not in states:
        return f"code {code!r} is not in the code dictionary"
    if not states[code]:
        return f"code {code!r} is inactive in the code dictionary"
    return None


def code_problem(conn: Connection, code: str) -> str | None:
    """Why `code` cannot be used for a rule or a diagnosis, or None when it can."""
    row = conn.execute(select(icd_code.c.active).where(icd_code.c.code == code)).first()
    if row is None:
        return problem_with(code, None) + " (import it with icdcoder dict import)"
    return problem_with(code, {code: row.active})
