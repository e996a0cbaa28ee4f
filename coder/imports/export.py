"""Writing the rule base to a workbook a coder can edit and import again."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, select

from coder.db.models import icd_code
from coder.errors import IcdCoderError
from coder.store import combinations as combostore
from coder.store import guards as guardstore
from coder.store import normalization as normstore
from coder.store import rules as rulestore
from rulebase.normalize import LITERAL, PATTERN, Replacement

from .combinations import CHOICES as COMBINATION_CHOICES
from .combinations import COLUMNS as COMBINATION_COLUMNS
from .combinations import SHEET as COMBINATION_SHEET
from .combinations import combination_rows
from .guards import CHOICES as GUARD_CHOICES
from .guards import COLUMNS as GUARD_COLUMNS
from .guards import SHEET as GUARD_SHEET
from .guards import WIDTHS as GUARD_WIDTHS
from .guards import guard_rows
from .normalization import SHEET
from .rules import RULE_COLUMNS
from .tabular import write_workbook

WIDTHS = {
    "id": 7,
    "code": 16,
    "code_name": 28,
    "pattern": 48,
    "exclude": 24,
    "priority": 9,
    "enabled": 9,
    "note": 30,
    "version": 9,
}

INSTRUCTIONS = [
    ("How to edit", "Change cells in the rules sheet, then: icdcoder rules import FILE --author NAME --reason WHY"),
    ("", "A row with an id updates that rule; a row with an empty id adds a rule; enabled = 0 disables it."),
    ("", "Keep the version column as exported: if someone changed the rule since, the import reports a conflict."),
    ("", "code_name is shown for reading and ignored on import. Nothing is written unless every row is valid."),
    (
        "Matching",
        "A pattern is searched in the normalized description (full-width to half-width, e.g. （ to (; "
        "blanks to one space). The rule matches if the pattern is found and the exclude pattern is not.",
    ),
    ("", "Only the highest-priority matching rules count; if they name two codes the diagnosis is ambiguous."),
    (
        "Dialect",
        "Allowed: characters, . (any character), ? * + {m} {m,} {m,n} (n <= 255), ( | ) groups, "
        "[ ] classes with a-z A-Z 0-9 ranges, ^ at the start, $ at the end, \\ before a metacharacter.",
    ),
    (
        "",
        "Not allowed: (?...), \\d \\w \\s \\b (write [0-9]), back-references, lazy quantifiers *? +?, {,n}, "
        "patterns that match an empty text, nested repetition like (a+)+.",
    ),
    (
        "Normalization",
        "The normalization sheet rewrites every description before matching, in position order, "
        "each entry once: find -> replace (kind literal: plain text; kind pattern: the dialect above).",
    ),
    (
        "",
        "Write find in normalized form (half-width: II型, not Ⅱ型). A replacement may not be empty, nor contain "
        "text that its own or an earlier entry finds (that would loop). Rules see the rewritten text.",
    ),
    (
        "Guards",
        "The guards sheet: a line whose rules would code it, but where a cue stands (疑似, 待查, 排除 ...), fails "
        "as kind uncertain or negated and goes to a coder. scope: before, after or any, relative to the matched "
        "words; a cue inside them counts for nothing (a rule for 发热待查).",
    ),
    (
        "",
        "not_within: longer words, |-joined, in which the cue does not count (排除: 不排除|待排除). The first guard "
        "in position order that stands decides. Cues are literal text in normalized form (? not ？).",
    ),
    (
        "Combinations",
        "The combinations sheet: when one record's lines (of one kind) hold all of codes (comma-joined: "
        "E11.900,G63.2*), their auto-codes become code (E11.401+G63.2*); a person's code is never replaced.",
    ),
    ("Examples", "^(急性)?(化脓性)?阑尾炎$   急性阑尾炎, 急性化脓性阑尾炎, 阑尾炎 - the whole description"),
    ("", "冠(状动脉粥样硬化性)?心(脏)?病   冠心病, 冠状动脉粥样硬化性心脏病, anywhere in the description"),
    ("", "高血压(病)?.{0,2}3级   高血压病3级, 高血压 3级 (up to two characters between)"),
    ("", "(综合征|综合症)   either spelling"),
    ("", "\\(术后\\)   the text (术后) with its parentheses"),
]


def export_rules(engine: Engine, path: str | Path, include_disabled: bool = True, system: str | None = None) -> int:
    """Write the rules (of `system`), normalization and instructions sheets; return the number of rules written."""
    path = Path(path)
    if path.suffix.lower() != ".xlsx":
        raise IcdCoderError(f"{path}: rules are exported as .xlsx")
    with engine.connect() as conn:
        rules = rulestore.load_rules(conn, include_disabled=include_disabled, system=system)
        names = dict(conn.execute(select(icd_code.c.code, icd_code.c.name)).all())
        entries = normstore.load(conn, include_disabled=include_disabled)
        guards = guardstore.load(conn, include_disabled=include_disabled)
        combos = combostore.load(conn, include_disabled=include_disabled)
    rows = []
    for r in rules:
        d = r.to_dict()
        d["code_name"] = names.get(r.code, "")
        d["enabled"] = int(r.enabled)
        rows.append([d[c] for c in RULE_COLUMNS])
    norm_rows = [[int(v) if isinstance(v, bool) else v for v in e.to_dict().values()] for e in entries]
    write_workbook(
        path,
        [
            ("rules", RULE_COLUMNS, rows),
            (SHEET, Replacement.KEYS, norm_rows),
            (GUARD_SHEET, GUARD_COLUMNS, guard_rows(guards)),
            (COMBINATION_SHEET, COMBINATION_COLUMNS, combination_rows(combos)),
            ("instructions", ("topic", "text"), INSTRUCTIONS),
        ],
        widths={**GUARD_WIDTHS, **WIDTHS, "find": 24, "replace": 32, "kind": 9, "topic": 12, "text": 120},
        choices={"enabled": ("1", "0"), "kind": (LITERAL, PATTERN), **GUARD_CHOICES, **COMBINATION_CHOICES},
    )
    return len(rows)
