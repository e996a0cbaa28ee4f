"""The one column-schema layer every importer reads its sheet through.

An importer declares its columns once: name, the other headers people use for it, how a cell's
text becomes a value (a parser raising CellInvalid with what is wrong), whether the header must
be there, and what an empty cell means. `Schema.read` checks the header (missing and unknown
columns), parses every cell of every row, and reports each problem with file, sheet, row and
column; the importer sees only rows whose cells all parsed, as plain dicts keyed by column name.
Checks that need the database (an active code of the dictionary) are passed to `read` per call.
`FirstSeen` is the one rule for duplicate rows: the first row with a key keeps it, every later
row with that key is a problem naming the first.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from coder.errors import ImportRejected, Problem

from .tabular import Sheet

TRUE_WORDS = {"1", "true", "yes", "y", "是", "启用", "x"}
FALSE_WORDS = {"0", "false", "no", "n", "否", "停用"}


class CellInvalid(ValueError):
    """A cell's text is not a value of its column; the message says what is wrong, naming the column."""


Parser = Callable[[str, str], Any]  # (text, column name) -> value; raises CellInvalid
Check = Callable[[Any], str | None]  # value -> what is wrong with it, or None


def whole_number(text: str) -> int | None:
    try:
        return int(text.strip())
    except ValueError:
        return None


def flag(text: str) -> bool | None:
    t = text.strip().lower()
    if t in TRUE_WORDS:
        return True
    if t in FALSE_WORDS:
        return False
    return None


def text(max_length: int | None = None) -> Parser:
    """Text as typed, at most `max_length` characters."""

    def parse(value: str, name: str) -> str:
        if max_length is not None and len(value) > max_length:
            raise CellInvalid(f"{name} is longer than {max_length} characters")
        return value

    return parse


def integer(minimum: int | None = None) -> Parser:
    """A whole number, at least `minimum`."""

    def parse(value: str, name: str) -> int:
        number = whole_number(value)
        if number is None or (minimum is not None and number < minimum):
            bound = f" >= {minimum}" if minimum is not None else ""
            raise CellInvalid(f"{name} {value!r} is not a whole number{bound}")
        return number

    return parse


def one_or_zero(value: str, name: str) -> bool:
    result = flag(value)
    if result is None:
        raise CellInvalid(f"{name} must be 1 or 0")
    return result


class Changed(NamedTuple):
    """A stored item and what an import makes of it."""

    old: Any
    new: Any


class Cells(NamedTuple):
    number: int  # the row as Excel shows it
    values: dict[str, Any]
    ok: bool  # every cell parsed and passed its checks


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    parse: Parser = field(default_factory=text)
    required: bool = False  # the header row must have it
    default: Any = None  # the value of an empty cell
    empty: str | None = None  # when set, an empty cell is this problem instead of the default
    aliases: tuple[str, ...] = ()  # other headers people write for this column
    ignored: bool = False  # accepted in the header, never read (code_name in an exported sheet)
    unique: str | None = None  # a value may stand on one row only; the problem on a later row, e.g. "rule {value}"
    # A code: a cell the workbook holds as a number is refused, as Excel has dropped its trailing
    # zeros (36.0700 is shown and stored as 36.07) and the digits typed are gone.
    textual: bool = False


def header_key(text: str) -> str:
    """A header as the reader keys it (lower case, blanks as _), so a --map value matches it."""
    return text.strip().lower().replace(" ", "_")


_MAP_SEPARATOR = re.compile(r"\s*[,，]\s*|\s+(?=[A-Za-z_]+=)")


def parse_mapping(text: str | None) -> dict[str, str]:
    """--map "description=出院诊断,record_id=ID" as {column: header}. Pairs are separated by commas
    (full-width too) or by blanks before the next COLUMN=, so a header may hold blanks itself."""
    out: dict[str, str] = {}
    for part in _MAP_SEPARATOR.split(text or ""):
        if not part.strip():
            continue
        name, sep, header = part.partition("=")
        if not sep or not name.strip() or not header.strip():
            raise ImportRejected(
                [
                    Problem(
                        "--map", None, None, None, f"{part.strip()!r} is not COLUMN=HEADER (e.g. description=出院诊断)"
                    )
                ]
            )
        out[name.strip().lower()] = header_key(header)
    return out


def shown_header(headers: tuple[str, ...], at_most: int = 8) -> str:
    """A header row as an error shows it: the first few columns, and how many there are."""
    named = [h for h in headers if h]
    if not named:
        return "nothing"
    more = f", ... ({len(named)} columns in all)" if len(named) > at_most else ""
    return ", ".join(named[:at_most]) + more


@dataclass(frozen=True)
class Schema:
    columns: tuple[Column, ...]
    strict: bool = True  # an unknown column is a problem (a typo); else it is left unread (an HIS export)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def headers(self, sheet: Sheet, mapping: Mapping[str, str] | None = None) -> dict[str, str]:
        """column name -> the header it has in this sheet: as --map says, else its name or first alias found."""
        mapping = mapping or {}
        unknown = sorted(set(mapping) - set(self.names))
        absent = [f"{k}={h}" for k, h in mapping.items() if k in self.names and h not in sheet.headers]
        if unknown or absent:
            raise ImportRejected(
                [
                    sheet.problem(1, None, f"--map names no column {k!r}; columns: {', '.join(self.names)}")
                    for k in unknown
                ]
                + [sheet.problem(1, None, f"--map {m}: the header row has no such column") for m in absent]
            )
        found: dict[str, str] = {}
        for c in self.columns:
            if c.name in mapping:
                found[c.name] = mapping[c.name]
                continue
            for header in (c.name, *c.aliases):
                if header in sheet.headers:
                    found[c.name] = header
                    break
        return found

    def check_header(
        self,
        sheet: Sheet,
        problems: list[Problem],
        mapping: Mapping[str, str] | None = None,
        hint: str = "",
        also_read: Iterable[str] = (),
    ) -> dict[str, str]:
        """Raise for missing required columns (one problem naming them, their other names and a
        glimpse of the header, never the whole of a 190-column one); add a problem per unknown column."""
        found = self.headers(sheet, mapping)
        missing = [c for c in self.columns if c.required and c.name not in found]
        if missing:
            wanted = "; ".join(f"{c.name!r}" + (f" (or {', '.join(c.aliases)})" if c.aliases else "") for c in missing)
            noun = "column" if len(missing) == 1 else "columns"
            raise ImportRejected(
                [
                    sheet.problem(
                        1,
                        missing[0].name,
                        f"missing {noun} {wanted}; the header row has: {shown_header(sheet.headers)}. "
                        f"Rename the column, or say which it is with --map {missing[0].name}=HEADER{hint}",
                    )
                ]
            )
        # Cells the reader could not take as typed. Left unread (an HIS export's fees and notes), a
        # column's cells are nobody's concern: only a strict schema reads, and so checks, them all.
        read = set(found.values()) | set(also_read)
        problems.extend(p for p in sheet.problems if self.strict or p.column in read)
        if self.strict:
            known = {h for c in self.columns for h in (c.name, *c.aliases)} | set(found.values())
            for h in sheet.headers:
                if h and h not in known:
                    problems.append(
                        sheet.problem(1, h, f"unknown column {h!r}; allowed columns: {', '.join(self.names)}")
                    )
        return found

    def read(
        self,
        sheet: Sheet,
        problems: list[Problem],
        checks: Mapping[str, Check] | None = None,
        mapping: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Iterator[Cells]:
        """Every row's values by column name, with a problem for every cell that does not parse or
        pass `checks` (its value is then None and the row is not `ok`). A problem names the column
        by the header the file has for it. `headers`: from check_header, when the caller checked it."""
        if headers is None:
            headers = self.check_header(sheet, problems, mapping)
        checks = checks or {}
        seen = {c.name: FirstSeen() for c in self.columns if c.unique}
        for row in sheet.rows:
            values: dict[str, Any] = {}
            ok = True
            for c in self.columns:
                if c.ignored:
                    continue
                where = headers.get(c.name, c.name)
                raw = row.get(headers[c.name]) if c.name in headers else ""
                if not raw:
                    if c.empty is not None:
                        problems.append(sheet.problem(row.number, where, c.empty))
                        ok = False
                    values[c.name] = c.default
                    continue
                if c.textual and where in row.numeric:
                    problems.append(sheet.problem(row.number, where, numeric_code(raw)))
                    values[c.name], ok = None, False
                    continue
                try:
                    value = c.parse(raw, where)
                except CellInvalid as exc:
                    problems.append(sheet.problem(row.number, where, str(exc)))
                    values[c.name], ok = None, False
                    continue
                check = checks.get(c.name)
                message = check(value) if check is not None else None
                if not message and c.unique:
                    earlier = seen[c.name].earlier(value, row.number)
                    if earlier is not None:
                        message = c.unique.format(value=value) + f" (also on row {earlier})"
                if message:
                    problems.append(sheet.problem(row.number, where, message))
                    ok = False
                values[c.name] = value
            yield Cells(row.number, values, ok)


def numeric_code(raw: str) -> str:
    return (
        f"the code {raw!r} is a number in the workbook, and Excel drops a code's trailing zeros "
        "(36.0700 is kept as 36.07): format the column as text and type the codes again"
    )


class FirstSeen:
    """The one rule for duplicate rows: the first row with a key keeps it."""

    def __init__(self) -> None:
        self._rows: dict[Hashable, int] = {}

    def earlier(self, key: Hashable, row: int) -> int | None:
        """The row that had `key` before `row`, or None (and `row` now has it)."""
        first = self._rows.setdefault(key, row)
        return None if first == row else first
