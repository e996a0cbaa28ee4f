"""`icdcoder evaluate`: what going live would give, measured on the audited history. Writes nothing.

The history is split (by the line's day, or a seeded holdout of whole records); the rule set is
the current rule base, plus with `with_mining` the accepted proposals mined from the learning part
(given ids after the largest stored one, so errors can name them). The test part is decided as a
run decides (`RuleSet` per code system with the hospital's normalizer and guards, as `run.loop`
builds it) and compared with the persons' codes (`audit.evaluate`). Suggestions are built from the
learning part only. Everything is read in one transaction that is rolled back (read-only on
PostgreSQL).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select, text

from coder.audit import evaluate as measures
from coder.audit.report import parse_day
from coder.db.models import coding_rule
from coder.errors import HistoryEmpty, SplitInvalid
from coder.run.setup import load_setup
from coder.store.codes import code_states
from rulebase.codes import SYSTEMS, system_of_kind
from rulebase.rule import Rule
from rulebase.states import Outcome
from rulebase.suggest import Suggester

from .mining import mine_system, options_of

TOP = 5


def _split_of(split_date: str | None, holdout: float | None, seed: int) -> dict[str, Any]:
    if (split_date is None) == (holdout is None):
        raise SplitInvalid(
            "give one split: --split-date YYYY-MM-DD (learn before it, test from it) "
            "or --holdout FRACTION (test on that share of the records, e.g. 0.2)"
        )
    if holdout is not None:
        if not 0 < holdout < 1:
            raise SplitInvalid(f"--holdout {holdout}: give a fraction between 0 and 1, exclusive (e.g. 0.2)")
        return {"kind": "holdout", "fraction": holdout, "seed": seed}
    day = parse_day(split_date, "split-date")
    return {"kind": "date", "date": split_date, "day": day}


def _empty_part(split: dict[str, Any], part: str, lines: int) -> HistoryEmpty:
    if not lines:
        return HistoryEmpty(
            "the audited history is empty (or holds no lines of this --system): code and review lines first"
        )
    if split["kind"] == "date":
        change = "a later --split-date" if part == "learning" else "an earlier --split-date"
        where = "before" if part == "learning" else "on or after"
        return HistoryEmpty(
            f"the {part} part is empty: no audited lines are dated {where} {split['date']} "
            f"(a line's day: its homepage's discharge, else the day a person coded it); choose {change}"
        )
    change = "a smaller --holdout" if part == "learning" else "a larger --holdout"
    return HistoryEmpty(
        f"the {part} part is empty: --holdout {split['fraction']} of the history's records leaves no record "
        f"for it; choose {change}"
    )


def evaluate_history(
    engine: Engine,
    split_date: str | None = None,
    holdout: float | None = None,
    with_mining: bool = False,
    min_precision: float | None = None,
    min_support: int | None = None,
    seed: int = 0,
    system: str | None = None,
) -> dict[str, Any]:
    """The two-phase experiment's figures (see the module and `audit.evaluate`)."""
    started = time.perf_counter()
    split = _split_of(split_date, holdout, seed)
    options = options_of(min_support, min_precision)
    systems = [system] if system else list(SYSTEMS)
    with engine.connect() as conn:
        conn.begin()
        try:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SET TRANSACTION READ ONLY"))
            lines = measures.load_lines(conn, system)
            setup = load_setup(conn, systems=systems)
            normalizer, stored, version = setup.normalizer, setup.rules, setup.rulebase_version
            next_id = (conn.execute(select(func.max(coding_rule.c.id))).scalar() or 0) + 1
            states = code_states(conn)
        finally:
            conn.rollback()
    if split["kind"] == "date":
        learn, test = measures.split_by_date(lines, split.pop("day"))
    else:
        learn, test = measures.split_by_records(lines, split["fraction"], seed)
    for part, got in (("learning", learn), ("test", test)):
        if not got:
            raise _empty_part(split, part, len(lines))

    inactive = {code for code, state in states.items() if not state.active}
    judged: list[measures.Judged] = []
    cases: list[tuple[str, list[str]]] = []
    mined_rules: list[dict[str, Any]] = []
    for s in systems:
        learn_s = [line for line in learn if system_of_kind(line.kind) == s]
        test_s = [line for line in test if system_of_kind(line.kind) == s]
        if not test_s:
            continue
        examples = measures.examples_of(learn_s, normalizer)
        rules: list[Rule] = list(stored[s])
        if with_mining and examples:
            proposals, _dropped = mine_system(examples, stored[s], options, states, s)
            for p in proposals:
                if not p.accepted:
                    continue
                rule = dataclasses.replace(p.rule, id=next_id)
                next_id += 1
                rules.append(rule)
                mined_rules.append(_mined_json(rule, p, s))
        ruleset = setup.rule_set(rules)  # as a run would decide
        ruled = {r.code for r in rules if r.enabled}
        failed: list[measures.Judged] = []
        for line in test_s:
            j = measures.judge_line(line, ruleset.decide(line.description), ruled)
            judged.append(j)
            if j.decision.outcome != Outcome.CODED and j.decision.normalized:
                failed.append(j)
        if failed and examples:
            ranked = Suggester(examples, inactive=inactive).suggest_many([j.decision.normalized for j in failed], k=TOP)
            cases += [(j.line.code, [sg.code for sg in r]) for j, r in zip(failed, ranked, strict=True)]
        else:
            cases += [(j.line.code, []) for j in failed]
    mined_ids = [r["id"] for r in mined_rules]
    return {
        "split": split,
        "system": system,
        "learning": _part(learn),
        "test": _part(test),
        "rules": {
            "stored": sum(len(r) for r in stored.values()),
            "rulebase_version": version,
            "mined": len(mined_rules) if with_mining else None,
            "mined_ids": mined_ids,
            "mined_rules": mined_rules,
        },
        "lines": measures.line_figures(judged),
        "records": measures.record_figures(judged),
        "suggestions": measures.suggestion_figures(cases, TOP),
        "by_chapter": measures.grouped(judged, "chapter"),
        "by_code": measures.grouped(judged, "code"),
        "errors": measures.errors(judged, set(mined_ids)),
        "seconds": round(time.perf_counter() - started, 3),
    }


def _part(lines: Sequence[measures.Line]) -> dict[str, int]:
    return {"lines": len(lines), "records": len({line.record_id for line in lines})}


def _mined_json(rule: Rule, p, system: str) -> dict[str, Any]:
    return {
        "id": rule.id,
        "system": system,
        "code": rule.code,
        "pattern": rule.pattern,
        "exclude": rule.exclude,
        "priority": rule.priority,
        "kind": str(p.kind),
        "support": p.support,
        "cv_precision": round(p.cv_precision, 4),
    }


def write_evaluation_xlsx(data: dict[str, Any], path: str | Path) -> None:
    measures.write_evaluation_xlsx(data, path)
