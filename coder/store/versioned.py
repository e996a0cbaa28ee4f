"""How a versioned row of the rule base is stored: rules and normalization entries alike.

Each kind declares once which of its value's fields are editable and the column each is kept in;
reading a row, writing one, its history and its version numbers follow from that declaration.
What differs per kind (a rule's code must be in the dictionary, the normalization table must
not loop) stays with the kind.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from operator import attrgetter
from typing import Any, Generic, TypeVar

from sqlalchemy import Connection, Table, select, update

from coder.db.models import utcnow
from coder.errors import NotFound
from rulebase.errors import IcdCoderError

from .history import bump_rulebase_version, change_action, read_history, require_author, write_history

T = TypeVar("T")


@dataclass(frozen=True)
class Versioned(Generic[T]):
    table: Table
    history_table: Table
    history_key: str  # the history table's column naming the row: rule_id, norm_id
    columns: Mapping[str, str]  # editable field -> its column
    make: Callable[..., T]  # the validated value from its fields, id and version (raises when invalid)
    noun: str  # for messages: "rule", "normalization entry"
    invalid: type[IcdCoderError]

    @property
    def editable(self) -> tuple[str, ...]:
        return tuple(self.columns)

    def __post_init__(self) -> None:
        # Reading a row is on the run's start (30,000 rules): the columns are fetched by one C call.
        object.__setattr__(self, "_keys", ("id", "version", *self.columns))
        object.__setattr__(self, "_read", attrgetter("id", "version", *self.columns.values()))

    def from_row(self, row: Any) -> T:
        return self.make(**dict(zip(self._keys, self._read(row), strict=True)))

    def fields_of(self, item: T) -> dict[str, Any]:
        return {f: getattr(item, f) for f in self.columns}

    def _values(self, item: T, author: str, version: int) -> dict[str, Any]:
        values = {c: getattr(item, f) for f, c in self.columns.items()}
        return {**values, "version": version, "author": author, "changed_at": utcnow()}

    def row(self, conn: Connection, item_id: int) -> Any:
        row = conn.execute(select(self.table).where(self.table.c.id == item_id)).first()
        if row is None:
            raise NotFound(f"no {self.noun} with id {item_id}")
        return row

    def get(self, conn: Connection, item_id: int) -> T:
        return self.from_row(self.row(conn, item_id))

    def proposed(self, old: T, changes: Mapping[str, Any]) -> T:
        """`old` with `changes` applied, validated, at the next version."""
        unknown = set(changes) - set(self.columns)
        if unknown:
            raise self.invalid(
                f"unknown {self.noun} field(s) {', '.join(sorted(unknown))}; allowed: {', '.join(self.columns)}"
            )
        return self.make(**{**self.fields_of(old), **changes, "id": old.id, "version": old.version + 1})

    def insert(self, conn: Connection, item: T, author: str, reason: str | None, rb_version: int | None) -> T:
        """Store a new item (its id assigned, version 1) with its history row; return it as stored."""
        author = require_author(author)
        if rb_version is None:
            rb_version = bump_rulebase_version(conn)
        new_id = conn.execute(self.table.insert().values(self._values(item, author, 1))).inserted_primary_key[0]
        stored = self.make(**self.fields_of(item), id=new_id, version=1)
        self._history(conn, new_id, 1, "insert", author, reason, None, self.fields_of(stored), rb_version)
        return stored

    def replace(
        self,
        conn: Connection,
        old: T,
        new: T,
        author: str,
        reason: str | None,
        rb_version: int | None,
        action: str = "update",
    ) -> T:
        """Store `new` (from `proposed`) over `old` with a history row; return it."""
        author = require_author(author)
        if rb_version is None:
            rb_version = bump_rulebase_version(conn)
        conn.execute(update(self.table).where(self.table.c.id == old.id).values(self._values(new, author, new.version)))
        before, after = self.fields_of(old), self.fields_of(new)
        if action == "update":
            action = change_action(old.enabled, new.enabled, {k for k in after if before[k] != after[k]})
        self._history(conn, old.id, new.version, action, author, reason, before, after, rb_version)
        return new

    def history(self, conn: Connection, item_id: int) -> list[dict[str, Any]]:
        self.row(conn, item_id)
        return read_history(conn, self.history_table, self.history_table.c[self.history_key], item_id)

    def _history(self, conn: Connection, item_id: int, *args) -> None:
        write_history(conn, self.history_table, {self.history_key: item_id}, *args)
