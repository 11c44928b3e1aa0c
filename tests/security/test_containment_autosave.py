"""Literal secrets never reach a file: autosave and recovery files blank them, and
`engine.fileformat.save` refuses them as the editor does; `flowloom secrets set` takes the value
from a hidden prompt or stdin, and warns when it is given on the command line."""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import time

import pytest

from builder.commands import SetParamCommand
from builder.document import Document, Session
from engine.errors import WorkflowFileError
from engine.fileformat import load, save
from engine.model import Node, Workflow
from engine.nodetype import NodeType, Param
from engine.registry import Registry
from nodes import default_registry
from tests.builder.shell_support import Answers, temp_settings
from tests.cli.conftest import ROOT, cli_env

SECRET = "sk-proj-7Hq2Lz9VwX4mN8pR3tY6bC1dF5gJ0kS"


def _pieces(n: int = 8) -> set[str]:
    return {SECRET[i:i + n] for i in range(len(SECRET) - n + 1)}


def _leaks(data: bytes) -> list[str]:
    return sorted(p for p in _pieces() if p.encode() in data)


def _http_workflow(secret_param: str = "API") -> Workflow:
    return Workflow("keyed", nodes=[Node("h", "net.http", params={
        "url": "http://127.0.0.1:9/x", "auth_secret": secret_param})])


# --- autosave / recovery ------------------------------------------------------------------
def test_an_autosave_of_a_pasted_key_holds_no_piece_of_it(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("FLOWLOOM_DATA_DIR", str(tmp_path / "data"))
    session = Session(default_registry(plugins=False), temp_settings(tmp_path),
                      Answers().prompts())
    session.replace_document(Document(_http_workflow(), tmp_path / "keyed.loom.json"))
    workflow = session.document.workflow
    session.document.undo_stack.push(SetParamCommand(workflow, "h", "auth_secret", SECRET))
    qtbot.waitUntil(lambda: session.autosave.writes == 1, timeout=5000)
    recovery = session.autosave.workflow_file
    written = b"".join(p.read_bytes() for p in recovery.parent.iterdir())
    assert _leaks(written) == []
    saved = load(recovery).workflow.nodes["h"].params
    assert saved["auth_secret"] == "" and saved["url"] == "http://127.0.0.1:9/x"
    # The document itself is untouched: autosave writes a blanked copy, loses nothing else.
    assert workflow.nodes["h"].params["auth_secret"] == SECRET


# --- fileformat.save ------------------------------------------------------------------------
def test_save_refuses_a_literal_secret_and_leaves_the_old_file(tmp_path):
    path = tmp_path / "keyed.loom.json"
    save(_http_workflow("API"), path)
    before = path.read_bytes()
    with pytest.raises(WorkflowFileError) as caught:
        save(_http_workflow(SECRET), path)
    message = str(caught.value)
    assert "node 'h'" in message and "'auth_secret'" in message
    assert "flowloom secrets set NAME" in message
    assert not any(p in message for p in _pieces())
    assert path.read_bytes() == before
    with pytest.raises(WorkflowFileError):
        save(_http_workflow(SECRET), tmp_path / "new.loom.json")
    assert not (tmp_path / "new.loom.json").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keyed.loom.json"]  # no temp file


class Keyed(NodeType):
    type_id = "test.token"
    parameters = (Param("token", "str", default="", secret=True),)

    async def run(self, ctx, **inputs):
        return {}


def test_save_with_a_registry_knows_secret_params_by_their_spec(tmp_path):
    registry = Registry()
    registry.register(Keyed)
    pasted = Workflow("t", nodes=[Node("t", "test.token", params={"token": "ghp_abcdef123"})])
    with pytest.raises(WorkflowFileError, match="parameter 'token' must hold a credential"):
        save(pasted, tmp_path / "t.loom.json", registry)
    named = Workflow("t", nodes=[Node("t", "test.token", params={"token": "GITHUB"})])
    save(named, tmp_path / "t.loom.json", registry)
    assert load(tmp_path / "t.loom.json").workflow.nodes["t"].params["token"] == "GITHUB"


# --- flowloom secrets set -------------------------------------------------------------------
def _secrets_env(tmp_path) -> dict[str, str]:
    return cli_env(FLOWLOOM_CONFIG_DIR=str(tmp_path / "config"),
                   FLOWLOOM_SECRETS_BACKEND="file")


def _stored(tmp_path) -> dict[str, str]:
    return json.loads((tmp_path / "config" / "secrets.json").read_text("utf-8"))["secrets"]


def test_secrets_set_reads_stdin_and_warns_about_value_on_the_command_line(tmp_path):
    env = _secrets_env(tmp_path)
    piped = subprocess.run([sys.executable, "-m", "builder", "secrets", "set", "PIPED"],
                           input=SECRET + "\n", cwd=ROOT, env=env, capture_output=True,
                           text=True, timeout=60)
    assert piped.returncode == 0, piped.stderr
    assert "warning" not in piped.stderr and SECRET not in piped.stdout + piped.stderr
    given = subprocess.run([sys.executable, "-m", "builder", "secrets", "set", "GIVEN",
                            "--value", "v-123"], cwd=ROOT, env=env, capture_output=True,
                           text=True, timeout=60)
    assert given.returncode == 0
    assert "shell history" in given.stderr and "`ps`" in given.stderr
    assert _stored(tmp_path) == {"PIPED": SECRET, "GIVEN": "v-123"}


@pytest.mark.skipif(sys.platform == "win32", reason="a POSIX terminal")
def test_secrets_set_on_a_terminal_asks_without_echoing_the_value(tmp_path):
    master, slave = os.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "builder", "secrets", "set", "TYPED"],
                            cwd=ROOT, env=_secrets_env(tmp_path), stdin=slave, stdout=slave,
                            stderr=slave, start_new_session=True)
    os.close(slave)
    screen = b""
    try:
        deadline = time.monotonic() + 60
        typed = False
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.5)
            if ready:
                try:
                    chunk = os.read(master, 4096)
                except OSError:  # the child closed the terminal
                    break
                if not chunk:
                    break
                screen += chunk
            if not typed and b"Value for TYPED:" in screen:
                os.write(master, SECRET.encode() + b"\n")
                typed = True
            if proc.poll() is not None and not ready:
                break
        proc.wait(timeout=30)
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, screen
    assert b"Value for TYPED:" in screen
    assert _leaks(screen) == []  # the terminal did not echo what was typed
    assert _stored(tmp_path) == {"TYPED": SECRET}
