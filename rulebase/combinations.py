"""Combination codes: when one record's lines hold all of a row's source codes, the row's code
replaces them (2型糖尿病 E11.900 + 糖尿病性周围神经病变 G63.2* -> E11.401+G63.2*; 胃溃疡 K25.900 +
上消化道出血 K92.200 -> 胃溃疡伴出血 K25.400).

`Combination` is one validated row of the hospital's table; `Combinations` is the enabled table
ready to apply to a record's lines: `apply` says, for the lines of one record and one kind, which
lines a combination replaces and which combinations a person's code stands in the way of. It
writes nothing; coder.store.combinations stores what it says.

Rules of application (README, "Combination codes"):
- only the lines of one kind of one record combine (discharge with discharge), never procedures;
- a line's every code counts (a line may hold several: its first and its other codes), and so
  does each code occurrence once: a code of a line serves at most one combination; the rows with
  the most source codes go first (the more specific), then by id;
- an applied combination puts its code in place of each source code it took, in that line's
  list, which keeps each code once (first place kept); its first line (lowest seq) is the line
  the code belongs to, the others say which line they were combined into (code_log.source_ids);
- a person's code (confirmed, corrected, manual) is never replaced: a combination whose source
  codes are held partly by a person's lines is not applied, and its auto-coded lines are marked
  for review instead.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from .codes import ICD10, PROCEDURE, code_list, form_problem
from .errors import FieldInvalid
from .versioned import VersionedItem, distinct

SEPARATOR = ","
MAX_CODES = 500  # the comma-joined source codes, as stored
MAX_NOTE = 500


class CombinationInvalid(FieldInvalid):
    """A combination (or a row of a combinations sheet) is not acceptable."""


def split_codes(value: Any) -> tuple[str, ...]:
    """Source codes from a comma-joined string (as stored and in a sheet, read as `code_list` reads
    a person's list) or a sequence, in the order written, each once."""
    if value is None:
        return ()
    if isinstance(value, str):
        return code_list(value)  # the one reading of a written list of codes
    return distinct(value)


@dataclass(frozen=True)
class Combination(VersionedItem):
    """One combination, validated on construction: an invalid one cannot exist.

    `codes` is kept comma-joined (the stored and exported form); `sources` is its codes."""

    codes: str
    code: str
    enabled: bool = True
    id: int | None = None
    version: int = 1
    note: str | None = None
    where: str | None = field(default=None, compare=False, repr=False)

    KEYS = ("id", "codes", "code", "enabled", "note", "version")
    NOUN = "combination"
    INVALID = CombinationInvalid

    def __post_init__(self) -> None:
        where = self.label
        if self.codes is not None and not isinstance(self.codes, (str, list, tuple)):
            raise CombinationInvalid(f"{where}: codes must be codes joined by {SEPARATOR!r}", "codes")
        sources = split_codes(self.codes)
        for c in sources:
            if not isinstance(c, str):
                raise CombinationInvalid(f"{where}: codes must be codes joined by {SEPARATOR!r}", "codes")
            problem = form_problem(c, ICD10)
            if problem:
                raise CombinationInvalid(f"{where}: source {problem}", "codes")
        if len(sources) < 2:
            raise CombinationInvalid(
                f"{where}: a combination needs at least two source codes joined by {SEPARATOR!r} "
                f"(e.g. E11.900,G63.2*), not {self.codes!r}",
                "codes",
            )
        joined = SEPARATOR.join(sources)
        if len(joined) > MAX_CODES:
            raise CombinationInvalid(f"{where}: codes are longer than {MAX_CODES} characters", "codes")
        object.__setattr__(self, "codes", joined)
        code = self.code.strip() if isinstance(self.code, str) else self.code
        if not isinstance(code, str) or not code:
            raise CombinationInvalid(f"{where}: the combination code is empty", "code")
        problem = form_problem(code, ICD10)
        if problem:
            raise CombinationInvalid(f"{where}: combination {problem}", "code")
        if code in sources:
            raise CombinationInvalid(f"{where}: the combination code {code} is one of its own source codes", "code")
        object.__setattr__(self, "code", code)
        if not isinstance(self.enabled, bool):
            object.__setattr__(self, "enabled", bool(self.enabled))
        if self.note is not None and len(self.note) > MAX_NOTE:
            raise CombinationInvalid(f"{where}: note is longer than {MAX_NOTE} characters", "note")

    @property
    def sources(self) -> tuple[str, ...]:
        return split_codes(self.codes)


class Line(NamedTuple):
    """One line of a record as a combination reads it: its codes in order (first, then the others)."""

    id: int
    kind: str
    seq: int
    codes: tuple[str, ...]
    auto: bool  # coded by a run (may be combined); False: a person's codes, or no code yet


class Source(NamedTuple):
    """One code an applied combination replaced: its line, its place in the line's list, the code."""

    line_id: int
    position: int
    code: str


class Applied(NamedTuple):
    """A combination applied: its lines (distinct, in seq order) and the codes it replaced."""

    combination: Combination
    line_ids: tuple[int, ...]
    sources: tuple[Source, ...]


class Blocked(NamedTuple):
    """A combination a person's code stands in the way of: its auto-coded lines go to review."""

    combination: Combination
    auto_ids: tuple[int, ...]
    person_ids: tuple[int, ...]


class Outcome(NamedTuple):
    applied: list[Applied]
    blocked: list[Blocked]
    codes: dict[int, tuple[str, ...]]  # line id -> its codes after, for the lines that changed


def ordered(items: Iterable[Combination]) -> list[Combination]:
    """The enabled combinations in the order they are tried: most source codes first, then id."""
    enabled = (c for c in items if c.enabled)
    return sorted(enabled, key=lambda c: (-len(c.sources), c.id if c.id is not None else 1 << 62))


def replaced(codes: Sequence[str], at: dict[int, str]) -> tuple[str, ...]:
    """A line's codes with the codes at some positions replaced, each code kept once (first place)."""
    return tuple(dict.fromkeys(at.get(i, c) for i, c in enumerate(codes)))


class Combinations:
    """The enabled table, indexed by source code, so a record without any costs a set lookup a code."""

    def __init__(self, items: Iterable[Combination] = ()):
        self.items = tuple(ordered(items))
        self.sources = tuple(c.sources for c in self.items)  # split once, not on every record
        by_code: dict[str, list[int]] = {}
        for i, sources in enumerate(self.sources):
            for s in sources:
                by_code.setdefault(s, []).append(i)
        self.by_code = {k: tuple(v) for k, v in by_code.items()}

    def __len__(self) -> int:
        return len(self.items)

    def __bool__(self) -> bool:
        return bool(self.items)

    def touches(self, codes: Iterable[str]) -> bool:
        by_code = self.by_code
        return any(c in by_code for c in codes)

    def apply(self, lines: Sequence[Line]) -> Outcome:
        """What the table does to one record's lines (all kinds; each kind combines on its own)."""
        out = Outcome([], [], {})
        by_kind: dict[str, list[tuple[Line, int, str]]] = {}
        by_code = self.by_code
        for line in lines:
            if line.kind == PROCEDURE:
                continue
            for pos, code in enumerate(line.codes):
                if code in by_code:
                    by_kind.setdefault(line.kind, []).append((line, pos, code))
        for same in by_kind.values():
            if len(same) > 1:
                # Only the rows whose every source code the kind holds: most records have none.
                present = {code for _, _, code in same}
                sources = self.sources
                tried = sorted({i for c in present for i in by_code[c] if all(s in present for s in sources[i])})
                if tried:
                    same.sort(key=lambda o: (o[0].seq, o[1]))
                    self._apply_kind(same, tried, out)
        return out

    def _apply_kind(self, found: list[tuple[Line, int, str]], tried: list[int], out: Outcome) -> None:
        used: set[tuple[int, int]] = set()
        lines = {ln.id: ln for ln, _, _ in found}
        at: dict[int, dict[int, str]] = {}  # line id -> position -> combination code
        for i in tried:
            combo = self.items[i]
            picked: list[tuple[Line, int, str]] = []
            for source in self.sources[i]:
                free = [o for o in found if o[2] == source and (o[0].id, o[1]) not in used]
                if not free:
                    break
                # An auto-coded line before a person's: the person's code stays whatever happens.
                picked.append(next((o for o in free if o[0].auto), free[0]))
            else:
                auto = tuple(dict.fromkeys(o[0].id for o in picked if o[0].auto))
                if not auto:
                    continue  # a person coded every source: theirs to decide
                person = tuple(dict.fromkeys(o[0].id for o in picked if not o[0].auto))
                if person:
                    out.blocked.append(Blocked(combo, auto, person))
                    continue
                picked.sort(key=lambda o: (o[0].seq, o[1]))
                used.update((o[0].id, o[1]) for o in picked)
                for ln, pos, _ in picked:
                    at.setdefault(ln.id, {})[pos] = combo.code
                out.applied.append(
                    Applied(
                        combo,
                        tuple(dict.fromkeys(o[0].id for o in picked)),
                        tuple(Source(ln.id, pos, code) for ln, pos, code in picked),
                    )
                )
        for line_id, changes in at.items():
            out.codes[line_id] = replaced(lines[line_id].codes, changes)


NO_COMBINATIONS = Combinations()
