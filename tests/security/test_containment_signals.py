"""SIGTERM and SIGHUP to `flowloom run` cancel the run as Ctrl+C does: the nodes are cancelled,
the processes a code node started are ended, the history row is closed as cancelled, and the
exit code is 143 (Ctrl+C stays 130)."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys

import pytest

from tests.cli.conftest import ROOT, cli_env
from tests.security.containment_support import (
    pids_in,
    spawning_code,
    wait_all_gone,
    wait_for,
)

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")



def _workflow(piddir) -> dict:
    return {"format": "flowloom.workflow", "version": 1, "name": "spawner",
            "nodes": [{"id": "n", "type": "code.python",
                       "params": {"code": spawning_code(piddir, tail="time.sleep(300)"),
                                  "timeout_s": 300}},
                      {"id": "o", "type": "flow.output", "params": {"name": "r"}}],
            "edges": [{"source": "n", "source_port": "out", "target": "o",
                       "target_port": "in"}]}


@pytest.mark.parametrize("signum, code", [(signal.SIGTERM, 143), (signal.SIGHUP, 143),
                                          (signal.SIGINT, 130)])
def test_a_signal_cancels_the_run_ends_its_processes_and_closes_the_history(tmp_path, piddir,
                                                                            signum, code):
    path = tmp_path / "spawner.loom.json"
    path.write_text(json.dumps(_workflow(piddir)), encoding="utf-8")
    db = tmp_path / "history" / "runs.db"
    proc = subprocess.Popen([sys.executable, "-m", "builder", "run", str(path), "--json",
                             "--allow-run", "--history-db", str(db)], cwd=ROOT, env=cli_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: len(pids_in(piddir)) == 3 or proc.poll() is not None, 60,
                 "the code node to start its processes")
        assert proc.poll() is None, proc.communicate()
        proc.send_signal(signum)
        out, err = proc.communicate(timeout=30)  # far less than the node's 300 s
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == code, err
    result = json.loads(out)
    assert result["status"] == "cancelled"
    assert result["nodes"]["n"]["status"] == "cancelled"
    assert "cancelling the run" in err and "Traceback" not in err
    pids = pids_in(piddir)
    assert len(pids) == 3
    assert wait_all_gone(pids) == [], "the code node's processes outlived the run"
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT status, ended_at FROM runs").fetchall()
    assert len(rows) == 1 and rows[0][0] == "cancelled" and rows[0][1] is not None, rows


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_a_killed_flowloom_run_still_leaves_no_code_process(tmp_path, piddir):
    # SIGKILL cannot be handled: the code's supervisor learns of it from its parent-death
    # signal (Linux) and ends what the code started.
    path = tmp_path / "spawner.loom.json"
    path.write_text(json.dumps(_workflow(piddir)), encoding="utf-8")
    proc = subprocess.Popen([sys.executable, "-m", "builder", "run", str(path), "-q",
                             "--allow-run", "--no-history"], cwd=ROOT, env=cli_env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: len(pids_in(piddir)) == 3 or proc.poll() is not None, 60,
                 "the code node to start its processes")
        assert proc.poll() is None
        proc.kill()
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert wait_all_gone(pids_in(piddir)) == []
