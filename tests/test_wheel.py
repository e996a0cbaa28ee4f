"""A built wheel, installed in a fresh virtual environment, can migrate and run (not only a checkout)."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_wheel_install_migrates_and_runs_the_demo(tmp_path):
    dist = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(dist), str(ROOT)], check=True, capture_output=True
    )
    wheel = next(dist.glob("icdcoder-*.whl"))
    venv = tmp_path / "venv"
    # The dependencies come from this interpreter's site-packages; the wheel itself is what is tested.
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True)
    py = venv / "bin" / "python"
    subprocess.run(
        [str(py), "-m", "pip", "install", "-q", "--no-deps", "--force-reinstall", str(wheel)],
        check=True,
        capture_output=True,
    )
    work = tmp_path / "work"
    work.mkdir()
    where = subprocess.run(
        [
            str(py),
            "-c",
            "import coder, icdcoder_migrations; print(coder.__file__); print(icdcoder_migrations.__file__)",
        ],
        cwd=work,
        capture_output=True,
        text=True,
        check=True,
    )
    assert all(str(venv) in line for line in where.stdout.split()), where.stdout
    exe = venv / "bin" / "icdcoder"
    env = {"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "ICDCODER_DB": f"sqlite:///{work / 'h.db'}"}
    up = subprocess.run([str(exe), "db", "upgrade"], cwd=work, capture_output=True, text=True, env=env)
    assert up.returncode == 0 and "schema upgraded from empty to" in up.stdout, up.stderr
    demo = subprocess.run([str(exe), "demo", "--json"], cwd=work, capture_output=True, text=True, env=env)
    assert demo.returncode == 0, demo.stderr
    assert json.loads(demo.stdout)["coded"] > 250
