"""`icdcoder rules mine`: rules proposed from the audited history, written to a workbook to review.

The history is read per code system (a line is coded by its own system's rules only), normalized
as the run normalizes it, and handed to the pure miner (`rulebase.mining.mine`) with that system's
current rules, so the evidence names the rules a proposal overlaps or breaks. A proposal whose
code cannot stand on a line (not in the dictionary, inactive, another system's) is dropped and
counted: the workbook must import as it is.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select

from coder.audit.report import parse_day
from coder.audit.ruletest import Audited, load_audited
from coder.db.models import icd_code
from coder.errors import HistoryEmpty, IcdCoderError
from coder.imports.mined import proposal_row, write_mined
from coder.store import rules as rulestore
from coder.store.codes import CodeState, code_states, problem_with
from rulebase.codes import SYSTEMS
from rulebase.mining import Example, MiningOptions, Proposal, mine
from rulebase.rule import Rule


@dataclass
class Mined:
    """What `rules mine` found: one row per proposal (as the workbook and --json show it), and totals."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    texts: int = 0  # distinct normalized texts read
    lines: int = 0  # audited lines read
    dropped: int = 0  # proposals whose code cannot be used (not in the dictionary, inactive)
    seconds: float = 0.0
    systems: list[str] = field(default_factory=list)

    @property
    def accepted(self) -> int:
        return sum(r["accept"] for r in self.rows)

    def totals(self) -> dict[str, Any]:
        return {
            "texts": self.texts,
            "lines": self.lines,
            "proposed": len(self.rows),
            "accepted": self.accepted,
            "dropped": self.dropped,
            "systems": self.systems,
            "seconds": round(self.seconds, 3),
        }


def examples_of(audited: Iterable[Audited]) -> list[Example]:
    """The audited history by normalized text, as the miner and the suggester take it."""
    return [Example(a.text, dict(a.codes), a.example) for a in audited]


def options_of(min_support: int | None, min_precision: float | None) -> MiningOptions:
    """The miner's options; a threshold not given keeps the miner's default."""
    given: dict[str, Any] = {}
    if min_support is not None:
        if min_support < 1:
            raise IcdCoderError(f"--min-support {min_support}: give a whole number of history lines, 1 or more")
        given["min_support"] = min_support
    if min_precision is not None:
        if not 0 <= min_precision <= 1:
            raise IcdCoderError(f"--min-precision {min_precision}: give a share between 0 and 1 (e.g. 0.95)")
        given["min_precision"] = min_precision
    return MiningOptions(**given)


def mine_system(
    examples: Sequence[Example],
    existing: Sequence[Rule],
    options: MiningOptions,
    states: dict[str, CodeState],
    system: str,
) -> tuple[list[Proposal], int]:
    """The miner on one system's history, against that system's current rules: the proposals that
    are not rules already and whose code a rule of `system` may give, and how many were dropped for
    their code (the import would refuse them)."""
    stored = {(r.code, r.pattern, r.exclude) for r in existing if r.enabled}
    found = [p for p in mine(examples, existing, options).proposals if _key(p.rule) not in stored]
    kept = [p for p in found if problem_with(p.rule.code, states, system) is None]
    return kept, len(found) - len(kept)


def _key(rule: Rule) -> tuple:
    # A proposal the rule base holds already (mined and imported before) is no proposal.
    return (rule.code, rule.pattern, rule.exclude)


def mine_rules(
    engine: Engine,
    out: str | Path,
    since: str | None = None,
    until: str | None = None,
    system: str | None = None,
    code_prefix: str | None = None,
    min_support: int | None = None,
    min_precision: float | None = None,
) -> Mined:
    """Mine the audited history (dated since..until inclusive, of `system`, codes starting with
    `code_prefix`) and write the proposals to `out`. Reads only."""
    started = time.perf_counter()
    start, end = parse_day(since, "since"), parse_day(until, "until")
    if start is not None and end is not None and end < start:
        raise IcdCoderError(f"--until {until} is before --since {since}: swap them")
    end = end + dt.timedelta(days=1) if end is not None else None  # --until is inclusive
    options = options_of(min_support, min_precision)
    result = Mined(systems=[system] if system else list(SYSTEMS))
    with engine.connect() as conn:
        states = code_states(conn)
        names = dict(conn.execute(select(icd_code.c.code, icd_code.c.name)).all())
        proposals: list[tuple[str, Proposal]] = []
        for s in result.systems:
            # One code a text: lines a person gave several codes teach no single rule.
            audited = load_audited(conn, s, since=start, until=end, code_prefix=code_prefix or None, several=False)
            examples = examples_of(audited)
            result.texts += len(examples)
            result.lines += sum(a.total for a in audited)
            if not examples:
                continue
            kept, dropped = mine_system(examples, rulestore.load_rules(conn, system=s), options, states, s)
            result.dropped += dropped
            proposals += [(s, p) for p in kept]
    if not result.lines:
        raise HistoryEmpty(_nothing_read(since, until, system, code_prefix))
    proposals.sort(key=lambda sp: (not sp[1].accepted, -sp[1].support, sp[1].rule.code, sp[1].rule.pattern))
    result.rows = [proposal_row(p, s, names.get(p.rule.code, "")) for s, p in proposals]
    write_mined(out, result.rows)
    result.seconds = time.perf_counter() - started
    return result


def _nothing_read(since: str | None, until: str | None, system: str | None, code_prefix: str | None) -> str:
    narrowed = [
        f"--{name} {value}"
        for name, value in (("since", since), ("until", until), ("system", system), ("code", code_prefix))
        if value
    ]
    if narrowed:
        return (
            f"no audited lines (coded, confirmed or corrected by a person) match {' '.join(narrowed)}; "
            "widen or drop these options"
        )
    return "the audited history is empty: nothing has been coded, confirmed or corrected by a person yet"
