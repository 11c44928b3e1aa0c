"""Files holding a person's data are readable by that person only, whatever the umask: the
history DB (and SQLite's -wal/-shm), the memory DB, the credentials file, autosave and recovery
files are 0600, the folders made for them 0700.

Every child here runs with umask 000, so a file created without an explicit mode would come out
0666 (a folder 0777): each mode checked below was set on purpose."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from builder.commands import SetParamCommand
from builder.document import Document, Session
from engine.model import Node, Workflow
from engine.private import private_dir, private_sqlite, write_private_text
from nodes import default_registry
from tests.builder.shell_support import Answers, temp_settings
from tests.cli.conftest import ROOT, cli_env

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")

REMEMBER = {"format": "flowloom.workflow", "version": 1, "name": "remember",
            "nodes": [{"id": "v", "type": "data.value", "params": {"value": "a note"}},
                      {"id": "m", "type": "memory.save", "params": {"memory_key": "notes"}},
                      {"id": "o", "type": "flow.output", "params": {"name": "id"}}],
            "edges": [{"source": "v", "source_port": "out", "target": "m",
                       "target_port": "text"},
                      {"source": "m", "source_port": "id", "target": "o",
                       "target_port": "in"}]}


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _modes_below(root: Path) -> dict[str, int]:
    found = {".": _mode(root)}
    for path in sorted(root.rglob("*")):
        found[str(path.relative_to(root))] = _mode(path)
    return found


def _cli(*args: str, env: dict[str, str], stdin: str | None = None
         ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "builder", *args], cwd=ROOT, env=env,
                          input=stdin, capture_output=True, text=True, timeout=120,
                          preexec_fn=lambda: os.umask(0))


def _user_dirs(tmp_path: Path) -> dict[str, str]:
    """Point platformdirs at folders inside the test's own, so the defaults are exercised."""
    return {"HOME": str(tmp_path / "home"), "XDG_DATA_HOME": str(tmp_path / "xdg-data"),
            "XDG_CONFIG_HOME": str(tmp_path / "xdg-config"), "FLOWLOOM_HISTORY_DB": None,
            "FLOWLOOM_MEMORY_DB": None, "FLOWLOOM_CONFIG_DIR": None, "FLOWLOOM_DATA_DIR": None,
            "FLOWLOOM_SECRETS_BACKEND": "file"}


def test_a_real_run_and_a_stored_secret_leave_only_private_files(tmp_path):
    env = cli_env(**_user_dirs(tmp_path))
    workflow = tmp_path / "remember.loom.json"
    workflow.write_text(json.dumps(REMEMBER), encoding="utf-8")
    stored = _cli("secrets", "set", "TOKEN", env=env, stdin="s3cret-value\n")
    assert stored.returncode == 0, stored.stderr
    done = _cli("run", str(workflow), "--json", env=env)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["outputs"]["id"] == 1
    data = tmp_path / "xdg-data" / "flowloom"
    config = tmp_path / "xdg-config" / "flowloom"
    data_modes, config_modes = _modes_below(data), _modes_below(config)
    assert {"history.db", "memory.db", "secrets.json"} <= set(data_modes) | set(config_modes)
    for name, mode in {**data_modes, **config_modes}.items():
        folder = name == "." or (data / name).is_dir() or (config / name).is_dir()
        assert mode == (0o700 if folder else 0o600), (name, oct(mode))
    # the -wal/-shm SQLite made beside the DBs, if still there, copied the 0600
    assert all(m == 0o600 for n, m in data_modes.items() if n.endswith(("-wal", "-shm")))


def test_a_history_db_in_a_folder_the_person_chose_is_private_and_the_folder_is_left(tmp_path):
    chosen = tmp_path / "mine"
    chosen.mkdir()
    os.chmod(chosen, 0o755)
    old = chosen / "runs.db"
    sqlite3.connect(old).close()  # an existing 0644 database, as older versions made them
    os.chmod(old, 0o644)
    workflow = tmp_path / "remember.loom.json"
    workflow.write_text(json.dumps(REMEMBER), encoding="utf-8")
    env = cli_env(**_user_dirs(tmp_path))
    done = _cli("run", str(workflow), "--history-db", str(old), env=env)
    assert done.returncode == 0, done.stderr
    assert _mode(chosen) == 0o755  # not ours to change
    files = [p for p in chosen.iterdir()]
    assert old in files and all(_mode(p) == 0o600 for p in files), \
        {p.name: oct(_mode(p)) for p in files}
    with sqlite3.connect(old) as conn:  # and it is the real history, readable
        assert conn.execute("SELECT status FROM runs").fetchall() == [("succeeded",)]


def test_an_editor_autosave_writes_private_files_in_private_folders(qtbot, tmp_path,
                                                                     monkeypatch):
    data = tmp_path / "data"
    monkeypatch.setenv("FLOWLOOM_DATA_DIR", str(data))
    previous = os.umask(0)
    try:
        session = Session(default_registry(plugins=False), temp_settings(tmp_path),
                          Answers().prompts())
        workflow = Workflow("w", nodes=[Node("v", "data.value", params={"value": 1})])
        session.replace_document(Document(workflow, tmp_path / "w.loom.json"))
        session.document.undo_stack.push(SetParamCommand(workflow, "v", "value", 2))
        qtbot.waitUntil(lambda: session.autosave.writes == 1, timeout=5000)
    finally:
        os.umask(previous)
    modes = _modes_below(data)
    assert any(name.endswith(".loom.json") for name in modes)
    assert any(name.endswith(".meta.json") for name in modes)
    for name, mode in modes.items():
        folder = name == "." or (data / name).is_dir()
        assert mode == (0o700 if folder else 0o600), (name, oct(mode))


def test_the_helpers_set_modes_explicitly_and_keep_writes_atomic(tmp_path):
    previous = os.umask(0)
    try:
        folder = private_dir(tmp_path / "a" / "b")
        written = write_private_text(folder / "f.json", "{}")
        db = private_sqlite(tmp_path / "c" / "x.db")
    finally:
        os.umask(previous)
    assert _mode(tmp_path / "a") == _mode(folder) == _mode(db.parent) == 0o700
    assert _mode(written) == _mode(db) == 0o600
    assert written.read_text() == "{}" and sorted(os.listdir(folder)) == ["f.json"]
