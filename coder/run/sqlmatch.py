"""The in-database engine (`icdcoder run --engine sql`): the database's own regex operator finds
which rules match which diagnoses, as in the paper's REGEXP_LIKE design.

Per batch, the normalized texts (normalized by the same Python code as the default engine) go into
the scratch table match_text; one join with coding_rule through SQLAlchemy's regexp_match finds the
(diagnosis, rule) pairs; the rows are deleted again, all inside the batch's transaction. The matches
go to the core's `resolve`, like the Python engine's; logs, batching, locking and crash safety are
the run's. Operators per database: Oracle REGEXP_LIKE(text, pattern, 'c'); PostgreSQL
text ~ ('(?p)' || pattern), so . never crosses a newline; SQLite the REGEXP function of
coder.db.sqlite_regexp (the regex package, with the run's timeout).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, and_, delete, not_, or_, select, true

from coder.db.models import coding_rule, match_text
from coder.db.sqlite_regexp import Regexp, install
from rulebase.decision import Decision, Hit, Span, place, prepare, resolve
from rulebase.rule import Rule
from rulebase.verify import compile_pattern

FLAGS = {"postgresql": "p", "oracle": "c"}  # SQLite: our REGEXP function takes no flags


def regex_condition(dialect: str, text_col, pattern_col):
    return text_col.regexp_match(pattern_col, flags=FLAGS.get(dialect))


def match_query(dialect: str, run_id: int):
    """(diagnosis id, rule id) for every enabled rule that matches a scratch text of this run."""
    text = match_text.c.normalized
    matches = and_(
        regex_condition(dialect, text, coding_rule.c.pattern),
        or_(
            coding_rule.c.exclude_pattern.is_(None), not_(regex_condition(dialect, text, coding_rule.c.exclude_pattern))
        ),
    )
    enabled = coding_rule.c.enabled == True  # noqa: E712 - SQL comparison
    if dialect == "postgresql":
        # Rules outside, texts inside (LATERAL): PostgreSQL keeps only 32 compiled regexes, so
        # trying every rule on one text, then the next, would compile each pattern once per text.
        texts = select(match_text.c.diagnosis_id).where(match_text.c.run_id == run_id, matches).lateral("hit")
        return (
            select(texts.c.diagnosis_id, coding_rule.c.id).select_from(coding_rule.join(texts, true())).where(enabled)
        )
    return (
        select(match_text.c.diagnosis_id, coding_rule.c.id)
        .select_from(match_text.join(coding_rule, and_(enabled, matches)))
        .where(match_text.c.run_id == run_id)
    )


class SqlMatcher:
    """Decides a batch with the database's regex operator; the rules are the run's snapshot."""

    def __init__(self, rules: Iterable[Rule], normalizer: Callable[[str], str], timeout: float):
        self.rules = {r.id: r for r in rules if r.enabled}
        self.normalizer = normalizer
        self.timeout = timeout
        self.regexp = Regexp(timeout)  # SQLite's REGEXP for this run's batches
        self._spans: dict[int, Callable[[str], Span | None]] = {}

    def _span_of(self, rule_id: int) -> Callable[[str], Span | None]:
        span_of = self._spans.get(rule_id)
        if span_of is None:
            rule = self.rules[rule_id]
            span_of = self._spans[rule_id] = compile_pattern(rule.parsed, rule.pattern, self.timeout).span
        return span_of

    def decide_batch(self, conn: Connection, run_id: int, batch: Sequence[Any]) -> dict[int, Decision]:
        decisions: dict[int, Decision] = {}
        texts: dict[int, str] = {}
        for row in batch:
            t = prepare(self.normalizer, row.description)
            if type(t) is str:
                texts[row.id] = t
            else:
                decisions[row.id] = t
        if not texts:
            return decisions
        dialect = conn.dialect.name
        if dialect == "sqlite":
            install(conn.connection.driver_connection, self.regexp)
            self.regexp.timed_out.clear()
        conn.execute(
            match_text.insert(), [{"run_id": run_id, "diagnosis_id": i, "normalized": t} for i, t in texts.items()]
        )
        found: dict[int, list[int]] = {}
        for d_id, rule_id in conn.execute(match_query(dialect, run_id)):
            found.setdefault(d_id, []).append(rule_id)
        conn.execute(delete(match_text).where(match_text.c.run_id == run_id))
        timed_out_pairs = self.regexp.timed_out
        for d_id, t in texts.items():
            hits, timed_out = [], []
            for rule_id in found.get(d_id, ()):
                rule = self.rules.get(rule_id)
                if rule is None:
                    continue  # added after the run started: the next run uses it
                if (rule.pattern, t) in timed_out_pairs or (rule.exclude, t) in timed_out_pairs:
                    timed_out.append(rule)
                else:
                    hits.append(Hit(rule))
            decisions[d_id] = place(resolve(t, hits, timed_out), self._span_of)
        return decisions
