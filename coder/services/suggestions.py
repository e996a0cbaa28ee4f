"""Suggestions for failed lines: up to five ranked codes learned from similar audited descriptions.

The suggester of each code system is built from that system's audited history (lines with a
person's status, as rule tests read and keep it: `audit.ruletest.kept_history`), leaving out the
codes the dictionary marks inactive: a procedure line gets ICD-9-CM-3 suggestions, every other
line ICD-10 ones. Suggesting writes nothing; a person still codes the line.

Building a suggester reads the whole audited history, so it is kept per database and system
(`audit.cache`) and built again once the history, the dictionary or the rule base (normalization) has changed. The
workbench also lets a kept one serve REFRESH seconds after such a change: its pages show
suggestions from a history at most that stale, and a busy day of audits does not rebuild it on
every page.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import Any, NamedTuple

from sqlalchemy import Connection, Engine, select

from coder.audit import cache
from coder.audit.ruletest import kept_history
from coder.db.models import diagnosis, icd_code
from coder.store import normalization as normstore
from coder.store.codes import names_of
from rulebase.codes import system_of_kind
from rulebase.mining import Example
from rulebase.suggest import TOP, Suggester, Suggestion

REFRESH = 60.0  # seconds a kept suggester may serve the workbench after its history changed


class LineText(NamedTuple):
    """A line to suggest codes for: its id, its kind (which decides its system) and its text."""

    id: int
    kind: str
    normalized: str | None  # as the failure log has it; None: normalize the description
    description: str | None = None


def build_suggester(conn: Connection, system: str) -> Suggester:
    """The suggester of `system` from its audited history (as rule tests keep it), without the
    dictionary's inactive codes."""
    inactive = set(conn.execute(select(icd_code.c.code).where(icd_code.c.active == False)).scalars())  # noqa: E712
    history = [Example(a.text, dict(a.codes), a.example) for a in kept_history(conn, system).texts]
    return Suggester(history, inactive=inactive)


def suggester(conn: Connection, system: str, stale_ok: float = 0.0) -> Suggester:
    """The kept suggester of `system` for this database, built when missing or when its history or
    the dictionary changed (and, with `stale_ok`, it has served that many seconds)."""
    key = cache.history_key(conn)
    return cache.kept(conn, ("suggester", system), key, lambda: build_suggester(conn, system), stale_ok)


def as_dict(s: Suggestion, names: dict[str, str]) -> dict[str, Any]:
    return {
        "code": s.code,
        "name": names.get(s.code),
        "score": s.score,
        "lines": s.lines,
        "evidence": [{"text": e.text, "code": e.code, "count": e.count, "score": e.score} for e in s.evidence],
    }


def suggest_lines(
    conn: Connection, lines: Sequence[LineText], k: int = TOP, stale_ok: float = 0.0
) -> dict[int, list[dict[str, Any]]]:
    """line id -> its suggestions as {code, name, score, lines, evidence: [{text, code, count, score}]},
    best first; a line whose text shares nothing with its system's history gets []. `stale_ok`: see
    `suggester` (the workbench passes REFRESH)."""
    normalize = None
    texts: dict[int, str] = {}
    for ln in lines:
        text = ln.normalized
        if text is None:
            if normalize is None:
                normalize = normstore.normalizer(conn)
            try:
                text = normalize(ln.description or "")
            except TimeoutError:  # the run could not normalize it either
                text = ""
        texts[ln.id] = text
    by_system: dict[str, list[LineText]] = {}
    for ln in lines:
        by_system.setdefault(system_of_kind(ln.kind), []).append(ln)
    ranked: dict[int, list[Suggestion]] = {}
    for system, group in sorted(by_system.items()):
        wanted = [ln for ln in group if texts[ln.id]]
        if not wanted:
            continue
        found = suggester(conn, system, stale_ok).suggest_many([texts[ln.id] for ln in wanted], k)
        ranked.update((ln.id, s) for ln, s in zip(wanted, found, strict=True))
    names = names_of(conn, (s.code for ss in ranked.values() for s in ss))
    return {ln.id: [as_dict(s, names) for s in ranked.get(ln.id, ())] for ln in lines}


def add_suggestions(engine: Engine, rows: list[dict[str, Any]], k: int = TOP, only_failed: bool = False) -> None:
    """Put `suggestions` into each row of `failures list` or `audit queue` (keyed by diagnosis_id,
    with its `normalized` text when the row has one). `only_failed`: rows whose `status` is not
    failed (auto-codes to confirm) get []."""
    ids = sorted({r["diagnosis_id"] for r in rows})
    if not ids:
        return
    with engine.connect() as conn:
        info: dict[int, tuple[str, str | None]] = {}
        for i in range(0, len(ids), 500):
            q = select(diagnosis.c.id, diagnosis.c.kind, diagnosis.c.description).where(
                diagnosis.c.id.in_(ids[i : i + 500])
            )
            info.update((r.id, (r.kind, r.description)) for r in conn.execute(q))
        wanted: dict[tuple, LineText] = {}
        keys = []
        for r in rows:
            d_id = r["diagnosis_id"]
            if (only_failed and r.get("status") != "failed") or d_id not in info:
                keys.append(None)
                continue
            kind, description = info[d_id]
            key = (d_id, r.get("normalized"))
            # one failure log row per run: the same line can appear with different texts
            wanted.setdefault(key, LineText(len(wanted), kind, r.get("normalized"), description))
            keys.append(key)
        found = suggest_lines(conn, list(wanted.values()), k)
    for r, key in zip(rows, keys, strict=True):
        r["suggestions"] = [] if key is None else found[wanted[key].id]


def failure_suggestions(engine: Engine, k: int = TOP) -> Callable[[list[dict[str, Any]]], None]:
    """What the worklist export calls on the queue's items: add_suggestions for the failures."""
    return partial(add_suggestions, engine, k=k, only_failed=True)


def suggestion_line(suggestions: Sequence[dict[str, Any]], names: int = 1) -> str:
    """The text column: `I25.103 冠心病 (92), I20.000 (85)`: the first `names` with their names."""
    return ", ".join(
        f"{s['code']}{' ' + s['name'] if i < names and s.get('name') else ''} ({s['score']:.0f})"
        for i, s in enumerate(suggestions)
    )
