"""`flowloom run --break` in a real child process: stdin is a pseudo-terminal the test types
into; the prompts are read from the child's stderr as they come (each wait has a deadline)."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
import time

import pytest

from tests.cli.conftest import ROOT, cli_env

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX")

LOOP = {
    "format": "flowloom.workflow", "version": 1, "name": "break demo",
    "nodes": [
        {"id": "v", "type": "data.value", "params": {"value": [10, 20, 30, 40, 50]}},
        {"id": "each", "type": "flow.foreach", "params": {"parallel": 1}},
        {"id": "half", "type": "data.expression", "params": {"expr": "x / 10"}},
        {"id": "total", "type": "data.expression", "params": {"expr": "sum(x)"}},
        {"id": "out", "type": "flow.output", "params": {"name": "results"}},
        {"id": "sum", "type": "flow.output", "params": {"name": "total"}}],
    "edges": [
        {"source": "v", "source_port": "out", "target": "each", "target_port": "items"},
        {"source": "each", "source_port": "item", "target": "half", "target_port": "x"},
        {"source": "half", "source_port": "out", "target": "each", "target_port": "result"},
        {"source": "each", "source_port": "results", "target": "out", "target_port": "in"},
        {"source": "each", "source_port": "results", "target": "total", "target_port": "x"},
        {"source": "total", "source_port": "out", "target": "sum", "target_port": "in"}],
    "ui": {"breakpoints": [{"node": "half", "condition": "index == 2"}]},
}


class Child:
    """`flowloom run FILE --break ...` with a pty as stdin; stdout and stderr piped."""

    def __init__(self, path, *flags, tty=True, tmp_path=None):
        env = cli_env(FLOWLOOM_CONFIG_DIR=str(tmp_path / "config"),
                      FLOWLOOM_DATA_DIR=str(tmp_path / "data"), NO_COLOR="1")
        self.master = None
        if tty:
            self.master, slave = pty.openpty()
            stdin = slave
        else:
            stdin = subprocess.PIPE
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "builder", "run", str(path), "--no-history", *flags],
            cwd=ROOT, env=env, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if tty:
            os.close(slave)
        self.err = b""

    def wait_for(self, text: str, timeout: float = 30.0) -> str:
        """Read stderr until it holds `text` (counted from the start); return all of it."""
        deadline = time.monotonic() + timeout
        fd = self.proc.stderr.fileno()
        while text.encode() not in self.err:
            left = deadline - time.monotonic()
            assert left > 0, f"never saw {text!r}; stderr so far:\n{self.err.decode()}"
            ready, _, _ = select.select([fd], [], [], left)
            if ready:
                chunk = os.read(fd, 65536)
                assert chunk, f"stderr closed before {text!r}:\n{self.err.decode()}"
                self.err += chunk
        return self.err.decode()

    def type(self, line: str) -> None:
        os.write(self.master, line.encode() + b"\n")

    def finish(self, timeout: float = 30.0):
        out, err = self.proc.communicate(timeout=timeout)
        self.err += err
        if self.master is not None:
            os.close(self.master)
        return self.proc.returncode, out.decode(), self.err.decode()


@pytest.fixture
def loop_file(tmp_path):
    path = tmp_path / "loop.loom.json"
    path.write_text(json.dumps(LOOP), encoding="utf-8")
    return path


def test_break_pauses_at_the_third_item_and_runs_on_with_the_edited_value(loop_file, tmp_path):
    child = Child(loop_file, "--break", tmp_path=tmp_path)
    shown = child.wait_for("break> ")
    assert "Paused before 'half' (item 2)" in shown and '"x": 30' in shown
    child.type('{"x":')
    child.wait_for("...> ")
    child.type(" 300}")
    child.wait_for("edited;")
    child.type("c")
    code, out, err = child.finish()
    assert code == 0, err
    assert json.loads(out) == {"results": [1.0, 2.0, 30.0, 4.0, 5.0], "total": 42.0}
    assert err.count("Paused before") == 1, "the condition held once"


def test_step_pauses_at_the_next_node_and_abort_cancels(loop_file, tmp_path):
    child = Child(loop_file, "--break", tmp_path=tmp_path)
    child.wait_for("break> ")
    child.type("nonsense words")
    child.wait_for("that is not JSON")
    child.type("s")
    child.wait_for("Paused before 'half' (item 3): step")
    child.wait_for("break> ", timeout=5)
    child.type("a")
    code, out, err = child.finish()
    assert code == 130, err
    assert "cancelled" in err


def test_end_of_input_while_paused_aborts_with_a_sentence(loop_file, tmp_path):
    child = Child(loop_file, "--break", tmp_path=tmp_path)
    child.wait_for("break> ")
    os.write(child.master, b"\x04")  # Ctrl+D: end of input on a terminal
    code, _, err = child.finish()
    assert code == 130
    assert "end of input while paused at a breakpoint; aborting the run" in err
    assert "Traceback" not in err


def test_break_without_a_terminal_refuses_before_anything_runs(loop_file, tmp_path):
    child = Child(loop_file, "--break", tty=False, tmp_path=tmp_path)
    code, out, err = child.finish()
    assert code == 2
    assert "stdin is not a terminal" in err and out == ""


def test_without_break_a_headless_run_ignores_breakpoints(loop_file, tmp_path):
    child = Child(loop_file, tty=False, tmp_path=tmp_path)
    code, out, err = child.finish()
    assert code == 0, err
    assert json.loads(out)["results"] == [1.0, 2.0, 3.0, 4.0, 5.0]
    assert "break>" not in err
