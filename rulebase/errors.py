"""The core's own errors, under the one base every user-caused error shares.

Errors about files, databases and locks belong to the application (coder.errors); the core knows
only patterns and rules.
"""

from __future__ import annotations


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


class FieldInvalid(RuleInvalid):
    """A row of a table (a guard, a combination, a code edit) is not acceptable. `field` names the
    field at fault, which is the column of its sheet an importer reports; None when the fault lies
    between fields."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


class PatternTimeout(IcdCoderError, TimeoutError):
    """A pattern ran out of its time on a text; the matchers turn it into a `timeout` outcome."""
