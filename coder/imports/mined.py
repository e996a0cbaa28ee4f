"""The mined-rules workbook: proposals to review, imported again by `icdcoder rules import`.

The rules sheet has the columns a rules workbook has (id empty: importing adds the rule), an
`accept` column (1 import, 0 skip; pre-set to 1 for proposals meeting the thresholds) and the
evidence a reviewer judges a proposal by. `rules import` reads the accepted rows through the normal
judged import and ignores the evidence (`accepted_rows`), so the file imports as it is.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from coder.errors import IcdCoderError, Problem
from rulebase.mining import Proposal
from rulebase.rule import MAX_NOTE_LENGTH

from .columns import flag
from .export import WIDTHS
from .rules import RULE_COLUMNS
from .tabular import Row, Sheet, write_workbook

ACCEPT = "accept"
# The evidence columns, in the order the workbook shows them; `rules import` never reads them.
EVIDENCE = (
    "system",
    "kind",
    "support",
    "correct",
    "precision",
    "cv_precision",
    "distinct_texts",
    "wrong_codes",
    "examples",
    "wrong_examples",
    "overlapping_rules",
    "breaks",
)
COLUMNS = (ACCEPT, *RULE_COLUMNS, *EVIDENCE)
JOIN = " | "

INSTRUCTIONS = [
    ("审核", "每一行是从已审核的历史编码中学到的一条候选规则。请根据证据列判断是否采纳："),
    ("", "support：命中的历史行数；correct：其中人工编码与规则一致的行数；"),
    ("", "cv_precision：在未参与学习的历史上估计的准确率（交叉验证），比 precision 更可信；"),
    ("", "wrong_codes / wrong_examples：这条规则会编错的行及其人工编码；"),
    ("", "overlapping_rules：命中相同历史行的现有规则编号；breaks：现有规则编对、采纳后会编错的行数。"),
    (
        "Review",
        "Each row is a rule proposed from the audited history. Judge it by its evidence: support (history lines it "
        "matches), correct (of them, coded so by persons), cv_precision (precision estimated on history it was not "
        "learned from), wrong_codes / wrong_examples (the lines it would code wrong), overlapping_rules (existing "
        "rules matching the same lines), breaks (lines the rule base codes right that it would turn wrong).",
    ),
    ("accept", "accept = 1：导入这一行；accept = 0：跳过。"),
    ("", "达到阈值（支持数、交叉验证准确率、不破坏现有编码）的行已预设为 1；低于准确率阈值的行从不预设为 1。"),
    ("", "导入前可以修改 pattern、exclude、priority、note；id 保持为空（导入即新增规则）。"),
    (
        "",
        "accept = 1 imports the row, 0 skips it. Rows meeting the thresholds (support, cross-validated precision, "
        "breaking nothing) are pre-set to 1; nothing below the precision threshold is. You may edit pattern, "
        "exclude, priority and note before importing; leave id empty (importing adds the rule).",
    ),
    ("导入 Import", 'icdcoder rules import FILE --author 王芳 --reason "采纳挖掘规则"'),
    ("", "只导入 accept = 1 的行，证据列被忽略。导入与任何规则修改一样先用已审核历史检验，"),
    ("", "若会把编对的行改错则拒绝（把这些行改为 0，或加 --force）；每条新增规则都有历史记录。可先加 --dry-run 试导。"),
    (
        "",
        "Only rows with accept = 1 are imported; the evidence columns are ignored. The import is judged against "
        "the audited history like any rule change and refused if it turns correct codes wrong (then set those "
        "rows to 0, or repeat with --force); every added rule gets a history row. Try it first with --dry-run.",
    ),
]


def proposal_row(p: Proposal, system: str, code_name: str = "") -> dict[str, Any]:
    """One proposal as the workbook and --json show it (lists stay lists here; the sheet joins them)."""
    r = p.rule
    note = f"{r.note or 'mined'}; support {p.support}, cv precision {p.cv_precision:.2f}"[:MAX_NOTE_LENGTH]
    return {
        ACCEPT: int(p.accepted),
        "id": None,
        "code": r.code,
        "code_name": code_name,
        "pattern": r.pattern,
        "exclude": r.exclude,
        "priority": r.priority,
        "enabled": 1,
        "note": note,
        "version": None,
        "system": system,
        "kind": str(p.kind),
        "support": p.support,
        "correct": p.correct,
        "precision": round(p.precision, 4),
        "cv_precision": round(p.cv_precision, 4),
        "distinct_texts": p.distinct,
        "wrong_codes": [{"code": c, "count": n} for c, n in p.wrong_codes],
        "examples": list(p.examples),
        "wrong_examples": list(p.wrong_examples),
        "overlapping_rules": list(p.overlaps),
        "breaks": p.breaks,
    }


def _cell(name: str, value: Any) -> Any:
    if name == "wrong_codes":
        return "; ".join(f"{w['code']} ×{w['count']}" for w in value)
    if name in ("examples", "wrong_examples"):
        return JOIN.join(value)
    if name == "overlapping_rules":
        return ", ".join(str(i) for i in value)
    return value


def write_mined(path: str | Path, rows: Sequence[dict[str, Any]]) -> None:
    """The rules sheet (frozen header, drop-downs for accept and enabled) and the instructions sheet."""
    path = Path(path)
    if path.suffix.lower() != ".xlsx":
        raise IcdCoderError(f"{path}: mined rules are written as .xlsx (e.g. --out mined.xlsx)")
    write_workbook(
        path,
        [
            ("rules", COLUMNS, [[_cell(c, row[c]) for c in COLUMNS] for row in rows]),
            ("instructions", ("topic", "text"), INSTRUCTIONS),
        ],
        widths={
            **WIDTHS,
            ACCEPT: 8,
            "kind": 10,
            "cv_precision": 12,
            "wrong_codes": 24,
            "examples": 48,
            "wrong_examples": 40,
            "overlapping_rules": 16,
            "topic": 14,
            "text": 120,
        },
        choices={ACCEPT: ("1", "0"), "enabled": ("1", "0")},
    )


def is_mined(sheet: Sheet) -> bool:
    return ACCEPT in sheet.headers


def accepted_rows(sheet: Sheet, problems: list[Problem]) -> tuple[Sheet, int]:
    """The sheet as a plain rules sheet: only the rows with accept = 1, without the accept and
    evidence columns (their cells are never read, so a reviewer's note there cannot block the
    import). Returns it and the number of rows skipped (accept = 0); an accept cell that is
    neither is a problem naming its row."""
    dropped = {ACCEPT, *EVIDENCE}
    kept: list[Row] = []
    skipped = 0
    for row in sheet.rows:
        value = flag(row.get(ACCEPT))
        if value is None:
            problems.append(sheet.problem(row.number, ACCEPT, "accept must be 1 (import this row) or 0 (skip it)"))
            continue
        if not value:
            skipped += 1
            continue
        kept.append(Row(row.number, _without(row.values, dropped), row.numeric - dropped))
    numbers = {r.number for r in kept}
    cell_problems = tuple(
        p for p in sheet.problems if p.column not in dropped and (p.row is None or p.row == 1 or p.row in numbers)
    )
    headers = tuple(h for h in sheet.headers if h not in dropped)
    return Sheet(sheet.file, sheet.name, headers, tuple(kept), cell_problems), skipped


def _without(values: dict[str, str], names: Iterable[str]) -> dict[str, str]:
    names = set(names)
    return {k: v for k, v in values.items() if k not in names}
