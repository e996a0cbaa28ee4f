"""The tables, as SQLAlchemy Core metadata. Migrations create them; a test holds the two equal.

Every identifier is at most 30 characters and none is an Oracle reserved word (tests check
both with the Oracle dialect), so the same schema runs on Oracle 19c, PostgreSQL and SQLite.
Flags are 0/1 small integers: Oracle 19c has no BOOLEAN column type.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import (
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    literal_column,
    or_,
    text,
)

from rulebase.codes import ICD10
from rulebase.states import PERSON_STATUSES, Outcome, ReplacementKind, RunStatus, Status

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_name)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)

CODE = String(32)
PERSON_LENGTH = 64
PERSON = String(PERSON_LENGTH)
DESCRIPTION = String(1000)
PATTERN = String(512)
OTHER_CODES_LENGTH = 200  # diagnosis.other_codes: about 25 codes after the first


class Flag(TypeDecorator):
    """A boolean stored as 0/1, portable to Oracle 19c."""

    impl = SmallInteger
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return None if value is None else int(bool(value))

    def process_result_value(self, value, dialect):
        return None if value is None else bool(value)


def utcnow() -> dt.datetime:
    """Naive UTC: DateTime columns are naive on every backend (Oracle DATE has no zone)."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def _flag_check(column: str) -> CheckConstraint:
    return CheckConstraint(f"{column} IN (0, 1)", name=column)


def _versioned() -> list:
    """The columns every versioned table has (rules, normalization, guards, code edits,
    combinations: coder.store.versioned): enabled, version, who changed it last, when, a note."""
    return [
        Column("enabled", Flag, nullable=False, default=True),
        Column("version", Integer, nullable=False, default=1),
        Column("author", PERSON, nullable=False),
        Column("changed_at", DateTime, nullable=False, default=utcnow),
        Column("note", String(500), nullable=True),
        _flag_check("enabled"),
    ]


# The code lists, one per code system (icd10: diagnoses; icd9cm3: procedures). The systems' forms
# do not overlap (I25.103 / 36.0700), so a code is the key on its own; `system` says which list
# it belongs to, and which lines it may code. `aliases`: other names coders search by, "|"-joined.
icd_code = Table(
    "icd_code",
    metadata,
    Column("code", CODE, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("parent", CODE, nullable=True),
    Column("active", Flag, nullable=False, default=True),
    Column("updated_at", DateTime, nullable=False, default=utcnow),
    Column("code_system", String(16), nullable=False, default=ICD10, server_default=text(f"'{ICD10}'")),
    Column("aliases", String(500), nullable=True),
    _flag_check("active"),
    Index("ix_icd_code_code_system", "code_system"),
)

coding_rule = Table(
    "coding_rule",
    metadata,
    Column("id", Integer, Identity(), primary_key=True),
    Column("code", CODE, ForeignKey("icd_code.code"), nullable=False),
    Column("pattern", PATTERN, nullable=False),
    Column("exclude_pattern", PATTERN, nullable=True),
    Column("priority", Integer, nullable=False, default=0),
    *_versioned(),
    Index("ix_coding_rule_code", "code"),
)


def _history_table(name: str, key: str, target: str) -> Table:
    """Every insert, update, disable, enable and rollback of a rule (or normalization entry), with
    the values before and after (JSON text). Nothing is ever deleted from it."""
    return Table(
        name,
        metadata,
        Column("id", Integer, Identity(), primary_key=True),
        Column(key, Integer, ForeignKey(target), nullable=False),
        Column("version", Integer, nullable=False),
        Column("action", String(16), nullable=False),
        Column("author", PERSON, nullable=False),
        Column("changed_at", DateTime, nullable=False, default=utcnow),
        Column("reason", String(500), nullable=True),
        Column("old_values", Text, nullable=True),
        Column("new_values", Text, nullable=True),
        Column("rulebase_version", Integer, nullable=False),
        Index(f"ix_{name}_{key}", key),
    )


rule_history = _history_table("rule_history", "rule_id", "coding_rule.id")

# The normalization table: ordered replacements applied to every description after NFKC,
# before matching (梗塞 -> 梗死). Changes bump the rule-base version like rule changes do.
norm_rule = Table(
    "norm_rule",
    metadata,
    Column("id", Integer, Identity(), primary_key=True),
    Column("seq_no", Integer, nullable=False),
    Column("kind", String(16), nullable=False, default=ReplacementKind.LITERAL),
    Column("find_text", String(200), nullable=False),
    Column("replace_text", String(200), nullable=False),
    *_versioned(),
)

norm_history = _history_table("norm_history", "norm_id", "norm_rule.id")

# The guard table: ordered uncertainty and negation cues (疑似, 待查, 排除), each with its scope
# before / after the matched words and the longer words that do not trigger it ("|"-joined).
# A guarded line fails as uncertain / negated instead of being coded. Changes bump the
# rule-base version like rule changes do; migration 0011 inserts the starter set.
guard = Table(
    "guard",
    metadata,
    Column("id", Integer, Identity(), primary_key=True),
    Column("seq_no", Integer, nullable=False),
    Column("cue", String(20), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("scope", String(16), nullable=False),
    Column("not_within", String(200), nullable=True),
    *_versioned(),
    CheckConstraint("kind IN ('uncertain', 'negated')", name="kind"),
    CheckConstraint("scope IN ('before', 'after', 'any')", name="scope"),
)

guard_history = _history_table("guard_history", "guard_id", "guard.id")

# Code edits (rulebase.edits.CodeEdit): checks of a coded record that mark lines for review. Codes
# are "O00-O99,N70-N98"-style lists; ages in days. A change does not bump the rule-base version
# (no code changes), its history rows carry the version current at the time.
code_edit = Table(
    "code_edit",
    metadata,
    Column("id", Integer, Identity(), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("codes", String(500), nullable=True),
    Column("other_codes", String(500), nullable=True),
    Column("sex", String(1), nullable=True),
    Column("min_days", Integer, nullable=True),
    Column("max_days", Integer, nullable=True),
    Column("message", String(200), nullable=False),
    *_versioned(),
)

edit_history = _history_table("edit_history", "edit_id", "code_edit.id")

# What the edits found on a line: one row per (line, edit, reason) from the check that found it
# until the check that no longer does (cleared_at). Open marks (cleared_at NULL) are one range of
# ix_edit_hit_open, so the worklist's and the report's counts, by kind too, come from the index.
edit_hit = Table(
    "edit_hit",
    metadata,
    Column("id", Integer, Identity(), primary_key=True),
    Column("diagnosis_id", Integer, ForeignKey("diagnosis.id"), nullable=False),
    Column("edit_id", Integer, ForeignKey("code_edit.id"), nullable=False),
    Column("edit_version", Integer, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("reason", String(500), nullable=False),
    Column("found_at", DateTime, nullable=False, default=utcnow),
    Column("cleared_at", DateTime, nullable=True),
    Index("ix_edit_hit_open", "cleared_at", "kind", "diagnosis_id"),
    Index("ix_edit_hit_diagnosis_id", "diagnosis_id"),
)

# Combination codes (rulebase.combinations.Combination): when one record's lines of a kind hold all
# of `codes` ("E11.900,G63.2*"), their auto-codes become `code` (E11.401+G63.2*). A change does not
# bump the rule-base version (no line's own decision changes); its history rows carry the current one.
combination = Table(
    "combination",
    metadata,
    Column("id", Integer, Identity(), primary_key=True),
    Column("codes", String(500), nullable=False),
    Column("code", CODE, nullable=False),
    *_versioned(),
)

combo_history = _history_table("combo_history", "combo_id", "combination.id")

# A combination a person's code stood in the way of: the auto-coded lines it would have replaced,
# marked for review (one row per line and combination, open until cleared_at), like edit_hit.
combo_hit = Table(
    "combo_hit",
    metadata,
    Column("id", Integer, Identity(), primary_key=True),
    Column("diagnosis_id", Integer, ForeignKey("diagnosis.id"), nullable=False),
    Column("combo_id", Integer, ForeignKey("combination.id"), nullable=False),
    Column("combo_version", Integer, nullable=False),
    Column("reason", String(500), nullable=False),
    Column("found_at", DateTime, nullable=False, default=utcnow),
    Column("cleared_at", DateTime, nullable=True),
    Index("ix_combo_hit_open", "cleared_at", "diagnosis_id"),
    Index("ix_combo_hit_diagnosis_id", "diagnosis_id"),
)

# One row (id = 1): the rule-base version, bumped by every change to the rules. A diagnosis
# remembers the version it was attempted with, so a new rule retries old failures.
rulebase_state = Table(
    "rulebase_state",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("version", Integer, nullable=False),
    Column("changed_at", DateTime, nullable=False, default=utcnow),
)

diagnosis = Table(
    "diagnosis",
    metadata,
    Column("id", Integer, Identity(), primary_key=True),
    Column("record_id", String(64), nullable=False),
    Column("seq_no", Integer, nullable=False),
    Column("kind", String(16), nullable=False, default="discharge"),
    Column("description", DESCRIPTION, nullable=True),
    Column("code", CODE, ForeignKey("icd_code.code"), nullable=True),
    Column("coded_by", PERSON, nullable=True),
    Column("status", String(16), nullable=False, default=Status.PENDING),
    Column("fail_reason", String(16), nullable=True),
    Column("attempted_at", DateTime, nullable=True),
    Column("attempted_version", Integer, nullable=True),
    Column("created_at", DateTime, nullable=False, default=utcnow),
    Column("updated_at", DateTime, nullable=False, default=utcnow),
    # The homepage's 出院科别, copied (imports.homepage.sync_departments) so the worklist reads one
    # department's lines from an index range rather than joining the department's homepages.
    Column("department", String(100), nullable=True),
    # A line naming several diagnoses at separate places: the codes after `code` (the first in text
    # order), comma-separated; NULL for a line of one code (line_codes reads both).
    Column("other_codes", String(OTHER_CODES_LENGTH), nullable=True),
    UniqueConstraint("record_id", "kind", "seq_no", name="uq_diagnosis_record"),
    # (status, id): a run reads each status's waiting rows in id order straight from the index.
    Index("ix_diagnosis_status", "status", "id"),
    # The workbench's worklist: each group (auto-codes, each failure reason) is one range of it,
    # oldest attempt first, so a page and its counts are read from the index alone.
    Index("ix_diagnosis_review", "status", "fail_reason", "attempted_at", "id", "kind", "code"),
    # Partial: a line without a department (the long layout) costs a run nothing here.
    Index(
        "ix_diagnosis_department",
        "department",
        "status",
        "fail_reason",
        "attempted_at",
        "id",
        sqlite_where=text("department IS NOT NULL"),
        postgresql_where=text("department IS NOT NULL"),
    ),
)


def line_codes(code: str | None, other_codes: str | None) -> tuple[str, ...]:
    """A line's codes in text order: its first (`code`) and the others stored beside it."""
    if code is None:
        return ()
    return (code, *other_codes.split(",")) if other_codes else (code,)


def line_columns(codes: Sequence[str]) -> tuple[str | None, str | None]:
    """(code, other_codes) as a line stores a list of codes; a repeated code is kept once."""
    unique = list(dict.fromkeys(codes))
    if not unique:
        return None, None
    other = ",".join(unique[1:]) or None
    if other is not None and len(other) > OTHER_CODES_LENGTH:
        raise ValueError(f"{len(unique)} codes do not fit one line ({OTHER_CODES_LENGTH} characters after the first)")
    return unique[0], other


def audited(status=diagnosis.c.status):
    """The WHERE of the audited history (a person's status), written with literal values: it is also
    the partial index's WHERE, and SQLite uses a partial index only for a query that spells out the
    same term (a bound parameter in its place hides it). Equalities joined by OR, not IN: SQLite
    evaluates the index's WHERE for every row a run updates, and an IN list of three constants
    builds a lookup table each time (about 0.3 s more per 100,000 lines a run updates)."""
    return or_(*(status == literal_column(f"'{s}'") for s in PERSON_STATUSES))


# The audited history by day (reports, rule testing, mining), read from the index alone. Partial on
# SQLite and PostgreSQL, so a run, which never writes a person's status, never updates it; Oracle has
# no partial index and keeps every line in it.
Index(
    "ix_diagnosis_audited",
    diagnosis.c.updated_at,
    diagnosis.c.status,
    diagnosis.c.code,
    diagnosis.c.attempted_at,
    diagnosis.c.kind,
    diagnosis.c.other_codes,  # a line of several codes is counted code by code (reports)
    sqlite_where=audited(),
    postgresql_where=audited(),
)

# One row per discharge homepage (住院病案首页) imported in the homepage layout: the patient
# fields the code edits need, and the discharge summary's own diagnosis list (出院诊断) for coders
# to read. Clinical notes are never stored. Lines of the record are the diagnosis rows with its id.
homepage = Table(
    "homepage",
    metadata,
    Column("record_id", String(64), primary_key=True),
    Column("mrn", String(64), nullable=False),  # 病案号 (or 住院号 / ID, whichever identified it)
    Column("admission_no", String(16), nullable=True),  # 住院次数
    Column("sex", String(1), nullable=True),  # M, F; None when not stated
    Column("age", String(16), nullable=True),  # as written: 45, 45岁, 3月, 12天
    Column("birth_date", DateTime, nullable=True),
    Column("admitted_at", DateTime, nullable=True),
    Column("discharged_at", DateTime, nullable=True),
    Column("department", String(100), nullable=True),  # 出院科别
    Column("discharge_text", DESCRIPTION, nullable=True),  # 出院诊断, the summary's run-on list
    Column("created_at", DateTime, nullable=False, default=utcnow),
    Column("updated_at", DateTime, nullable=False, default=utcnow),
    CheckConstraint("sex IN ('M', 'F')", name="sex"),
    Index("ix_homepage_department", "department"),
)

coding_run = Table(
    "coding_run",
    metadata,
    Column("id", Integer, Identity(), primary_key=True),
    Column("started_at", DateTime, nullable=False, default=utcnow),
    Column("ended_at", DateTime, nullable=True),
    Column("heartbeat_at", DateTime, nullable=True),
    Column("host", String(255), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("rulebase_version", Integer, nullable=False),
    Column("engine", String(16), nullable=False, default="python"),
    Column("status", String(16), nullable=False, default=RunStatus.RUNNING),
    Column("considered", Integer, nullable=False, default=0),
    Column("coded", Integer, nullable=False, default=0),
    Column("no_match", Integer, nullable=False, default=0),
    Column("ambiguous", Integer, nullable=False, default=0),
    Column("invalid_input", Integer, nullable=False, default=0),
    Column("timeouts", Integer, nullable=False, default=0),
    Column("error", String(1000), nullable=True),
    Column("too_long", Integer, nullable=False, default=0, server_default=text("0")),
    Column("uncertain", Integer, nullable=False, default=0, server_default=text("0")),
    Column("negated", Integer, nullable=False, default=0, server_default=text("0")),
)

# The run's counts by outcome, and the coding_run column each is kept in.
RUN_COUNTS = {
    "considered": "considered",
    Outcome.CODED: "coded",
    Outcome.NO_MATCH: "no_match",
    Outcome.AMBIGUOUS: "ambiguous",
    Outcome.INVALID_INPUT: "invalid_input",
    Outcome.TIMEOUT: "timeouts",
    Outcome.TOO_LONG: "too_long",
    Outcome.UNCERTAIN: "uncertain",
    Outcome.NEGATED: "negated",
}

# The single-runner lock: the primary key makes taking it atomic on every backend.
run_lock = Table(
    "run_lock",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("run_id", Integer, ForeignKey("coding_run.id"), nullable=False),
    Column("host", String(255), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("acquired_at", DateTime, nullable=False, default=utcnow),
    Column("heartbeat_at", DateTime, nullable=False, default=utcnow),
)

code_log = Table(
    "code_log",
    metadata,
    Column("id", Integer, Identity(), primary_key=True),
    Column("run_id", Integer, ForeignKey("coding_run.id"), nullable=False),
    Column("diagnosis_id", Integer, ForeignKey("diagnosis.id"), nullable=False),
    Column("code", CODE, nullable=False),
    Column("rule_id", Integer, ForeignKey("coding_rule.id"), nullable=False),
    Column("rule_version", Integer, nullable=False),
    Column("normalized", DESCRIPTION, nullable=False),
    Column("match_start", Integer, nullable=False),
    Column("match_end", Integer, nullable=False),
    Column("logged_at", DateTime, nullable=False, default=utcnow),
    # A combination code (coder.store.combinations): the row and version that gave it, the lines it
    # combined ("12,13", the first holds it) and this line's own code before.
    Column("combination_id", Integer, nullable=True),
    Column("combination_version", Integer, nullable=True),
    Column("source_ids", String(200), nullable=True),
    Column("source_code", CODE, nullable=True),
    # A row per code of the line: 0 is the line's first code, 1 the first of its other_codes, ...
    Column("position", Integer, nullable=False, default=0, server_default=text("0")),
    UniqueConstraint("run_id", "diagnosis_id", "position", name="uq_code_log_run_diag"),
    Index("ix_code_log_diagnosis_id", "diagnosis_id"),
)

fail_log = Table(
    "fail_log",
    metadata,
    Column("id", Integer, Identity(), primary_key=True),
    Column("run_id", Integer, ForeignKey("coding_run.id"), nullable=False),
    Column("diagnosis_id", Integer, ForeignKey("diagnosis.id"), nullable=False),
    Column("reason", String(16), nullable=False),
    Column("candidates", String(2000), nullable=True),  # JSON: [{"code": .., "rule_ids": [..]}]
    Column("normalized", DESCRIPTION, nullable=True),
    Column("logged_at", DateTime, nullable=False, default=utcnow),
    # An uncertain or negated line's: the guard whose cue stopped it (its history row is the id and
    # version) and the cue's place in `normalized`.
    Column("guard_id", Integer, ForeignKey("guard.id"), nullable=True),
    Column("guard_version", Integer, nullable=True),
    Column("cue_start", Integer, nullable=True),
    Column("cue_end", Integer, nullable=True),
    UniqueConstraint("run_id", "diagnosis_id", name="uq_fail_log_run_diag"),
    Index("ix_fail_log_diagnosis_id", "diagnosis_id"),
)

# Every review by a coder: confirm, correct (the auto-code was wrong) or code (a failure coded by
# hand), with the state before, the rule that produced the old code, and for failures the reason
# and candidates, so rule authors can see what each correction answers. Nothing is deleted.
audit_action = Table(
    "audit_action",
    metadata,
    Column("id", Integer, Identity(), primary_key=True),
    Column("diagnosis_id", Integer, ForeignKey("diagnosis.id"), nullable=False),
    Column("action", String(16), nullable=False),
    Column("person", PERSON, nullable=False),
    Column("acted_at", DateTime, nullable=False, default=utcnow),
    Column("old_status", String(16), nullable=False),
    Column("old_code", CODE, nullable=True),
    Column("new_code", CODE, nullable=False),
    Column("remark", String(500), nullable=True),
    Column("rule_id", Integer, nullable=True),
    Column("rule_version", Integer, nullable=True),
    Column("fail_reason", String(16), nullable=True),
    Column("candidates", String(2000), nullable=True),
    Column("normalized", DESCRIPTION, nullable=True),
    # The lists after the first codes, as diagnosis.other_codes keeps them (NULL: one code).
    Column("old_other_codes", String(200), nullable=True),
    Column("new_other_codes", String(200), nullable=True),
    Index("ix_audit_action_diagnosis_id", "diagnosis_id"),
    Index("ix_audit_action_acted_at", "acted_at"),
)

# Scratch rows for the in-database engine (run --engine sql): one batch's normalized texts, inserted
# and deleted inside the batch's transaction, so the database's own regex operator can join them
# with the rules. Normalization stays in one place (Python) for every engine.
match_text = Table(
    "match_text",
    metadata,
    Column("run_id", Integer, primary_key=True, autoincrement=False),
    Column("diagnosis_id", Integer, primary_key=True, autoincrement=False),
    Column("normalized", DESCRIPTION, nullable=False),
)

# The people who log in to the web workbench (icdcoder users …). `name` is the person written into
# audit_action.person and the history tables' author, hence PERSON's length. The password is an
# argon2 hash; failed_logins and locked_until rate-limit logins across processes (coder.services.users).
# The roles are coder.store.users.Role.
app_user = Table(
    "app_user",
    metadata,
    Column("id", Integer, Identity(), primary_key=True),
    Column("name", PERSON, nullable=False, unique=True),
    Column("role", String(16), nullable=False),
    Column("password_hash", String(255), nullable=False),
    Column("enabled", Flag, nullable=False, default=True),
    Column("created_at", DateTime, nullable=False, default=utcnow),
    Column("password_changed_at", DateTime, nullable=False, default=utcnow),
    Column("failed_logins", Integer, nullable=False, default=0),
    Column("locked_until", DateTime, nullable=True),
    Column("last_login_at", DateTime, nullable=True),
    CheckConstraint("role IN ('coder', 'author', 'admin')", name="role"),
    _flag_check("enabled"),
)

# Per-database settings, one row a name: the web's session secret (web_secret), later others.
app_setting = Table(
    "app_setting",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", String(1000), nullable=False),
    Column("changed_at", DateTime, nullable=False, default=utcnow),
)
