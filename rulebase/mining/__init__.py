"""Learning rules from the coded history (pure: no database, no files).

`mine(history, existing, options)` proposes rules from the audited history, each with its
evidence. The service (`coder.services.mining`) loads the history, calls this, and writes the
workbook; `evaluate` calls it on the part of the history before a split.

This file is the contract the service and the benchmarks are written against; the miner's
internals live in the modules beside it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import NamedTuple

from rulebase.rule import Rule


class Example(NamedTuple):
    """One distinct normalized text of the audited history and the codes persons gave it."""

    text: str  # normalized, as the engine matches it
    codes: Mapping[str, int]  # code -> history lines coded so
    shown: str = ""  # one description as written, for the evidence columns


class ProposalKind(StrEnum):
    EXACT = "exact"  # ^text$ for a frequent text
    CORE = "core"  # a literal piece shared by a code's variants
    PAIR = "pair"  # modifier .{0,n} head
    EXCLUSION = "exclusion"  # a general piece with the specific siblings that code elsewhere excluded
    PRIORITY = "priority"  # a specific piece that must beat a general one


@dataclass(frozen=True, slots=True)
class MiningOptions:
    min_support: int = 5  # history lines a proposal must match to be pre-accepted
    min_precision: float = 0.90  # held-out (cross-validated) precision to be pre-accepted (README: the curve)
    folds: int = 5
    seed: int = 0
    examples: int = 3
    # Priority of the mined cores; None: one above the highest existing enabled rule (0 without any),
    # so a mined rule decides where it matches and `breaks` counts where that would hurt.
    base_priority: int | None = None


@dataclass(frozen=True, slots=True)
class Proposal:
    """A proposed rule and its evidence. `rule` has no id: importing it adds it."""

    rule: Rule
    kind: ProposalKind
    support: int  # history lines it matches
    correct: int  # of them, coded rule.code by persons
    precision: float  # correct / support, on the lines it was built from
    cv_precision: float  # estimated on history it was not built from (cross-validated)
    distinct: int  # distinct texts it matches
    wrong_codes: tuple[tuple[str, int], ...] = ()  # codes of the lines it would get wrong, most first
    examples: tuple[str, ...] = ()  # descriptions it matches (as written)
    wrong_examples: tuple[str, ...] = ()
    overlaps: tuple[int, ...] = ()  # ids of existing rules matching the same history lines
    breaks: int = 0  # history lines the existing rule base codes right that this would turn wrong
    accepted: bool = False  # meets min_support and min_precision, breaks nothing


@dataclass(slots=True)
class MiningResult:
    proposals: list[Proposal] = field(default_factory=list)
    texts: int = 0  # distinct texts read
    lines: int = 0  # history lines read
    seconds: float = 0.0


def mine(
    history: Sequence[Example], existing: Sequence[Rule] = (), options: MiningOptions = MiningOptions()
) -> MiningResult:
    """Proposals learned from `history`, each with its evidence, sorted by code, kind, pattern.

    How (README "Rule mining"): candidate pieces per code (`pieces`), a rule set picked from them
    (`select`), its precision on unseen text estimated by k-fold cross-validation over distinct
    texts (`validate`), and each proposal's evidence on the whole history through the engine
    (`evidence`). Deterministic for a given input and seed.
    """
    from .run import run

    return run(history, existing, options)
