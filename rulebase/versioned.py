"""What the items of the versioned tables (guards, combinations, code edits, normalization entries)
share: the name a message gives an item, and the dict an item is written and read as."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import fields
from typing import Any, ClassVar


def distinct(parts: Iterable[Any]) -> tuple[Any, ...]:
    """The parts of a joined field (exception words, source codes) stripped, blanks and repeats
    dropped, in the order written."""
    out: list[Any] = []
    for p in parts:
        p = p.strip() if isinstance(p, str) else p
        if p and p not in out:
            out.append(p)
    return tuple(out)


class VersionedItem:
    """A mixin for a frozen dataclass with `id` and `where` fields: KEYS are the keys of its dict,
    NOUN what a message calls it (guard), INVALID the error a bad item raises."""

    __slots__ = ()
    KEYS: ClassVar[tuple[str, ...]]
    NOUN: ClassVar[str]
    INVALID: ClassVar[type[Exception]]

    @property
    def label(self) -> str:
        """Where the item stands (a file's row), else its id, for a message."""
        if self.where:
            return self.where
        return f"{self.NOUN} {self.id}" if self.id is not None else f"new {self.NOUN}"

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.KEYS}

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: str | None = None):
        unknown = sorted(set(data) - set(cls.KEYS))
        if unknown:
            raise cls.INVALID(
                f"{where or cls.NOUN}: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(cls.KEYS)}"
            )
        known = {f.name for f in fields(cls) if f.init}
        return cls(where=where, **{k: v for k, v in data.items() if k in known and v is not None})
