"""The benchmark runs at a small size in CI so it cannot rot; its figures are not asserted."""

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "bench.py"


def test_benchmark_runs_and_prints_its_figures():
    out = subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            "--rules",
            "100,300",
            "--descriptions",
            "500",
            "--plain-sample",
            "50",
            "--run-size",
            "500",
            "--run-rules",
            "100",
            "--history",
            "2000",
            "--history-distinct",
            "300",
            "--history-rules",
            "100",
            "--sql-rules",
            "50",
            "--sql-size",
            "200",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert "python speed" in lines[0] and lines[0].endswith("M loops/s")
    assert lines[1].split()[:3] == ["rules", "build", "s"]
    assert [line.split()[0] for line in lines[2:4]] == ["100", "300"]
    assert lines[4].startswith("(distinct/s over ")
    assert lines[5].startswith("whole run, SQLite:     500 diagnoses")
    assert lines[6].startswith("rules test, SQLite:    ") and "audited rows" in lines[6]
