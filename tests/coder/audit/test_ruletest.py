"""Rule changes judged against the audited history: `rules test`, and add/edit/import refusing regressions."""

import json

import pytest

from tests.conftest import SAMPLE, write_csv

# A hand-made audited history (person codes) and one pending diagnosis that must not count.
HISTORY = [
    ("r1", "冠心病", "I25.103"),
    ("r2", "冠心病", "I25.103"),
    ("r3", "冠心病", "I25.103"),
    ("r4", "冠状动脉粥样硬化性心脏病", "I25.103"),
    ("r5", "冠心病 不稳定型心绞痛", "I20.000"),
    ("r6", "冠心病　不稳定型心绞痛", "I20.000"),
    ("r7", "冠脉粥样硬化", "I25.103"),
    ("r8", "高血压病3级", "I10.x00x004"),
    ("r9", "冠心病", ""),
]


@pytest.fixture
def invoke(migrated_invoke, tmp_path):
    run = migrated_invoke
    run("dict", "import", str(SAMPLE / "codes.csv"))
    run("rules", "add", "--code", "I25.103", "--pattern", "冠(状动脉粥样硬化性)?心(脏)?病", "--author", "王芳")
    run("rules", "add", "--code", "I20.000", "--pattern", "不稳定(型)?心绞痛", "--author", "王芳")
    f = write_csv(
        tmp_path / "history.csv",
        ["record_id", "description", "code", "coder"],
        [[r, d, c, "李娜" if c else ""] for r, d, c in HISTORY],
    )
    assert run("diagnoses", "import", str(f)).exit_code == 0
    return run


def test_rules_test_counts_on_a_hand_made_history(invoke):
    r = invoke("rules", "test", "--pattern", "冠心病", "--code", "I25.103", "--json")
    assert r.exit_code == 0
    out = json.loads(r.output)
    assert out["audited"] == 8
    (rule,) = out["rules"]
    # matches: 冠心病 x3 (I25.103) and 冠心病 不稳定型心绞痛 x2 (I20.000, both spellings normalize alike)
    assert (rule["matches"], rule["true_positives"], rule["false_positives"], rule["false_negatives"]) == (5, 3, 2, 2)
    assert rule["false_positive_codes"] == [{"code": "I20.000", "count": 2, "examples": ["冠心病 不稳定型心绞痛"]}]
    assert rule["missed_examples"] == ["冠状动脉粥样硬化性心脏病", "冠脉粥样硬化"]
    assert rule["collisions"] == []  # the text was ambiguous already; the candidate adds no new ambiguity


COLLIDING = "冠状动脉粥样硬化性心脏病|冠脉粥样硬化"  # the same words as rule 1's match on r4: a real collision


def test_a_rule_for_words_inside_another_codes_match_breaks_nothing_unless_strict(invoke):
    """粥样硬化 lies inside 冠状动脉粥样硬化性心脏病, which rule 1 matches whole: the longer match wins
    (README point 3), so the line stays correctly coded; the paper's strict semantics collide."""
    out = json.loads(invoke("rules", "test", "--pattern", "粥样硬化", "--code", "I70.203", "--json").output)
    assert (out["broken"], out["rules"][0]["collisions"]) == (0, [])
    assert invoke("settings", "set", "matching", "strict").exit_code == 0
    out = json.loads(invoke("rules", "test", "--pattern", "粥样硬化", "--code", "I70.203", "--json").output)
    assert (out["broken"], out["rules"][0]["collisions"]) == (1, [{"rule_id": 1, "count": 1}])


def test_rules_test_reports_new_ambiguities_with_the_colliding_rule(invoke):
    out = json.loads(invoke("rules", "test", "--pattern", COLLIDING, "--code", "I70.203", "--json").output)
    (rule,) = out["rules"]
    assert (rule["matches"], rule["true_positives"], rule["false_positives"]) == (2, 0, 2)
    assert rule["collisions"] == [{"rule_id": 1, "count": 1}]
    assert rule["collision_examples"] == ["冠状动脉粥样硬化性心脏病"]
    assert (out["broken"], out["fixed"]) == (1, 0)
    text = invoke("rules", "test", "--pattern", COLLIDING, "--code", "I70.203").output
    assert text.splitlines()[0] == (
        "candidate: matches 2 audited lines: 0 coded I70.203 by persons (true "
        "positives), 2 coded otherwise (false positives); misses 0 coded I70.203 "
        "(false negatives)"
    )
    assert "  new ambiguities with rule 1 (x1): 冠状动脉粥样硬化性心脏病" in text


def test_add_that_breaks_correct_codes_is_refused_unless_forced(invoke):
    r = invoke("rules", "add", "--code", "I70.203", "--pattern", COLLIDING, "--author", "王芳")
    assert r.exit_code == 1
    assert r.output.endswith(
        "refused: this change would turn 1 correctly coded audited diagnoses wrong or uncoded; "
        "nothing was written. Narrow the rule, or repeat with --force.\n"
    )
    assert json.loads(invoke("rules", "list", "--json").output)[-1]["id"] == 2
    r = invoke("rules", "add", "--code", "I70.203", "--pattern", COLLIDING, "--author", "王芳", "--force")
    assert r.exit_code == 0 and r.output.endswith("rule 3 added (version 1)\n")


def test_add_that_fixes_codes_prints_the_summary(invoke):
    r = invoke("rules", "add", "--code", "I25.103", "--pattern", "冠脉粥样硬化", "--author", "王芳")
    assert r.exit_code == 0
    assert (
        "against 8 audited lines: 1 would become correctly coded, 0 correctly coded would become wrong or uncoded"
    ) in r.output


def test_disable_and_edit_are_judged_too(invoke):
    r = invoke("rules", "disable", "1", "--author", "王芳")
    assert r.exit_code == 1 and "would turn 4 correctly coded audited diagnoses wrong or uncoded" in r.output
    r = invoke("rules", "edit", "1", "--pattern", "冠状动脉", "--author", "王芳")
    assert r.exit_code == 1 and "would turn 3 correctly coded" in r.output
    assert json.loads(invoke("rules", "show", "1", "--json").output)["version"] == 1
    assert invoke("rules", "edit", "1", "--pattern", "冠状动脉", "--author", "王芳", "--force").exit_code == 0


def test_import_is_judged_and_dry_run_shows_the_impact(invoke, tmp_path):
    f = write_csv(tmp_path / "rules.csv", ["code", "pattern"], [["I70.203", COLLIDING]])
    dry = invoke("rules", "import", str(f), "--author", "王芳", "--dry-run")
    assert dry.exit_code == 0 and "1 correctly coded would become wrong or uncoded" in dry.output
    r = invoke("rules", "import", str(f), "--author", "王芳")
    assert r.exit_code == 1 and "refused: this change would turn 1 correctly coded" in r.output
    assert len(json.loads(invoke("rules", "list", "--json").output)) == 2
    assert invoke("rules", "import", str(f), "--author", "王芳", "--force").exit_code == 0


def test_list_search_finds_text_in_pattern_note_and_code(invoke):
    invoke(
        "rules",
        "add",
        "--code",
        "I10.x00x004",
        "--pattern",
        "高血压(病)?.{0,2}3级",
        "--note",
        "100%_分级",
        "--author",
        "王芳",
    )
    ids = lambda *a: [r["id"] for r in json.loads(invoke("rules", "list", "--json", *a).output)]  # noqa: E731
    assert ids("--search", "心绞痛") == [2]
    assert ids("--search", "I25") == [1]
    assert ids("--search", "%_") == [3]  # LIKE wildcards are matched as themselves
    assert ids("--search", ".{0,2}") == [3]
    assert ids("--search", "nothing") == []


def test_judging_on_the_kept_rule_base_agrees_with_building_it_each_time(seeded, tmp_path):
    """check_change reads the stored rule base and history from audit.cache and prefilters the
    texts by the changed rules' words; the plain path builds the rest of the rule base for each
    change and tries every text. Both must judge every change alike."""
    import csv
    import dataclasses
    import random

    from coder.audit import ruletest
    from coder.services.diagnoses import import_diagnoses
    from coder.services.rules import import_rules
    from coder.store import rules as rulestore
    from rulebase.engine import RuleSet

    with (SAMPLE / "rules.csv").open(encoding="utf-8") as f:
        rules = [r for r in csv.DictReader(f) if r["code"][0].isalpha()]
    write_csv(tmp_path / "rules.csv", list(rules[0]), [list(r.values()) for r in rules])
    import_rules(seeded, tmp_path / "rules.csv", "王芳", "sample")
    with seeded.connect() as conn:
        stored = rulestore.load_rules(conn)
    engine_set = RuleSet(stored)
    codes = sorted({r.code for r in stored})
    rng = random.Random(3)
    with (SAMPLE / "diagnoses.csv").open(encoding="utf-8") as f:
        texts = [row["description"] for row in csv.DictReader(f) if not row["description"][:1].isdigit()]
    rows = []
    for i, t in enumerate(texts):  # persons mostly agree with the rules, sometimes not
        d = engine_set.decide(t)
        code = d.code if d.code and rng.random() < 0.8 else rng.choice(codes)
        rows.append([f"H{i}", t, code, "李娜"])
    import_diagnoses(seeded, write_csv(tmp_path / "history.csv", ["record_id", "description", "code", "coder"], rows))

    def both(old, new):
        with seeded.connect() as conn:
            changed = frozenset({r.id for r in (*old, *new) if r.id is not None})
            others = [r for r in rulestore.load_rules(conn) if r.id not in changed]
            kept = ruletest.judge(conn, None, old, new, left_out=changed).to_json()
            plain = ruletest.judge(conn, others, old, new).to_json()
        kept.pop("seconds"), plain.pop("seconds")
        return kept, plain

    picked = rng.sample(stored, 12)
    changes = [([], [dataclasses.replace(picked[0], id=None, pattern="心")])]  # a broad new rule
    changes += [([r], [dataclasses.replace(r, enabled=False, version=r.version + 1)]) for r in picked[1:5]]
    changes += [([r], [dataclasses.replace(r, priority=r.priority + 5, version=r.version + 1)]) for r in picked[5:9]]
    changes += [([r], [dataclasses.replace(r, code=picked[0].code, version=r.version + 1)]) for r in picked[9:]]
    for old, new in changes:
        kept, plain = both(old, new)
        assert kept == plain, (old, new)
    assert any(both(old, new)[0]["broken"] for old, new in changes)  # the changes are not all harmless


def test_a_rule_is_judged_as_the_run_would_decide_with_the_guards(invoke, tmp_path):
    """A guarded text is a failure whatever the rules say: a rule that matches 疑似肺炎 does not
    "fix" the person's J18.900 there, as the run would not code it (the starter guard 疑似)."""
    f = write_csv(
        tmp_path / "more.csv",
        ["record_id", "description", "code", "coder"],
        [["p1", "肺炎", "J18.900", "李娜"], ["p2", "肺炎", "J18.900", "李娜"], ["p3", "疑似肺炎", "J18.900", "李娜"]],
    )
    assert invoke("diagnoses", "import", str(f)).exit_code == 0
    out = json.loads(invoke("rules", "test", "--pattern", "肺炎", "--code", "J18.900", "--json").output)
    (rule,) = out["rules"]
    assert (rule["matches"], rule["true_positives"]) == (3, 3)  # what the rule matches, guards aside
    assert out["fixed"] == 2  # what the run would code right: not the guarded line
