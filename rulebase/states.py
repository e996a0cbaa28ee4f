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
    # A guard's cue stands in its scope of the words that would have coded it (rulebase.guards):
    # 疑似肺结核, 肺部阴影待查 (uncertain); 排除心肌梗死 (negated). Never auto-coded; candidates kept.
    UNCERTAIN = "uncertain"
    NEGATED = "negated"


FAILURE_REASONS = (
    Outcome.NO_MATCH,
    Outcome.AMBIGUOUS,
    Outcome.INVALID_INPUT,
    Outcome.TIMEOUT,
    Outcome.TOO_LONG,
    Outcome.UNCERTAIN,
    Outcome.NEGATED,
)


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


class GuardKind(StrEnum):
    """What a guard's cue says of the disease words it stands by; each is the Outcome of that name."""

    UNCERTAIN = "uncertain"
    NEGATED = "negated"


class GuardScope(StrEnum):
    """Where a guard's cue must stand, relative to the words the winning rule matched."""

    BEFORE = "before"  # 疑似肺结核
    AFTER = "after"  # 肺部阴影待查
    ANY = "any"  # 急性胰腺炎可能, 可能为急性胰腺炎


class ReplacementKind(StrEnum):
    """How a normalization entry finds its text."""

    LITERAL = "literal"
    PATTERN = "pattern"


class EditKind(StrEnum):
    """What a code edit (rulebase.edits) checks in a coded record; an edit marks, never changes, a code."""

    DICTIONARY = "dictionary"  # the code is not in the dictionary, or inactive there
    SEX = "sex"  # the code is for one sex only, and the record says the other
    AGE = "age"  # the code is for an age range, and the record's age is outside it
    ASTERISK_ALONE = "asterisk_alone"  # an asterisk (manifestation) code without its dagger (etiology) code
    ASTERISK_MAIN = "asterisk_main"  # an asterisk code as the main diagnosis
    DUPLICATE = "duplicate"  # the same code twice among a record's lines of one kind
    EXCLUSIVE = "exclusive"  # two codes that exclude one another in one record


class Matching(StrEnum):
    """How a line whose top rules propose several codes is decided (a per-database setting)."""

    SPANS = "spans"  # codes at separate places are several diagnoses; contained words drop out
    STRICT = "strict"  # the paper's: any two codes are ambiguous
