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



def _startup_copy(tmp_path, editor_module: str | None):
    """bench/startup.py copied into a bench folder of its own, with or without an editor
    module beside it (the real editor bench has its own smoke test: test_bench_editor.py)."""
    bench = tmp_path / "bench"
    bench.mkdir()
    (bench / "startup.py").write_text((ROOT / "bench" / "startup.py").read_text())
    if editor_module is not None:
        (bench / "startup_editor.py").write_text(editor_module)
    return bench / "startup.py"


def test_the_editor_part_is_skipped_with_a_note_when_its_module_is_absent(tmp_path):
    script = _startup_copy(tmp_path, None)
    proc = subprocess.run([sys.executable, str(script), "--quick", "--part", "editor"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "note: bench/startup_editor.py is absent" in proc.stdout
    assert "Headless" not in proc.stdout


def test_the_editor_part_prints_the_rows_its_module_measures(tmp_path):
    script = _startup_copy(tmp_path, (
        "def measure(quick):\n"
        "    return [{'measure': 'editor cold start (quick=%s)' % quick, 'figure': '0.5 s',\n"
        "             'baseline': '0.4 s', 'result': '1.25×', 'floor': '≤ 2×', 'met': True}]\n"))
    proc = subprocess.run([sys.executable, str(script), "--quick", "--part", "editor"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert ("| editor cold start (quick=True) | 0.5 s | 0.4 s | 1.25× | ≤ 2× | yes |"
            in proc.stdout.splitlines())
    assert "Every floor met" in proc.stdout
