"""Layering: the engine and the node library load no Qt; the engine imports nothing above it."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GUI_MODULES = ("PySide6", "shiboken6", "qasync", "pyqtgraph")


def _loaded_after(statement: str) -> list[str]:
    code = (f"import json, sys\n{statement}\n"
            f"print(json.dumps(sorted(sys.modules)))")
    done = subprocess.run([sys.executable, "-I", "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_importing_engine_and_nodes_loads_no_gui_module():
    modules = _loaded_after("import engine, nodes\nnodes.default_registry()")
    assert "engine" in modules and "nodes" in modules
    gui = [m for m in modules if m.split(".")[0] in GUI_MODULES]
    assert gui == []


def test_running_a_workflow_headless_loads_no_gui_module():
    modules = _loaded_after(
        "import asyncio\n"
        "from engine import Run, compile_workflow, core_registry, load\n"
        "r = core_registry()\n"
        "w = load('tests/fixtures/v1/all_constructs.loom.json', r).workflow\n"
        "assert asyncio.run(Run(compile_workflow(w, r)).execute()).ok")
    assert [m for m in modules if m.split(".")[0] in GUI_MODULES] == []


def test_engine_source_imports_nothing_from_nodes_builder_or_qt():
    forbidden = {"nodes", "builder", *GUI_MODULES}
    offenders = []
    for path in sorted((ROOT / "engine").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            else:
                continue
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] in forbidden]
    assert offenders == []
