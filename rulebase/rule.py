"""A description model: one regular expression that, matched against a normalized diagnosis, proposes a code."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from functools import lru_cache
from typing import Any

from .dialect import Pattern, parse
from .errors import PatternInvalid, RuleInvalid

MAX_CODE_LENGTH = 32
MAX_NOTE_LENGTH = 500


def _where(rule_id: int | None, where: str | None) -> str:
    if where:
        return where
    return f"rule {rule_id}" if rule_id is not None else "new rule"


# A pattern parsed once however many rules carry it: rule bases repeat their exclusions (疑似|待查
# under thousands of codes) and now and then a pattern under several codes. The parse is a frozen
# tree, safe to share; an invalid pattern raises every time (a raise is not remembered).
_parsed = lru_cache(maxsize=4096)(parse)


def check_pattern(text: str, what: str, where: str) -> Pattern:
    """Parse a pattern, wrapping the dialect's reason with the place it came from."""
    try:
        return _parsed(text) if isinstance(text, str) else parse(text)  # parse says what a non-text is
    except PatternInvalid as exc:
        raise RuleInvalid(f"{where}: {what} {text!r} is invalid: {exc}") from None


@dataclass(frozen=True, slots=True)
class Rule:
    """A validated rule. Construction parses both patterns, so an invalid rule cannot exist."""

    code: str
    pattern: str
    exclude: str | None = None
    priority: int = 0
    enabled: bool = True
    id: int | None = None
    version: int = 1
    note: str | None = None
    where: str | None = field(default=None, compare=False, repr=False)
    parsed: Pattern = field(init=False, compare=False, repr=False)
    parsed_exclude: Pattern | None = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        where = _where(self.id, self.where)
        code = (self.code or "").strip() if isinstance(self.code, str) else ""
        if not code:
            raise RuleInvalid(f"{where}: code is empty")
        if len(code) > MAX_CODE_LENGTH:
            raise RuleInvalid(f"{where}: code {code!r} is longer than {MAX_CODE_LENGTH} characters")
        object.__setattr__(self, "code", code)
        if not isinstance(self.pattern, str):
            raise RuleInvalid(f"{where}: pattern is empty")
        object.__setattr__(self, "parsed", check_pattern(self.pattern, "pattern", where))
        exclude = self.exclude if self.exclude not in ("",) else None
        object.__setattr__(self, "exclude", exclude)
        object.__setattr__(
            self, "parsed_exclude", check_pattern(exclude, "exclude pattern", where) if exclude is not None else None
        )
        if isinstance(self.priority, bool) or not isinstance(self.priority, int):
            raise RuleInvalid(f"{where}: priority must be a whole number, not {self.priority!r}")
        if not -1000 <= self.priority <= 1000:
            raise RuleInvalid(f"{where}: priority {self.priority} is outside -1000..1000")
        if self.note is not None and len(self.note) > MAX_NOTE_LENGTH:
            raise RuleInvalid(f"{where}: note is longer than {MAX_NOTE_LENGTH} characters")

    # The keys of to_dict are the columns of the rules sheet, so Excel stays a thin adapter.
    KEYS = ("id", "code", "pattern", "exclude", "priority", "enabled", "note", "version")

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.KEYS}

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: str | None = None) -> Rule:
        unknown = sorted(set(data) - set(cls.KEYS))
        if unknown:
            raise RuleInvalid(f"{where or 'rule'}: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(cls.KEYS)}")
        known = {f.name for f in fields(cls) if f.init}
        kwargs = {k: v for k, v in data.items() if k in known and v is not None}
        return cls(where=where, **kwargs)
