"""Guards: the uncertainty and negation cues that keep a line from being auto-coded (README,
"Matching semantics", point 6).

A `Guard` is one validated row of the hospital's ordered guard table: a literal cue (疑似, 待查,
排除, ...), what it says (`kind`: uncertain or negated), where it must stand relative to the words
that would have coded the line (`scope`), and the longer words that contain the cue without
meaning it (`not_within`: 排除 inside 不排除, which is uncertain, not negated). `Guards` is the
enabled table compiled for matching: one Aho-Corasick automaton over every cue and exception
word, so a text without any costs one automaton call. What an occurrence in scope does to a
decision is said in `rulebase.decision.guard`.

Cues are literal, in normalized form (descriptions are NFKC-normalized before anything reads
them, so `？` is written `?`): a literal means the same in every engine, the database's included.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import ahocorasick_rs

from .errors import FieldInvalid
from .normalize import normalize_text
from .states import GuardKind, GuardScope
from .versioned import VersionedItem, distinct

MAX_CUE = 20
MAX_NOT_WITHIN = 200  # the "|"-joined exception words, as stored
MAX_NOTE = 500
SEPARATOR = "|"


class GuardInvalid(FieldInvalid):
    """A guard (or a row of a guards sheet) is not acceptable."""


def _words(value: Any) -> tuple[str, ...]:
    """Exception words from a "|"-joined string (as stored and in a sheet) or a sequence."""
    if value is None:
        return ()
    parts = value.split(SEPARATOR) if isinstance(value, str) else list(value)
    return distinct(parts)


@dataclass(frozen=True)
class Guard(VersionedItem):
    """One guard, validated on construction: an invalid guard cannot exist.

    `not_within` is kept "|"-joined (the stored and exported form); `exceptions` is its words.
    """

    cue: str
    kind: str
    scope: str = GuardScope.ANY
    not_within: str | None = None
    position: int = 0
    enabled: bool = True
    id: int | None = None
    version: int = 1
    note: str | None = None
    where: str | None = field(default=None, compare=False, repr=False)

    # The columns of the guards sheet, so Excel stays a thin adapter.
    KEYS = ("id", "position", "cue", "kind", "scope", "not_within", "enabled", "note", "version")
    NOUN = "guard"
    INVALID = GuardInvalid

    def __post_init__(self) -> None:
        where = self.label
        cue = self.cue
        if not isinstance(cue, str) or not cue.strip():
            raise GuardInvalid(f"{where}: the cue is empty", "cue")
        _normalized(cue, "cue", where, "cue")
        if len(cue) > MAX_CUE:
            raise GuardInvalid(f"{where}: cue {cue!r} is longer than {MAX_CUE} characters", "cue")
        if self.kind not in tuple(GuardKind):
            raise GuardInvalid(f"{where}: kind must be one of {', '.join(GuardKind)}, not {self.kind!r}", "kind")
        if self.scope not in tuple(GuardScope):
            raise GuardInvalid(f"{where}: scope must be one of {', '.join(GuardScope)}, not {self.scope!r}", "scope")
        object.__setattr__(self, "kind", GuardKind(self.kind))
        object.__setattr__(self, "scope", GuardScope(self.scope))
        if self.not_within is not None and not isinstance(self.not_within, (str, list, tuple)):
            raise GuardInvalid(f"{where}: not_within must be words joined by {SEPARATOR!r}", "not_within")
        words = _words(self.not_within)
        for w in words:
            if not isinstance(w, str):
                raise GuardInvalid(f"{where}: not_within must be words joined by {SEPARATOR!r}", "not_within")
            _normalized(w, "not_within word", where, "not_within")
            if w == cue or cue not in w:
                raise GuardInvalid(
                    f"{where}: not_within word {w!r} does not contain the cue {cue!r} as part of a longer word; "
                    "list only longer words in which the cue does not count (不排除 for 排除)",
                    "not_within",
                )
        joined = SEPARATOR.join(words) or None
        if joined is not None and len(joined) > MAX_NOT_WITHIN:
            raise GuardInvalid(f"{where}: not_within is longer than {MAX_NOT_WITHIN} characters", "not_within")
        object.__setattr__(self, "not_within", joined)
        if isinstance(self.position, bool) or not isinstance(self.position, int):
            raise GuardInvalid(f"{where}: position must be a whole number, not {self.position!r}", "position")
        if self.note is not None and len(self.note) > MAX_NOTE:
            raise GuardInvalid(f"{where}: note is longer than {MAX_NOTE} characters", "note")

    @property
    def exceptions(self) -> tuple[str, ...]:
        return _words(self.not_within)


def _normalized(text: str, what: str, where: str, field: str) -> None:
    fixed = normalize_text(text)
    if fixed != text:
        # Descriptions are NFKC-normalized first: a cue that NFKC changes is never found.
        raise GuardInvalid(
            f"{where}: {what} {text!r} is not in normalized form; after NFKC and blank folding it reads "
            f"{fixed!r}: write that instead",
            field,
        )


def ordered(guards: Iterable[Guard]) -> list[Guard]:
    """The enabled guards in the order they are tried: position, then id."""
    return sorted((g for g in guards if g.enabled), key=lambda g: (g.position, g.id if g.id is not None else 0))


class Occurrence(NamedTuple):
    """A guard's cue found in a text, at [start, end), not inside one of its exception words."""

    guard: Guard
    start: int
    end: int


class Guards:
    """The enabled guard table, compiled: every cue and exception word in one automaton."""

    def __init__(self, guards: Iterable[Guard] = ()):
        self.guards = tuple(ordered(guards))
        words: dict[str, int] = {}

        def number(word: str) -> int:
            n = words.get(word)
            if n is None:
                n = words[word] = len(words)
            return n

        # For each word: the guards it is the cue of, and the guards it is an exception word of.
        cue_of: dict[int, list[int]] = {}
        exception_of: dict[int, list[int]] = {}
        for i, g in enumerate(self.guards):
            cue_of.setdefault(number(g.cue), []).append(i)
            for w in g.exceptions:
                exception_of.setdefault(number(w), []).append(i)
        self._cue_of = [tuple(cue_of.get(n, ())) for n in range(len(words))]
        self._exception_of = [tuple(exception_of.get(n, ())) for n in range(len(words))]
        self._find = ahocorasick_rs.AhoCorasick(list(words)).find_matches_as_indexes if words else None

    def __len__(self) -> int:
        return len(self.guards)

    def __bool__(self) -> bool:
        return bool(self.guards)

    def occurrences(self, text: str) -> list[Occurrence]:
        """The cues standing in `text`, in the table's order (then leftmost first); empty for most texts."""
        find = self._find
        if find is None:
            return []
        found = find(text, True)
        if not found:
            return []
        cues: list[tuple[int, int, int]] = []
        covers: dict[int, list[tuple[int, int]]] = {}
        for w, start, end in found:
            for i in self._cue_of[w]:
                cues.append((i, start, end))
            for i in self._exception_of[w]:
                covers.setdefault(i, []).append((start, end))
        out = []
        for i, start, end in sorted(cues):
            if any(s <= start and end <= e for s, e in covers.get(i, ())):
                continue  # inside a longer word that does not mean it (排除 in 不排除)
            out.append(Occurrence(self.guards[i], start, end))
        return out


NO_GUARDS = Guards()

# The starter set a fresh database begins with (migration 0011), in table order. Position
# decides which guard speaks when several stand: the uncertain ones that contain a negated cue
# (不排除, 待排, 待除外, 不除外) come first, so 不除外肺结核 is uncertain, never negated.
STARTER: tuple[Guard, ...] = tuple(
    Guard(cue=c, kind=k, scope=s, not_within=nw, position=10 * (n + 1), note=note)
    for n, (c, k, s, nw, note) in enumerate(
        (
            ("疑似", "uncertain", "before", None, "疑似肺结核"),
            ("可疑", "uncertain", "before", None, "可疑肺结核"),
            ("可能", "uncertain", "any", None, "可能为急性胰腺炎; 急性胰腺炎可能"),
            ("考虑", "uncertain", "before", "不考虑", "考虑肺炎; 不考虑 is a negation"),
            ("待查", "uncertain", "after", None, "肺部阴影待查"),
            ("待排", "uncertain", "any", None, "急性心肌梗死待排; 待排除 included"),
            ("待除外", "uncertain", "any", None, "待除外肺结核"),
            ("不除外", "uncertain", "any", None, "不除外肺结核; 肺结核不除外"),
            ("不排除", "uncertain", "any", None, "不排除肺结核"),
            ("?", "uncertain", "any", None, "冠心病?, ?肺癌 (also ？, which NFKC writes ?)"),
            ("排除", "negated", "before", "不排除|待排除", "排除心肌梗死"),
            ("除外", "negated", "before", "不除外|待除外", "除外肺结核"),
            ("否认", "negated", "before", None, "否认高血压病史"),
            ("未见", "negated", "before", None, "未见骨折"),
            ("不考虑", "negated", "before", None, "不考虑肺结核"),
        )
    )
)
