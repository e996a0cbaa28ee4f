"""The in-database engine (`icdcoder run --engine sql`): the database's own regex operator finds
which rules match which diagnoses, as in the paper's REGEXP_LIKE design.

Per batch, the normalized texts (normalized by the same Python code as the default engine) go into
the scratch table match_text; one join with coding_rule through SQLAlchemy's regexp_match finds the
(diagnosis, rule) pairs; the rows are deleted again, all inside the batch's transaction. The matches
go to the core's `resolve` and `guard`, like the Python engine's; logs, batching, locking and crash safety are
the run's. Operators per database: Oracle REGEXP_LIKE(text, pattern, 'c'); PostgreSQL
text ~ ('(?p)' || pattern), so . never crosses a newline; SQLite the REGEXP function of
coder.db.sqlite_regexp (the regex package, with the run's timeout).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, and_, delete, func, literal, not_, or_, select, true
from sqlalchemy.exc import DBAPIError

from coder.db.models import coding_rule, match_text
from coder.db.sqlite_regexp import Regexp, install
from coder.errors import describe
from coder.run.writer import TOO_LONG, too_long
from coder.store.codes import codes_of
from rulebase.decision import Decision, Hit, Span, guard, place, prepare, resolve
from rulebase.guards import Guards
from rulebase.rule import Rule
from rulebase.verify import compile_pattern

FLAGS = {"postgresql": "p", "oracle": "c"}  # SQLite: our REGEXP function takes no flags


def regex_condition(dialect: str, text_col, pattern_col):
    return text_col.regexp_match(pattern_col, flags=FLAGS.get(dialect))


def match_query(dialect: str, run_id: int, skip: tuple[int, ...] = (), system: str | None = None):
    """(diagnosis id, rule id) for every enabled rule (but those in `skip`; of `system` when given)
    that matches a scratch text of this run."""
    text = match_text.c.normalized
    matches = and_(
        regex_condition(dialect, text, coding_rule.c.pattern),
        or_(
            coding_rule.c.exclude_pattern.is_(None), not_(regex_condition(dialect, text, coding_rule.c.exclude_pattern))
        ),
    )
    enabled = coding_rule.c.enabled == True  # noqa: E712 - SQL comparison
    if skip:
        enabled = and_(enabled, coding_rule.c.id.not_in(skip))
    if system is not None:
        enabled = and_(enabled, coding_rule.c.code.in_(codes_of(system)))
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

    def __init__(
        self,
        rules: Iterable[Rule],
        normalizer: Callable[[str], str],
        timeout: float,
        refused: dict[int, str] | None = None,
        system: str | None = None,
        guards: Guards | None = None,
        strict: bool = False,
    ):
        self.rules = {r.id: r for r in rules if r.enabled}
        self.strict = strict
        self.guards = guards  # applied in Python to what the join found, by the core's `guard`
        self.system = system  # the code system of the lines this matcher decides, and of its rules
        self.normalizer = normalizer
        self.timeout = timeout
        self.regexp = Regexp(timeout)  # SQLite's REGEXP for this run's batches
        self._spans: dict[int, Callable[[str], Span | None]] = {}
        # Rules the database's regex operator refused, with its words: skipped for the rest of the run.
        self.refused: dict[int, str] = refused if refused is not None else {}

    def _span_of(self, rule_id: int) -> Callable[[str], Span | None]:
        span_of = self._spans.get(rule_id)
        if span_of is None:
            rule = self.rules[rule_id]
            span_of = self._spans[rule_id] = compile_pattern(rule.parsed, rule.pattern, self.timeout).span
        return span_of

    def _rule_span(self, rule: Rule) -> Callable[[str], Span | None]:
        return self._span_of(rule.id)

    def _matches(self, conn: Connection, dialect: str, run_id: int) -> list:
        """The (diagnosis, rule) pairs; a rule whose pattern the database refuses is found, skipped for
        the rest of the run and reported in `refused`, and the others go on."""
        while True:
            try:
                with conn.begin_nested():
                    return conn.execute(match_query(dialect, run_id, tuple(self.refused), self.system)).all()
            except DBAPIError as exc:
                enabled = select(coding_rule.c.id).where(coding_rule.c.enabled == True)  # noqa: E712
                candidates = [i for i in conn.execute(enabled).scalars() if i not in self.refused]
                refused = self._refused(conn, dialect, candidates)
                if not refused:
                    raise
                reason = f"the database refused its pattern ({describe(exc)})"
                self.refused.update(dict.fromkeys(refused, reason))

    def _refused(self, conn: Connection, dialect: str, ids: list[int]) -> list[int]:
        """The rules among `ids` whose pattern or exclude pattern the database refuses, found by halving."""
        probe = literal(" ")
        test = and_(
            coding_rule.c.id.in_(ids),
            regex_condition(dialect, probe, coding_rule.c.pattern).is_not(None),
            or_(
                coding_rule.c.exclude_pattern.is_(None),
                regex_condition(dialect, probe, coding_rule.c.exclude_pattern).is_not(None),
            ),
        )
        try:
            with conn.begin_nested():
                conn.execute(select(func.count()).select_from(coding_rule).where(test)).scalar()
            return []
        except DBAPIError:
            if len(ids) == 1:
                return ids
        half = len(ids) // 2
        return self._refused(conn, dialect, ids[:half]) + self._refused(conn, dialect, ids[half:])

    def decide_batch(self, conn: Connection, run_id: int, batch: Sequence[Any]) -> dict[int, Decision]:
        decisions: dict[int, Decision] = {}
        texts: dict[int, str] = {}
        for row in batch:
            t = prepare(self.normalizer, row.description)
            if type(t) is not str:
                decisions[row.id] = t
            elif too_long(t):  # the scratch table could not hold it either
                decisions[row.id] = TOO_LONG
            else:
                texts[row.id] = t
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
        for d_id, rule_id in self._matches(conn, dialect, run_id):
            found.setdefault(d_id, []).append(rule_id)
        conn.execute(delete(match_text).where(match_text.c.run_id == run_id))
        slow = self._timed_out_rules()
        for d_id, t in texts.items():
            hits, timed_out = [], list(slow.get(t, ()))
            for rule_id in found.get(d_id, ()):
                rule = self.rules.get(rule_id)
                if rule is None:
                    continue  # added after the run started: the next run uses it
                if rule not in timed_out:
                    hits.append(Hit(rule))
            decided = resolve(t, hits, timed_out, strict=self.strict, span_of=self._rule_span)
            decisions[d_id] = guard(place(decided, self._span_of), self.guards)
        return decisions

    def _timed_out_rules(self) -> dict[str, list[Rule]]:
        """text -> the rules whose pattern or exclude pattern ran out of time on it (SQLite's REGEXP).

        A timed-out exclude pattern answered "found", so the join left its rule out: it could have
        matched, and is a timeout like the other, never a silent no."""
        if not self.regexp.timed_out:
            return {}
        by_pattern: dict[str, list[Rule]] = {}
        for rule in self.rules.values():
            for p in (rule.pattern, rule.exclude):
                if p is not None:
                    by_pattern.setdefault(p, []).append(rule)
        out: dict[str, list[Rule]] = {}
        for pattern, text in self.regexp.timed_out:
            for rule in by_pattern.get(pattern, ()):
                if rule not in out.setdefault(text, []):
                    out[text].append(rule)
        return out
