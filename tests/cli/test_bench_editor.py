"""The editor benches run and print their figures (timings are not asserted here)."""

from __future__ import annotations

import subprocess
import sys

from tests.cli.conftest import ROOT


def test_startup_bench_quick_prints_wall_and_cpu_rows_against_plain_qt():
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / "startup_editor.py"),
                           "--quick"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    rows = [line for line in proc.stdout.splitlines() if line.startswith("| editor")]
    assert [r.split("|")[1].strip() for r in rows] == [
        "editor cold start to first frame (hello), wall",
        "editor cold start to first frame (hello), CPU",
        "editor opens 500 nodes to first frame, wall",
        "editor opens 500 nodes to first frame, CPU"]
    for row in rows:
        cells = [c.strip() for c in row.split("|")[1:-1]]
        plain, editor = (float(c.removesuffix(" s")) for c in cells[1:3])
        ratio = float(cells[3].split("x")[0])
        assert plain > 0 and editor > 0 and abs(ratio - editor / plain) < 0.05


def test_startup_measure_returns_the_rows_startup_py_reads():
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        import startup_editor
    finally:
        sys.path.remove(str(ROOT / "bench"))
    rows = startup_editor.measure(quick=True)
    assert len(rows) == 4
    for row in rows:
        assert set(row) == {"name", "baseline_s", "value_s", "ratio", "floor"}
        assert row["floor"] == 2.0 and row["ratio"] == row["value_s"] / row["baseline_s"]


def test_live_bench_quick_runs_the_editor_on_a_prefilled_history():
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / "live.py"), "--quick"],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode in (0, 1), proc.stderr  # 1: above the floor on a busy machine
    out = proc.stdout
    assert "history held 1 earlier run(s)" in out and "2 runs of it recorded" in out, out
    assert any(line.startswith("during run 1") for line in out.splitlines())
    assert "garbage collector during the runs" in out
