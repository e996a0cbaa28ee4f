"""Text normalization applied to every description before matching (README: matching semantics).

Two stages: `normalize_text` (NFKC and blanks, fixed), then the hospital's ordered replacement
table (`Replacement`, kept in the database, e.g. 梗塞 -> 梗死), applied once each in order.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import regex

from .dialect import DEFAULT_TIMEOUT, parse
from .errors import PatternInvalid, PatternTimeout, RuleInvalid
from .states import ReplacementKind
from .versioned import VersionedItem

LITERAL, PATTERN = ReplacementKind.LITERAL, ReplacementKind.PATTERN
MAX_TEXT = 200
# Zero-width characters and bidirectional controls: invisible, and a way to make look-alike texts.
_INVISIBLE = regex.compile(r"\p{Cf}")


def normalize_text(text: str | None) -> str:
    """NFKC (full-width to half-width, （ to (, ２ to 2, Ⅱ to II), every kind of blank to one space, trimmed.

    str.split() with no argument splits on every Unicode whitespace character, so newlines,
    tabs and the ideographic space all collapse to a single space in one pass.
    """
    if not text:
        return ""
    text = unicodedata.normalize("NFKC", text)
    # Every blank but the ASCII space is unprintable: a printable text without one has nothing to
    # fold (most descriptions), and is returned as it is.
    if " " in text or not text.isprintable():
        text = " ".join(text.split())
        if not text.isprintable():  # what is left unprintable once blanks are folded: rare, so checked last
            text = " ".join(_INVISIBLE.sub("", text).split())
    return text


class ReplacementInvalid(RuleInvalid):
    """A normalization entry (or the table it would join) is not acceptable."""


@dataclass(frozen=True)
class Replacement(VersionedItem):
    """One row of the normalization table: every occurrence of `find` becomes `replace`.

    `kind` is "literal" (plain text) or "pattern" (the portable rule dialect). The replacement is
    plain text: no group references, so it means the same in every engine.
    """

    find: str
    replace: str
    kind: str = LITERAL
    position: int = 0
    enabled: bool = True
    id: int | None = None
    version: int = 1
    note: str | None = None
    where: str | None = field(default=None, compare=False, repr=False)

    KEYS = ("id", "position", "kind", "find", "replace", "enabled", "note", "version")
    NOUN = "normalization"
    INVALID = ReplacementInvalid

    def __post_init__(self) -> None:
        where = self.label
        if self.kind not in (LITERAL, PATTERN):
            raise ReplacementInvalid(f"{where}: kind must be {LITERAL.value!r} or {PATTERN.value!r}, not {self.kind!r}")
        if not isinstance(self.find, str) or not self.find.strip():
            raise ReplacementInvalid(f"{where}: the text to find is empty")
        if not isinstance(self.replace, str) or not normalize_text(self.replace):
            raise ReplacementInvalid(
                f"{where}: the replacement is empty; a replacement that deletes text can empty a description. "
                "Replace with the preferred term instead, or make the rule patterns tolerate the extra words"
            )
        for name, text in (("find", self.find), ("replace", self.replace)):
            if len(text) > MAX_TEXT:
                raise ReplacementInvalid(f"{where}: {name} is longer than {MAX_TEXT} characters")
            if self.kind == LITERAL or name == "replace":
                fixed = normalize_text(text)
                if fixed != text:
                    # Descriptions are NFKC-normalized first: text that NFKC changes can never be found.
                    raise ReplacementInvalid(
                        f"{where}: {name} {text!r} is not in normalized form; after NFKC and blank folding it "
                        f"reads {fixed!r}: write that instead"
                    )
        if self.kind == PATTERN:
            try:
                parse(self.find)
            except PatternInvalid as exc:
                raise ReplacementInvalid(f"{where}: pattern {self.find!r} is invalid: {exc}") from None
        if self.found_in(self.replace):
            raise ReplacementInvalid(
                f"{where}: {self.find!r} -> {self.replace!r} loops: the replacement contains what it replaces, "
                "so normalizing twice would change the text again"
            )

    def _compiled(self) -> regex.Pattern:
        cached = self.__dict__.get("_regex")
        if cached is None:
            cached = regex.compile(self.find)
            object.__setattr__(self, "_regex", cached)
        return cached

    def found_in(self, text: str) -> bool:
        if self.kind == LITERAL:
            return self.find in text
        return self._compiled().search(text, timeout=DEFAULT_TIMEOUT) is not None

    def apply(self, text: str, timeout: float = DEFAULT_TIMEOUT) -> str:
        """The text with this entry applied; a pattern that runs out of `timeout` raises PatternTimeout."""
        if self.kind == LITERAL:
            return text.replace(self.find, self.replace)
        replacement = self.replace
        try:
            return self._compiled().sub(lambda _m: replacement, text, timeout=timeout)
        except TimeoutError:
            raise PatternTimeout(f"{self.label}: pattern {self.find!r} ran out of its {timeout} s") from None


def ordered(entries: Iterable[Replacement]) -> list[Replacement]:
    return sorted((e for e in entries if e.enabled), key=lambda e: (e.position, e.id if e.id is not None else 0))


def table_problems(entries: Iterable[Replacement]) -> list[str]:
    """Why the enabled entries, applied in order, would not be stable (empty list: they are).

    An entry's result must not contain what an entry at or before it finds: that entry has already
    run, so a second normalization would change the text again (A -> B then B -> A is such a loop).
    Text a later entry finds is fine: it is rewritten in the same pass.
    """
    table = ordered(entries)
    problems = []
    for i, producer in enumerate(table):
        for earlier in table[:i]:
            if earlier.found_in(producer.replace):
                problems.append(
                    f"{producer.label} ({producer.find!r} -> {producer.replace!r}) loops with {earlier.label} "
                    f"({earlier.find!r} -> {earlier.replace!r}), which runs before it and would rewrite its result; "
                    "change one of them or move this entry before the other"
                )
    return problems


class Step(NamedTuple):
    """One step of a normalization: the entry that applied (None for NFKC and blanks) and the text after it."""

    entry: Replacement | None
    text: str


class Normalizer:
    """The whole normalization, as one callable: text -> the text rules are matched against."""

    def __init__(self, entries: Sequence[Replacement] = (), timeout: float = DEFAULT_TIMEOUT):
        self.entries = tuple(ordered(entries))
        self.timeout = timeout
        problems = table_problems(self.entries)
        if problems:
            raise ReplacementInvalid("; ".join(problems))

    def __call__(self, text: str | None) -> str:
        out = normalize_text(text)
        if not self.entries or not out:
            return out
        for e in self.entries:
            out = e.apply(out, self.timeout)
        return " ".join(out.split())

    def trace(self, text: str | None) -> list[Step]:
        """Each step that changed the text: the NFKC result first (entry None), then each entry that applied."""
        out = normalize_text(text)
        steps = [Step(None, out)]
        for e in self.entries:
            new = e.apply(out, self.timeout)
            if new != out:
                steps.append(Step(e, new))
            out = new
        return steps
