"""One exception base for everything a user can cause; the CLI turns only these into messages."""

from __future__ import annotations

from dataclasses import dataclass


class IcdCoderError(Exception):
    """Base of every error that is the user's input or environment, not a bug."""

    exit_code = 1


class PatternInvalid(IcdCoderError):
    """A pattern is outside the portable dialect."""

    def __init__(self, reason: str, position: int | None = None, pattern: str | None = None):
        self.reason = reason
        self.position = position
        self.pattern = pattern
        where = f" at position {position}" if position is not None else ""
        super().__init__(f"{reason}{where}")


class RuleInvalid(IcdCoderError):
    """A rule (its pattern, exclude pattern, code or fields) is not acceptable."""


class NotFound(IcdCoderError):
    """A rule, diagnosis, run or code named by the user does not exist."""


class SchemaOutOfDate(IcdCoderError):
    """The database has not been migrated to this version of icdcoder."""


class ConfigError(IcdCoderError):
    """The database URL or configuration is unusable."""


class RunLocked(IcdCoderError):
    """Another coding run holds the database's run lock."""

    exit_code = 75


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one place of an input file."""

    file: str
    sheet: str | None
    row: int | None
    column: str | None
    message: str

    def __str__(self) -> str:
        parts = [self.file]
        if self.sheet:
            parts.append(f"sheet {self.sheet}")
        if self.row is not None:
            parts.append(f"row {self.row}")
        if self.column:
            parts.append(f"column {self.column}")
        return ", ".join(parts) + f": {self.message}"


class ImportRejected(IcdCoderError):
    """An import file had problems; nothing was written."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        n = len(problems)
        lines = "\n".join(f"  {p}" for p in problems)
        super().__init__(
            f"{n} problem{'s' if n != 1 else ''} found; nothing was imported. Fix the file and import it again.\n{lines}"
        )
