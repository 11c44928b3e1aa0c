"""`bench/startup.py --quick` launches real processes and prints its table (timings are not
asserted here: the machine is shared)."""

from __future__ import annotations

import subprocess
import sys

from tests.cli.conftest import ROOT


def test_startup_bench_quick_prints_every_headless_row():
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / "startup.py"), "--quick",
                           "--part", "headless"], cwd=ROOT, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert "| measure | figure | baseline (same run) | result | floor | met |" in lines
    rows = [line for line in lines if line.startswith("| ") and not line.startswith(
        ("| measure", "|---"))]
    names = ["flowloom run hello", "chain, `flowloom run --json`", "`flowloom validate`",
             "dense layered DAG", "foreach over", "async nodes"]
    assert len(rows) == len(names)
    for name, row in zip(names, rows):
        assert name in row, (name, row)
        assert row.rstrip().endswith(("| yes |", "| **no** |"))


def test_startup_bench_editor_part_runs_the_editor_module_or_says_it_is_absent():
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / "startup.py"), "--quick",
                           "--part", "editor"], cwd=ROOT, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr
    if (ROOT / "bench" / "startup_editor.py").exists():
        assert "Editor\n\n| measure |" in proc.stdout
    else:
        assert "note: bench/startup_editor.py is absent" in proc.stdout
    assert "Headless" not in proc.stdout
