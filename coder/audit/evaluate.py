"""Zhou's two-phase experiment on the audited history: the measures of `icdcoder evaluate`.

The history is split into a learning part and a test part (by the line's day, `ruletest.line_day`,
or by whole records drawn at random); the test part is decided as if pending and each line is
classified against the person's code exactly as the audited report does (`report.metrics`):
TP coded and right, FP coded and wrong, FN not coded though the person's code has a rule in the
rule set used, TN not coded and no rule for that code. Per record, as JointCoder reports: the
code sets of each record, micro precision/recall/F over them (the same `metrics`, with TP the codes
in both sets, FP the engine's other codes, FN the person's other codes), and the share of records
whose code set is exactly right. Suggestions: P@1 and P@5 on the test part's uncoded lines.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from sqlalchemy import Connection, select

from coder.db.models import diagnosis
from coder.errors import IcdCoderError
from rulebase.decision import Decision
from rulebase.mining import Example
from rulebase.states import Outcome

from .report import chapter, code_sets, metrics
from .ruletest import DATED, audited_where, coded_as, line_day, truth_of


class Line(NamedTuple):
    """One audited line: the person's code is the truth it is tested against (a line a person gave
    several codes: their list, `I25.103,I20.000`, as rule tests key it)."""

    id: int
    record_id: str
    kind: str
    description: str | None
    code: str
    day: dt.datetime


def load_lines(conn: Connection, system: str | None = None, code_prefix: str | None = None) -> list[Line]:
    """The audited lines (of `system`), each with its day."""
    c = diagnosis.c
    q = (
        select(c.id, c.record_id, c.kind, c.description, c.code, c.other_codes, line_day().label("day"))
        .select_from(DATED)
        .where(*audited_where(system, code_prefix=code_prefix))
        .order_by(c.id)
    )
    return [
        Line(i, record, kind, text, code if other is None else f"{code},{other}", day)
        for i, record, kind, text, code, other, day in conn.execute(q)
    ]


def split_by_date(lines: Iterable[Line], day: dt.datetime) -> tuple[list[Line], list[Line]]:
    """Before `day` (learning) and from it (test)."""
    learn, test = [], []
    for line in lines:
        (learn if line.day < day else test).append(line)
    return learn, test


def split_by_records(lines: Sequence[Line], fraction: float, seed: int) -> tuple[list[Line], list[Line]]:
    """A seeded draw of `fraction` of the records (whole homepages: no record is split) as the test
    part. The same seed and history give the same split on every database."""
    records = sorted({line.record_id for line in lines})
    tested = set(random.Random(seed).sample(records, round(len(records) * fraction)))
    learn, test = [], []
    for line in lines:
        (test if line.record_id in tested else learn).append(line)
    return learn, test


def examples_of(lines: Iterable[Line], normalizer: Callable[[str], str]) -> list[Example]:
    """Lines by normalized text, as the miner and the suggester take the history."""
    by_text: dict[str, tuple[dict[str, int], str]] = {}
    for line in lines:
        if "," in line.code:  # a line of several codes teaches no one-code rule or suggestion
            continue
        try:
            text = normalizer(line.description or "")
        except TimeoutError:  # the run would give it no code either
            continue
        if not text:
            continue
        codes, shown = by_text.setdefault(text, ({}, line.description or ""))
        codes[line.code] = codes.get(line.code, 0) + 1
    return [Example(text, codes, shown) for text, (codes, shown) in by_text.items()]


class Judged(NamedTuple):
    line: Line
    decision: Decision
    kind: str  # tp, fp, fn, tn as the audited report classifies


def judge_line(line: Line, decision: Decision, ruled: set[str]) -> Judged:
    """`ruled`: the codes the rule set used has an enabled rule for."""
    if decision.outcome == Outcome.CODED:
        kind = "tp" if coded_as(decision, line.code) else "fp"
    else:
        kind = "fn" if truth_of(line.code) <= ruled else "tn"
    return Judged(line, decision, kind)


def line_figures(judged: Iterable[Judged]) -> dict[str, Any]:
    counts = {"tp": 0, "fp": 0, "fn": 0, "tn": 0}
    for j in judged:
        counts[j.kind] += 1
    return metrics(counts["tp"], counts["fp"], counts["fn"], counts["tn"])


def record_figures(judged: Iterable[Judged]) -> dict[str, Any]:
    """Code sets per record: micro precision, recall and F over them, and the exactly right share."""
    gold: dict[str, set[str]] = defaultdict(set)
    auto: dict[str, set[str]] = defaultdict(set)
    for j in judged:
        gold[j.line.record_id].update(truth_of(j.line.code))
        auto[j.line.record_id].update(j.decision.codes)
    sets = code_sets(gold, auto)  # the rule, said once, with the audited report's
    return {
        "records": sets["count"],
        **{k: sets[k] for k in ("exact", "exact_share", "codes_both", "codes_engine_only", "codes_person_only")},
        "precision": sets["precision"],
        "recall": sets["recall"],
        "f_measure": sets["f1"],
    }


def grouped(judged: Iterable[Judged], by: str) -> list[dict[str, Any]]:
    """Line figures by the person's code's chapter (`by="chapter"`) or by the code."""
    groups: dict[str, list[Judged]] = defaultdict(list)
    for j in judged:
        groups[chapter(j.line.code) if by == "chapter" else j.line.code].append(j)
    return [{by: key, **line_figures(items)} for key, items in sorted(groups.items())]


def suggestion_figures(cases: Sequence[tuple[str, Sequence[str]]], k: int = 5) -> dict[str, Any]:
    """`cases`: (the person's code, the suggested codes best first) per uncoded line."""
    n = len(cases)
    top1 = sum(1 for code, ranked in cases if list(ranked[:1]) == [code])
    topk = sum(1 for code, ranked in cases if code in ranked[:k])
    return {
        "lines": n,
        "p_at_1": round(top1 / n, 4) if n else None,
        f"p_at_{k}": round(topk / n, 4) if n else None,
        "right_at_1": top1,
        f"right_at_{k}": topk,
    }


def engine_said(d: Decision) -> str:
    """The engine's answer as a person reads it: the code, the candidates, or the outcome."""
    if d.outcome == Outcome.CODED:
        return ",".join(d.codes)
    if d.outcome == Outcome.AMBIGUOUS and d.candidates:
        return "ambiguous: " + ", ".join(c.code for c in d.candidates)
    return str(d.outcome)


def rules_of(d: Decision) -> list[int]:
    if d.outcome == Outcome.CODED and d.rule_id is not None:
        return [d.rule_id]
    return sorted({i for c in d.candidates for i in c.rule_ids})


def errors(judged: Iterable[Judged], mined_ids: set[int] = frozenset()) -> list[dict[str, Any]]:
    """Every test line not coded right, the same description, person's code and answer counted once,
    most frequent first. `rules`: the rules that gave the answer (a mined one marked `m`)."""
    found: dict[tuple, dict[str, Any]] = {}
    for j in judged:
        if j.kind == "tp":
            continue
        d = j.decision
        ids = rules_of(d)
        key = (j.line.description, j.line.code, engine_said(d), tuple(ids))
        row = found.get(key)
        if row is None:
            row = found[key] = {
                "kind": j.kind,
                "description": j.line.description,
                "person_code": j.line.code,
                "outcome": str(d.outcome),
                "engine_code": d.code if d.outcome == Outcome.CODED else None,
                "engine": engine_said(d),
                "rule_ids": ids,
                "rules": ", ".join(f"{i}{' (mined)' if i in mined_ids else ''}" for i in ids),
                "count": 0,
                "example_line": j.line.id,
            }
        row["count"] += 1
    return sorted(found.values(), key=lambda r: (-r["count"], r["kind"], r["person_code"], r["description"] or ""))


FIGURES = ("tp", "fp", "fn", "tn", "total", "precision", "recall", "f_measure", "accuracy", "coverage")
ERROR_COLUMNS = ("count", "kind", "description", "person_code", "outcome", "engine_code", "rules", "example_line")


def write_evaluation_xlsx(data: dict[str, Any], path: str | Path) -> None:
    """The summary (split, rules used, line, record and suggestion figures), by_chapter, by_code, errors."""
    from coder.imports.tabular import write_workbook

    path = Path(path)
    if path.suffix.lower() != ".xlsx":
        raise IcdCoderError(f"{path}: the evaluation is written as .xlsx")
    split, rules = data["split"], data["rules"]
    summary: list[list[Any]] = [
        ["split", split["kind"]],
        *([["split date", split["date"]]] if split["kind"] == "date" else []),
        *([["holdout", split["fraction"]], ["seed", split["seed"]]] if split["kind"] == "holdout" else []),
        ["system", data["system"] or "all"],
        ["learning lines", data["learning"]["lines"]],
        ["learning records", data["learning"]["records"]],
        ["test lines", data["test"]["lines"]],
        ["test records", data["test"]["records"]],
        ["rules of the rule base", rules["stored"]],
        ["rule-base version", rules["rulebase_version"]],
        ["mined rules", "-" if rules["mined"] is None else rules["mined"]],
        ["mined rule ids", ", ".join(str(i) for i in rules["mined_ids"])],
    ]
    summary += [[f"line {k}", data["lines"][k]] for k in FIGURES]
    summary += [[f"record {k}", v] for k, v in data["records"].items()]
    summary += [[f"suggestions {k}", v] for k, v in data["suggestions"].items()]
    sheets = [("summary", ("measure", "value"), summary)]
    for g in ("chapter", "code"):
        sheets.append((f"by_{g}", (g, *FIGURES), [[r[g]] + [r[k] for k in FIGURES] for r in data[f"by_{g}"]]))
    sheets.append(("errors", ERROR_COLUMNS, [[e[k] for k in ERROR_COLUMNS] for e in data["errors"]]))
    if rules["mined_rules"]:
        cols = ("id", "code", "pattern", "exclude", "priority", "kind", "support", "cv_precision")
        sheets.append(("mined_rules", cols, [[r[k] for k in cols] for r in rules["mined_rules"]]))
    write_workbook(
        path,
        sheets,
        widths={"measure": 26, "value": 30, "description": 40, "pattern": 40, "rules": 20, "code": 14, "engine": 24},
    )
