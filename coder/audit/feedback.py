"""The rule authors' side of the audit loop: what the coders' reviews say about the rules.

Three lists, from audit_action: rules ranked by corrections (wrong code -> right code); no_match
failures persons coded, grouped by normalized text (the rules to write next); ambiguous failures
grouped by the colliding rule pair (the rules to narrow or re-prioritize). A rule change whose
--reason cites audit ids (`#12`) is shown as answering them.
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from itertools import combinations
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select

from coder.db.models import audit_action, coding_rule, diagnosis, rule_history
from coder.errors import IcdCoderError
from coder.store.codes import lines_of
from rulebase.states import Outcome, ReviewAction

from .report import parse_day

EXAMPLES = 3
CITATION = re.compile(r"#(\d+)")


def answered_by(engine: Engine) -> dict[int, list[dict[str, int]]]:
    """audit id -> the rule changes whose reason cites it (`#id`)."""
    out: dict[int, list[dict[str, int]]] = defaultdict(list)
    with engine.connect() as conn:
        rows = conn.execute(
            select(rule_history.c.rule_id, rule_history.c.version, rule_history.c.reason).where(
                rule_history.c.reason.contains("#")
            )
        ).all()
    for rule_id, version, reason in rows:
        for m in CITATION.finditer(reason or ""):
            out[int(m.group(1))].append({"rule_id": rule_id, "version": version})
    return out


def cited_audits(conn, reasons: list[str | None]) -> dict[int, dict[str, Any]]:
    """The audit rows a rule change's reason cites (`#12`): what the change answers."""
    ids = sorted({int(m.group(1)) for r in reasons if r for m in CITATION.finditer(r)})
    if not ids:
        return {}
    rows = conn.execute(select(audit_action).where(audit_action.c.id.in_(ids))).all()
    return {
        a.id: {
            "audit_id": a.id,
            "diagnosis_id": a.diagnosis_id,
            "action": a.action,
            "person": a.person,
            "old_code": a.old_code,
            "new_code": a.new_code,
        }
        for a in rows
    }


def feedback(engine: Engine, since: str | None = None, system: str | None = None) -> dict[str, Any]:
    start = parse_day(since, "since")
    q = (
        select(audit_action, diagnosis.c.description)
        .join(diagnosis, diagnosis.c.id == audit_action.c.diagnosis_id)
        .order_by(audit_action.c.id)
    )
    if start is not None:
        q = q.where(audit_action.c.acted_at >= start)
    if system is not None:
        q = q.where(lines_of(system))
    with engine.connect() as conn:
        actions = conn.execute(q).all()
        rules = {r.id: r for r in conn.execute(select(coding_rule.c.id, coding_rule.c.code, coding_rule.c.pattern))}
    answers = answered_by(engine)

    by_rule: dict[int, dict[str, Any]] = {}
    no_match: dict[str, dict[str, Any]] = {}
    pairs: dict[tuple[int, int], dict[str, Any]] = {}
    for a in actions:
        text = a.normalized or a.description or ""
        if a.action == ReviewAction.CORRECT and a.rule_id is not None:
            g = by_rule.setdefault(
                a.rule_id,
                {"rule_id": a.rule_id, "corrections": 0, "changes": Counter(), "examples": [], "audit_ids": []},
            )
            g["corrections"] += 1
            g["changes"][(a.old_code, a.new_code)] += 1
            g["audit_ids"].append(a.id)
            if len(g["examples"]) < EXAMPLES and text not in g["examples"]:
                g["examples"].append(text)
        elif a.action == ReviewAction.CODE and a.fail_reason == Outcome.NO_MATCH:
            g = no_match.setdefault(text, {"normalized": text, "count": 0, "codes": Counter(), "audit_ids": []})
            g["count"] += 1
            g["codes"][a.new_code] += 1
            g["audit_ids"].append(a.id)
        elif a.action == ReviewAction.CODE and a.fail_reason == Outcome.AMBIGUOUS and a.candidates:
            cands = json.loads(a.candidates)
            rule_code = {rid: c["code"] for c in cands for rid in c["rule_ids"]}
            for r1, r2 in combinations(sorted(rule_code), 2):
                if rule_code[r1] == rule_code[r2]:
                    continue
                g = pairs.setdefault(
                    (r1, r2),
                    {
                        "rules": [r1, r2],
                        "codes": [rule_code[r1], rule_code[r2]],
                        "count": 0,
                        "chosen": Counter(),
                        "examples": [],
                        "audit_ids": [],
                    },
                )
                g["count"] += 1
                g["chosen"][a.new_code] += 1
                g["audit_ids"].append(a.id)
                if len(g["examples"]) < EXAMPLES and text not in g["examples"]:
                    g["examples"].append(text)

    def rule_info(rid: int) -> dict[str, Any]:
        r = rules.get(rid)
        return {"code": r.code, "pattern": r.pattern} if r else {"code": None, "pattern": None}

    corrections = []
    for g in sorted(by_rule.values(), key=lambda g: (-g["corrections"], g["rule_id"])):
        corrections.append(
            {
                "rule_id": g["rule_id"],
                **rule_info(g["rule_id"]),
                "corrections": g["corrections"],
                "changes": [{"wrong": w, "right": r, "count": n} for (w, r), n in g["changes"].most_common()],
                "examples": g["examples"],
                "audit_ids": g["audit_ids"],
                "answered_by": sorted(
                    {(x["rule_id"], x["version"]) for i in g["audit_ids"] for x in answers.get(i, [])}
                ),
            }
        )
    for c in corrections:
        c["answered_by"] = [{"rule_id": r, "version": v} for r, v in c["answered_by"]]
    return {
        "since": since,
        "corrections": corrections,
        "no_match": [
            {
                "normalized": g["normalized"],
                "count": g["count"],
                "codes": [{"code": c, "count": n} for c, n in g["codes"].most_common()],
                "audit_ids": g["audit_ids"],
            }
            for g in sorted(no_match.values(), key=lambda g: (-g["count"], g["normalized"]))
        ],
        "ambiguous": [
            {
                "rules": g["rules"],
                "codes": g["codes"],
                "count": g["count"],
                "chosen": [{"code": c, "count": n} for c, n in g["chosen"].most_common()],
                "examples": g["examples"],
                "audit_ids": g["audit_ids"],
            }
            for g in sorted(pairs.values(), key=lambda g: (-g["count"], g["rules"]))
        ],
    }


def write_feedback_xlsx(data: dict[str, Any], path: str | Path) -> None:
    from coder.imports.tabular import write_workbook

    path = Path(path)
    if path.suffix.lower() != ".xlsx":
        raise IcdCoderError(f"{path}: feedback is written as .xlsx")
    ids = lambda xs: ", ".join(f"#{i}" for i in xs)  # noqa: E731
    write_workbook(
        path,
        [
            (
                "corrections",
                ("rule_id", "code", "pattern", "corrections", "wrong -> right", "examples", "audit_ids", "answered_by"),
                [
                    [
                        c["rule_id"],
                        c["code"],
                        c["pattern"],
                        c["corrections"],
                        "; ".join(f"{x['wrong']} -> {x['right']} x{x['count']}" for x in c["changes"]),
                        " | ".join(c["examples"]),
                        ids(c["audit_ids"]),
                        ", ".join(f"rule {a['rule_id']} v{a['version']}" for a in c["answered_by"]),
                    ]
                    for c in data["corrections"]
                ],
            ),
            (
                "no_match",
                ("normalized", "count", "codes chosen", "audit_ids"),
                [
                    [
                        g["normalized"],
                        g["count"],
                        ", ".join(f"{c['code']} x{c['count']}" for c in g["codes"]),
                        ids(g["audit_ids"]),
                    ]
                    for g in data["no_match"]
                ],
            ),
            (
                "ambiguous",
                ("rules", "codes", "count", "chosen", "examples", "audit_ids"),
                [
                    [
                        ", ".join(map(str, g["rules"])),
                        ", ".join(g["codes"]),
                        g["count"],
                        ", ".join(f"{c['code']} x{c['count']}" for c in g["chosen"]),
                        " | ".join(g["examples"]),
                        ids(g["audit_ids"]),
                    ]
                    for g in data["ambiguous"]
                ],
            ),
        ],
        widths={"pattern": 36, "examples": 50, "normalized": 40, "wrong -> right": 30, "audit_ids": 20},
    )
