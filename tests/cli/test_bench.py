"""`bench/engine.py --quick` runs and prints its tables (timings are not asserted here)."""

from __future__ import annotations

import subprocess
import sys

from tests.cli.conftest import ROOT


def test_bench_quick_prints_a_markdown_table():
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / "engine.py"), "--quick"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert any(line.startswith("| workload | nodes | engine ms") for line in lines)
    rows = [line.split("|")[1:3] for line in lines if line.startswith(("| chain", "| fan",
                                                                        "| layered"))]
    assert sorted((shape.strip(), n.strip()) for shape, n in rows) == sorted(
        (shape, n) for shape in ("chain", "fan", "layered") for n in ("100", "1,000"))
    assert any("100 parallel 50 ms util.delay" in line for line in lines)
    assert any("compile_workflow (layered)" in line for line in lines)
