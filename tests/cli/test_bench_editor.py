"""The editor benches run and print their figures (timings are not asserted here)."""

from __future__ import annotations

import subprocess
import sys

from tests.cli.conftest import ROOT


def test_startup_measure_returns_wall_and_cpu_rows_against_plain_qt():
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        import startup_editor
    finally:
        sys.path.remove(str(ROOT / "bench"))
    rows = startup_editor.measure(quick=True)  # what bench/startup.py --part editor reads
    assert [r["name"] for r in rows] == [
        "editor cold start to first frame (hello), wall",
        "editor cold start to first frame (hello), CPU",
        "editor opens 500 nodes to first frame, wall",
        "editor opens 500 nodes to first frame, CPU"]
    for row in rows:
        assert set(row) == {"name", "baseline_s", "value_s", "ratio", "floor"}
        assert row["baseline_s"] > 0 and row["value_s"] > 0 and row["floor"] == 2.0
        assert row["ratio"] == row["value_s"] / row["baseline_s"]
    lines = startup_editor.table(rows).splitlines()
    assert lines[0].startswith("| figure | plain Qt | editor | ratio |") and len(lines) == 6


def test_live_bench_quick_runs_the_editor_on_a_prefilled_history():
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / "live.py"), "--quick"],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode in (0, 1), proc.stderr  # 1: above the floor on a busy machine
    out = proc.stdout
    assert "history held 1 earlier run(s)" in out and "2 runs of it recorded" in out, out
    assert any(line.startswith("during run 1") for line in out.splitlines())
    assert "garbage collector during the runs" in out
