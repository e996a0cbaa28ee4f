"""The application's errors: databases, files, locks, refusals. All under rulebase's IcdCoderError,
the one base the CLI turns into a clean message (and, for RunLocked, exit code 75)."""

from __future__ import annotations

from dataclasses import dataclass

from rulebase.errors import IcdCoderError, PatternInvalid, RuleInvalid

__all__ = [
    "ActionRefused",
    "ChangeRefused",
    "ConfigError",
    "IcdCoderError",
    "ImportRejected",
    "NotFound",
    "PatternInvalid",
    "Problem",
    "RuleInvalid",
    "RunLocked",
    "SchemaOutOfDate",
]


class NotFound(IcdCoderError):
    """A rule, diagnosis, run or code named by the user does not exist."""


class SchemaOutOfDate(IcdCoderError):
    """The database has not been migrated to this version of icdcoder."""


class ConfigError(IcdCoderError):
    """The database URL or configuration is unusable."""


class RunLocked(IcdCoderError):
    """Another coding run holds the database's run lock."""

    exit_code = 75


class ActionRefused(IcdCoderError):
    """An audit action does not fit the diagnosis's state (e.g. confirming a failure)."""


class ChangeRefused(IcdCoderError):
    """A rule change would turn correct codes in the audited history into wrong ones."""


@dataclass(frozen=True, slots=True)
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
            f"{n} problem{'s' if n != 1 else ''} found; nothing was imported. "
            f"Fix the file and import it again.\n{lines}"
        )
