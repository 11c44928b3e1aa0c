"""Layering: the engine and the node library load no Qt; the engine imports nothing above it,
the node library nothing from the builder; the CLI's headless commands load no Qt either.

The source checks read every .py file under engine/ and nodes/ (sub-packages included), and
every import in it (inside functions too, relative ones resolved to their absolute names)."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GUI_MODULES = ("PySide6", "shiboken6", "qasync", "pyqtgraph")
HELLO = ROOT / "resources" / "examples" / "hello.loom.json"


def _loaded_after(statement: str) -> list[str]:
    code = (f"import json, sys\n{statement}\n"
            f"print(json.dumps(sorted(sys.modules)))")
    done = subprocess.run([sys.executable, "-I", "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _gui(modules: list[str]) -> list[str]:
    return [m for m in modules if m.split(".")[0] in GUI_MODULES]


def imported_modules(source: str, module: str) -> list[str]:
    """Every module the source of `module` (a dotted name; a package's is "pkg.__init__")
    imports, as absolute dotted names."""
    package = module.split(".")[:-1]  # a module's relative imports start from its package
    names: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                names.append(node.module or "")
            else:
                base = package[:len(package) - (node.level - 1)]
                names.append(".".join(base + ([node.module] if node.module else [])))
    return names


def _offenders(folder: str, forbidden: set[str]) -> tuple[list[Path], list[str]]:
    files = sorted((ROOT / folder).rglob("*.py"))
    offenders = []
    for path in files:
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        offenders += [f"{path.relative_to(ROOT)}: {name}"
                      for name in imported_modules(path.read_text(encoding="utf-8"), module)
                      if name.split(".")[0] in forbidden]
    return files, offenders


def test_importing_engine_and_nodes_loads_no_gui_module():
    modules = _loaded_after("import engine, nodes\nnodes.default_registry()")
    assert "engine" in modules and "nodes" in modules
    assert _gui(modules) == []


def test_running_a_workflow_headless_loads_no_gui_module():
    modules = _loaded_after(
        "import asyncio\n"
        "from engine import Run, compile_workflow, core_registry, load\n"
        "r = core_registry()\n"
        "w = load('tests/fixtures/v1/all_constructs.loom.json', r).workflow\n"
        "assert asyncio.run(Run(compile_workflow(w, r)).execute()).ok")
    assert _gui(modules) == []


def test_engine_source_imports_nothing_from_nodes_builder_or_qt():
    files, offenders = _offenders("engine", {"nodes", "builder", *GUI_MODULES})
    assert ROOT / "engine" / "history" / "store.py" in files  # sub-packages are read too
    assert offenders == []


def test_node_library_source_imports_nothing_from_builder_or_qt():
    files, offenders = _offenders("nodes", {"builder", *GUI_MODULES})
    assert ROOT / "nodes" / "builtin.py" in files
    assert offenders == []


def test_the_checker_sees_imports_inside_functions_and_resolves_relative_ones():
    source = ("import json\nfrom . import names\nfrom ..model import Workflow\n"
              "def later():\n    from PySide6 import QtCore\n")
    assert imported_modules(source, "engine.history.store") == [
        "json", "engine.history", "engine.model", "PySide6"]
    assert imported_modules("from .store import X\n", "engine.history.__init__") == [
        "engine.history.store"]


CLI_HARNESS = """
import contextlib, io, json, sys
from builder.cli import main
codes = {}
for args in (["validate", sys.argv[2]], ["run", sys.argv[2], "-q"],
             ["permissions", sys.argv[2]]):
    with contextlib.redirect_stdout(io.StringIO()):
        codes[args[0]] = main(args)
with open(sys.argv[1], "w") as out:
    json.dump({"codes": codes, "modules": sorted(sys.modules)}, out)
"""


def test_the_cli_runs_validates_and_checks_permissions_without_loading_qt(tmp_path):
    report = tmp_path / "report.json"
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path),
           "FLOWLOOM_HISTORY_DB": str(tmp_path / "history.db"),
           "FLOWLOOM_NODES_DIR": str(tmp_path / "no-plugins")}
    done = subprocess.run([sys.executable, "-c", CLI_HARNESS, str(report), str(HELLO)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    seen = json.loads(report.read_text())
    assert seen["codes"] == {"validate": 0, "run": 0, "permissions": 0}, done.stderr
    assert "builder.cli" in seen["modules"] and "builder.cli_trust" in seen["modules"]
    assert _gui(seen["modules"]) == []
