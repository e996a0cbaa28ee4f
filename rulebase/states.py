"""Every named state of icdcoder, said once: what the engine concludes, where a diagnosis stands,
how a run ended, what a coder did.

They are `StrEnum`s: each member *is* its string, so it is stored, compared and printed as the
plain text the database, JSON and the README use ("coded", "pending", ...).
"""

from __future__ import annotations

from enum import StrEnum


class Outcome(StrEnum):
    """What the engine concludes for one description."""

    CODED = "coded"
    NO_MATCH = "no_match"
    AMBIGUOUS = "ambiguous"
    INVALID_INPUT = "invalid_input"  # nothing to match, or a line the database cannot store
    TIMEOUT = "timeout"
    TOO_LONG = "too_long"  # normalized longer than a log row holds (normalization can lengthen a text)


FAILURE_REASONS = (Outcome.NO_MATCH, Outcome.AMBIGUOUS, Outcome.INVALID_INPUT, Outcome.TIMEOUT, Outcome.TOO_LONG)


class Status(StrEnum):
    """Where a diagnosis stands. The last three are a person's word, which no run changes."""

    PENDING = "pending"
    CODED = "coded"
    FAILED = "failed"
    CONFIRMED = "confirmed"
    CORRECTED = "corrected"
    MANUAL = "manual"


PERSON_STATUSES = (Status.CONFIRMED, Status.CORRECTED, Status.MANUAL)
AUTO = "auto"  # coded_by of a code a run set; reserved, no person may use the name


class RunStatus(StrEnum):
    RUNNING = "running"
    FINISHED = "finished"
    CRASHED = "crashed"


class ReviewAction(StrEnum):
    """What a coder does to one diagnosis in the audit loop."""

    CONFIRM = "confirm"
    CORRECT = "correct"
    CODE = "code"


class ReplacementKind(StrEnum):
    """How a normalization entry finds its text."""

    LITERAL = "literal"
    PATTERN = "pattern"
