"""The REGEXP function of SQLite connections (`x REGEXP pattern`).

It uses the regex package with a timeout, compiled patterns cached. A pattern that runs out of
time cannot answer yes or no: the (pattern, text) pair is recorded in the function's `timed_out`
and reported as a match, and the in-database engine turns every recorded pair into a `timeout`
outcome, as the Python engine does. Each connection gets a function with the default timeout; the
in-database engine installs one with the run's timeout on the connection of each batch.
"""

from __future__ import annotations

from functools import lru_cache

import regex

from rulebase.verify import DEFAULT_TIMEOUT


@lru_cache(maxsize=65536)
def _compiled(pattern: str):
    return regex.compile(pattern).search


class Regexp:
    """One REGEXP function: its timeout and the pairs that ran out of it."""

    def __init__(self, timeout: float = DEFAULT_TIMEOUT):
        self.timeout = timeout
        self.timed_out: set[tuple[str, str]] = set()

    def __call__(self, pattern: str | None, text: str | None) -> int | None:
        if pattern is None or text is None:
            return None
        try:
            return 1 if _compiled(pattern)(text, None, None, None, False, self.timeout) is not None else 0
        except TimeoutError:
            self.timed_out.add((pattern, text))
            return 1


def install(dbapi_connection, function: Regexp) -> None:
    """Make `function` the connection's REGEXP (replacing SQLAlchemy's, which is Python's re without a timeout)."""
    dbapi_connection.create_function("regexp", 2, function, deterministic=True)
