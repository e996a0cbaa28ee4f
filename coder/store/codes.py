"""The code dictionary as the rest of the application asks about it."""

from __future__ import annotations

import string
from collections.abc import Iterable
from typing import Any, NamedTuple

from sqlalchemy import Connection, String, case, or_, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from coder.db.models import diagnosis, icd_code
from rulebase.codes import ICD9CM3, ICD10, NAMES, PROCEDURE, system_of_code, system_of_kind


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


def systems_of(conn: Connection, codes) -> dict[str, str]:
    """code -> its code system: the dictionary's word, else its form (the forms do not overlap)."""
    wanted = set(codes)
    stored = (
        {
            r.code: r.code_system
            for r in conn.execute(select(icd_code.c.code, icd_code.c.code_system).where(icd_code.c.code.in_(wanted)))
        }
        if len(wanted) < 1000
        else {r.code: r.code_system for r in conn.execute(select(icd_code.c.code, icd_code.c.code_system))}
    )
    return {c: stored.get(c) or system_of_code(c) or ICD10 for c in wanted}


def lines_of(system: str):
    """The SQL condition for the lines coded in `system` (by their kind; see system_of_kind)."""
    if system == ICD9CM3:
        return diagnosis.c.kind == PROCEDURE
    return diagnosis.c.kind != PROCEDURE


def codes_of(system: str):
    """The codes of `system`, as a subquery for `code IN (...)`."""
    return select(icd_code.c.code).where(icd_code.c.code_system == system)


class ascii_lower(FunctionElement):
    """Text with A-Z lower-cased and nothing else, in every database alike. Search ignores the case
    of Latin letters (coders type i25, hiv); lower() would also fold Ⅱ or α on PostgreSQL and Oracle
    but not on SQLite, and one search would find different codes on different databases."""

    type = String()
    inherit_cache = True
    name = "ascii_lower"


@compiles(ascii_lower)
def _translate(element, compiler, **kw) -> str:
    upper, lower = string.ascii_uppercase, string.ascii_lowercase
    return f"translate({compiler.process(element.clauses, **kw)}, '{upper}', '{lower}')"


@compiles(ascii_lower, "sqlite")
def _sqlite_lower(element, compiler, **kw) -> str:
    # SQLite has no translate(), and its lower() folds ASCII only (without the ICU extension)
    return f"lower({compiler.process(element.clauses, **kw)})"


_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)
ALIAS_JOIN = "|"  # icd_code.aliases: a code's other names, joined


def find_codes(
    conn: Connection, search: str | None = None, system: str | None = None, limit: int | None = None
) -> list[dict[str, Any]]:
    """Codes of the dictionary (of `system`): all, or those `search` finds (a code starting with it,
    or a name or alias containing it; Latin letters in any case), ranked exact code, code prefix,
    name, alias; then by code."""
    c = icd_code.c
    q = select(c.code, c.name, c.parent, c.active, c.code_system, c.aliases)
    if system:
        q = q.where(c.code_system == system)
    order = [c.code_system, c.code]
    if search:
        key = search.translate(_ASCII_LOWER)
        code = ascii_lower(c.code)
        # autoescape: % and _ in the text are matched as themselves, not as LIKE wildcards.
        by_code = code.startswith(key, autoescape=True)
        by_name = ascii_lower(c.name).contains(key, autoescape=True)
        by_alias = ascii_lower(c.aliases).contains(key, autoescape=True)
        q = q.where(or_(by_code, by_name, by_alias))
        order.insert(0, case((code == key, 0), (by_code, 1), (by_name, 2), else_=3))
    q = q.order_by(*order)
    if limit is not None:
        q = q.limit(limit)
    return [
        {
            "code": r.code,
            "name": r.name,
            "parent": r.parent,
            "active": bool(r.active),
            "system": r.code_system,
            "aliases": r.aliases.split(ALIAS_JOIN) if r.aliases else [],
        }
        for r in conn.execute(q)
    ]


def names_of(conn: Connection, codes: Iterable[str | None]) -> dict[str, str]:
    """The dictionary's names of these codes (those it holds), read in chunks of the IN list."""
    wanted = sorted({c for c in codes if c})
    out: dict[str, str] = {}
    for i in range(0, len(wanted), 500):
        part = wanted[i : i + 500]
        out.update(conn.execute(select(icd_code.c.code, icd_code.c.name).where(icd_code.c.code.in_(part))).all())
    return out


__all__ = [
    "CodeState",
    "code_problem",
    "code_states",
    "codes_of",
    "find_codes",
    "lines_of",
    "names_of",
    "problem_with",
    "system_of_kind",
    "systems_of",
]
