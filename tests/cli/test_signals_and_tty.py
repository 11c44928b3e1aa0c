"""Ctrl+C cancels a run cleanly (exit 130, status cancelled); a TTY gets a live progress bar."""

from __future__ import annotations

import json
import os
import queue
import select
import signal
import subprocess
import sys
import threading
import time

import pytest

from tests.cli.conftest import EXAMPLES, ROOT, cli_env

LONG_WAIT = {
    "format": "flowloom.workflow", "version": 1, "name": "long wait",
    "nodes": [{"id": "v", "type": "data.value", "params": {"value": 7}},
              {"id": "wait", "type": "util.delay", "title": "Long wait",
               "params": {"seconds": 60}},
              {"id": "o", "type": "flow.output", "params": {"name": "r"}}],
    "edges": [{"source": "v", "source_port": "out", "target": "wait", "target_port": "in"},
              {"source": "wait", "source_port": "out", "target": "o", "target_port": "in"}]}


class _LineReader:
    """Reads a pipe's lines in a thread, so the test can wait for one with a timeout."""

    def __init__(self, stream) -> None:
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        self.thread = threading.Thread(target=self._pump, args=(stream,), daemon=True)
        self.thread.start()

    def _pump(self, stream) -> None:
        for line in stream:
            self.lines.put(line)
        self.lines.put(None)

    def wait_for(self, marker: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                line = None
            if line is None:
                raise AssertionError(f"{marker!r} did not appear; got: {''.join(self.seen)!r}")
            self.seen.append(line)
            if marker in line:
                return

    def rest(self, timeout: float) -> str:
        self.thread.join(timeout)
        while not self.lines.empty():
            line = self.lines.get()
            if line is not None:
                self.seen.append(line)
        return "".join(self.seen)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_sigint_cancels_the_run_and_exits_130(write_workflow):
    path = write_workflow(LONG_WAIT)
    proc = subprocess.Popen([sys.executable, "-m", "builder", "run", path, "--json",
                             "--verbose"], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        stderr = _LineReader(proc.stderr)
        stderr.wait_for("started  wait (Long wait)", timeout=30)
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=10)  # far less than the 60 s delay
        out = proc.stdout.read()
        err = stderr.rest(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, err
    result = json.loads(out)
    assert result["status"] == "cancelled"
    assert result["nodes"]["wait"]["status"] == "cancelled"
    assert result["nodes"]["o"]["status"] == "cancelled"
    assert "cancelling the run" in err
    assert "run cancelled" in err  # RunFinished was emitted and rendered
    assert "Traceback" not in err


def test_a_tty_gets_a_live_bar_with_the_running_nodes():
    master, slave = os.openpty()
    env = cli_env(TERM="xterm", NO_COLOR="1")
    proc = subprocess.Popen(
        [sys.executable, "-m", "builder", "run", str(EXAMPLES / "parallel.loom.json")],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=slave, env=env)
    os.close(slave)
    chunks = []
    try:
        while True:
            ready, _, _ = select.select([master], [], [], 30)
            if not ready:
                break
            try:
                data = os.read(master, 65536)
            except OSError:  # the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
        out, _ = proc.communicate(timeout=30)
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    screen = b"".join(chunks).decode("utf-8", "replace")
    assert proc.returncode == 0
    assert json.loads(out)["total"] == 230
    assert "\r\x1b[K[" in screen  # the bar is redrawn in place
    assert "running: " in screen and "wait_a (Wait A)" in screen
    assert "/12 nodes" in screen
    assert "done     wait_a (Wait A)" in screen
    assert "started  " not in screen  # started lines are replaced by the bar on a TTY
