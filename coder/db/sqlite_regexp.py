"""The REGEXP function registered on every SQLite connection (`x REGEXP pattern`).

It uses the regex package with the engine's timeout, compiled patterns cached. A pattern that runs
out of time cannot answer yes or no: it is recorded in TIMED_OUT (pattern, text) and reported as a
match, and the in-database engine turns every recorded pair into a `timeout` outcome, as the
Python engine does.
"""

from __future__ import annotations

from functools import lru_cache

import regex

TIMEOUT = 0.25  # seconds, as coder.engine.DEFAULT_TIMEOUT; the engine sets it for a run
TIMED_OUT: set[tuple[str, str]] = set()


@lru_cache(maxsize=65536)
def _compiled(pattern: str):
    return regex.compile(pattern).search


def regexp(pattern: str | None, text: str | None) -> int | None:
    if pattern is None or text is None:
        return None
    try:
        return 1 if _compiled(pattern)(text, None, None, None, False, TIMEOUT) is not None else 0
    except TimeoutError:
        TIMED_OUT.add((pattern, text))
        return 1
