"""The application's errors: databases, files, locks, refusals. All under rulebase's IcdCoderError,
the one base the CLI turns into a clean message (and, for RunLocked, exit code 75)."""

from __future__ import annotations

from dataclasses import dataclass

from rulebase.errors import IcdCoderError, PatternInvalid, RuleInvalid

__all__ = [
    "DatabaseError",
    "HistoryEmpty",
    "SplitInvalid",
    "describe",
    "refused_value",
    "ActionRefused",
    "ChangeRefused",
    "ConfigError",
    "IcdCoderError",
    "ImportRejected",
    "LoginRefused",
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


class SchemaMigrationFailed(IcdCoderError):
    """A migration could not complete; the database keeps the revision it had."""


class SettingInvalid(IcdCoderError):
    """A per-database setting is given (or stored with) a value it cannot take."""


class ConfigError(IcdCoderError):
    """The database URL or configuration is unusable."""


class HistoryEmpty(IcdCoderError):
    """The audited history, or the part of it a filter or split leaves, has no lines to learn from or
    to test on; the message names the option to change."""


class SplitInvalid(IcdCoderError):
    """evaluate's split is not one: neither or both of a date and a fraction, or a fraction outside (0, 1)."""


class RunLocked(IcdCoderError):
    """Another coding run holds the database's run lock."""

    exit_code = 75


class ActionRefused(IcdCoderError):
    """An audit action does not fit the diagnosis's state (e.g. confirming a failure), or its code
    cannot stand on the line (`about_code`: what a worklist names as the code cell)."""

    def __init__(self, message: str, about_code: bool = False):
        super().__init__(message)
        self.about_code = about_code


class ChangeRefused(IcdCoderError):
    """A rule change would turn correct codes in the audited history into wrong ones; `impact`: the
    judgement that refused it (coder.audit.ruletest.Impact), for a page to show."""

    def __init__(self, message: str, impact=None):
        super().__init__(message)
        self.impact = impact


class LoginRefused(IcdCoderError):
    """A login was refused. The message is the same whatever the cause, so it never tells whether
    the name exists, the account is disabled or locked, or the password was wrong; `reason` says
    which (one of REASONS), for the server's own log only, never for the person logging in."""

    MESSAGE = "wrong name or password, or the account is locked"
    REASONS = ("unknown_user", "disabled", "locked", "wrong_password")

    def __init__(self, reason: str, name: str | None = None):
        self.reason = reason
        self.name = name
        super().__init__(self.MESSAGE)


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


def describe(exc: BaseException) -> str:
    """One line about an error that may be shown and stored: the driver's own message for a database
    error, without the statement or the values it was executed with (they can hold patient text)."""
    shown = getattr(exc, "orig", None) or exc
    lines = str(shown).strip().splitlines()
    return f"{type(shown).__name__}: {lines[0] if lines else ''}"[:500]


# What a person can do about the database errors people meet, by the driver's words.
_HINTS = (
    ("readonly", "the database file is read-only: run as a user who may write it, or copy it somewhere writable"),
    ("disk is full", "the disk is full: free space and run the command again (nothing half-written stays)"),
    ("disk full", "the disk is full: free space and run the command again (nothing half-written stays)"),
    ("password authentication failed", "check the user and ICDCODER_DB_PASSWORD (or the config file's password)"),
    ("translate host name", "check the host in the database URL"),
    ("connection", "check that the database server runs and the URL's host and port; then run the command again"),
    ("terminat", "the server ended the connection: run the command again (a run continues where it stopped)"),
    ("too long", "a value is longer than its column allows: shorten it"),
    ("out of range", "a number is out of range: check the ids and numbers given"),
    ("nul", "the text holds a NUL character, which the database cannot store: remove it"),
)


class DatabaseError(IcdCoderError):
    """The database refused or could not do what a command asked (connection, disk, permissions)."""

    @classmethod
    def from_driver(cls, exc: BaseException) -> DatabaseError:
        said = describe(exc)
        hint = next((h for words, h in _HINTS if words in said.lower()), "see the database's log; then run again")
        return cls(f"database error ({said}); {hint}")


# Oracle's refusals of a value: too large for its column, NULL into NOT NULL, a unique key, a check,
# a number too large; python-oracledb raises them all as its generic DatabaseError.
_ORACLE_REFUSALS = ("ORA-12899", "ORA-01400", "ORA-00001", "ORA-02290", "ORA-01438", "ORA-01401")


def refused_value(exc: BaseException) -> bool:
    """Whether a database error is the refusal of a value (a line that cannot be stored), not a
    failure of the connection, the server or the disk: SQLSTATE class 22 (data) or 23 (integrity)."""
    from sqlalchemy.exc import DataError, IntegrityError

    if isinstance(exc, (DataError, IntegrityError)):
        return True
    orig = getattr(exc, "orig", None)
    state = getattr(orig, "sqlstate", None) or ""
    return state[:2] in ("22", "23") or any(code in str(orig) for code in _ORACLE_REFUSALS)
