"""`flowloom run` / `validate` / `nodes` print their result without loading SQLAlchemy, pydantic
or Qt, and a run still records its history row (through stdlib sqlite3) into an existing DB."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

from engine.history import HistoryStore, list_runs
from tests.cli.conftest import EXAMPLES, ROOT, cli_env

HEAVY = ("sqlalchemy", "sqlmodel", "pydantic", "pydantic_core", "PySide6")
HELLO = EXAMPLES / "hello.loom.json"

# Runs builder.cli.main in a real child process; on the first write to stdout (the result)
# it notes which modules are loaded, and again at exit.
HARNESS = """
import json, sys
seen = {}
class Watch:
    def __init__(self, stream):
        self.stream = stream
    def write(self, text):
        seen.setdefault("at_result", sorted(sys.modules))
        return self.stream.write(text)
    def __getattr__(self, name):
        return getattr(self.stream, name)
sys.stdout = Watch(sys.stdout)
from builder.cli import main
code = main(sys.argv[2:])
sys.stdout.flush()
with open(sys.argv[1], "w") as out:
    json.dump({"code": code, "at_result": seen.get("at_result"), "at_exit": sorted(sys.modules)},
              out)
"""


def _modules(tmp_path: Path, *args: str) -> dict:
    report = tmp_path / "modules.json"
    env = cli_env(FLOWLOOM_HISTORY_DB=str(tmp_path / "history.db"),
                  FLOWLOOM_NODES_DIR=str(tmp_path / "no-plugins"))
    proc = subprocess.run([sys.executable, "-c", HARNESS, str(report), *args], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return json.loads(report.read_text())


def _heavy(modules: list[str]) -> list[str]:
    return [m for m in modules if m.split(".")[0] in HEAVY]


def test_a_run_prints_its_result_and_records_history_without_sqlalchemy(tmp_path):
    first = _modules(tmp_path, "run", str(HELLO), "-q")  # creates the database
    assert first["code"] == 0
    second = _modules(tmp_path, "run", str(HELLO), "-q", "--input", "n=1")
    assert second["code"] == 0
    assert second["at_result"] is not None
    assert _heavy(second["at_result"]) == []
    assert _heavy(second["at_exit"]) == []  # the row went in through stdlib sqlite3
    with HistoryStore.open(tmp_path / "history.db") as store:
        runs = list_runs(store)
    assert [(r.status, r.inputs.get("n")) for r in runs] == [("succeeded", 1),
                                                             ("succeeded", 3)]
    newest = runs[0]
    assert newest.ended_at is not None and newest.duration_s is not None
    assert newest.content_hash == hashlib.sha256(HELLO.read_bytes()).hexdigest()
    assert {n.node_id: n.status for n in newest.nodes}["small"] == "succeeded"


def test_validate_and_nodes_load_no_heavy_module(tmp_path):
    for args in (("validate", str(HELLO)), ("validate", str(HELLO), "--json"),
                 ("nodes",), ("nodes", "--json")):
        seen = _modules(tmp_path, *args)
        assert seen["code"] == 0, args
        assert _heavy(seen["at_exit"]) == [], args
